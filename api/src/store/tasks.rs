//! Event types, member events, tasks, progress and badges (SPEC §13).

use chrono::{DateTime, NaiveDate, Utc};
use entity::{badges, event_types, member_badges, member_events, members, task_progress, tasks};
use sea_orm::sea_query::{Cond, Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, TryInsertResult,
};

use crate::domain::ids::MemberId;
use crate::domain::task::{Badge, EventType, Progress, Task, TaskReward, TaskStatus};
use crate::error::AppError;

fn event_type(row: event_types::Model) -> EventType {
    EventType {
        code: row.code,
        name: row.name,
        member_reportable: row.member_reportable,
        daily_limit: row.daily_limit_per_member,
        built_in: row.built_in,
    }
}

/// Every event type, by code.
///
/// # Errors
/// Database errors.
pub async fn event_types(db: &impl ConnectionTrait) -> Result<Vec<EventType>, DbErr> {
    Ok(event_types::Entity::find()
        .order_by_asc(event_types::Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(event_type)
        .collect())
}

/// Inserts an event type; false when the code is taken.
///
/// # Errors
/// Database errors.
pub async fn insert_event_type(
    db: &impl ConnectionTrait,
    new: &EventType,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let inserted = event_types::Entity::insert(event_types::ActiveModel {
        code: Set(new.code.clone()),
        name: Set(new.name.trim().to_owned()),
        member_reportable: Set(new.member_reportable),
        daily_limit_per_member: Set(new.daily_limit),
        built_in: Set(false),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([event_types::Column::Code])
    .exec_without_returning(db)
    .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(1)))
}

/// An event to record.
pub struct NewEvent<'a> {
    pub member: MemberId,
    pub event_type: &'a str,
    pub value: i64,
    pub occurred_at: DateTime<Utc>,
    pub day: NaiveDate,
    pub key: &'a str,
}

/// Records an event under the member's key; false when the key was used before (a replay).
///
/// # Errors
/// Database errors.
pub async fn insert_event(
    db: &impl ConnectionTrait,
    event: &NewEvent<'_>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let inserted = member_events::Entity::insert(member_events::ActiveModel {
        member_id: Set(event.member.get()),
        event_type: Set(event.event_type.to_owned()),
        value: Set(event.value),
        occurred_at: Set(event.occurred_at),
        day: Set(event.day),
        idempotency_key: Set(event.key.to_owned()),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([
        member_events::Column::MemberId,
        member_events::Column::IdempotencyKey,
    ])
    .exec_without_returning(db)
    .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(1)))
}

