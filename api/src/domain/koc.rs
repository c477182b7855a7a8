//! The KOC programme (SPEC §7): levels, tasks, periods, proofs and why a task is unavailable.
#![deny(clippy::arithmetic_side_effects)]

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::domain::instant;
use crate::error::AppError;

/// (level, KOC score needed, name): 体验官 / 测评官 / 产品官.
pub const LEVELS: [(i32, i64, &str); 3] =
    [(1, 0, "体验官"), (2, 300, "测评官"), (3, 1000, "产品官")];

/// The KOC level a total score reaches.
pub fn level_for_score(total: i64) -> i32 {
    LEVELS
        .into_iter()
        .rev()
        .find(|(_, needed, _)| total >= *needed)
        .map_or(1, |(level, _, _)| level)
}

pub fn level_name(level: i32) -> &'static str {
    LEVELS
        .into_iter()
        .find(|(l, _, _)| *l == level)
        .map_or("", |(_, _, name)| name)
}

/// The score the next level needs, if any.
pub fn next_level_score(level: i32) -> Option<i64> {
    LEVELS
        .into_iter()
        .find(|(l, _, _)| *l > level)
        .map(|(_, needed, _)| needed)
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == raw)
            }
        }
    };
}

string_enum!(
    /// Where an application or a submission stands.
    ReviewStatus { Pending => "PENDING", Approved => "APPROVED", Rejected => "REJECTED" }
);
string_enum!(
    /// What a task asks for, in the seeds' order of rising difficulty.
    TaskKind {
        Share => "SHARE",
        Review => "REVIEW",
        Community => "COMMUNITY",
        Referral => "REFERRAL",
        Content => "CONTENT",
        Sales => "SALES",
    }
);
string_enum!(
    /// How often a task can be completed (up to its max completions each period).
    TaskPeriod { Once => "ONCE", Daily => "DAILY", Weekly => "WEEKLY", Monthly => "MONTHLY" }
);
string_enum!(
    /// MANUAL: the KOC submits proof and an operator reviews it. AUTO: awarded when progress
    /// reaches the target.
    Verification { Manual => "MANUAL", Auto => "AUTO" }
);

/// A task as operators define it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KocTask {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub kind: TaskKind,
    /// 1 (easiest) to 5.
    pub difficulty: i32,
    pub min_koc_level: i32,
    pub reward_points: i64,
    pub reward_growth: i64,
    pub reward_score: i64,
    pub period: TaskPeriod,
    pub max_completions: i32,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub verification: Verification,
    /// AUTO: invitees who completed a first sign-in (REFERRAL) or purchases by invitees (SALES).
    pub target: Option<i32>,
    pub active: bool,
}

