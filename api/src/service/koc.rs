//! The KOC programme (SPEC §7): applications and their review, tasks, submissions and their
//! review, AUTO tasks, KOC score and levels.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::domain::ids::{AdminId, MemberId};
use crate::domain::koc::{
    self, KocTask, Platform, Proof, ReviewStatus, TaskKind, Unavailable, Verification,
};
use crate::domain::notification;
use crate::domain::paging::PageSize;
use crate::domain::points::{EntryKind, MonthKey};
use crate::domain::tier::GrowthSource;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::leaderboards::LeaderboardService;
use crate::service::ledger::{Credit, Ledger, LedgerPolicy};
use crate::service::work::PointsEngine;
use crate::store::koc::NewSubmission;
pub use crate::store::koc::{Application, Submission};
use crate::store::ledger::{LockedMember, MonthTotals};
use crate::store::{self, programme};

/// A member's KOC standing.
#[derive(Debug, Clone)]
pub struct KocProfile {
    pub level: Option<i32>,
    pub score_total: i64,
    pub score_this_month: i64,
    pub application: Option<Application>,
}

/// A task as a KOC sees it now.
#[derive(Debug, Clone)]
pub struct TaskStatus {
    pub task: KocTask,
    pub period_key: String,
    /// Approved completions this period.
    pub completed: i32,
    /// Submissions awaiting review this period.
    pub pending: i32,
    /// Completions still open this period.
    pub remaining: i32,
    /// AUTO tasks: invitees signed in (REFERRAL) or their purchases (SALES) this period.
    pub progress: Option<i64>,
    pub unavailable: Option<Unavailable>,
}

/// What an approval paid.
#[derive(Debug, Clone, Copy, Default)]
pub struct Award {
    pub points: i64,
    pub growth: i64,
    pub score: i64,
}

pub struct KocService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    policy: LedgerPolicy,
    engine: PointsEngine,
    boards: Arc<LeaderboardService>,
    min_tier: String,
}

