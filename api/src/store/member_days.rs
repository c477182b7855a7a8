//! The `member_day_events` table.

use chrono::{DateTime, Utc};

use crate::domain::member_day::ScheduledEvent;
use entity::member_day_events;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

fn event(row: member_day_events::Model) -> ScheduledEvent {
    ScheduledEvent {
        id: row.id,
        title: row.title,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        multiplier_pct: row.multiplier_pct,
        discount_pct: row.discount_pct,
        min_tier: row.min_tier,
    }
}

/// Every event not yet over at `at`, soonest first.
pub async fn not_over(
    db: &impl ConnectionTrait,
    at: DateTime<Utc>,
) -> Result<Vec<ScheduledEvent>, DbErr> {
    Ok(member_day_events::Entity::find()
        .filter(member_day_events::Column::EndsAt.gt(at))
        .order_by_asc(member_day_events::Column::StartsAt)
        .all(db)
        .await?
        .into_iter()
        .map(event)
        .collect())
}

pub async fn insert(
    db: &impl ConnectionTrait,
    new: &ScheduledEvent,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let row = member_day_events::ActiveModel {
        title: Set(new.title.clone()),
        starts_at: Set(new.starts_at),
        ends_at: Set(new.ends_at),
        multiplier_pct: Set(new.multiplier_pct),
        discount_pct: Set(new.discount_pct),
        min_tier: Set(new.min_tier.clone()),
        created_at: Set(now),
        ..Default::default()
    };
    let id = member_day_events::Entity::insert(row)
        .exec(db)
        .await?
        .last_insert_id;
    crate::store::programme::bump_rules_version(db).await?;
    Ok(id)
}

/// Every event, soonest first: the table holds a handful a month, and the rules cache keeps
/// them all so it answers for any time the (test) clock shows.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<ScheduledEvent>, DbErr> {
    Ok(member_day_events::Entity::find()
        .order_by_asc(member_day_events::Column::StartsAt)
        .all(db)
        .await?
        .into_iter()
        .map(event)
        .collect())
}

/// Deletes an event; true when it existed.
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    let deleted = member_day_events::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        == 1;
    if deleted {
        crate::store::programme::bump_rules_version(db).await?;
    }
    Ok(deleted)
}
