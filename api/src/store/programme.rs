//! The programme's editable rules: the sign-in cycle, milestones, scalar settings, tier rules.

use entity::{programme_settings, sign_in_cycle_days, sign_in_milestones, tiers};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, QueryOrder};

use crate::domain::signin::{Cycle, Milestone, MilestoneKind};
use crate::error::AppError;

pub const MAKE_UP_COST: &str = "make_up_cost";

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

/// Replaces the cycle.
pub async fn replace_cycle(db: &impl ConnectionTrait, cycle: &Cycle) -> Result<(), DbErr> {
    sign_in_cycle_days::Entity::delete_many().exec(db).await?;
    let rows = (1_i32..)
        .zip(cycle.days())
        .map(|(day, points)| sign_in_cycle_days::ActiveModel {
            day: Set(day),
            points: Set(*points),
        });
    sign_in_cycle_days::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await
        .map(|_| ())
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
        .await
        .map(|_| ())
}

/// The rules of a tier that points depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierRules {
    pub points_multiplier_pct: i32,
    pub monthly_earn_cap: i64,
    pub monthly_redeem_cap: i64,
    pub make_ups_per_month: i32,
}

/// # Errors
/// `INTERNAL` when the member's tier does not exist.
pub async fn tier_rules(db: &impl ConnectionTrait, code: &str) -> Result<TierRules, AppError> {
    let tier = tiers::Entity::find_by_id(code.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("tier {code} does not exist")))?;
    Ok(TierRules {
        points_multiplier_pct: tier.points_multiplier_pct,
        monthly_earn_cap: tier.monthly_earn_cap,
        monthly_redeem_cap: tier.monthly_redeem_cap,
        make_ups_per_month: tier.make_ups_per_month,
    })
}