/// The event recorded under the member's key: (type, value).
///
/// # Errors
/// Database errors.
pub async fn event_by_key(
    db: &impl ConnectionTrait,
    member: MemberId,
    key: &str,
) -> Result<Option<(String, i64)>, DbErr> {
    Ok(member_events::Entity::find()
        .filter(member_events::Column::MemberId.eq(member.get()))
        .filter(member_events::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
        .map(|row| (row.event_type, row.value)))
}

/// The member's events of `event_type` on business day `day`.
///
/// # Errors
/// Database errors.
pub async fn events_on(
    db: &impl ConnectionTrait,
    member: MemberId,
    event_type: &str,
    day: NaiveDate,
) -> Result<u64, DbErr> {
    member_events::Entity::find()
        .filter(member_events::Column::MemberId.eq(member.get()))
        .filter(member_events::Column::EventType.eq(event_type))
        .filter(member_events::Column::Day.eq(day))
        .count(db)
        .await
}

fn task(row: tasks::Model) -> Result<Task, AppError> {
    let bad = |what: &str| AppError::internal(anyhow::anyhow!("task {} has {what}", row.id));
    Ok(Task {
        id: row.id,
        category: row
            .category
            .parse()
            .map_err(|_unknown| bad("an unknown category"))?,
        goal: row
            .goal
            .parse()
            .map_err(|_unknown| bad("an unknown goal"))?,
        claim_mode: row
            .claim_mode
            .parse()
            .map_err(|_unknown| bad("an unknown claim mode"))?,
        title: row.title,
        description: row.description,
        icon_url: row.icon_url,
        event_type: row.event_type,
        target: row.target,
        consecutive_days: row.consecutive_days,
        repeating: row.repeating,
        min_tier: row.min_tier,
        min_koc_level: row.min_koc_level,
        segment_id: row.segment_id,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        reward: TaskReward {
            points: row.reward_points,
            growth: row.reward_growth,
            reward_id: row.reward_id,
            badge_code: row.badge_code,
            draws: row
                .draws_lottery_id
                .map(|lottery| (lottery, row.reward_draws)),
        },
        active: row.active,
    })
}

fn task_row(t: &Task, now: DateTime<Utc>) -> tasks::ActiveModel {
    tasks::ActiveModel {
        title: Set(t.title.trim().to_owned()),
        description: Set(t.description.clone()),
        icon_url: Set(t.icon_url.clone()),
        category: Set(t.category.as_str().to_owned()),
        event_type: Set(t.event_type.clone()),
        goal: Set(<&str>::from(t.goal).to_owned()),
        target: Set(t.target),
        consecutive_days: Set(t.consecutive_days),
        repeating: Set(t.repeating),
        min_tier: Set(t.min_tier.clone()),
        min_koc_level: Set(t.min_koc_level),
        segment_id: Set(t.segment_id),
        starts_at: Set(t.starts_at),
        ends_at: Set(t.ends_at),
        reward_points: Set(t.reward.points),
        reward_growth: Set(t.reward.growth),
        reward_id: Set(t.reward.reward_id),
        badge_code: Set(t.reward.badge_code.clone()),
        draws_lottery_id: Set(t.reward.draws.map(|(lottery, _)| lottery)),
        reward_draws: Set(t.reward.draws.map_or(0, |(_, draws)| draws)),
        claim_mode: Set(<&str>::from(t.claim_mode).to_owned()),
        active: Set(t.active),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Every task, oldest first.
///
/// # Errors
/// Database errors.
pub async fn all_tasks(db: &impl ConnectionTrait) -> Result<Vec<Task>, AppError> {
    tasks::Entity::find()
        .order_by_asc(tasks::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(task)
        .collect()
}

/// # Errors
/// Database errors.
pub async fn insert_task(
    db: &impl ConnectionTrait,
    t: &Task,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let mut row = task_row(t, now);
    row.created_at = Set(now);
    Ok(row.insert(db).await?.id)
}

/// Rewrites a task's settings; false for an unknown id.
///
/// # Errors
/// Database errors.
pub async fn update_task(
    db: &impl ConnectionTrait,
    t: &Task,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let updated = tasks::Entity::update_many()
        .set(task_row(t, now))
        .filter(tasks::Column::Id.eq(t.id))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

fn progress(row: task_progress::Model) -> Result<Progress, AppError> {
    Ok(Progress {
        status: row.status.parse().map_err(|_unknown| {
            AppError::internal(anyhow::anyhow!("task progress has status {}", row.status))
        })?,
        task_id: row.task_id,
        period_key: row.period_key,
        progress: row.progress,
        streak: row.streak,
        last_day: row.last_day,
        day_progress: row.day_progress,
        period_ends_at: row.period_ends_at,
    })
}

/// The member's progress rows on `tasks` under any of `keys`: one statement.
///
/// # Errors
/// Database errors.
pub async fn progress_of(
    db: &impl ConnectionTrait,
    member: MemberId,
    tasks: &[i64],
    keys: &[String],
) -> Result<Vec<Progress>, AppError> {
    task_progress::Entity::find()
        .filter(task_progress::Column::MemberId.eq(member.get()))
        .filter(task_progress::Column::TaskId.is_in(tasks.iter().copied()))
        .filter(task_progress::Column::PeriodKey.is_in(keys.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(progress)
        .collect()
}

/// Writes the member's progress rows in one statement (new rows inserted, others replaced).
///
/// # Errors
/// Database errors.
pub async fn save_progress(
    db: &impl ConnectionTrait,
    member: MemberId,
    rows: &[Progress],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let models = rows.iter().map(|p| {
        let complete = matches!(p.status, TaskStatus::Claimable | TaskStatus::Done);
        task_progress::ActiveModel {
            member_id: Set(member.get()),
            task_id: Set(p.task_id),
            period_key: Set(p.period_key.clone()),
            progress: Set(p.progress),
            streak: Set(p.streak),
            last_day: Set(p.last_day),
            day_progress: Set(p.day_progress),
            status: Set(p.status.as_str().to_owned()),
            period_ends_at: Set(p.period_ends_at),
            completed_at: Set(complete.then_some(now)),
            claimed_at: Set((p.status == TaskStatus::Done).then_some(now)),
            updated_at: Set(now),
        }
    });
    task_progress::Entity::insert_many(models)
        .on_conflict(
            OnConflict::columns([
                task_progress::Column::MemberId,
                task_progress::Column::TaskId,
                task_progress::Column::PeriodKey,
            ])
            .update_columns([
                task_progress::Column::Progress,
                task_progress::Column::Streak,
                task_progress::Column::LastDay,
                task_progress::Column::DayProgress,
                task_progress::Column::Status,
                task_progress::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// The member's progress on every task, newest period first (for the task centre).
///
/// # Errors
/// Database errors.
pub async fn member_progress(
    db: &impl ConnectionTrait,
    member: MemberId,
) -> Result<Vec<Progress>, AppError> {
    task_progress::Entity::find()
        .filter(task_progress::Column::MemberId.eq(member.get()))
        .order_by_desc(task_progress::Column::UpdatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(progress)
        .collect()
}

/// Marks a claimable period paid, unless its period has ended; false when it was not
/// claimable (claimed before, not complete, or lapsed).
///
/// # Errors
/// Database errors.
pub async fn mark_claimed(
    db: &impl ConnectionTrait,
    member: MemberId,
    task: i64,
    period_key: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let claimed = task_progress::Entity::update_many()
        .col_expr(
            task_progress::Column::Status,
            Expr::value(TaskStatus::Done.as_str()),
        )
        .col_expr(task_progress::Column::ClaimedAt, Expr::value(now))
        .filter(task_progress::Column::MemberId.eq(member.get()))
        .filter(task_progress::Column::TaskId.eq(task))
        .filter(task_progress::Column::PeriodKey.eq(period_key))
        .filter(task_progress::Column::Status.eq(TaskStatus::Claimable.as_str()))
        .filter(
            Cond::any()
                .add(task_progress::Column::PeriodEndsAt.is_null())
                .add(task_progress::Column::PeriodEndsAt.gt(now)),
        )
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

fn badge(row: badges::Model) -> Badge {
    Badge {
        code: row.code,
        name: row.name,
        icon_url: row.icon_url,
        valid_days: row.valid_days,
    }
}

/// # Errors
/// Database errors.
pub async fn badges(db: &impl ConnectionTrait) -> Result<Vec<Badge>, DbErr> {
    Ok(badges::Entity::find()
        .order_by_asc(badges::Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(badge)
        .collect())
}

/// # Errors
/// Database errors.
pub async fn find_badge(db: &impl ConnectionTrait, code: &str) -> Result<Option<Badge>, DbErr> {
    Ok(badges::Entity::find_by_id(code.to_owned())
        .one(db)
        .await?
        .map(badge))
}

/// Inserts a badge; false when the code is taken.
///
/// # Errors
/// Database errors.
pub async fn insert_badge(
    db: &impl ConnectionTrait,
    b: &Badge,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let inserted = badges::Entity::insert(badges::ActiveModel {
        code: Set(b.code.clone()),
        name: Set(b.name.trim().to_owned()),
        icon_url: Set(b.icon_url.clone()),
        valid_days: Set(b.valid_days),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([badges::Column::Code])
    .exec_without_returning(db)
    .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(1)))
}

/// Gives the member the badge from `now` until `expires_at` (a badge held again is renewed).
///
/// # Errors
/// Database errors.
pub async fn grant_badge(
    db: &impl ConnectionTrait,
    member: MemberId,
    code: &str,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    member_badges::Entity::insert(member_badges::ActiveModel {
        member_id: Set(member.get()),
        badge_code: Set(code.to_owned()),
        granted_at: Set(now),
        expires_at: Set(expires_at),
    })
    .on_conflict(
        OnConflict::columns([
            member_badges::Column::MemberId,
            member_badges::Column::BadgeCode,
        ])
        .update_columns([
            member_badges::Column::GrantedAt,
            member_badges::Column::ExpiresAt,
        ])
        .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map(|_| ())
}

/// The member's badges not expired at `now`: (code, granted at, expires at).
///
/// # Errors
/// Database errors.
pub async fn member_badges(
    db: &impl ConnectionTrait,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)>, DbErr> {
    Ok(member_badges::Entity::find()
        .filter(member_badges::Column::MemberId.eq(member.get()))
        .filter(
            Cond::any()
                .add(member_badges::Column::ExpiresAt.is_null())
                .add(member_badges::Column::ExpiresAt.gt(now)),
        )
        .order_by_desc(member_badges::Column::GrantedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.badge_code, row.granted_at, row.expires_at))
        .collect())
}

/// Sets (or with `None` clears) the badge shown beside the member.
///
/// # Errors
/// Database errors.
pub async fn set_displayed_badge(
    db: &impl ConnectionTrait,
    member: MemberId,
    code: Option<&str>,
) -> Result<(), DbErr> {
    members::Entity::update_many()
        .col_expr(
            members::Column::DisplayedBadge,
            Expr::value(code.map(str::to_owned)),
        )
        .filter(members::Column::Id.eq(member.get()))
        .exec(db)
        .await
        .map(|_| ())
}

/// The badge shown beside the member, if they still hold it.
///
/// # Errors
/// Database errors.
pub async fn displayed_badge(
    db: &impl ConnectionTrait,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    let Some(code) = members::Entity::find_by_id(member.get())
        .one(db)
        .await?
        .and_then(|row| row.displayed_badge)
    else {
        return Ok(None);
    };
    let held = member_badges(db, member, now)
        .await?
        .into_iter()
        .any(|(held, _, _)| held == code);
    Ok(held.then_some(code))
}
