//! The programme's editable rules: the sign-in cycle, milestones, scalar settings, tier rules.

use entity::{programme_settings, sign_in_cycle_days, sign_in_milestones, tiers};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use crate::domain::ids::RewardId;
use crate::domain::signin::{Cycle, CycleReward, Milestone, MilestoneKind};
use crate::domain::tier::Tier;
use crate::error::AppError;

pub const MAKE_UP_COST: &str = "make_up_cost";

/// The version of the programme's rules: every write in this module (and to member-day events)
/// bumps it in the writer's transaction, so each instance's rules cache sees the change at its
/// next read of the version.
const RULES_VERSION: &str = "rules_version";

/// The rules' version as a column expression, to read it in a statement the request needs
/// anyway (the member's row).
pub fn rules_version_column() -> sea_orm::sea_query::SimpleExpr {
    sea_orm::sea_query::Expr::cust(format!(
        "COALESCE((SELECT value FROM programme_settings WHERE key = '{RULES_VERSION}'), 0)"
    ))
}

/// The rules' version on its own.
pub async fn rules_version(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    setting(db, RULES_VERSION, 0).await
}

/// Marks the rules changed; part of every rule write.
pub async fn bump_rules_version(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    programme_settings::Entity::update_many()
        .col_expr(
            programme_settings::Column::Value,
            sea_orm::sea_query::ExprTrait::add(
                sea_orm::sea_query::Expr::col(programme_settings::Column::Value),
                1,
            ),
        )
        .filter(programme_settings::Column::Key.eq(RULES_VERSION))
        .exec(db)
        .await
        .map(|_| ())
}

/// Every scalar setting: (key, value).
pub async fn all_settings(db: &impl ConnectionTrait) -> Result<Vec<(String, i64)>, DbErr> {
    Ok(programme_settings::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.key, row.value))
        .collect())
}

/// The sign-in cycle, day 1 first.
///
/// # Errors
/// `INTERNAL` when the stored cycle is empty or invalid.
pub async fn cycle(db: &impl ConnectionTrait) -> Result<Cycle, AppError> {
    let days = sign_in_cycle_days::Entity::find()
        .order_by_asc(sign_in_cycle_days::Column::Day)
        .all(db)
        .await?;
    Cycle::parse(days.into_iter().map(|row| row.points).collect())
        .map_err(|e| AppError::internal(anyhow::anyhow!("stored sign-in cycle is invalid: {e}")))
}

/// Replaces the cycle; a day that stays keeps its reward and draws.
pub async fn replace_cycle(db: &impl ConnectionTrait, cycle: &Cycle) -> Result<(), DbErr> {
    let extras = cycle_rewards(db).await?;
    sign_in_cycle_days::Entity::delete_many().exec(db).await?;
    let rows = (1_i32..).zip(cycle.days()).map(|(day, points)| {
        let extra = extras.iter().find(|r| r.day == day);
        sign_in_cycle_days::ActiveModel {
            day: Set(day),
            points: Set(*points),
            reward_id: Set(extra.and_then(|r| r.reward).map(RewardId::get)),
            draws_lottery_id: Set(extra.and_then(|r| r.draws).map(|(lottery, _)| lottery)),
            draws: Set(extra.and_then(|r| r.draws).map_or(0, |(_, draws)| draws)),
        }
    });
    sign_in_cycle_days::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    bump_rules_version(db).await
}

/// The cycle days that grant a reward or free draws.
pub async fn cycle_rewards(db: &impl ConnectionTrait) -> Result<Vec<CycleReward>, DbErr> {
    Ok(sign_in_cycle_days::Entity::find()
        .order_by_asc(sign_in_cycle_days::Column::Day)
        .all(db)
        .await?
        .into_iter()
        .filter(|row| row.reward_id.is_some() || row.draws_lottery_id.is_some())
        .map(|row| CycleReward {
            day: row.day,
            reward: row.reward_id.map(RewardId::new),
            draws: row.draws_lottery_id.map(|lottery| (lottery, row.draws)),
        })
        .collect())
}

/// Sets what each cycle day grants besides points (days not listed grant nothing more).
pub async fn set_cycle_rewards(
    db: &impl ConnectionTrait,
    rewards: &[CycleReward],
) -> Result<(), DbErr> {
    use sea_orm::sea_query::Expr;
    sign_in_cycle_days::Entity::update_many()
        .col_expr(
            sign_in_cycle_days::Column::RewardId,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            sign_in_cycle_days::Column::DrawsLotteryId,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(sign_in_cycle_days::Column::Draws, Expr::value(0))
        .exec(db)
        .await?;
    for entry in rewards {
        sign_in_cycle_days::Entity::update_many()
            .col_expr(
                sign_in_cycle_days::Column::RewardId,
                Expr::value(entry.reward.map(RewardId::get)),
            )
            .col_expr(
                sign_in_cycle_days::Column::DrawsLotteryId,
                Expr::value(entry.draws.map(|(lottery, _)| lottery)),
            )
            .col_expr(
                sign_in_cycle_days::Column::Draws,
                Expr::value(entry.draws.map_or(0, |(_, draws)| draws)),
            )
            .filter(sign_in_cycle_days::Column::Day.eq(entry.day))
            .exec(db)
            .await?;
    }
    bump_rules_version(db).await
}

pub async fn milestones(db: &impl ConnectionTrait) -> Result<Vec<Milestone>, DbErr> {
    let rows = sign_in_milestones::Entity::find()
        .order_by_asc(sign_in_milestones::Column::Kind)
        .order_by_asc(sign_in_milestones::Column::Threshold)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(Milestone {
                kind: MilestoneKind::parse(&row.kind)?,
                threshold: row.threshold,
                points: row.points,
            })
        })
        .collect())
}