impl KocService {
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<Clock>,
        engine: PointsEngine,
        boards: Arc<LeaderboardService>,
        min_tier: String,
    ) -> Self {
        Self {
            db,
            clock,
            policy: engine.policy(),
            engine,
            boards,
            min_tier,
        }
    }

    /// The member's KOC level, score and latest application.
    ///
    /// # Errors
    /// `NOT_FOUND`; `INTERNAL` on database failure.
    pub async fn profile(&self, member: MemberId) -> Result<KocProfile, AppError> {
        let row = store::ledger::read_member(&self.db, member).await?;
        let month = MonthKey::of(self.clock.now(), self.policy.timezone);
        let this_month =
            store::ledger::stored_month_totals(&self.db, member, month.as_str()).await?;
        Ok(KocProfile {
            level: row.koc_level,
            score_total: row.koc_score_total,
            score_this_month: this_month.koc_score,
            application: store::koc::latest_application(&self.db, member).await?,
        })
    }

    /// Applies to be a KOC.
    ///
    /// # Errors
    /// `KOC_NOT_ELIGIBLE` below the configured tier; `CONFLICT` for a KOC or an open
    /// application; `VALIDATION`.
    pub async fn apply(
        &self,
        member: MemberId,
        platforms: Vec<Platform>,
        reason: &str,
    ) -> Result<Application, AppError> {
        koc::check_application(&platforms, reason)?;
        let platforms: Vec<Platform> = platforms
            .into_iter()
            .map(|p| Platform {
                platform: p.platform.trim().to_owned(),
                handle: p.handle.trim().to_owned(),
                followers: p.followers,
            })
            .collect();
        let now = self.clock.now();
        let txn = store::begin(&self.db).await?;
        let locked = store::ledger::lock_member(&txn, member).await?;
        if locked.koc_level.is_some() {
            return Err(AppError::Conflict("you are a KOC already".into()));
        }
        let tier = programme::tier_rules(&txn, &locked.tier_code).await?;
        let required = programme::tier_rules(&txn, &self.min_tier).await?;
        if tier.rank < required.rank {
            return Err(AppError::KocNotEligible {
                required: required.code,
            });
        }
        if store::koc::latest_application(&txn, member)
            .await?
            .is_some_and(|a| a.status == ReviewStatus::Pending)
        {
            return Err(AppError::Conflict(
                "your application is still being reviewed".into(),
            ));
        }
        let application =
            store::koc::insert_application(&txn, member, &platforms, reason.trim(), now).await?;
        txn.commit().await?;
        tracing::info!(member.id = %member, application.id = application.id, "KOC application");
        Ok(application)
    }

    /// Decides a pending application. Approval makes the member a KOC at the level their
    /// score reaches (level 1 for a newcomer).
    ///
    /// # Errors
    /// `NOT_FOUND`; `CONFLICT` when already decided; `VALIDATION` for a rejection without a note.
    pub async fn review_application(
        &self,
        reviewer: AdminId,
        id: i64,
        approve: bool,
        note: Option<&str>,
    ) -> Result<Application, AppError> {
        let note = clean_note(note, approve)?;
        let now = self.clock.now();
        let txn = store::begin(&self.db).await?;
        let application = store::koc::find_application(&txn, id)
            .await?
            .ok_or(AppError::NotFound("application"))?;
        let member = store::ledger::lock_member(&txn, application.member).await?;
        let status = if approve {
            ReviewStatus::Approved
        } else {
            ReviewStatus::Rejected
        };
        if !store::koc::decide_application(&txn, id, status, note.as_deref(), reviewer.get(), now)
            .await?
        {
            return Err(AppError::Conflict(
                "this application was already reviewed".into(),
            ));
        }
        if approve {
            let level = koc::level_for_score(member.koc_score_total);
            store::koc::set_member_koc(&txn, member.id, level, member.koc_score_total).await?;
        }
        let notice = notification::koc_application_reviewed(approve, note.as_deref());
        store::notifications::insert(&txn, member.id, notice, Some(&id.to_string()), None, now)
            .await?;
        txn.commit().await?;
        store::koc::find_application(&self.db, id)
            .await?
            .ok_or(AppError::NotFound("application"))
    }

    /// Applications, oldest first.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn applications(
        &self,
        status: Option<ReviewStatus>,
        first: PageSize,
        after: Option<i64>,
    ) -> Result<(Vec<Application>, bool), AppError> {
        let rows =
            store::koc::list_applications(&self.db, status, after, first.fetch_limit()).await?;
        Ok(first.finish(rows))
    }

    /// Every active task with the member's progress, completions left and why it is closed.
    /// A fixed number of queries, whatever the number of tasks.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn tasks_for(&self, member: MemberId) -> Result<Vec<TaskStatus>, AppError> {
        let now = self.clock.now();
        let row = store::ledger::read_member(&self.db, member).await?;
        let tasks = store::koc::tasks(&self.db, false).await?;
        let periods: Vec<(i64, String)> = tasks
            .iter()
            .map(|t| (t.id, t.period.key(now, self.policy.timezone)))
            .collect();
        let used = store::koc::used_completions(&self.db, member, &periods).await?;
        let mut progress_by_span = HashMap::new();
        let mut statuses = Vec::with_capacity(tasks.len());
        for (task, (_, period_key)) in tasks.into_iter().zip(periods) {
            let (completed, pending) = used.get(&task.id).copied().unwrap_or_default();
            let remaining = task
                .max_completions
                .saturating_sub(completed)
                .saturating_sub(pending)
                .max(0);
            let progress = if task.verification == Verification::Auto && row.koc_level.is_some() {
                let span = task.period_span(now, self.policy.timezone);
                let key = (task.kind, span);
                let value = match progress_by_span.get(&key) {
                    Some(value) => *value,
                    None => {
                        let value = auto_progress(&self.db, member, task.kind, span).await?;
                        progress_by_span.insert(key, value);
                        value
                    }
                };
                Some(value)
            } else {
                None
            };
            let unavailable = task.closed_reason(row.koc_level, now).or_else(|| {
                if remaining == 0 {
                    Some(Unavailable::LimitReached)
                } else if task.verification == Verification::Auto {
                    Some(Unavailable::AutoVerified)
                } else {
                    None
                }
            });
            statuses.push(TaskStatus {
                task,
                period_key,
                completed,
                pending,
                remaining,
                progress,
                unavailable,
            });
        }
        Ok(statuses)
    }

    /// Every task, retired ones included (admins).
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn all_tasks(&self) -> Result<Vec<KocTask>, AppError> {
        store::koc::tasks(&self.db, true).await
    }

    /// # Errors
    /// `VALIDATION`.
    pub async fn create_task(&self, task: KocTask) -> Result<KocTask, AppError> {
        task.validate()?;
        let id = store::koc::insert_task(&self.db, &task, self.clock.now()).await?;
        store::koc::find_task(&self.db, id)
            .await?
            .ok_or(AppError::NotFound("task"))
    }

    /// Replaces a task's fields; the change applies from the next action on.
    ///
    /// # Errors
    /// `NOT_FOUND`; `VALIDATION`.
    pub async fn update_task(&self, task: KocTask) -> Result<KocTask, AppError> {
        task.validate()?;
        if !store::koc::update_task(&self.db, &task, self.clock.now()).await? {
            return Err(AppError::NotFound("task"));
        }
        store::koc::find_task(&self.db, task.id)
            .await?
            .ok_or(AppError::NotFound("task"))
    }

    /// Deletes a task nobody has worked on; `CONFLICT` otherwise (retire it with `active: false`).
    ///
    /// # Errors
    /// `NOT_FOUND`; `CONFLICT`.
    pub async fn delete_task(&self, id: i64) -> Result<(), AppError> {
        let txn = store::begin(&self.db).await?;
        if store::koc::find_task(&txn, id).await?.is_none() {
            return Err(AppError::NotFound("task"));
        }
        if store::koc::task_has_submissions(&txn, id).await? {
            return Err(AppError::Conflict(
                "this task has submissions; retire it with active: false".into(),
            ));
        }
        store::koc::delete_task(&txn, id).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Submits proof for a MANUAL task.
    ///
    /// # Errors
    /// `KOC_REQUIRED`; `TASK_UNAVAILABLE` (closed, level too low, AUTO, or this period's
    /// completions used up); `NOT_FOUND`; `VALIDATION`; `RATE_LIMITED`.
    pub async fn submit(
        &self,
        member: MemberId,
        task_id: i64,
        proof: Proof,
    ) -> Result<Submission, AppError> {
        let proof = proof.normalized()?;
        let now = self.clock.now();
        let txn = store::begin(&self.db).await?;
        let locked = store::ledger::lock_member(&txn, member).await?;
        let task = store::koc::find_task(&txn, task_id)
            .await?
            .ok_or(AppError::NotFound("task"))?;
        let period_key = task.period.key(now, self.policy.timezone);
        check_open(&txn, &locked, &task, &period_key, now).await?;
        let submission = store::koc::insert_submission(
            &txn,
            NewSubmission {
                task_id,
                member,
                period_key: &period_key,
                status: ReviewStatus::Pending,
                proof: &proof,
                auto: false,
                now,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(submission)
    }

    /// Sends a rejected submission back for review with new proof.
    ///
    /// # Errors
    /// `NOT_FOUND` (also for another member's submission); `CONFLICT` unless it was rejected;
    /// `KOC_REQUIRED`; `TASK_UNAVAILABLE`; `VALIDATION`; `RATE_LIMITED`.
    pub async fn resubmit(
        &self,
        member: MemberId,
        submission_id: i64,
        proof: Proof,
    ) -> Result<Submission, AppError> {
        let proof = proof.normalized()?;
        let now = self.clock.now();
        let txn = store::begin(&self.db).await?;
        let locked = store::ledger::lock_member(&txn, member).await?;
        let submission = store::koc::find_submission(&txn, submission_id)
            .await?
            .filter(|s| s.member == member)
            .ok_or(AppError::NotFound("submission"))?;
        if submission.status != ReviewStatus::Rejected {
            return Err(AppError::Conflict(
                "only a rejected submission can be resubmitted".into(),
            ));
        }
        let task = store::koc::find_task(&txn, submission.task_id)
            .await?
            .ok_or(AppError::NotFound("task"))?;
        check_open(&txn, &locked, &task, &submission.period_key, now).await?;
        if !store::koc::resubmit(&txn, submission_id, &proof, now).await? {
            return Err(AppError::Conflict(
                "only a rejected submission can be resubmitted".into(),
            ));
        }
        txn.commit().await?;
        store::koc::find_submission(&self.db, submission_id)
            .await?
            .ok_or(AppError::NotFound("submission"))
    }

    /// Approves (paying points, growth and KOC score) or rejects (with a note) a pending
    /// submission, and tells the member.
    ///
    /// # Errors
    /// `NOT_FOUND`; `CONFLICT` when it is not pending; `VALIDATION` for a rejection without a note.
    pub async fn review_submission(
        &self,
        reviewer: AdminId,
        id: i64,
        approve: bool,
        note: Option<&str>,
    ) -> Result<(Submission, Award), AppError> {
        let note = clean_note(note, approve)?;
        let submission = store::koc::find_submission(&self.db, id)
            .await?
            .ok_or(AppError::NotFound("submission"))?;
        let mut work = self.engine.begin(submission.member).await?;
        let now = work.now;
        let txn = work.txn();
        let task = store::koc::find_task(txn, submission.task_id)
            .await?
            .ok_or(AppError::NotFound("task"))?;
        let status = if approve {
            ReviewStatus::Approved
        } else {
            ReviewStatus::Rejected
        };
        if !store::koc::decide_submission(txn, id, status, note.as_deref(), reviewer.get(), now)
            .await?
        {
            return Err(AppError::Conflict(
                "this submission is not awaiting review".into(),
            ));
        }
        let award = if approve {
            let key = format!("koc-submission:{id}");
            let (ledger, member) = work.split();
            award(&ledger, member, &task, &key).await?
        } else {
            Award::default()
        };
        let notice = notification::koc_submission_reviewed(&task.title, approve, note.as_deref());
        let member_id = work.member.id;
        store::notifications::insert(
            work.txn(),
            member_id,
            notice,
            Some(&id.to_string()),
            None,
            now,
        )
        .await?;
        work.commit_to_boards(&self.boards).await?;
        let submission = store::koc::find_submission(&self.db, id)
            .await?
            .ok_or(AppError::NotFound("submission"))?;
        Ok((submission, award))
    }

    /// Submissions, oldest first: a member's own, or everyone's by status (the review queue).
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn submissions(
        &self,
        member: Option<MemberId>,
        status: Option<ReviewStatus>,
        first: PageSize,
        after: Option<i64>,
    ) -> Result<(Vec<Submission>, bool), AppError> {
        let rows =
            store::koc::list_submissions(&self.db, member, status, after, first.fetch_limit())
                .await?;
        Ok(first.finish(rows))
    }

    /// Tasks by id (for the submissions' `task` field: one query per page).
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn tasks_by_id(&self, ids: &[i64]) -> Result<Vec<KocTask>, AppError> {
        store::koc::tasks_by_id(&self.db, ids).await
    }
}

/// A rejection must say why (the member sees it); notes are trimmed, empty means none.
fn clean_note(note: Option<&str>, approve: bool) -> Result<Option<String>, AppError> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 500) {
        return Err(AppError::validation(
            "note",
            "must be at most 500 characters",
        ));
    }
    if !approve && note.is_none() {
        return Err(AppError::validation("note", "say why the work is rejected"));
    }
    Ok(note.map(str::to_owned))
}

