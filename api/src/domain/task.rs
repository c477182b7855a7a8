//! Member events, the task centre and badges (任务中心, SPEC §13): what a task counts, its
//! periods, how one event moves a member's progress, and when it is complete.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::domain::segment::day_start;
use crate::error::AppError;

/// The events membercard emits itself, inside the transaction that causes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum BuiltInEvent {
    SignIn,
    /// Value: the whole yuan, when the purchase's points become available.
    Purchase,
    ProfileCompleted,
    PhoneBound,
    /// To the inviter, when a member they invited buys (drives KOC SALES tasks).
    InviteePurchase,
    ReferralCompleted,
    Redemption,
    KocTaskApproved,
}

impl BuiltInEvent {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A kind of event tasks count (事件类型).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventType {
    pub code: String,
    pub name: String,
    /// Members may report it themselves (`reportEvent`).
    pub member_reportable: bool,
    /// How many a member may report per business day; none: no limit.
    pub daily_limit: Option<i32>,
    /// Emitted by membercard; integrations do not record it.
    pub built_in: bool,
}

impl EventType {
    /// Checks a new event type: a code of 2–32 upper-case letters, digits and underscores, a
    /// name of 1–32 characters, a daily limit of 1–1000.
    ///
    /// # Errors
    /// `VALIDATION` on `code`, `name` or `dailyLimitPerMember`.
    pub fn check(&self) -> Result<(), AppError> {
        check_code_and_name(&self.code, &self.name)?;
        if self
            .daily_limit
            .is_some_and(|limit| !(1..=1000).contains(&limit))
        {
            return Err(AppError::validation(
                "dailyLimitPerMember",
                "must be 1 to 1000",
            ));
        }
        Ok(())
    }
}

/// Checks an event type's or badge's code (2–32 of `A-Z`, `0-9` and `_`) and name (1–32
/// characters).
fn check_code_and_name(code: &str, name: &str) -> Result<(), AppError> {
    let valid = (2..=32).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(AppError::validation(
            "code",
            "must be 2 to 32 of A-Z, 0-9 and _",
        ));
    }
    if !(1..=32).contains(&name.trim().chars().count()) {
        return Err(AppError::validation("name", "must be 1 to 32 characters"));
    }
    Ok(())
}

/// Checks an icon's URL: at most 512 characters.
fn check_icon_url(url: Option<&str>) -> Result<(), AppError> {
    if url.is_some_and(|url| url.chars().count() > 512) {
        return Err(AppError::validation(
            "iconUrl",
            "must be at most 512 characters",
        ));
    }
    Ok(())
}

/// Which kind of task, and so its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskCategory {
    /// Once per member (新手任务).
    Newbie,
    Daily,
    Weekly,
    Monthly,
    /// Once, or at every new multiple of the target when repeating (成就).
    Achievement,
}

impl TaskCategory {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What a task adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskGoal {
    /// Events.
    Count,
    /// The events' values.
    Sum,
}

/// How a completed task pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ClaimMode {
    /// In the transaction of the event that reached the goal.
    Auto,
    /// When the member claims it (`claimTaskReward`), before the period ends.
    Claim,
}

/// Where a member stands on a task in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    InProgress,
    /// Complete, waiting for the member's claim.
    Claimable,
    /// Complete and paid.
    Done,
    /// The period ended before the goal, or before the claim.
    Expired,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What a completed task gives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskReward {
    /// `TASK` points, not multiplied, counted toward the monthly earning cap.
    pub points: i64,
    /// Growth, times the KOC coefficient.
    pub growth: i64,
    /// One unit of this reward, granted.
    pub reward_id: Option<i64>,
    pub badge_code: Option<String>,
    /// Free draws of a lottery: (lottery id, draws).
    pub draws: Option<(i64, i32)>,
}

