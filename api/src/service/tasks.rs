//! Member events, the task centre and badges (任务中心, SPEC §13).
//!
//! Every event — recorded by an integration, reported by the member, or emitted by membercard
//! inside the transaction that causes it — moves the member's progress on the tasks that count
//! it, under the member's lock: the tasks come from the rules cache, and the progress rows are
//! read in one statement and written in one, however many tasks there are. A task reaching its
//! goal pays in that transaction (`AUTO`) or waits for the member's claim (`CLAIM`).

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::DatabaseConnection;

use crate::domain::ids::{MemberId, RewardId, SegmentId};
use crate::domain::koc::TaskKind as KocTaskKind;
use crate::domain::points::EntryKind;
use crate::domain::task::BuiltInEvent;
use crate::domain::task::{
    self, ACCUMULATOR, Badge, ClaimMode, EventType, Progress, Task, TaskStatus,
};
use crate::domain::tier::GrowthSource;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::ledger::{Credit, Ledger};
use crate::service::rules::Rules;
use crate::service::segments::{SegmentService, member_segments};
use crate::service::work::PointsEngine;
use crate::service::{koc, rewards};
use crate::store;
use crate::store::ledger::LockedMember;
use crate::store::tasks::NewEvent;

/// How far ahead of now an integration may date an event.
const FUTURE_TOLERANCE_MINUTES: i64 = 5;

/// A task an event completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub task_id: i64,
    pub period_key: String,
    /// Paid in the event's transaction (`AUTO`); false: claimable.
    pub paid: bool,
}

/// What recording an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOutcome {
    /// The key was used before: nothing was counted again.
    pub replayed: bool,
    pub completed: Vec<Completion>,
}

/// A task as a member sees it in the task centre.
#[derive(Debug, Clone)]
pub struct MemberTask {
    pub task: Task,
    pub period_key: String,
    pub progress: i64,
    pub target: i64,
    pub status: TaskStatus,
    pub period_ends_at: Option<DateTime<Utc>>,
}

/// What an event did for the member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counted {
    /// Task-centre tasks it completed.
    pub completed: Vec<Completion>,
    /// KOC AUTO task completions it paid (SPEC §7).
    pub koc_paid: u32,
}

/// Whether an event of `event_type` would be counted by any task now (nothing read): lets a
/// caller skip locking a member nothing listens for.
pub fn listened(rules: &Rules, event_type: &str) -> bool {
    rules.tasks.iter().any(|t| t.event_type == event_type)
}

/// An event for the member of `ledger`'s unit of work: the task centre counts it, and the
/// events that drive KOC AUTO tasks (`REFERRAL_COMPLETED` for REFERRAL, `INVITEE_PURCHASE`
/// for SALES) complete those, with the contract of SPEC §7 unchanged.
///
/// # Errors
/// `INTERNAL` on database failure.
pub async fn emit(
    ledger: &Ledger<'_>,
    member: &mut LockedMember,
    event: BuiltInEvent,
    value: i64,
    at: DateTime<Utc>,
) -> Result<Counted, AppError> {
    let koc_kind = match event {
        BuiltInEvent::ReferralCompleted => Some(KocTaskKind::Referral),
        BuiltInEvent::InviteePurchase => Some(KocTaskKind::Sales),
        _ => None,
    };
    let koc_paid = match koc_kind {
        Some(kind) => koc::complete_auto_tasks(ledger, member, kind).await?,
        None => 0,
    };
    let completed = count_event(ledger, member, event.as_str(), value, at).await?;
    Ok(Counted {
        completed,
        koc_paid,
    })
}