impl KocTask {
    /// # Errors
    /// `VALIDATION` naming the first field that is wrong.
    pub fn validate(&self) -> Result<(), AppError> {
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 128 {
            return Err(AppError::validation("title", "must be 1-128 characters"));
        }
        if self.description.chars().count() > 2000 {
            return Err(AppError::validation(
                "description",
                "must be at most 2000 characters",
            ));
        }
        instant::accept_opt("startsAt", self.starts_at)?;
        instant::accept_opt("endsAt", self.ends_at)?;
        if !(1..=5).contains(&self.difficulty) {
            return Err(AppError::validation("difficulty", "must be 1-5"));
        }
        if !(1..=3).contains(&self.min_koc_level) {
            return Err(AppError::validation("minKocLevel", "must be 1-3"));
        }
        for (field, value) in [
            ("rewardPoints", self.reward_points),
            ("rewardGrowth", self.reward_growth),
            ("rewardScore", self.reward_score),
        ] {
            if !(0..=1_000_000).contains(&value) {
                return Err(AppError::validation(field, "must be 0-1000000"));
            }
        }
        if !(1..=100).contains(&self.max_completions) {
            return Err(AppError::validation("maxCompletions", "must be 1-100"));
        }
        if let (Some(start), Some(end)) = (self.starts_at, self.ends_at)
            && end <= start
        {
            return Err(AppError::validation("endsAt", "must be after startsAt"));
        }
        match self.verification {
            Verification::Auto => {
                if !matches!(self.kind, TaskKind::Referral | TaskKind::Sales) {
                    return Err(AppError::validation(
                        "verification",
                        "AUTO is for REFERRAL and SALES tasks",
                    ));
                }
                if !self.target.is_some_and(|t| (1..=10_000).contains(&t)) {
                    return Err(AppError::validation(
                        "target",
                        "AUTO tasks need a target of 1-10000",
                    ));
                }
            }
            Verification::Manual => {
                if self.target.is_some() {
                    return Err(AppError::validation(
                        "target",
                        "only AUTO tasks have a target",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Why the task cannot be taken on now (before counting completions), if it cannot.
    pub fn closed_reason(&self, koc_level: Option<i32>, now: DateTime<Utc>) -> Option<Unavailable> {
        let Some(level) = koc_level else {
            return Some(Unavailable::NotKoc);
        };
        if !self.active {
            Some(Unavailable::Inactive)
        } else if self.starts_at.is_some_and(|start| now < start) {
            Some(Unavailable::NotStarted)
        } else if self.ends_at.is_some_and(|end| now >= end) {
            Some(Unavailable::Ended)
        } else if level < self.min_koc_level {
            Some(Unavailable::LevelTooLow)
        } else {
            None
        }
    }

    /// The instants the current period spans: [start, end), clipped to the task's window.
    pub fn period_span(
        &self,
        now: DateTime<Utc>,
        timezone: Tz,
    ) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let (start, end) = self.period.span(now, timezone);
        let start = match (start, self.starts_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let end = match (end, self.ends_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        (start, end)
    }
}

/// Why a task is not available to a member now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    NotKoc,
    Inactive,
    NotStarted,
    Ended,
    LevelTooLow,
    /// This period's completions (approved or awaiting review) are used up.
    LimitReached,
    /// AUTO tasks complete themselves; there is nothing to submit.
    AutoVerified,
}

impl Unavailable {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotKoc => "NOT_KOC",
            Self::Inactive => "INACTIVE",
            Self::NotStarted => "NOT_STARTED",
            Self::Ended => "ENDED",
            Self::LevelTooLow => "LEVEL_TOO_LOW",
            Self::LimitReached => "LIMIT_REACHED",
            Self::AutoVerified => "AUTO_VERIFIED",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::NotKoc => "for KOCs only",
            Self::Inactive => "the task is retired",
            Self::NotStarted => "the task has not started",
            Self::Ended => "the task has ended",
            Self::LevelTooLow => "the task needs a higher KOC level",
            Self::LimitReached => "this period's completions are used up",
            Self::AutoVerified => "this task completes automatically",
        }
    }
}

impl TaskPeriod {
    /// The key of the period `now` falls in: "once", "2026-11-22", "2026-W47" or "2026-11".
    pub fn key(self, now: DateTime<Utc>, timezone: Tz) -> String {
        let today = now.with_timezone(&timezone).date_naive();
        match self {
            Self::Once => "once".to_owned(),
            Self::Daily => today.to_string(),
            Self::Weekly => {
                let week = today.iso_week();
                format!("{:04}-W{:02}", week.year(), week.week())
            }
            Self::Monthly => format!("{:04}-{:02}", today.year(), today.month()),
        }
    }

    /// [start, end) of the period `now` falls in, in business time; open for ONCE.
    pub fn span(
        self,
        now: DateTime<Utc>,
        timezone: Tz,
    ) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let today = now.with_timezone(&timezone).date_naive();
        let (first, next) = match self {
            Self::Once => return (None, None),
            Self::Daily => (Some(today), today.checked_add_days(Days::new(1))),
            Self::Weekly => {
                let monday = today
                    .checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday())));
                (
                    monday,
                    monday.and_then(|m| m.checked_add_days(Days::new(7))),
                )
            }
            Self::Monthly => {
                let first = today.with_day(1);
                (
                    first,
                    first.and_then(|f| f.checked_add_months(Months::new(1))),
                )
            }
        };
        (start_of(first, timezone), start_of(next, timezone))
    }
}

fn start_of(day: Option<NaiveDate>, timezone: Tz) -> Option<DateTime<Utc>> {
    timezone
        .from_local_datetime(&day?.and_hms_opt(0, 0, 0)?)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Completions an AUTO task has earned this period: one per `target` of progress, at most
/// `max_completions`.
pub fn auto_completions(progress: i64, target: i32, max_completions: i32) -> i32 {
    let earned = progress.checked_div(i64::from(target.max(1))).unwrap_or(0);
    i32::try_from(earned)
        .unwrap_or(i32::MAX)
        .min(max_completions)
}

/// Proof of a MANUAL task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proof {
    pub url: Option<String>,
    pub text: Option<String>,
    pub image_urls: Vec<String>,
}

