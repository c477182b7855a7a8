//! Daily sign-in (每日签到) and make-up sign-in (补签); the calendar and the rules operators
//! edit are in their own modules.

mod calendar;
mod rules;

pub use calendar::{CalendarEntry, DayStatus};
pub use rules::SignInRules;

use std::sync::Arc;

use chrono::NaiveDate;
use sea_orm::DatabaseConnection;

use crate::domain::ids::MemberId;
use crate::domain::leaderboard;
use crate::domain::points::{self, EntryKind};
use crate::domain::reward::{Coupon, Reward};
use crate::domain::signin::{self, Milestone, MilestoneKind, StreakState};
use crate::domain::task::BuiltInEvent;
use crate::domain::tier::GrowthSource;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::leaderboards::LeaderboardService;
use crate::service::ledger::{Credit, Debit, LedgerPolicy};
use crate::service::work::{MemberWork, PointsEngine};
use crate::service::{lottery, member_day, referrals, rewards, tasks};
use crate::store::ledger::{LockedMember, MonthTotals};
use crate::store::signins::{CalendarDay, DayKind, StreakColumns};
use crate::store::{self, programme};
use rules::DEFAULT_MAKE_UP_COST;

/// A milestone bonus paid with a sign-in or make-up.
#[derive(Debug, Clone)]
pub struct MilestoneBonus {
    pub milestone: Milestone,
    pub granted: i64,
    pub cut: i64,
}

/// Everything the sign-in screen shows.
#[derive(Debug, Clone)]
pub struct SignInOutcome {
    pub day: NaiveDate,
    pub base_points: i64,
    pub multiplier_percent: i32,
    pub member_day_multiplier_percent: i32,
    pub requested_points: i64,
    pub points_granted: i64,
    pub cut_by_cap: i64,
    pub streak: i32,
    pub total_sign_ins: i32,
    pub freeze_used: bool,
    pub milestones: Vec<MilestoneBonus>,
    /// The tier's birthday points, when today is the member's birthday (once a year).
    pub birthday_points: i64,
    /// The reward today's cycle day grants, with its coupons, when it could be granted.
    pub granted_reward: Option<(Reward, Vec<Coupon>)>,
    pub balance: i64,
    pub tomorrow_points: i64,
}

impl SignInOutcome {
    pub fn capped(&self) -> bool {
        self.cut_by_cap > 0 || self.milestones.iter().any(|m| m.cut > 0)
    }
}

/// The result of a make-up sign-in.
#[derive(Debug, Clone)]
pub struct MakeUpOutcome {
    pub day: NaiveDate,
    pub cost: i64,
    pub streak: i32,
    pub total_sign_ins: i32,
    pub milestones: Vec<MilestoneBonus>,
    pub balance: i64,
}

pub struct SigninService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    policy: LedgerPolicy,
    engine: PointsEngine,
    boards: Arc<LeaderboardService>,
}

