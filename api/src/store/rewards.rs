//! The `rewards`, `redemptions` and `coupons` tables.

use chrono::{DateTime, Utc};
use entity::{coupons, redemptions, rewards};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::domain::ids::MemberId;
use crate::domain::reward::{Coupon, Redemption, RedemptionStatus, Reward, RewardKind};
use crate::error::{AppError, UniqueIndex};

pub const UQ_REDEMPTION_KEY: UniqueIndex = UniqueIndex {
    name: "uq_redemptions_member_key",
    sqlite_columns: "redemptions.member_id, redemptions.idempotency_key",
};

pub const UQ_COUPON_CODE: UniqueIndex = UniqueIndex {
    name: "uq_coupons_code",
    sqlite_columns: "coupons.code",
};

fn reward(row: rewards::Model) -> Result<Reward, AppError> {
    Ok(Reward {
        kind: RewardKind::parse(&row.kind).ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("reward {} has kind {}", row.id, row.kind))
        })?,
        id: row.id,
        title: row.title,
        description: row.description,
        image_url: row.image_url,
        points_cost: row.points_cost,
        stock: row.stock,
        monthly_limit: row.monthly_limit,
        lifetime_limit: row.lifetime_limit,
        min_tier: row.min_tier,
        available_from: row.available_from,
        available_until: row.available_until,
        member_day_only: row.member_day_only,
        active: row.active,
        cost_cents: row.cost_cents,
    })
}

fn active_model(r: &Reward) -> rewards::ActiveModel {
    rewards::ActiveModel {
        title: Set(r.title.clone()),
        description: Set(r.description.clone()),
        image_url: Set(r.image_url.clone()),
        kind: Set(r.kind.as_str().to_owned()),
        points_cost: Set(r.points_cost),
        stock: Set(r.stock),
        monthly_limit: Set(r.monthly_limit),
        lifetime_limit: Set(r.lifetime_limit),
        min_tier: Set(r.min_tier.clone()),
        available_from: Set(r.available_from),
        available_until: Set(r.available_until),
        member_day_only: Set(r.member_day_only),
        active: Set(r.active),
        cost_cents: Set(r.cost_cents),
        ..Default::default()
    }
}

pub async fn insert_reward(
    db: &impl ConnectionTrait,
    r: &Reward,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let mut row = active_model(r);
    row.created_at = Set(now);
    Ok(rewards::Entity::insert(row).exec(db).await?.last_insert_id)
}

pub async fn update_reward(db: &impl ConnectionTrait, r: &Reward) -> Result<(), DbErr> {
    let mut row = active_model(r);
    row.id = Set(r.id);
    row.created_at = sea_orm::ActiveValue::NotSet;
    rewards::Entity::update(row).exec(db).await.map(|_| ())
}

pub async fn find_reward(db: &impl ConnectionTrait, id: i64) -> Result<Option<Reward>, AppError> {
    rewards::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(reward)
        .transpose()
}

