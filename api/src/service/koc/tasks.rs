//! KOC tasks (KOC任务) and the work KOCs submit for them: listing, editing, submitting and
//! reviewing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use crate::domain::ids::{AdminId, KocSubmissionId, KocTaskId, MemberId};
use crate::domain::koc::{KocTask, Proof, ReviewStatus, Unavailable, Verification};
use crate::domain::notification;
use crate::domain::paging::PageSize;
use crate::error::AppError;
use crate::store;
use crate::store::koc::{NewSubmission, Submission};
use crate::store::ledger::LockedMember;

use super::award::{Award, auto_progress, award};
use super::{KocService, clean_note};

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

impl KocService {
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
    pub async fn delete_task(&self, id: KocTaskId) -> Result<(), AppError> {
        let id = id.get();
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
        task_id: KocTaskId,
        proof: Proof,
    ) -> Result<Submission, AppError> {
        let task_id = task_id.get();
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
        submission_id: KocSubmissionId,
        proof: Proof,
    ) -> Result<Submission, AppError> {
        let submission_id = submission_id.get();
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
        id: KocSubmissionId,
        approve: bool,
        note: Option<&str>,
    ) -> Result<(Submission, Award), AppError> {
        let id = id.get();
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
        work.ledger()
            .reach()
            .notify(member_id, notice, Some(&id.to_string()), None)
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