impl SigninService {
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<Clock>,
        engine: PointsEngine,
        boards: Arc<LeaderboardService>,
    ) -> Self {
        Self {
            db,
            clock,
            policy: engine.policy(),
            engine,
            boards,
        }
    }

    /// Signs the member in for today: extends or restarts the streak (using a freeze over exactly
    /// one missed day), pays the cycle's points times the tier multiplier, cut at the monthly cap,
    /// pays milestones reached, and records 1 growth. One transaction.
    ///
    /// # Errors
    /// `ALREADY_SIGNED_IN` when today is signed (also when two calls race); `NOT_FOUND`.
    #[tracing::instrument(skip_all, fields(member.id = %member_id))]
    pub async fn sign_in(&self, member_id: MemberId) -> Result<SignInOutcome, AppError> {
        let mut work = self.engine.begin(member_id).await?;
        let now = work.now;
        let today = now.with_timezone(&self.policy.timezone).date_naive();
        let step = signin::next_streak(streak_state(&work.member), today)?;
        let rules = Arc::clone(&work.rules);
        let tier = rules.tier(&work.member.tier_code)?.clone();
        let base_points = rules.cycle.points_for(step.streak);
        let member_days = member_day::calendar(&rules, self.policy);
        let member_day = member_days.effects_at(now, Some(tier.rank));
        let requested = points::multiply_all(
            base_points,
            &[tier.points_multiplier_pct, member_day.multiplier_pct],
        );
        let tomorrow = member_days.effects_at(now + chrono::TimeDelta::days(1), Some(tier.rank));

        if let Some(frozen) = step.frozen_day {
            let covered = CalendarDay {
                day: frozen,
                kind: DayKind::Freeze,
                streak: work.member.current_streak,
                points: 0,
            };
            store::signins::insert(work.txn(), member_id, covered, now).await?;
        }
        // The day's row first: a second sign-in the same day stops at its unique key, so the
        // day's credit cannot be a replay and needs no lookup.
        let (ledger, member) = work.split();
        let granted = ledger.capped(member, EntryKind::SignIn, requested).await?;
        let day = CalendarDay {
            day: today,
            kind: DayKind::SignIn,
            streak: step.streak,
            points: granted.granted,
        };
        store::signins::insert(work.txn(), member_id, day, now)
            .await
            .map_err(store::signins::UQ_MEMBER_DAY.map(|| AppError::AlreadySignedIn))?;
        let key = format!("signin:{today}");
        let reference = today.to_string();
        let (ledger, member) = work.split();
        let posting = ledger
            .credit_first(
                member,
                Credit::keyed(EntryKind::SignIn, requested, &key, Some(&reference)),
            )
            .await?;

        let cycle_day = rules.cycle.day_for(step.streak);
        let cycle_extra = rules.cycle_rewards.iter().find(|r| r.day == cycle_day);
        let granted_reward = match cycle_extra.and_then(|r| r.reward) {
            Some(reward_id) => {
                let key = format!("signin-reward:{today}");
                let (ledger, member) = work.split();
                rewards::grant_free(&ledger, member, reward_id, &key).await?
            }
            None => None,
        };
        if let Some((lottery, draws)) = cycle_extra.and_then(|r| r.draws) {
            let ledger = work.ledger();
            lottery::grant_draws(&ledger, member_id, lottery, draws).await?;
        }
        let total_before = work.member.total_sign_ins;
        let total = total_before.saturating_add(1);
        let streak_before = step.streak.saturating_sub(1);
        let milestones = pay_milestones(
            &mut work,
            (streak_before, step.streak),
            (total_before, total),
            &reference,
        )
        .await?;
        let (ledger, member) = work.split();
        ledger
            .record_growth(member, 1, GrowthSource::SignIn, Some(&reference))
            .await?;
        let birthday_points = ledger.grant_birthday_if_due(member).await?;
        // The first sign-in ever completes the member's invite, if they were invited.
        let inviter = if total_before == 0 {
            let (ledger, member) = work.split();
            referrals::complete(&ledger, member).await?
        } else {
            None
        };
        let freezes = work
            .member
            .streak_freezes
            .saturating_sub(i32::from(step.frozen_day.is_some()));
        let (ledger, member) = work.split();
        store::ledger::set_streak(
            ledger.db,
            member,
            StreakColumns {
                current_streak: step.streak,
                last_sign_in_day: Some(today),
                total_sign_ins: total,
                streak_freezes: freezes,
                changed_at: now,
            },
        )
        .await?;
        count_sign_in(ledger.db, member, today, step.streak, now).await?;
        tasks::count_event(&ledger, member, BuiltInEvent::SignIn.as_str(), 1, now).await?;
        let balance = work.member.balance;
        work.commit_to_boards(&self.boards).await?;
        if let Some(inviter) = inviter {
            self.boards.touch(inviter).await;
        }

        tracing::info!(
            points.granted = posting.amount,
            streak = step.streak,
            "signed in"
        );
        Ok(SignInOutcome {
            day: today,
            base_points,
            multiplier_percent: tier.points_multiplier_pct,
            member_day_multiplier_percent: member_day.multiplier_pct,
            requested_points: requested,
            points_granted: posting.amount,
            cut_by_cap: posting.cut(),
            streak: step.streak,
            total_sign_ins: total,
            freeze_used: step.frozen_day.is_some(),
            milestones,
            birthday_points,
            granted_reward,
            balance,
            tomorrow_points: points::multiply_all(
                rules.cycle.points_for(step.streak.saturating_add(1)),
                &[tier.points_multiplier_pct, tomorrow.multiplier_pct],
            ),
        })
    }

    /// Fills a missed day of this business month for the make-up cost. Pays no cycle points or
    /// growth; the streak is recomputed over the filled gap and streak milestones the new streak
    /// reaches are paid (a made-up day also counts toward the all-time total).
    ///
    /// # Errors
    /// `MAKEUP_NOT_ALLOWED` for today, a future day, another month, a signed day or an exhausted
    /// quota; `INSUFFICIENT_POINTS` when the member cannot pay the cost.
    #[tracing::instrument(skip_all, fields(member.id = %member_id))]
    pub async fn make_up(
        &self,
        member_id: MemberId,
        day: NaiveDate,
    ) -> Result<MakeUpOutcome, AppError> {
        let mut work = self.engine.begin(member_id).await?;
        let now = work.now;
        let today = now.with_timezone(&self.policy.timezone).date_naive();
        let make_ups_per_month = work.rules.tier(&work.member.tier_code)?.make_ups_per_month;
        let txn = work.txn();
        let month =
            store::signins::between(txn, member_id, signin::first_of_month(today), today).await?;
        let used = month.iter().filter(|d| d.kind == DayKind::MakeUp).count();
        let signed = month.iter().any(|d| d.day == day);
        let registered_on = work
            .member
            .registered_at
            .with_timezone(&self.policy.timezone)
            .date_naive();
        signin::check_make_up(
            day,
            today,
            registered_on,
            signed,
            i64::try_from(used).unwrap_or(i64::MAX),
            i64::from(make_ups_per_month),
        )?;

        let cost = work
            .rules
            .setting(programme::MAKE_UP_COST, DEFAULT_MAKE_UP_COST);
        let key = format!("makeup:{day}");
        if cost > 0 {
            work.debit(Debit {
                kind: EntryKind::MakeUpSignIn,
                amount: cost,
                is_redemption: false,
                key: &key,
                payload: &key,
                reference: Some(&day.to_string()),
                note: None,
            })
            .await?;
        }
        let filled = CalendarDay {
            day,
            kind: DayKind::MakeUp,
            streak: 0,
            points: 0,
        };
        store::signins::insert(work.txn(), member_id, filled, now)
            .await
            .map_err(
                store::signins::UQ_MEMBER_DAY
                    .map(|| AppError::MakeUpNotAllowed("that day is already signed")),
            )?;

        let last = work
            .member
            .last_sign_in_day
            .map_or(day, |last| last.max(day));
        let days = store::signins::days_until(work.txn(), member_id, last).await?;
        let streak = signin::run_length_ending(&days, last);
        let joined_before = day
            .pred_opt()
            .map_or(0, |eve| signin::run_length_ending(&days, eve));
        let streak_before = work.member.current_streak.max(joined_before);
        let total_before = work.member.total_sign_ins;
        let total = total_before.saturating_add(1);
        let milestones = pay_milestones(
            &mut work,
            (streak_before, streak),
            (total_before, total),
            &format!("makeup:{day}"),
        )
        .await?;
        let freezes = work.member.streak_freezes;
        let (ledger, member) = work.split();
        store::ledger::set_streak(
            ledger.db,
            member,
            StreakColumns {
                current_streak: streak,
                last_sign_in_day: Some(last),
                total_sign_ins: total,
                streak_freezes: freezes,
                changed_at: now,
            },
        )
        .await?;
        count_sign_in(ledger.db, member, day, streak, now).await?;
        let balance = work.member.balance;
        work.commit_to_boards(&self.boards).await?;
        Ok(MakeUpOutcome {
            day,
            cost,
            streak: signin::visible_streak(
                StreakState {
                    last_day: Some(last),
                    streak,
                    freezes,
                },
                today,
            ),
            total_sign_ins: total,
            milestones,
            balance,
        })
    }

    /// The member's streak as the UI shows it (0 once a day was missed).
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown member.
    pub async fn streak(&self, member_id: MemberId) -> Result<(i32, i32, i32), AppError> {
        let member = store::ledger::read_member(&self.db, member_id).await?;
        Ok((
            signin::visible_streak(streak_state(&member), self.clock.today()),
            member.total_sign_ins,
            member.streak_freezes,
        ))
    }

    /// Gives a member streak freezes (until rewards can grant them).
    ///
    /// # Errors
    /// `VALIDATION` for a count outside 1..=100; `NOT_FOUND` for an unknown member.
    pub async fn grant_freezes(&self, member_id: MemberId, count: i32) -> Result<i32, AppError> {
        if !(1..=100).contains(&count) {
            return Err(AppError::validation("count", "must be 1 to 100"));
        }
        let mut work = self.engine.begin(member_id).await?;
        let (ledger, member) = work.split();
        store::ledger::add_freezes(ledger.db, member, count).await?;
        let stock = work.member.streak_freezes;
        work.commit().await?;
        Ok(stock)
    }
}