/// Counts one event of `event_type` worth `value`, at `at`, for the member of `ledger`'s unit
/// of work, and pays the `AUTO` tasks it completes. Nothing is read when no open task counts
/// the event; a frozen member's events count for nothing.
///
/// # Errors
/// `INTERNAL` on database failure.
pub async fn count_event(
    ledger: &Ledger<'_>,
    member: &mut LockedMember,
    event_type: &str,
    value: i64,
    at: DateTime<Utc>,
) -> Result<Vec<Completion>, AppError> {
    let rules = ledger.rules;
    let counting: Vec<&Task> = rules
        .tasks
        .iter()
        .filter(|t| t.event_type == event_type && t.is_open(at))
        .filter(|t| qualifies(ledger, member, t))
        .collect();
    if counting.is_empty() || member.frozen {
        return Ok(Vec::new());
    }
    let counting = in_segments(ledger, member, counting, at).await?;
    if counting.is_empty() {
        return Ok(Vec::new());
    }
    let timezone = ledger.policy.timezone;
    let day = at.with_timezone(&timezone).date_naive();
    let periods: Vec<(String, Option<DateTime<Utc>>)> =
        counting.iter().map(|t| t.period(day, timezone)).collect();
    let ids: Vec<i64> = counting.iter().map(|t| t.id).collect();
    let keys: Vec<String> = periods.iter().map(|(key, _)| key.clone()).collect();
    let mut stored = store::tasks::progress_of(ledger.db, member.id, &ids, &keys).await?;
    let mut changed = Vec::new();
    let mut completed = Vec::new();
    for (t, (key, ends)) in counting.iter().zip(periods) {
        let mut progress = match stored
            .iter()
            .position(|p| p.task_id == t.id && p.period_key == key)
        {
            Some(found) => stored.swap_remove(found),
            None => Progress::start(t.id, key.clone(), ends),
        };
        let before = progress.progress;
        let reached = task::advance(t, &mut progress, value, day);
        if t.repeating {
            // Each new multiple of the goal is a completion of its own, `R<n>`.
            let goal = t.goal_target().max(1);
            let first = before.max(0) / goal;
            for n in 1..=i64::from(reached) {
                let done = Progress {
                    progress: goal,
                    status: match t.claim_mode {
                        ClaimMode::Auto => TaskStatus::Done,
                        ClaimMode::Claim => TaskStatus::Claimable,
                    },
                    ..Progress::start(t.id, task::repeat_key(first + n), None)
                };
                completed.push(Completion {
                    task_id: t.id,
                    period_key: done.period_key.clone(),
                    paid: t.claim_mode == ClaimMode::Auto,
                });
                changed.push(done);
            }
        } else if reached > 0 {
            completed.push(Completion {
                task_id: t.id,
                period_key: key,
                paid: t.claim_mode == ClaimMode::Auto,
            });
        }
        changed.push(progress);
    }
    store::tasks::save_progress(ledger.db, member.id, &changed, ledger.now).await?;
    for done in completed.iter().filter(|c| c.paid) {
        if let Some(t) = counting.iter().find(|t| t.id == done.task_id) {
            pay(ledger, member, t, &done.period_key).await?;
        }
    }
    Ok(completed)
}

/// Whether the member's tier and KOC level let them take the task.
fn qualifies(ledger: &Ledger<'_>, member: &LockedMember, t: &Task) -> bool {
    let tiers = &ledger.rules.tiers;
    let rank = |code: &str| {
        tiers
            .iter()
            .find(|tier| tier.code == code)
            .map(|tier| tier.rank)
    };
    let tier_ok = t
        .min_tier
        .as_deref()
        .is_none_or(|min| rank(&member.tier_code) >= rank(min));
    let koc_ok = t
        .min_koc_level
        .is_none_or(|min| member.koc_level.is_some_and(|level| level >= min));
    tier_ok && koc_ok
}