/// Replaces the milestone table.
pub async fn replace_milestones(
    db: &impl ConnectionTrait,
    milestones: &[Milestone],
) -> Result<(), DbErr> {
    sign_in_milestones::Entity::delete_many().exec(db).await?;
    bump_rules_version(db).await?;
    if milestones.is_empty() {
        return Ok(());
    }
    let rows = milestones.iter().map(|m| sign_in_milestones::ActiveModel {
        kind: Set(m.kind.as_str().to_owned()),
        threshold: Set(m.threshold),
        points: Set(m.points),
        ..Default::default()
    });
    sign_in_milestones::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// A scalar setting, or `default` when unset.
pub async fn setting(db: &impl ConnectionTrait, key: &str, default: i64) -> Result<i64, DbErr> {
    Ok(programme_settings::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .map_or(default, |row| row.value))
}

/// Sets a scalar setting (and bumps the rules' version: settings are rules, or flags that
/// change rarely).
pub async fn set_setting(db: &impl ConnectionTrait, key: &str, value: i64) -> Result<(), DbErr> {
    let row = programme_settings::ActiveModel {
        key: Set(key.to_owned()),
        value: Set(value),
    };
    programme_settings::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(programme_settings::Column::Key)
                .update_column(programme_settings::Column::Value)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    bump_rules_version(db).await
}

fn tier(row: tiers::Model) -> Tier {
    Tier {
        code: row.code,
        name: row.name,
        rank: row.rank,
        growth_threshold: row.growth_threshold,
        points_multiplier_pct: row.points_multiplier_pct,
        monthly_earn_cap: row.monthly_earn_cap,
        monthly_redeem_cap: row.monthly_redeem_cap,
        birthday_points: row.birthday_points,
        make_ups_per_month: row.make_ups_per_month,
        member_day_discount_pct: row.member_day_discount_pct,
        upgrade_gift_points: row.upgrade_gift_points,
        badge: row.badge,
        priority_support: row.priority_support,
    }
}

/// A tier by code.
///
/// # Errors
/// `INTERNAL` when the member's tier does not exist.
pub async fn tier_rules(db: &impl ConnectionTrait, code: &str) -> Result<Tier, AppError> {
    tiers::Entity::find_by_id(code.to_owned())
        .one(db)
        .await?
        .map(tier)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("tier {code} does not exist")))
}

/// Every tier, entry tier first.
pub async fn all_tiers(db: &impl ConnectionTrait) -> Result<Vec<Tier>, DbErr> {
    Ok(tiers::Entity::find()
        .order_by_asc(tiers::Column::Rank)
        .all(db)
        .await?
        .into_iter()
        .map(tier)
        .collect())
}

/// Writes a tier's editable fields (its code and rank stay).
pub async fn update_tier(db: &impl ConnectionTrait, t: &Tier) -> Result<(), DbErr> {
    let row = tiers::ActiveModel {
        code: Set(t.code.clone()),
        name: Set(t.name.clone()),
        rank: Set(t.rank),
        growth_threshold: Set(t.growth_threshold),
        points_multiplier_pct: Set(t.points_multiplier_pct),
        monthly_earn_cap: Set(t.monthly_earn_cap),
        monthly_redeem_cap: Set(t.monthly_redeem_cap),
        birthday_points: Set(t.birthday_points),
        make_ups_per_month: Set(t.make_ups_per_month),
        member_day_discount_pct: Set(t.member_day_discount_pct),
        upgrade_gift_points: Set(t.upgrade_gift_points),
        badge: Set(t.badge.clone()),
        priority_support: Set(t.priority_support),
    };
    tiers::Entity::update(row).exec(db).await?;
    bump_rules_version(db).await
}

/// Sets `key` to `value` unless it holds it already; true for the caller that changed it
/// (one instance a day claims a daily step, and a clock set back claims again).
///
/// # Errors
/// Database errors.
pub async fn claim_setting_change(
    db: &impl ConnectionTrait,
    key: &str,
    value: i64,
) -> Result<bool, DbErr> {
    claim_setting(db, key, value, programme_settings::Column::Value.ne(value)).await
}

/// Raises the setting `key` to `value` when it is below it: true for exactly one caller, so a
/// once-per-period job runs on one instance only.
///
/// # Errors
/// Database errors.
pub async fn claim_setting_above(
    db: &impl ConnectionTrait,
    key: &str,
    value: i64,
) -> Result<bool, DbErr> {
    claim_setting(db, key, value, programme_settings::Column::Value.lt(value)).await
}

/// Sets `key` to `value` where its current value meets `unless_claimed`, in one conditional
/// statement: true for the one caller whose update took.
async fn claim_setting(
    db: &impl ConnectionTrait,
    key: &str,
    value: i64,
    unless_claimed: sea_orm::sea_query::SimpleExpr,
) -> Result<bool, DbErr> {
    let result = programme_settings::Entity::update_many()
        .col_expr(
            programme_settings::Column::Value,
            sea_orm::sea_query::Expr::value(value),
        )
        .filter(programme_settings::Column::Key.eq(key))
        .filter(unless_claimed)
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