/// A task (任务).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub icon_url: Option<String>,
    pub category: TaskCategory,
    pub event_type: String,
    pub goal: TaskGoal,
    pub target: i64,
    /// The target must be met on this many consecutive business days (连续).
    pub consecutive_days: Option<i32>,
    pub repeating: bool,
    pub min_tier: Option<String>,
    pub min_koc_level: Option<i32>,
    pub segment_id: Option<i64>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub reward: TaskReward,
    pub claim_mode: ClaimMode,
    pub active: bool,
}

/// The key of the accumulating row of a repeating achievement; its completions are `R<n>`.
pub const ACCUMULATOR: &str = "ACC";
/// The period key of a task done once.
pub const ONCE: &str = "ONCE";

impl Task {
    /// Checks a task's settings.
    ///
    /// # Errors
    /// `VALIDATION` on `title`, `description`, `iconUrl`, `target`, `consecutiveDays`,
    /// `repeating`, `endsAt`, `rewardPoints`, `rewardGrowth` or `minKocLevel`.
    pub fn check(&self) -> Result<(), AppError> {
        if !(1..=64).contains(&self.title.trim().chars().count()) {
            return Err(AppError::validation("title", "must be 1 to 64 characters"));
        }
        if self.description.chars().count() > 500 {
            return Err(AppError::validation(
                "description",
                "must be at most 500 characters",
            ));
        }
        check_icon_url(self.icon_url.as_deref())?;
        if !(1..=1_000_000).contains(&self.target) {
            return Err(AppError::validation("target", "must be 1 to 1000000"));
        }
        if let Some(days) = self.consecutive_days {
            let periodic = matches!(
                self.category,
                TaskCategory::Daily | TaskCategory::Weekly | TaskCategory::Monthly
            );
            if !(2..=366).contains(&days) || periodic {
                return Err(AppError::validation(
                    "consecutiveDays",
                    "must be 2 to 366, on a NEWBIE or ACHIEVEMENT task",
                ));
            }
        }
        if self.repeating && self.category != TaskCategory::Achievement {
            return Err(AppError::validation(
                "repeating",
                "only an ACHIEVEMENT repeats",
            ));
        }
        if let (Some(starts), Some(ends)) = (self.starts_at, self.ends_at)
            && ends <= starts
        {
            return Err(AppError::validation("endsAt", "must be after startsAt"));
        }
        if !(0..=100_000).contains(&self.reward.points) {
            return Err(AppError::validation("rewardPoints", "must be 0 to 100000"));
        }
        if !(0..=100_000).contains(&self.reward.growth) {
            return Err(AppError::validation("rewardGrowth", "must be 0 to 100000"));
        }
        if self
            .min_koc_level
            .is_some_and(|level| !(1..=3).contains(&level))
        {
            return Err(AppError::validation("minKocLevel", "must be 1 to 3"));
        }
        if self
            .reward
            .draws
            .is_some_and(|(_, draws)| !(1..=100).contains(&draws))
        {
            return Err(AppError::validation(
                "rewardDraws.draws",
                "must be 1 to 100",
            ));
        }
        Ok(())
    }

    /// What the member's progress is measured against: the days in a row for a
    /// consecutive-days goal, else the target.
    pub fn goal_target(&self) -> i64 {
        self.consecutive_days.map_or(self.target, i64::from)
    }

    /// Whether the task is open at `at` (active and inside its window).
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.active
            && self.starts_at.is_none_or(|starts| starts <= at)
            && self.ends_at.is_none_or(|ends| at < ends)
    }

    /// The period an event on `day` counts in: its key and when it ends (none: never).
    /// A repeating achievement accumulates under [`ACCUMULATOR`].
    pub fn period(&self, day: NaiveDate, timezone: Tz) -> (String, Option<DateTime<Utc>>) {
        let next = |first: Option<NaiveDate>| first.map(|d| day_start(d, timezone));
        match self.category {
            TaskCategory::Newbie => (ONCE.to_owned(), None),
            TaskCategory::Achievement if self.repeating => (ACCUMULATOR.to_owned(), None),
            TaskCategory::Achievement => (ONCE.to_owned(), None),
            TaskCategory::Daily => (day.format("%Y-%m-%d").to_string(), next(day.succ_opt())),
            TaskCategory::Weekly => {
                let week = day.iso_week();
                let monday = day - TimeDelta::days(i64::from(day.weekday().num_days_from_monday()));
                (
                    format!("{}-W{:02}", week.year(), week.week()),
                    next(monday.checked_add_signed(TimeDelta::days(7))),
                )
            }
            TaskCategory::Monthly => {
                let first = day.with_day(1).unwrap_or(day);
                (
                    day.format("%Y-%m").to_string(),
                    next(first.checked_add_months(chrono::Months::new(1))),
                )
            }
        }
    }
}