/// Refuses work on a task that is closed to the member, AUTO, or used up this period.
async fn check_open(
    db: &impl ConnectionTrait,
    member: &LockedMember,
    task: &KocTask,
    period_key: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    match task.closed_reason(member.koc_level, now) {
        Some(Unavailable::NotKoc) => return Err(AppError::KocRequired),
        Some(reason) => return Err(AppError::TaskUnavailable(reason.message())),
        None => {}
    }
    if task.verification == Verification::Auto {
        return Err(AppError::TaskUnavailable(
            Unavailable::AutoVerified.message(),
        ));
    }
    let used = store::koc::used_completions(db, member.id, &[(task.id, period_key.to_owned())])
        .await?
        .get(&task.id)
        .map_or(0, |(approved, pending)| approved.saturating_add(*pending));
    if used >= task.max_completions {
        return Err(AppError::TaskUnavailable(
            Unavailable::LimitReached.message(),
        ));
    }
    Ok(())
}

/// Pays a completed task: its points (not multiplied, counted toward the monthly cap), its
/// growth (times the KOC coefficient) and its KOC score, raising the level when the score
/// reaches the next one. `key` makes the payment happen once.
///
/// # Errors
/// `INTERNAL` on database failure.
pub async fn award(
    ledger: &Ledger<'_>,
    member: &mut LockedMember,
    task: &KocTask,
    key: &str,
) -> Result<Award, AppError> {
    let (db, now) = (ledger.db, ledger.now);
    let reference = task.id.to_string();
    let posting = ledger
        .credit(
            member,
            Credit {
                kind: EntryKind::KocTask,
                requested: task.reward_points,
                key,
                payload: key,
                reference: Some(&reference),
                note: Some(&task.title),
            },
        )
        .await?;
    if posting.replayed {
        return Ok(Award::default());
    }
    let growth_before = member.growth_total;
    ledger
        .record_growth(
            member,
            task.reward_growth,
            GrowthSource::KocTask,
            Some(&reference),
        )
        .await?;
    let growth = member.growth_total.saturating_sub(growth_before);
    if task.reward_score > 0 {
        let month = MonthKey::of(now, ledger.policy.timezone);
        let delta = MonthTotals {
            koc_score: task.reward_score,
            ..MonthTotals::default()
        };
        store::ledger::add_to_month(db, member, month.as_str(), delta, now).await?;
        let total = member.koc_score_total.saturating_add(task.reward_score);
        let level = member
            .koc_level
            .unwrap_or(1)
            .max(koc::level_for_score(total));
        store::koc::set_member_koc(db, member.id, level, total).await?;
        member.koc_score_total = total;
        member.koc_level = Some(level);
    }
    Ok(Award {
        points: posting.amount,
        growth,
        score: task.reward_score,
    })
}