/// Keeps the tasks whose segment the member is in: two statements when any task names a
/// segment (the segments, and the member's row against all of them), none otherwise.
async fn in_segments<'t>(
    ledger: &Ledger<'_>,
    member: &LockedMember,
    tasks: Vec<&'t Task>,
    at: DateTime<Utc>,
) -> Result<Vec<&'t Task>, AppError> {
    let mut segment_ids: Vec<i64> = tasks.iter().filter_map(|t| t.segment_id).collect();
    if segment_ids.is_empty() {
        return Ok(tasks);
    }
    segment_ids.sort_unstable();
    segment_ids.dedup();
    let today = at.with_timezone(&ledger.policy.timezone).date_naive();
    let inside = member_segments(
        ledger.db,
        ledger.rules,
        member.id,
        &segment_ids,
        today,
        ledger.policy.timezone,
    )
    .await?;
    Ok(tasks
        .into_iter()
        .filter(|t| t.segment_id.is_none_or(|id| inside.contains(&id)))
        .collect())
}

/// Pays a completed task: `TASK` points (not multiplied, counted toward the earning cap),
/// growth, one unit of a reward and a badge, each keyed by the task and period.
async fn pay(
    ledger: &Ledger<'_>,
    member: &mut LockedMember,
    t: &Task,
    period_key: &str,
) -> Result<(), AppError> {
    let key = format!("task:{}:{period_key}", t.id);
    let reference = format!("task:{}", t.id);
    if t.reward.points > 0 {
        ledger
            .credit(
                member,
                Credit {
                    kind: EntryKind::Task,
                    requested: t.reward.points,
                    key: &key,
                    payload: &key,
                    reference: Some(&reference),
                    note: Some(&t.title),
                    expires_at: None,
                },
            )
            .await?;
    }
    if t.reward.growth > 0 {
        ledger
            .record_growth(
                member,
                t.reward.growth,
                GrowthSource::Task,
                Some(&reference),
            )
            .await?;
    }
    if let Some(reward) = t.reward.reward_id {
        let reward_key = format!("{key}:reward");
        rewards::grant_free(ledger, member, RewardId::new(reward), &reward_key).await?;
    }
    if let Some(code) = &t.reward.badge_code {
        grant_badge_in(ledger, member.id, code).await?;
    }
    if let Some((lottery, draws)) = t.reward.draws {
        crate::service::lottery::grant_draws(ledger, member.id, lottery, draws).await?;
    }
    Ok(())
}

/// Gives the member a badge in the ledger's transaction (nothing for an unknown code).
async fn grant_badge_in(ledger: &Ledger<'_>, member: MemberId, code: &str) -> Result<(), AppError> {
    if let Some(badge) = store::tasks::find_badge(ledger.db, code).await? {
        store::tasks::grant_badge(
            ledger.db,
            member,
            &badge.code,
            ledger.now,
            badge.expires(ledger.now),
        )
        .await?;
    }
    Ok(())
}

pub struct TaskService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    engine: PointsEngine,
}