/// A member's progress on a task in one period, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub task_id: i64,
    pub period_key: String,
    /// Count or sum; for a consecutive-days goal, the days in a row.
    pub progress: i64,
    pub streak: i32,
    pub last_day: Option<NaiveDate>,
    pub day_progress: i64,
    pub status: TaskStatus,
    pub period_ends_at: Option<DateTime<Utc>>,
}

impl Progress {
    /// A period with nothing done yet.
    pub fn start(task_id: i64, period_key: String, period_ends_at: Option<DateTime<Utc>>) -> Self {
        Self {
            task_id,
            period_key,
            progress: 0,
            streak: 0,
            last_day: None,
            day_progress: 0,
            status: TaskStatus::InProgress,
            period_ends_at,
        }
    }

    /// How the member stands at `now` (a claim not made by the period's end has lapsed).
    pub fn status_at(&self, now: DateTime<Utc>) -> TaskStatus {
        let ended = self.period_ends_at.is_some_and(|ends| ends <= now);
        match self.status {
            TaskStatus::InProgress | TaskStatus::Claimable if ended => TaskStatus::Expired,
            status => status,
        }
    }
}

/// Moves `progress` by one event of `value` on `day`; returns how many completions it
/// reached (0 or 1; for a repeating achievement, each new multiple of the target).
pub fn advance(task: &Task, progress: &mut Progress, value: i64, day: NaiveDate) -> u32 {
    if progress.status != TaskStatus::InProgress && !task.repeating {
        return 0;
    }
    let step = match task.goal {
        TaskGoal::Count => 1,
        TaskGoal::Sum => value.max(0),
    };
    let before = progress.progress;
    if task.consecutive_days.is_some() {
        if progress.last_day != Some(day) {
            // A new day: the run goes on only from a met yesterday.
            let yesterday = day.pred_opt();
            let kept = progress.last_day == yesterday && progress.day_progress >= task.target;
            if !kept {
                progress.streak = 0;
            }
            progress.day_progress = 0;
            progress.last_day = Some(day);
        }
        let day_before = progress.day_progress;
        progress.day_progress = day_before.saturating_add(step);
        if day_before < task.target && progress.day_progress >= task.target {
            progress.streak = progress.streak.saturating_add(1);
        }
        progress.progress = i64::from(progress.streak);
    } else {
        progress.progress = before.saturating_add(step);
        progress.last_day = Some(day);
    }
    let goal = task.goal_target().max(1);
    if task.repeating {
        // Every new multiple of the goal is one completion (a broken run starts again).
        let reached = |p: i64| p.max(0) / goal;
        let new = reached(progress.progress).saturating_sub(reached(before));
        return u32::try_from(new.max(0)).unwrap_or(0);
    }
    if progress.progress >= goal {
        progress.status = match task.claim_mode {
            ClaimMode::Auto => TaskStatus::Done,
            ClaimMode::Claim => TaskStatus::Claimable,
        };
        return 1;
    }
    0
}

/// The period key of a repeating achievement's `n`-th completion.
pub fn repeat_key(n: i64) -> String {
    format!("R{n}")
}

/// A badge (勋章).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    pub code: String,
    pub name: String,
    pub icon_url: Option<String>,
    /// Days a grant lasts; none: forever.
    pub valid_days: Option<i32>,
}