/// Progress toward AUTO tasks of `kind` in a span: invitees who completed a first sign-in
/// (REFERRAL) or purchases by invitees (SALES).
async fn auto_progress(
    db: &impl ConnectionTrait,
    member: MemberId,
    kind: TaskKind,
    span: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
) -> Result<i64, AppError> {
    Ok(match kind {
        TaskKind::Referral => store::referrals::completed_between(db, member, span).await?,
        TaskKind::Sales => store::referrals::invitee_purchases_between(db, member, span).await?,
        _ => 0,
    })
}

/// Completes the KOC's AUTO tasks of `kind` whose progress reached the target, once per
/// target reached (up to the period's max completions). Runs in the transaction that made
/// the progress, with the KOC's member row locked, so concurrent progress pays once.
/// Returns how many completions were paid.
///
/// # Errors
/// `INTERNAL` on database failure.
pub async fn complete_auto_tasks(
    ledger: &Ledger<'_>,
    koc_member: &mut LockedMember,
    kind: TaskKind,
) -> Result<u32, AppError> {
    let (db, now, policy) = (ledger.db, ledger.now, ledger.policy);
    if koc_member.koc_level.is_none() {
        return Ok(0);
    }
    let mut paid = 0_u32;
    for task in store::koc::auto_tasks(db, kind).await? {
        if task.closed_reason(koc_member.koc_level, now).is_some() {
            continue;
        }
        let Some(target) = task.target else {
            continue;
        };
        let span = task.period_span(now, policy.timezone);
        let progress = auto_progress(db, koc_member.id, kind, span).await?;
        let earned = koc::auto_completions(progress, target, task.max_completions);
        let period_key = task.period.key(now, policy.timezone);
        let done =
            store::koc::used_completions(db, koc_member.id, &[(task.id, period_key.clone())])
                .await?
                .get(&task.id)
                .map_or(0, |(approved, _)| *approved);
        for n in done..earned {
            store::koc::insert_submission(
                db,
                NewSubmission {
                    task_id: task.id,
                    member: koc_member.id,
                    period_key: &period_key,
                    status: ReviewStatus::Approved,
                    proof: &Proof::default(),
                    auto: true,
                    now,
                },
            )
            .await?;
            let key = format!("koc-auto:{}:{period_key}:{n}", task.id);
            award(ledger, koc_member, &task, &key).await?;
            let notice = notification::koc_submission_reviewed(&task.title, true, None);
            store::notifications::insert(
                db,
                koc_member.id,
                notice,
                Some(&task.id.to_string()),
                None,
                now,
            )
            .await?;
            paid = paid.saturating_add(1);
        }
    }
    Ok(paid)
}
