//! The KOC tables: applications, tasks and submissions, and the members' KOC columns.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{koc_applications, koc_submissions, koc_tasks, members};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::domain::ids::MemberId;
use crate::domain::koc::{
    KocTask, Platform, Proof, ReviewStatus, TaskKind, TaskPeriod, Verification,
};
use crate::error::AppError;

fn corrupt(what: &str, id: i64, value: &str) -> AppError {
    AppError::internal(anyhow::anyhow!("{what} {id} has an unknown value {value}"))
}

/// A KOC application.
#[derive(Debug, Clone)]
pub struct Application {
    pub id: i64,
    pub member: MemberId,
    pub platforms: Vec<Platform>,
    pub reason: String,
    pub status: ReviewStatus,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

fn application(row: koc_applications::Model) -> Result<Application, AppError> {
    let status = ReviewStatus::parse(&row.status)
        .ok_or_else(|| corrupt("application", row.id, &row.status))?;
    let platforms = serde_json::from_str(&row.platforms).map_err(AppError::internal)?;
    Ok(Application {
        id: row.id,
        member: MemberId::new(row.member_id),
        platforms,
        reason: row.reason,
        status,
        note: row.note,
        created_at: row.created_at,
        reviewed_at: row.reviewed_at,
    })
}

pub async fn insert_application(
    db: &impl ConnectionTrait,
    member: MemberId,
    platforms: &[Platform],
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Application, AppError> {
    let row = koc_applications::ActiveModel {
        member_id: Set(member.get()),
        platforms: Set(serde_json::to_string(platforms).map_err(AppError::internal)?),
        reason: Set(reason.to_owned()),
        status: Set(ReviewStatus::Pending.as_str().to_owned()),
        created_at: Set(now),
        ..Default::default()
    };
    let id = koc_applications::Entity::insert(row)
        .exec(db)
        .await?
        .last_insert_id;
    find_application(db, id)
        .await?
        .ok_or(AppError::NotFound("application"))
}

pub async fn find_application(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<Application>, AppError> {
    koc_applications::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(application)
        .transpose()
}

/// The member's latest application.
pub async fn latest_application(
    db: &impl ConnectionTrait,
    member: MemberId,
) -> Result<Option<Application>, AppError> {
    koc_applications::Entity::find()
        .filter(koc_applications::Column::MemberId.eq(member.get()))
        .order_by_desc(koc_applications::Column::Id)
        .one(db)
        .await?
        .map(application)
        .transpose()
}

/// Decides a pending application; false when it was decided already.
pub async fn decide_application(
    db: &impl ConnectionTrait,
    id: i64,
    status: ReviewStatus,
    note: Option<&str>,
    reviewer: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = koc_applications::Entity::update_many()
        .col_expr(
            koc_applications::Column::Status,
            Expr::value(status.as_str()),
        )
        .col_expr(koc_applications::Column::Note, Expr::value(note))
        .col_expr(koc_applications::Column::ReviewedBy, Expr::value(reviewer))
        .col_expr(koc_applications::Column::ReviewedAt, Expr::value(now))
        .filter(koc_applications::Column::Id.eq(id))
        .filter(koc_applications::Column::Status.eq(ReviewStatus::Pending.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Applications, oldest first (a queue), optionally by status.
pub async fn list_applications(
    db: &impl ConnectionTrait,
    status: Option<ReviewStatus>,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<Application>, AppError> {
    let mut query = koc_applications::Entity::find();
    if let Some(status) = status {
        query = query.filter(koc_applications::Column::Status.eq(status.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(koc_applications::Column::Id.gt(after));
    }
    query
        .order_by_asc(koc_applications::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(application)
        .collect()
}

/// Writes the member's KOC level and total score.
pub async fn set_member_koc(
    db: &impl ConnectionTrait,
    member: MemberId,
    level: i32,
    score_total: i64,
) -> Result<(), DbErr> {
    members::Entity::update_many()
        .col_expr(members::Column::KocLevel, Expr::value(level))
        .col_expr(members::Column::KocScoreTotal, Expr::value(score_total))
        .filter(members::Column::Id.eq(member.get()))
        .exec(db)
        .await
        .map(|_| ())
}

fn task(row: koc_tasks::Model) -> Result<KocTask, AppError> {
    Ok(KocTask {
        kind: TaskKind::parse(&row.kind).ok_or_else(|| corrupt("task", row.id, &row.kind))?,
        period: TaskPeriod::parse(&row.period)
            .ok_or_else(|| corrupt("task", row.id, &row.period))?,
        verification: Verification::parse(&row.verification)
            .ok_or_else(|| corrupt("task", row.id, &row.verification))?,
        id: row.id,
        title: row.title,
        description: row.description,
        difficulty: row.difficulty,
        min_koc_level: row.min_koc_level,
        reward_points: row.reward_points,
        reward_growth: row.reward_growth,
        reward_score: row.reward_score,
        max_completions: row.max_completions,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        target: row.target,
        active: row.active,
    })
}

fn task_row(t: &KocTask, now: DateTime<Utc>) -> koc_tasks::ActiveModel {
    koc_tasks::ActiveModel {
        title: Set(t.title.trim().to_owned()),
        description: Set(t.description.clone()),
        kind: Set(t.kind.as_str().to_owned()),
        difficulty: Set(t.difficulty),
        min_koc_level: Set(t.min_koc_level),
        reward_points: Set(t.reward_points),
        reward_growth: Set(t.reward_growth),
        reward_score: Set(t.reward_score),
        period: Set(t.period.as_str().to_owned()),
        max_completions: Set(t.max_completions),
        starts_at: Set(t.starts_at),
        ends_at: Set(t.ends_at),
        verification: Set(t.verification.as_str().to_owned()),
        target: Set(t.target),
        active: Set(t.active),
        updated_at: Set(now),
        ..Default::default()
    }
}

pub async fn insert_task(
    db: &impl ConnectionTrait,
    t: &KocTask,
    now: DateTime<Utc>,
) -> Result<i64, DbErr> {
    let mut row = task_row(t, now);
    row.created_at = Set(now);
    Ok(koc_tasks::Entity::insert(row)
        .exec(db)
        .await?
        .last_insert_id)
}

/// Replaces a task's fields; false when it does not exist.
pub async fn update_task(
    db: &impl ConnectionTrait,
    t: &KocTask,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = koc_tasks::Entity::update_many()
        .set(task_row(t, now))
        .filter(koc_tasks::Column::Id.eq(t.id))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn find_task(db: &impl ConnectionTrait, id: i64) -> Result<Option<KocTask>, AppError> {
    koc_tasks::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(task)
        .transpose()
}

/// Every task in order of difficulty, then id; retired ones only when `all`.
pub async fn tasks(db: &impl ConnectionTrait, all: bool) -> Result<Vec<KocTask>, AppError> {
    let mut query = koc_tasks::Entity::find();
    if !all {
        query = query.filter(koc_tasks::Column::Active.eq(true));
    }
    query
        .order_by_asc(koc_tasks::Column::Difficulty)
        .order_by_asc(koc_tasks::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(task)
        .collect()
}

/// Active AUTO tasks of a kind.
pub async fn auto_tasks(
    db: &impl ConnectionTrait,
    kind: TaskKind,
) -> Result<Vec<KocTask>, AppError> {
    koc_tasks::Entity::find()
        .filter(koc_tasks::Column::Active.eq(true))
        .filter(koc_tasks::Column::Kind.eq(kind.as_str()))
        .filter(koc_tasks::Column::Verification.eq(Verification::Auto.as_str()))
        .order_by_asc(koc_tasks::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(task)
        .collect()
}

/// A piece of KOC work: submitted proof, or an AUTO completion.
#[derive(Debug, Clone)]
pub struct Submission {
    pub id: i64,
    pub task_id: i64,
    pub member: MemberId,
    pub period_key: String,
    pub status: ReviewStatus,
    pub proof: Proof,
    pub note: Option<String>,
    pub attempts: i32,
    pub auto: bool,
    pub submitted_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

fn submission(row: koc_submissions::Model) -> Result<Submission, AppError> {
    let status = ReviewStatus::parse(&row.status)
        .ok_or_else(|| corrupt("submission", row.id, &row.status))?;
    let image_urls = serde_json::from_str(&row.proof_images).map_err(AppError::internal)?;
    Ok(Submission {
        id: row.id,
        task_id: row.task_id,
        member: MemberId::new(row.member_id),
        period_key: row.period_key,
        status,
        proof: Proof {
            url: row.proof_url,
            text: row.proof_text,
            image_urls,
        },
        note: row.note,
        attempts: row.attempts,
        auto: row.auto,
        submitted_at: row.submitted_at,
        reviewed_at: row.reviewed_at,
    })
}

/// A submission to record.
pub struct NewSubmission<'a> {
    pub task_id: i64,
    pub member: MemberId,
    pub period_key: &'a str,
    pub status: ReviewStatus,
    pub proof: &'a Proof,
    pub auto: bool,
    pub now: DateTime<Utc>,
}

pub async fn insert_submission(
    db: &impl ConnectionTrait,
    new: NewSubmission<'_>,
) -> Result<Submission, AppError> {
    let row = koc_submissions::ActiveModel {
        task_id: Set(new.task_id),
        member_id: Set(new.member.get()),
        period_key: Set(new.period_key.to_owned()),
        status: Set(new.status.as_str().to_owned()),
        proof_url: Set(new.proof.url.clone()),
        proof_text: Set(new.proof.text.clone()),
        proof_images: Set(serde_json::to_string(&new.proof.image_urls).map_err(AppError::internal)?),
        attempts: Set(1),
        auto: Set(new.auto),
        submitted_at: Set(new.now),
        reviewed_at: Set(new.auto.then_some(new.now)),
        ..Default::default()
    };
    let id = koc_submissions::Entity::insert(row)
        .exec(db)
        .await?
        .last_insert_id;
    find_submission(db, id)
        .await?
        .ok_or(AppError::NotFound("submission"))
}

pub async fn find_submission(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<Submission>, AppError> {
    koc_submissions::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(submission)
        .transpose()
}

/// Decides a pending submission; false when it was not pending.
pub async fn decide_submission(
    db: &impl ConnectionTrait,
    id: i64,
    status: ReviewStatus,
    note: Option<&str>,
    reviewer: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = koc_submissions::Entity::update_many()
        .col_expr(
            koc_submissions::Column::Status,
            Expr::value(status.as_str()),
        )
        .col_expr(koc_submissions::Column::Note, Expr::value(note))
        .col_expr(koc_submissions::Column::ReviewedBy, Expr::value(reviewer))
        .col_expr(koc_submissions::Column::ReviewedAt, Expr::value(now))
        .filter(koc_submissions::Column::Id.eq(id))
        .filter(koc_submissions::Column::Status.eq(ReviewStatus::Pending.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Puts a rejected submission back in the queue with new proof; false when it was not rejected.
pub async fn resubmit(
    db: &impl ConnectionTrait,
    id: i64,
    proof: &Proof,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let result = koc_submissions::Entity::update_many()
        .col_expr(
            koc_submissions::Column::Status,
            Expr::value(ReviewStatus::Pending.as_str()),
        )
        .col_expr(
            koc_submissions::Column::ProofUrl,
            Expr::value(proof.url.clone()),
        )
        .col_expr(
            koc_submissions::Column::ProofText,
            Expr::value(proof.text.clone()),
        )
        .col_expr(
            koc_submissions::Column::ProofImages,
            Expr::value(serde_json::to_string(&proof.image_urls).map_err(AppError::internal)?),
        )
        .col_expr(
            koc_submissions::Column::Attempts,
            Expr::col(koc_submissions::Column::Attempts).add(1),
        )
        .col_expr(koc_submissions::Column::SubmittedAt, Expr::value(now))
        .filter(koc_submissions::Column::Id.eq(id))
        .filter(koc_submissions::Column::Status.eq(ReviewStatus::Rejected.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// How many of the member's submissions per (task, period) are approved or awaiting review:
/// the completions used. One query for all of a member's tasks.
pub async fn used_completions(
    db: &impl ConnectionTrait,
    member: MemberId,
    periods: &[(i64, String)],
) -> Result<HashMap<i64, (i32, i32)>, DbErr> {
    let mut used: HashMap<i64, (i32, i32)> = HashMap::new();
    if periods.is_empty() {
        return Ok(used);
    }
    let task_ids: Vec<i64> = periods.iter().map(|(id, _)| *id).collect();
    let rows: Vec<(i64, String, String)> = koc_submissions::Entity::find()
        .select_only()
        .column(koc_submissions::Column::TaskId)
        .column(koc_submissions::Column::PeriodKey)
        .column(koc_submissions::Column::Status)
        .filter(koc_submissions::Column::MemberId.eq(member.get()))
        .filter(koc_submissions::Column::TaskId.is_in(task_ids))
        .filter(koc_submissions::Column::Status.ne(ReviewStatus::Rejected.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    for (task_id, period, status) in rows {
        let current = periods
            .iter()
            .any(|(id, key)| *id == task_id && *key == period);
        if !current {
            continue;
        }
        let entry = used.entry(task_id).or_default();
        if status == ReviewStatus::Approved.as_str() {
            entry.0 = entry.0.saturating_add(1);
        } else {
            entry.1 = entry.1.saturating_add(1);
        }
    }
    Ok(used)
}

/// Submissions, oldest first (a queue): the member's own, or everyone's by status.
pub async fn list_submissions(
    db: &impl ConnectionTrait,
    member: Option<MemberId>,
    status: Option<ReviewStatus>,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<Submission>, AppError> {
    let mut query = koc_submissions::Entity::find();
    if let Some(member) = member {
        query = query.filter(koc_submissions::Column::MemberId.eq(member.get()));
    }
    if let Some(status) = status {
        query = query.filter(koc_submissions::Column::Status.eq(status.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(koc_submissions::Column::Id.gt(after));
    }
    query
        .order_by_asc(koc_submissions::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(submission)
        .collect()
}

pub async fn task_has_submissions(db: &impl ConnectionTrait, task: i64) -> Result<bool, DbErr> {
    Ok(koc_submissions::Entity::find()
        .filter(koc_submissions::Column::TaskId.eq(task))
        .one(db)
        .await?
        .is_some())
}

pub async fn delete_task(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    koc_tasks::Entity::delete_by_id(id)
        .exec(db)
        .await
        .map(|_| ())
}

/// Tasks with the given ids, retired ones included.
pub async fn tasks_by_id(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<KocTask>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    koc_tasks::Entity::find()
        .filter(koc_tasks::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(task)
        .collect()
}