/// Counts a day signed in its month and ISO week (the report and SIGN_INS_WEEK), with the
/// streak it reached; written with the rest of the work's counters.
async fn count_sign_in(
    db: &impl sea_orm::ConnectionTrait,
    member: &mut LockedMember,
    day: NaiveDate,
    streak: i32,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    let in_month = MonthTotals {
        sign_ins: 1,
        best_streak: i64::from(streak),
        ..MonthTotals::default()
    };
    let month = points::MonthKey::of_day(day);
    store::ledger::add_to_month(db, member, month.as_str(), in_month, now).await?;
    let in_week = MonthTotals {
        sign_ins: 1,
        ..MonthTotals::default()
    };
    let week = leaderboard::week_key(day);
    store::ledger::add_to_month(db, member, &week, in_week, now).await?;
    Ok(())
}

fn streak_state(member: &LockedMember) -> StreakState {
    StreakState {
        last_day: member.last_sign_in_day,
        streak: member.current_streak,
        freezes: member.streak_freezes,
    }
}

/// Pays every milestone crossed; milestone points are not multiplied but count toward the cap.
async fn pay_milestones(
    work: &mut MemberWork,
    streaks: (i32, i32),
    totals: (i32, i32),
    occasion: &str,
) -> Result<Vec<MilestoneBonus>, AppError> {
    let reached = signin::milestones_reached(&work.rules.milestones, streaks, totals);
    let mut paid = Vec::new();
    for milestone in reached {
        // A total milestone is paid once ever; a streak milestone once per run reaching it.
        let key = match milestone.kind {
            MilestoneKind::Total => format!("milestone:TOTAL:{}", milestone.threshold),
            MilestoneKind::Streak => {
                format!("milestone:STREAK:{}:{occasion}", milestone.threshold)
            }
        };
        let reference = format!("{}:{}", milestone.kind.as_str(), milestone.threshold);
        let posting = work
            .credit(Credit::keyed(
                EntryKind::SignInMilestone,
                milestone.points,
                &key,
                Some(&reference),
            ))
            .await?;
        paid.push(MilestoneBonus {
            milestone,
            granted: posting.amount,
            cut: posting.cut(),
        });
    }
    Ok(paid)
}