impl Badge {
    /// # Errors
    /// `VALIDATION` on `code`, `name`, `iconUrl` or `validDays`.
    pub fn check(&self) -> Result<(), AppError> {
        check_code_and_name(&self.code, &self.name)?;
        check_icon_url(self.icon_url.as_deref())?;
        if self
            .valid_days
            .is_some_and(|days| !(1..=3660).contains(&days))
        {
            return Err(AppError::validation("validDays", "must be 1 to 3660"));
        }
        Ok(())
    }

    /// When a grant at `at` lapses.
    pub fn expires(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.valid_days
            .map(|days| at + TimeDelta::days(i64::from(days)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(category: TaskCategory) -> Task {
        Task {
            id: 1,
            title: "t".into(),
            description: String::new(),
            icon_url: None,
            category,
            event_type: "SIGN_IN".into(),
            goal: TaskGoal::Count,
            target: 1,
            consecutive_days: None,
            repeating: false,
            min_tier: None,
            min_koc_level: None,
            segment_id: None,
            starts_at: None,
            ends_at: None,
            reward: TaskReward::default(),
            claim_mode: ClaimMode::Auto,
            active: true,
        }
    }

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, n).unwrap()
    }

    #[test]
    fn seven_consecutive_days_complete_and_a_gap_starts_again() {
        let mut t = task(TaskCategory::Achievement);
        t.consecutive_days = Some(7);
        let mut p = Progress::start(1, ONCE.into(), None);
        for n in 1..=5 {
            assert_eq!(advance(&t, &mut p, 1, day(n)), 0);
        }
        // A gap on the 6th: the run starts again on the 7th.
        for n in 7..=12 {
            assert_eq!(advance(&t, &mut p, 1, day(n)), 0, "day {n}");
        }
        assert_eq!(p.progress, 6);
        assert_eq!(advance(&t, &mut p, 1, day(13)), 1);
        assert_eq!(p.status, TaskStatus::Done);
        assert_eq!(advance(&t, &mut p, 1, day(14)), 0, "done once");
    }

    #[test]
    fn a_sum_goal_completes_once_and_a_repeating_one_at_each_multiple() {
        let mut t = task(TaskCategory::Daily);
        t.goal = TaskGoal::Sum;
        t.target = 30;
        t.claim_mode = ClaimMode::Claim;
        let mut p = Progress::start(1, "2026-03-01".into(), None);
        assert_eq!(advance(&t, &mut p, 20, day(1)), 0);
        assert_eq!(advance(&t, &mut p, 20, day(1)), 1);
        assert_eq!(p.status, TaskStatus::Claimable);
        assert_eq!(advance(&t, &mut p, 20, day(1)), 0);
        let mut a = task(TaskCategory::Achievement);
        a.repeating = true;
        a.goal = TaskGoal::Sum;
        a.target = 10;
        let mut acc = Progress::start(1, ACCUMULATOR.into(), None);
        assert_eq!(advance(&a, &mut acc, 25, day(1)), 2);
        assert_eq!(advance(&a, &mut acc, 4, day(2)), 0);
        assert_eq!(advance(&a, &mut acc, 1, day(2)), 1);
    }

    #[test]
    fn periods_are_business_days_iso_weeks_and_months() {
        let tz = chrono_tz::Asia::Shanghai;
        let (key, ends) = task(TaskCategory::Weekly).period(day(4), tz);
        assert_eq!(key, "2026-W10");
        assert_eq!(ends.unwrap().to_rfc3339(), "2026-03-08T16:00:00+00:00");
        assert_eq!(task(TaskCategory::Monthly).period(day(4), tz).0, "2026-03");
        assert_eq!(
            task(TaskCategory::Newbie).period(day(4), tz),
            (ONCE.into(), None)
        );
        let unclaimed = Progress {
            status: TaskStatus::Claimable,
            period_ends_at: ends,
            ..Progress::start(1, key, ends)
        };
        let later = "2026-03-09T00:00:00Z".parse().unwrap();
        assert_eq!(unclaimed.status_at(later), TaskStatus::Expired);
    }
}