impl TaskService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, engine: PointsEngine) -> Self {
        Self { db, clock, engine }
    }

    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn event_types(&self) -> Result<Vec<EventType>, AppError> {
        Ok(self.engine.rules().await?.event_types.clone())
    }

    /// Adds an event type (a rule: every instance sees it from its next request).
    ///
    /// # Errors
    /// `VALIDATION` by field; `CONFLICT` for a code taken.
    pub async fn create_event_type(&self, new: EventType) -> Result<EventType, AppError> {
        new.check()?;
        let txn = store::begin(&self.db).await?;
        if !store::tasks::insert_event_type(&txn, &new, self.clock.now()).await? {
            return Err(AppError::Conflict(format!(
                "event type {} exists",
                new.code
            )));
        }
        store::programme::bump_rules_version(&txn).await?;
        txn.commit().await?;
        Ok(EventType {
            built_in: false,
            name: new.name.trim().to_owned(),
            ..new
        })
    }

    /// Records an integration's event (`recordMemberEvent`): idempotent by the member's key,
    /// counted in the period of `occurred_at`.
    ///
    /// # Errors
    /// `VALIDATION` on `type` (unknown or built in), `value` or `occurredAt`; `NOT_FOUND` for
    /// an unknown member; `CONFLICT` for a key reused with another event.
    pub async fn record(
        &self,
        member: MemberId,
        event_type: &str,
        value: i64,
        occurred_at: Option<DateTime<Utc>>,
        key: &str,
    ) -> Result<EventOutcome, AppError> {
        let rules = self.engine.rules().await?;
        let known = known_type(&rules, event_type)?;
        if known.built_in {
            return Err(AppError::validation(
                "type",
                "is emitted by membercard itself",
            ));
        }
        if !(0..=1_000_000).contains(&value) {
            return Err(AppError::validation("value", "must be 0 to 1000000"));
        }
        check_key(key)?;
        let now = self.clock.now();
        let at = occurred_at.unwrap_or(now);
        if at > now + TimeDelta::minutes(FUTURE_TOLERANCE_MINUTES) {
            return Err(AppError::validation(
                "occurredAt",
                "must not be more than 5 minutes ahead",
            ));
        }
        self.count(member, event_type, value, at, key, None).await
    }

    /// Records an event the member reports (`reportEvent`).
    ///
    /// # Errors
    /// `FORBIDDEN` for a type members may not report; `EVENT_LIMIT_REACHED` past its daily
    /// limit; `VALIDATION` on `type` or `idempotencyKey`.
    pub async fn report(
        &self,
        member: MemberId,
        event_type: &str,
        key: &str,
    ) -> Result<EventOutcome, AppError> {
        let rules = self.engine.rules().await?;
        let known = known_type(&rules, event_type)?;
        if !known.member_reportable {
            return Err(AppError::Forbidden("members cannot report this event type"));
        }
        check_key(key)?;
        let limit = known.daily_limit;
        self.count(member, event_type, 1, self.clock.now(), key, limit)
            .await
    }

    async fn count(
        &self,
        member: MemberId,
        event_type: &str,
        value: i64,
        at: DateTime<Utc>,
        key: &str,
        daily_limit: Option<i32>,
    ) -> Result<EventOutcome, AppError> {
        let mut work = self.engine.begin(member).await?;
        let day = at.with_timezone(&work.policy.timezone).date_naive();
        if let Some((recorded, recorded_value)) =
            store::tasks::event_by_key(work.txn(), member, key).await?
        {
            if recorded != event_type || recorded_value != value {
                return Err(AppError::Conflict(
                    "the idempotency key was used for another event".to_owned(),
                ));
            }
            return Ok(EventOutcome {
                replayed: true,
                completed: Vec::new(),
            });
        }
        if let Some(limit) = daily_limit {
            let today = store::tasks::events_on(work.txn(), member, event_type, day).await?;
            if today >= u64::try_from(limit).unwrap_or(0) {
                return Err(AppError::EventLimitReached);
            }
        }
        let event = NewEvent {
            member,
            event_type,
            value,
            occurred_at: at,
            day,
            key,
        };
        store::tasks::insert_event(work.txn(), &event, work.now).await?;
        let (ledger, locked) = work.split();
        let completed = count_event(&ledger, locked, event_type, value, at).await?;
        work.commit().await?;
        Ok(EventOutcome {
            replayed: false,
            completed,
        })
    }

    /// Every task (operators).
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn all(&self) -> Result<Vec<Task>, AppError> {
        Ok(self.engine.rules().await?.tasks.clone())
    }

    /// Creates a task, or with an id rewrites it (a rule).
    ///
    /// # Errors
    /// `VALIDATION` by field; `NOT_FOUND` for an unknown task, event type, tier, segment,
    /// reward or badge.
    pub async fn save(&self, segments: &SegmentService, t: Task) -> Result<Task, AppError> {
        t.check()?;
        let rules = self.engine.rules().await?;
        if rules.event_type(&t.event_type).is_none() {
            return Err(AppError::NotFound("event type"));
        }
        if let Some(tier) = &t.min_tier {
            rules
                .tier(tier)
                .map_err(|_unknown| AppError::NotFound("tier"))?;
        }
        if let Some(segment) = t.segment_id {
            segments.find(SegmentId::new(segment)).await?;
        }
        if let Some(reward) = t.reward.reward_id {
            store::rewards::find_reward(&self.db, reward)
                .await?
                .ok_or(AppError::NotFound("reward"))?;
        }
        if let Some(code) = &t.reward.badge_code {
            store::tasks::find_badge(&self.db, code)
                .await?
                .ok_or(AppError::NotFound("badge"))?;
        }
        if let Some((lottery, _)) = t.reward.draws
            && store::lottery::load(&self.db, Some(lottery))
                .await?
                .is_empty()
        {
            return Err(AppError::NotFound("lottery"));
        }
        let now = self.clock.now();
        let txn = store::begin(&self.db).await?;
        let id = if t.id == 0 {
            store::tasks::insert_task(&txn, &t, now).await?
        } else if store::tasks::update_task(&txn, &t, now).await? {
            t.id
        } else {
            return Err(AppError::NotFound("task"));
        };
        store::programme::bump_rules_version(&txn).await?;
        txn.commit().await?;
        Ok(Task { id, ..t })
    }

    /// The task centre of a member: every open task they qualify for, with where they stand
    /// in its current period (a repeating achievement shows its oldest unclaimed completion,
    /// else the progress toward the next).
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn for_member(&self, member: MemberId) -> Result<Vec<MemberTask>, AppError> {
        let mut work = self.engine.begin(member).await?;
        let now = work.now;
        let timezone = work.policy.timezone;
        let day = now.with_timezone(&timezone).date_naive();
        let (ledger, locked) = work.split();
        let open: Vec<&Task> = ledger
            .rules
            .tasks
            .iter()
            .filter(|t| t.is_open(now) && qualifies(&ledger, locked, t))
            .collect();
        let visible = in_segments(&ledger, locked, open, now).await?;
        let progress = store::tasks::member_progress(ledger.db, member).await?;
        let mut shown = Vec::new();
        for t in visible {
            let (key, ends) = t.period(day, timezone);
            let goal = t.goal_target();
            let of_task = |k: &str| {
                progress
                    .iter()
                    .find(|p| p.task_id == t.id && p.period_key == k)
            };
            let view = if t.repeating {
                let unclaimed = progress
                    .iter()
                    .filter(|p| p.task_id == t.id && p.status == TaskStatus::Claimable)
                    .min_by_key(|p| {
                        p.period_key
                            .trim_start_matches('R')
                            .parse::<i64>()
                            .unwrap_or(0)
                    });
                match unclaimed {
                    Some(p) => (p.period_key.clone(), goal, TaskStatus::Claimable, None),
                    None => {
                        let so_far = of_task(ACCUMULATOR).map_or(0, |p| p.progress);
                        let next = so_far.max(0) / goal.max(1) + 1;
                        let toward = so_far.max(0) % goal.max(1);
                        (task::repeat_key(next), toward, TaskStatus::InProgress, None)
                    }
                }
            } else {
                match of_task(&key) {
                    Some(p) => (key, p.progress, p.status_at(now), p.period_ends_at),
                    None => (key, 0, TaskStatus::InProgress, ends),
                }
            };
            let (period_key, so_far, status, period_ends_at) = view;
            shown.push(MemberTask {
                task: t.clone(),
                period_key,
                progress: so_far.min(goal),
                target: goal,
                status,
                period_ends_at,
            });
        }
        work.commit().await?;
        Ok(shown)
    }

    /// Pays a `CLAIM` task's completed period (`claimTaskReward`).
    ///
    /// # Errors
    /// `TASK_NOT_CLAIMABLE` when the period is not complete, was claimed, or has ended;
    /// `NOT_FOUND` for an unknown task.
    pub async fn claim(
        &self,
        member: MemberId,
        task_id: i64,
        period_key: &str,
    ) -> Result<Task, AppError> {
        let mut work = self.engine.begin(member).await?;
        let Some(t) = work.rules.tasks.iter().find(|t| t.id == task_id).cloned() else {
            return Err(AppError::NotFound("task"));
        };
        let now = work.now;
        if work.member.frozen
            || !store::tasks::mark_claimed(work.txn(), member, task_id, period_key, now).await?
        {
            return Err(AppError::TaskNotClaimable);
        }
        let (ledger, locked) = work.split();
        pay(&ledger, locked, &t, period_key).await?;
        work.commit().await?;
        Ok(t)
    }

    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn badges(&self) -> Result<Vec<Badge>, AppError> {
        Ok(store::tasks::badges(&self.db).await?)
    }

    /// # Errors
    /// `VALIDATION` by field; `CONFLICT` for a code taken.
    pub async fn create_badge(&self, badge: Badge) -> Result<Badge, AppError> {
        badge.check()?;
        if !store::tasks::insert_badge(&self.db, &badge, self.clock.now()).await? {
            return Err(AppError::Conflict(format!("badge {} exists", badge.code)));
        }
        Ok(badge)
    }

    /// Gives a member a badge by hand (`grantBadge`).
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown member or badge.
    pub async fn grant_badge(&self, member: MemberId, code: &str) -> Result<(), AppError> {
        let badge = store::tasks::find_badge(&self.db, code)
            .await?
            .ok_or(AppError::NotFound("badge"))?;
        let work = self.engine.begin(member).await?;
        let now = work.now;
        store::tasks::grant_badge(work.txn(), member, &badge.code, now, badge.expires(now)).await?;
        work.commit().await?;
        Ok(())
    }

    /// The member's badges not expired, with when they lapse, and the one shown.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn member_badges(
        &self,
        member: MemberId,
    ) -> Result<Vec<(Badge, DateTime<Utc>, Option<DateTime<Utc>>)>, AppError> {
        let now = self.clock.now();
        let all = store::tasks::badges(&self.db).await?;
        Ok(store::tasks::member_badges(&self.db, member, now)
            .await?
            .into_iter()
            .filter_map(|(code, granted, expires)| {
                all.iter()
                    .find(|b| b.code == code)
                    .map(|b| (b.clone(), granted, expires))
            })
            .collect())
    }

    /// The badge the member shows beside their name, if they still hold it.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn displayed_badge(&self, member: MemberId) -> Result<Option<String>, AppError> {
        Ok(store::tasks::displayed_badge(&self.db, member, self.clock.now()).await?)
    }

    /// Picks the badge shown beside the member's name (`setDisplayedBadge`); `None` shows none.
    ///
    /// # Errors
    /// `VALIDATION` on `code` for a badge the member does not hold.
    pub async fn set_displayed_badge(
        &self,
        member: MemberId,
        code: Option<&str>,
    ) -> Result<(), AppError> {
        if let Some(code) = code {
            let held = store::tasks::member_badges(&self.db, member, self.clock.now())
                .await?
                .into_iter()
                .any(|(held, _, _)| held == code);
            if !held {
                return Err(AppError::validation("code", "is not a badge you hold"));
            }
        }
        Ok(store::tasks::set_displayed_badge(&self.db, member, code).await?)
    }
}

/// The event type with `code`.
fn known_type<'r>(rules: &'r Rules, code: &str) -> Result<&'r EventType, AppError> {
    rules
        .event_type(code)
        .ok_or_else(|| AppError::validation("type", "is not an event type"))
}

fn check_key(key: &str) -> Result<(), AppError> {
    if !(1..=64).contains(&key.chars().count()) {
        return Err(AppError::validation(
            "idempotencyKey",
            "must be 1 to 64 characters",
        ));
    }
    Ok(())
}
