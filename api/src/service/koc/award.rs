//! What a completed KOC task pays — points, growth and KOC score, with the level that follows
//! — and the AUTO tasks that complete themselves.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use crate::domain::ids::MemberId;
use crate::domain::koc::{self, KocTask, Proof, ReviewStatus, TaskKind};
use crate::domain::notification;
use crate::domain::points::{EntryKind, MonthKey};
use crate::domain::task::BuiltInEvent;
use crate::domain::tier::GrowthSource;
use crate::error::AppError;
use crate::service::ledger::{Credit, Ledger};
use crate::store;
use crate::store::koc::NewSubmission;
use crate::store::ledger::{LockedMember, MonthTotals};

/// What an approval paid.
#[derive(Debug, Clone, Copy, Default)]
pub struct Award {
    pub points: i64,
    pub growth: i64,
    pub score: i64,
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
                expires_at: None,
            },
        )
        .await?;
    if posting.replayed {
        return Ok(Award::default());
    }
    let event = BuiltInEvent::KocTaskApproved.as_str();
    crate::service::tasks::count_event(ledger, member, event, 1, now).await?;
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
pub(super) async fn auto_progress(
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
            ledger
                .reach()
                .notify(koc_member.id, notice, Some(&task.id.to_string()), None)
                .await?;
            paid = paid.saturating_add(1);
        }
    }
    Ok(paid)
}