/// Rewards by id, newest first, after the cursor; only active ones unless `all`.
pub async fn list_rewards(
    db: &impl ConnectionTrait,
    all: bool,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Reward>, AppError> {
    let mut query = rewards::Entity::find();
    if !all {
        query = query.filter(rewards::Column::Active.eq(true));
    }
    if let Some(before) = before {
        query = query.filter(rewards::Column::Id.lt(before));
    }
    query
        .order_by_desc(rewards::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(reward)
        .collect()
}

/// Deletes a reward that was never redeemed; false when it does not exist.
pub async fn delete_reward(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    Ok(rewards::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        == 1)
}

/// Whether anyone ever redeemed the reward.
pub async fn has_redemptions(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    Ok(redemptions::Entity::find()
        .filter(redemptions::Column::RewardId.eq(id))
        .one(db)
        .await?
        .is_some())
}

/// Takes `quantity` from a limited stock; false when not enough is left. Unlimited rewards
/// always succeed. One conditional statement, so concurrent redemptions cannot oversell.
pub async fn take_stock(db: &impl ConnectionTrait, id: i64, quantity: i64) -> Result<bool, DbErr> {
    let result = rewards::Entity::update_many()
        .col_expr(
            rewards::Column::Stock,
            Expr::col(rewards::Column::Stock).sub(quantity),
        )
        .filter(rewards::Column::Id.eq(id))
        .filter(rewards::Column::Stock.gte(quantity))
        .exec(db)
        .await?;
    if result.rows_affected == 1 {
        return Ok(true);
    }
    let unlimited = rewards::Entity::find_by_id(id)
        .one(db)
        .await?
        .is_some_and(|row| row.stock.is_none());
    Ok(unlimited)
}

/// Puts `quantity` back into a limited stock.
pub async fn return_stock(db: &impl ConnectionTrait, id: i64, quantity: i64) -> Result<(), DbErr> {
    rewards::Entity::update_many()
        .col_expr(
            rewards::Column::Stock,
            Expr::col(rewards::Column::Stock).add(quantity),
        )
        .filter(rewards::Column::Id.eq(id))
        .filter(rewards::Column::Stock.is_not_null())
        .exec(db)
        .await
        .map(|_| ())
}

fn redemption_row(row: redemptions::Model) -> Result<Redemption, AppError> {
    Ok(Redemption {
        status: RedemptionStatus::parse(&row.status).ok_or_else(|| {
            AppError::internal(anyhow::anyhow!(
                "redemption {} has status {}",
                row.id,
                row.status
            ))
        })?,
        id: row.id,
        member_id: MemberId::new(row.member_id),
        reward_id: row.reward_id,
        quantity: row.quantity,
        unit_price: row.unit_price,
        points_total: row.points_total,
        idempotency_key: row.idempotency_key,
        tracking_number: row.tracking_number,
        created_at: row.created_at,
    })
}

/// A redemption to record.
pub struct NewRedemption<'a> {
    pub member: MemberId,
    pub reward_id: i64,
    pub quantity: i32,
    pub unit_price: i64,
    pub points_total: i64,
    pub status: RedemptionStatus,
    pub idempotency_key: &'a str,
    pub month: &'a str,
    pub now: DateTime<Utc>,
}

pub async fn insert_redemption(
    db: &impl ConnectionTrait,
    new: NewRedemption<'_>,
) -> Result<i64, DbErr> {
    let row = redemptions::ActiveModel {
        member_id: Set(new.member.get()),
        reward_id: Set(new.reward_id),
        quantity: Set(new.quantity),
        unit_price: Set(new.unit_price),
        points_total: Set(new.points_total),
        status: Set(new.status.as_str().to_owned()),
        idempotency_key: Set(new.idempotency_key.to_owned()),
        month: Set(new.month.to_owned()),
        tracking_number: Set(None),
        created_at: Set(new.now),
        updated_at: Set(new.now),
        ..Default::default()
    };
    Ok(redemptions::Entity::insert(row)
        .exec(db)
        .await?
        .last_insert_id)
}

pub async fn redemption_by_key(
    db: &impl ConnectionTrait,
    member: MemberId,
    key: &str,
) -> Result<Option<Redemption>, AppError> {
    redemptions::Entity::find()
        .filter(redemptions::Column::MemberId.eq(member.get()))
        .filter(redemptions::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
        .map(redemption_row)
        .transpose()
}

pub async fn redemption(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<Redemption>, AppError> {
    redemptions::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(redemption_row)
        .transpose()
}

/// Units of a reward the member redeemed (not cancelled): this `month` and ever.
pub async fn redeemed_units(
    db: &impl ConnectionTrait,
    member: MemberId,
    reward_id: i64,
    month: &str,
) -> Result<(i64, i64), DbErr> {
    let rows: Vec<(String, i32)> = redemptions::Entity::find()
        .select_only()
        .column(redemptions::Column::Month)
        .column(redemptions::Column::Quantity)
        .filter(redemptions::Column::MemberId.eq(member.get()))
        .filter(redemptions::Column::RewardId.eq(reward_id))
        .filter(redemptions::Column::Status.ne(RedemptionStatus::Cancelled.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    let lifetime: i64 = rows.iter().map(|(_, q)| i64::from(*q)).sum();
    let this_month: i64 = rows
        .iter()
        .filter(|(m, _)| m == month)
        .map(|(_, q)| i64::from(*q))
        .sum();
    Ok((this_month, lifetime))
}

/// Units of every reward the member redeemed (not cancelled): reward id → (this `month`, ever).
pub async fn redeemed_units_by_reward(
    db: &impl ConnectionTrait,
    member: MemberId,
    month: &str,
) -> Result<std::collections::HashMap<i64, (i64, i64)>, DbErr> {
    let rows: Vec<(i64, String, i32)> = redemptions::Entity::find()
        .select_only()
        .column(redemptions::Column::RewardId)
        .column(redemptions::Column::Month)
        .column(redemptions::Column::Quantity)
        .filter(redemptions::Column::MemberId.eq(member.get()))
        .filter(redemptions::Column::Status.ne(RedemptionStatus::Cancelled.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    let mut used = std::collections::HashMap::new();
    for (reward, row_month, quantity) in rows {
        let entry: &mut (i64, i64) = used.entry(reward).or_default();
        entry.1 += i64::from(quantity);
        if row_month == month {
            entry.0 += i64::from(quantity);
        }
    }
    Ok(used)
}

/// Redemptions newest first; of one member, or of everyone with an optional status.
pub async fn list_redemptions(
    db: &impl ConnectionTrait,
    member: Option<MemberId>,
    status: Option<RedemptionStatus>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Redemption>, AppError> {
    let mut query = redemptions::Entity::find();
    if let Some(member) = member {
        query = query.filter(redemptions::Column::MemberId.eq(member.get()));
    }
    if let Some(status) = status {
        query = query.filter(redemptions::Column::Status.eq(status.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(redemptions::Column::Id.lt(before));
    }
    query
        .order_by_desc(redemptions::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(redemption_row)
        .collect()
}

/// Moves a redemption from `from` to `to`; false when it was not in `from` (so a second
/// cancel or fulfilment changes nothing).
pub async fn transition(
    db: &impl ConnectionTrait,
    id: i64,
    from: RedemptionStatus,
    to: RedemptionStatus,
    tracking_number: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = redemptions::Entity::update_many()
        .col_expr(redemptions::Column::Status, Expr::value(to.as_str()))
        .col_expr(redemptions::Column::UpdatedAt, Expr::value(now))
        .filter(redemptions::Column::Id.eq(id))
        .filter(redemptions::Column::Status.eq(from.as_str()));
    if let Some(tracking) = tracking_number {
        update = update.col_expr(redemptions::Column::TrackingNumber, Expr::value(tracking));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

fn coupon(row: coupons::Model) -> Coupon {
    Coupon {
        code: row.code,
        redemption_id: row.redemption_id,
        member_id: MemberId::new(row.member_id),
        reward_id: row.reward_id,
        expires_at: row.expires_at,
        used_at: row.used_at,
    }
}

/// # Errors
/// Database errors; a code collision violates `UQ_COUPON_CODE`.
pub async fn insert_coupon(
    db: &impl ConnectionTrait,
    c: &Coupon,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = coupons::ActiveModel {
        code: Set(c.code.clone()),
        redemption_id: Set(c.redemption_id),
        member_id: Set(c.member_id.get()),
        reward_id: Set(c.reward_id),
        expires_at: Set(c.expires_at),
        used_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    coupons::Entity::insert(row).exec(db).await.map(|_| ())
}

pub async fn member_coupons(
    db: &impl ConnectionTrait,
    member: MemberId,
) -> Result<Vec<Coupon>, DbErr> {
    Ok(coupons::Entity::find()
        .filter(coupons::Column::MemberId.eq(member.get()))
        .order_by_desc(coupons::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(coupon)
        .collect())
}

pub async fn coupons_of_redemption(
    db: &impl ConnectionTrait,
    redemption_id: i64,
) -> Result<Vec<Coupon>, DbErr> {
    Ok(coupons::Entity::find()
        .filter(coupons::Column::RedemptionId.eq(redemption_id))
        .order_by_asc(coupons::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(coupon)
        .collect())
}

/// Unused coupons lapsing in (`now`, `until`], with ids above `after`, by id.
pub async fn coupons_expiring(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    after: i64,
    limit: u64,
) -> Result<Vec<(i64, Coupon)>, DbErr> {
    Ok(coupons::Entity::find()
        .filter(coupons::Column::Id.gt(after))
        .filter(coupons::Column::UsedAt.is_null())
        .filter(coupons::Column::ExpiresAt.gt(now))
        .filter(coupons::Column::ExpiresAt.lte(until))
        .order_by_asc(coupons::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, coupon(row)))
        .collect())
}

/// Writes a coupon off: only an unused, unexpired coupon, once. True when this call did it.
pub async fn use_coupon(
    db: &impl ConnectionTrait,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = coupons::Entity::update_many()
        .col_expr(coupons::Column::UsedAt, Expr::value(Some(now)))
        .filter(coupons::Column::Code.eq(code))
        .filter(coupons::Column::UsedAt.is_null())
        .filter(coupons::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn coupon_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<Coupon>, DbErr> {
    Ok(coupons::Entity::find()
        .filter(coupons::Column::Code.eq(code))
        .one(db)
        .await?
        .map(coupon))
}
