//! Lotteries, their prizes, members' free draws and misses, and the draws (SPEC §14).

use chrono::{DateTime, NaiveDate, Utc};
use entity::{lotteries, lottery_draws, lottery_members, lottery_prizes};
use sea_orm::sea_query::{Cond, Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::domain::ids::MemberId;
use crate::domain::lottery::{Draw, Lottery, Prize, PrizeKind};
use crate::error::AppError;

fn prize(row: lottery_prizes::Model) -> Result<Prize, AppError> {
    Ok(Prize {
        kind: row.kind.parse().map_err(|_unknown| {
            AppError::internal(anyhow::anyhow!("prize {} has kind {}", row.id, row.kind))
        })?,
        id: row.id,
        points: row.points,
        reward_id: row.reward_id,
        quantity: row.quantity,
        weight: row.weight,
        stock: row.stock,
    })
}

fn lottery(row: lotteries::Model, prizes: Vec<Prize>) -> Result<Lottery, AppError> {
    Ok(Lottery {
        tier_boosts: serde_json::from_str(&row.tier_boosts).map_err(AppError::internal)?,
        id: row.id,
        title: row.title,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        cost_points: row.cost_points,
        draws_per_day: row.draws_per_day,
        draws_total: row.draws_total,
        pity_after: row.pity_after,
        budget_points: row.budget_points,
        spent_points: row.spent_points,
        min_tier: row.min_tier,
        segment_id: row.segment_id,
        prizes,
    })
}

fn settings(l: &Lottery, now: DateTime<Utc>) -> Result<lotteries::ActiveModel, AppError> {
    Ok(lotteries::ActiveModel {
        title: Set(l.title.trim().to_owned()),
        starts_at: Set(l.starts_at),
        ends_at: Set(l.ends_at),
        cost_points: Set(l.cost_points),
        draws_per_day: Set(l.draws_per_day),
        draws_total: Set(l.draws_total),
        pity_after: Set(l.pity_after),
        budget_points: Set(l.budget_points),
        min_tier: Set(l.min_tier.clone()),
        segment_id: Set(l.segment_id),
        tier_boosts: Set(serde_json::to_string(&l.tier_boosts).map_err(AppError::internal)?),
        updated_at: Set(now),
        ..Default::default()
    })
}

async fn replace_prizes(db: &impl ConnectionTrait, id: i64, prizes: &[Prize]) -> Result<(), DbErr> {
    lottery_prizes::Entity::delete_many()
        .filter(lottery_prizes::Column::LotteryId.eq(id))
        .exec(db)
        .await?;
    let rows = prizes
        .iter()
        .zip(0..)
        .map(|(p, position)| lottery_prizes::ActiveModel {
            lottery_id: Set(id),
            kind: Set(p.kind.as_str().to_owned()),
            points: Set(p.points),
            reward_id: Set(p.reward_id),
            quantity: Set(p.quantity),
            weight: Set(p.weight),
            stock: Set(p.stock),
            position: Set(position),
            ..Default::default()
        });
    lottery_prizes::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// # Errors
/// Database errors.
pub async fn insert(
    db: &impl ConnectionTrait,
    l: &Lottery,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let mut row = settings(l, now)?;
    row.spent_points = Set(0);
    row.created_at = Set(now);
    let id = row.insert(db).await?.id;
    replace_prizes(db, id, &l.prizes).await?;
    Ok(id)
}

/// Rewrites a lottery's settings and prizes; false for an unknown id.
///
/// # Errors
/// Database errors.
pub async fn update(
    db: &impl ConnectionTrait,
    l: &Lottery,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let updated = lotteries::Entity::update_many()
        .set(settings(l, now)?)
        .filter(lotteries::Column::Id.eq(l.id))
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(false);
    }
    replace_prizes(db, l.id, &l.prizes).await?;
    Ok(true)
}

/// Lotteries with their prizes (`only`: one lottery), newest first.
///
/// # Errors
/// Database errors.
pub async fn load(db: &impl ConnectionTrait, only: Option<i64>) -> Result<Vec<Lottery>, AppError> {
    let mut query = lotteries::Entity::find();
    let mut prizes = lottery_prizes::Entity::find();
    if let Some(id) = only {
        query = query.filter(lotteries::Column::Id.eq(id));
        prizes = prizes.filter(lottery_prizes::Column::LotteryId.eq(id));
    }
    let rows = query
        .order_by_desc(lotteries::Column::Id)
        .limit(200)
        .all(db)
        .await?;
    let mut all_prizes = prizes
        .order_by_asc(lottery_prizes::Column::Position)
        .all(db)
        .await?;
    rows.into_iter()
        .map(|row| {
            let (mine, rest): (Vec<_>, Vec<_>) =
                all_prizes.drain(..).partition(|p| p.lottery_id == row.id);
            all_prizes = rest;
            let mine = mine.into_iter().map(prize).collect::<Result<_, _>>()?;
            lottery(row, mine)
        })
        .collect()
}

fn draw(row: lottery_draws::Model) -> Result<Draw, AppError> {
    Ok(Draw {
        kind: row.kind.parse().map_err(|_unknown| {
            AppError::internal(anyhow::anyhow!("draw {} has kind {}", row.id, row.kind))
        })?,
        id: row.id,
        lottery_id: row.lottery_id,
        prize_id: row.prize_id,
        points: row.points,
        reward_id: row.reward_id,
        quantity: row.quantity,
        won: row.won,
        free: row.free,
        cost_points: row.cost_points,
        random_value: row.random_value,
        created_at: row.created_at,
    })
}

/// The member's draw under `key`, if any.
///
/// # Errors
/// Database errors.
pub async fn draw_by_key(
    db: &impl ConnectionTrait,
    member: MemberId,
    key: &str,
) -> Result<Option<Draw>, AppError> {
    lottery_draws::Entity::find()
        .filter(lottery_draws::Column::MemberId.eq(member.get()))
        .filter(lottery_draws::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
        .map(draw)
        .transpose()
}

/// The member's draws on the lottery: (on `day`, in all).
///
/// # Errors
/// Database errors.
pub async fn draws_made(
    db: &impl ConnectionTrait,
    lottery: i64,
    member: MemberId,
    day: NaiveDate,
) -> Result<(u64, u64), DbErr> {
    let mine = lottery_draws::Entity::find()
        .filter(lottery_draws::Column::LotteryId.eq(lottery))
        .filter(lottery_draws::Column::MemberId.eq(member.get()));
    let total = mine.clone().count(db).await?;
    let today = mine
        .filter(lottery_draws::Column::Day.eq(day))
        .count(db)
        .await?;
    Ok((today, total))
}

/// The member's (free draws, misses in a row) on the lottery.
///
/// # Errors
/// Database errors.
pub async fn standing(
    db: &impl ConnectionTrait,
    lottery: i64,
    member: MemberId,
) -> Result<(i32, i32), DbErr> {
    Ok(lottery_members::Entity::find_by_id((lottery, member.get()))
        .one(db)
        .await?
        .map_or((0, 0), |row| (row.free_draws, row.misses)))
}

/// The member's free draws on each lottery.
///
/// # Errors
/// Database errors.
pub async fn free_draws_of(
    db: &impl ConnectionTrait,
    member: MemberId,
) -> Result<Vec<(i64, i32)>, DbErr> {
    Ok(lottery_members::Entity::find()
        .filter(lottery_members::Column::MemberId.eq(member.get()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.lottery_id, row.free_draws))
        .collect())
}

/// Uses one of the member's free draws; false when they have none.
///
/// # Errors
/// Database errors.
pub async fn take_free_draw(
    db: &impl ConnectionTrait,
    lottery: i64,
    member: MemberId,
) -> Result<bool, DbErr> {
    let free = Expr::col(lottery_members::Column::FreeDraws);
    let taken = lottery_members::Entity::update_many()
        .col_expr(lottery_members::Column::FreeDraws, free.clone().sub(1))
        .filter(lottery_members::Column::LotteryId.eq(lottery))
        .filter(lottery_members::Column::MemberId.eq(member.get()))
        .filter(free.gt(0))
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Gives the member `draws` free draws on the lottery.
///
/// # Errors
/// Database errors.
pub async fn add_free_draws(
    db: &impl ConnectionTrait,
    lottery: i64,
    member: MemberId,
    draws: i32,
) -> Result<(), DbErr> {
    lottery_members::Entity::insert(lottery_members::ActiveModel {
        lottery_id: Set(lottery),
        member_id: Set(member.get()),
        free_draws: Set(draws),
        misses: Set(0),
    })
    .on_conflict(
        OnConflict::columns([
            lottery_members::Column::LotteryId,
            lottery_members::Column::MemberId,
        ])
        .value(
            lottery_members::Column::FreeDraws,
            Expr::col((lottery_members::Entity, lottery_members::Column::FreeDraws)).add(draws),
        )
        .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map(|_| ())
}

/// Sets the member's misses in a row on the lottery.
///
/// # Errors
/// Database errors.
pub async fn set_misses(
    db: &impl ConnectionTrait,
    lottery: i64,
    member: MemberId,
    misses: i32,
) -> Result<(), DbErr> {
    lottery_members::Entity::insert(lottery_members::ActiveModel {
        lottery_id: Set(lottery),
        member_id: Set(member.get()),
        free_draws: Set(0),
        misses: Set(misses),
    })
    .on_conflict(
        OnConflict::columns([
            lottery_members::Column::LotteryId,
            lottery_members::Column::MemberId,
        ])
        .update_column(lottery_members::Column::Misses)
        .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map(|_| ())
}

/// Takes one unit of a prize's stock; false when none is left (unlimited: always true).
///
/// # Errors
/// Database errors.
pub async fn take_stock(db: &impl ConnectionTrait, prize: i64) -> Result<bool, DbErr> {
    let stock = Expr::col(lottery_prizes::Column::Stock);
    let taken = lottery_prizes::Entity::update_many()
        .col_expr(lottery_prizes::Column::Stock, stock.clone().sub(1))
        .filter(lottery_prizes::Column::Id.eq(prize))
        .filter(Cond::any().add(stock.clone().is_null()).add(stock.gt(0)))
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Takes `value` from the lottery's budget in one conditional statement; false when it does
/// not fit.
///
/// # Errors
/// Database errors.
pub async fn take_budget(
    db: &impl ConnectionTrait,
    lottery: i64,
    value: i64,
) -> Result<bool, DbErr> {
    let spent = Expr::col(lotteries::Column::SpentPoints);
    let taken = lotteries::Entity::update_many()
        .col_expr(lotteries::Column::SpentPoints, spent.clone().add(value))
        .filter(lotteries::Column::Id.eq(lottery))
        .filter(
            Cond::any()
                .add(lotteries::Column::BudgetPoints.is_null())
                .add(
                    spent
                        .add(value)
                        .lte(Expr::col(lotteries::Column::BudgetPoints)),
                ),
        )
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Puts back the unit [`take_stock`] took (the draw fell to `NONE` after all).
///
/// # Errors
/// Database errors.
pub async fn give_back_stock(db: &impl ConnectionTrait, prize: i64) -> Result<(), DbErr> {
    let stock = Expr::col(lottery_prizes::Column::Stock);
    lottery_prizes::Entity::update_many()
        .col_expr(lottery_prizes::Column::Stock, stock.clone().add(1))
        .filter(lottery_prizes::Column::Id.eq(prize))
        .filter(stock.is_not_null())
        .exec(db)
        .await
        .map(|_| ())
}

/// Gives back to the lottery's budget what [`take_budget`] took.
///
/// # Errors
/// Database errors.
pub async fn give_back_budget(
    db: &impl ConnectionTrait,
    lottery: i64,
    value: i64,
) -> Result<(), DbErr> {
    let spent = Expr::col(lotteries::Column::SpentPoints);
    lotteries::Entity::update_many()
        .col_expr(lotteries::Column::SpentPoints, spent.sub(value))
        .filter(lotteries::Column::Id.eq(lottery))
        .exec(db)
        .await
        .map(|_| ())
}

/// A draw to record.
pub struct NewDraw<'a> {
    pub lottery: i64,
    pub member: MemberId,
    pub key: &'a str,
    pub day: NaiveDate,
    pub prize: Option<&'a Prize>,
    pub paid: PrizeKind,
    pub free: bool,
    pub cost_points: i64,
    pub value: i64,
    pub random_value: i64,
    pub weights: String,
}

/// # Errors
/// Database errors.
pub async fn insert_draw(
    db: &impl ConnectionTrait,
    d: &NewDraw<'_>,
    now: DateTime<Utc>,
) -> Result<Draw, AppError> {
    let won = d.paid != PrizeKind::None;
    let row = lottery_draws::ActiveModel {
        lottery_id: Set(d.lottery),
        member_id: Set(d.member.get()),
        idempotency_key: Set(d.key.to_owned()),
        day: Set(d.day),
        prize_id: Set(d.prize.map(|p| p.id)),
        kind: Set(d.paid.as_str().to_owned()),
        points: Set(if d.paid == PrizeKind::Points {
            d.prize.map_or(0, |p| p.points)
        } else {
            0
        }),
        reward_id: Set(d
            .prize
            .filter(|_| d.paid == PrizeKind::Reward)
            .and_then(|p| p.reward_id)),
        quantity: Set(if won {
            d.prize.map_or(0, |p| p.quantity)
        } else {
            0
        }),
        won: Set(won),
        free: Set(d.free),
        cost_points: Set(d.cost_points),
        value: Set(d.value),
        random_value: Set(d.random_value),
        weights: Set(d.weights.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    draw(row)
}

/// The member's draws, newest first.
///
/// # Errors
/// Database errors.
pub async fn member_draws(
    db: &impl ConnectionTrait,
    member: MemberId,
    limit: u64,
) -> Result<Vec<Draw>, AppError> {
    lottery_draws::Entity::find()
        .filter(lottery_draws::Column::MemberId.eq(member.get()))
        .order_by_desc(lottery_draws::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(draw)
        .collect()
}

/// What a lottery's draws add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq, FromQueryResult)]
pub struct DrawTotals {
    pub draws: i64,
    pub won: i64,
    pub points_taken: i64,
    pub points_prizes: i64,
    pub reward_prizes: i64,
    pub value_paid: i64,
}

/// # Errors
/// Database errors.
pub async fn totals(db: &impl ConnectionTrait, lottery: i64) -> Result<DrawTotals, DbErr> {
    let sql = format!(
        "SELECT COUNT(*) AS draws, \
         CAST(COALESCE(SUM(CASE WHEN won THEN 1 ELSE 0 END), 0) AS BIGINT) AS won, \
         CAST(COALESCE(SUM(CASE WHEN free THEN 0 ELSE cost_points END), 0) AS BIGINT) AS points_taken, \
         CAST(COALESCE(SUM(CASE WHEN kind = 'POINTS' THEN 1 ELSE 0 END), 0) AS BIGINT) AS points_prizes, \
         CAST(COALESCE(SUM(CASE WHEN kind = 'REWARD' THEN 1 ELSE 0 END), 0) AS BIGINT) AS reward_prizes, \
         CAST(COALESCE(SUM(value), 0) AS BIGINT) AS value_paid \
         FROM lottery_draws WHERE lottery_id = {lottery}"
    );
    let backend = db.get_database_backend();
    Ok(
        DrawTotals::find_by_statement(sea_orm::Statement::from_string(backend, sql))
            .one(db)
            .await?
            .unwrap_or_default(),
    )
}