impl Proof {
    /// Trims the proof and checks it: something to look at, well-formed URLs, sane sizes.
    ///
    /// # Errors
    /// `VALIDATION` naming the field.
    pub fn normalized(self) -> Result<Self, AppError> {
        let url = self
            .url
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        let text = self
            .text
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        let image_urls: Vec<String> = self
            .image_urls
            .into_iter()
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        if url.is_none() && text.is_none() && image_urls.is_empty() {
            return Err(AppError::validation(
                "proof",
                "give a URL, a text or images",
            ));
        }
        if let Some(url) = &url {
            check_url("proof.url", url)?;
        }
        if text.as_ref().is_some_and(|t| t.chars().count() > 2000) {
            return Err(AppError::validation(
                "proof.text",
                "must be at most 2000 characters",
            ));
        }
        if image_urls.len() > 9 {
            return Err(AppError::validation("proof.imageUrls", "at most 9 images"));
        }
        for image in &image_urls {
            check_url("proof.imageUrls", image)?;
        }
        Ok(Self {
            url,
            text,
            image_urls,
        })
    }
}

fn check_url(field: &'static str, url: &str) -> Result<(), AppError> {
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.len() > 512 || url.chars().any(char::is_whitespace) {
        return Err(AppError::validation(
            field,
            "must be an http(s) URL of at most 512 characters",
        ));
    }
    Ok(())
}

/// A platform the applicant publishes on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Platform {
    pub platform: String,
    pub handle: String,
    pub followers: i64,
}

/// Checks an application's platforms and reason.
///
/// # Errors
/// `VALIDATION` naming the field.
pub fn check_application(platforms: &[Platform], reason: &str) -> Result<(), AppError> {
    if platforms.is_empty() || platforms.len() > 10 {
        return Err(AppError::validation("platforms", "name 1-10 platforms"));
    }
    for p in platforms {
        let platform = p.platform.trim();
        let handle = p.handle.trim();
        if platform.is_empty() || platform.chars().count() > 32 {
            return Err(AppError::validation(
                "platforms.platform",
                "must be 1-32 characters",
            ));
        }
        if handle.is_empty() || handle.chars().count() > 64 {
            return Err(AppError::validation(
                "platforms.handle",
                "must be 1-64 characters",
            ));
        }
        if p.followers < 0 {
            return Err(AppError::validation(
                "platforms.followers",
                "must not be negative",
            ));
        }
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::validation("reason", "must be 1-500 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_score() {
        assert_eq!(level_for_score(0), 1);
        assert_eq!(level_for_score(299), 1);
        assert_eq!(level_for_score(300), 2);
        assert_eq!(level_for_score(1000), 3);
        assert_eq!(next_level_score(1), Some(300));
        assert_eq!(next_level_score(3), None);
        assert_eq!(level_name(2), "测评官");
    }

    #[test]
    fn periods_have_business_keys_and_spans() {
        let tz = chrono_tz::Asia::Shanghai;
        // 2026-11-22 17:00 UTC is Monday 2026-11-23 01:00 in Shanghai.
        let now = DateTime::parse_from_rfc3339("2026-11-22T17:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(TaskPeriod::Daily.key(now, tz), "2026-11-23");
        assert_eq!(TaskPeriod::Weekly.key(now, tz), "2026-W48");
        assert_eq!(TaskPeriod::Monthly.key(now, tz), "2026-11");
        assert_eq!(TaskPeriod::Once.key(now, tz), "once");
        let (start, end) = TaskPeriod::Weekly.span(now, tz);
        assert_eq!(
            start.map(|s| s.to_rfc3339()),
            Some("2026-11-22T16:00:00+00:00".to_owned())
        );
        assert_eq!(
            end.map(|s| s.to_rfc3339()),
            Some("2026-11-29T16:00:00+00:00".to_owned())
        );
    }

    #[test]
    fn auto_completions_are_whole_targets_up_to_the_max() {
        assert_eq!(auto_completions(2, 3, 1), 0);
        assert_eq!(auto_completions(3, 3, 1), 1);
        assert_eq!(auto_completions(7, 3, 5), 2);
        assert_eq!(auto_completions(30, 3, 2), 2);
    }

    #[test]
    fn proofs_need_something_and_proper_urls() {
        assert!(Proof::default().normalized().is_err());
        let bad = Proof {
            url: Some("javascript:alert(1)".into()),
            ..Proof::default()
        };
        assert!(bad.normalized().is_err());
        let good = Proof {
            text: Some(" 已转发 ".into()),
            ..Proof::default()
        };
        assert_eq!(
            good.normalized().ok().and_then(|p| p.text),
            Some("已转发".to_owned())
        );
    }
}
