//! Campaigns (营销自动化, SPEC §16): what a campaign does, when, and how its state moves.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::domain::segment::{day_start, days_before};
use crate::domain::stats;
use crate::error::AppError;

/// Where a campaign stands: `DRAFT` → `ACTIVE` ⇄ `PAUSED` → `ENDED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum CampaignStatus {
    Draft,
    Active,
    Paused,
    Ended,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether an operator may move a campaign from this status to `to`.
    pub fn may_become(self, to: Self) -> bool {
        matches!(
            (self, to),
            (Self::Draft | Self::Paused, Self::Active)
                | (Self::Active, Self::Paused)
                | (Self::Draft | Self::Active | Self::Paused, Self::Ended)
        )
    }
}

/// When a campaign reaches its members, and what makes one occurrence (SPEC §16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum TriggerKind {
    /// At `at`, the segment once.
    Once,
    /// Every business day at `time`.
    Daily,
    /// Every Monday at `time`.
    Weekly,
    /// The 1st of every month at `time`.
    Monthly,
    /// On the member's birthday (the year is the occurrence).
    Birthday,
    /// On the anniversary of registration, 一周年祝福 (the year is the occurrence).
    Anniversary,
    /// `days` after registration, for members who have not bought (once).
    RegisteredNoPurchase,
    /// When the scheduled pass notices the member became `AT_RISK` (the day is the occurrence).
    BecameAtRisk,
    /// When the scheduled pass notices the member became `DORMANT`.
    BecameDormant,
    /// When the member moves up a tier (the day of the upgrade).
    TierUpgraded,
    /// When the member enters the segment (the day); members in it at activation have not.
    SegmentEntered,
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The member transition (a `lifecycle_transitions` stage) the trigger follows.
    pub fn transition(self) -> Option<&'static str> {
        match self {
            Self::BecameAtRisk => Some("AT_RISK"),
            Self::BecameDormant => Some("DORMANT"),
            Self::TierUpgraded => Some(TIER_UPGRADED),
            _ => None,
        }
    }

    /// Whether its audience is members drifting away, so its stats show a recall rate.
    pub fn recalls(self) -> bool {
        matches!(self, Self::BecameAtRisk | Self::BecameDormant)
    }
}

/// The transition stage recorded when a member moves up a tier.
pub const TIER_UPGRADED: &str = "TIER_UPGRADED";

/// A campaign's trigger with its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    pub kind: TriggerKind,
    /// ONCE: when it runs.
    pub at: Option<DateTime<Utc>>,
    /// DAILY / WEEKLY / MONTHLY: the business time of day.
    pub time: Option<NaiveTime>,
    /// REGISTERED_NO_PURCHASE: days after registration, 1–365.
    pub days: Option<i32>,
}

impl Trigger {
    /// Checks that the trigger has what its kind needs.
    ///
    /// # Errors
    /// `VALIDATION` on `trigger.at`, `trigger.time` or `trigger.days`.
    pub fn check(&self) -> Result<(), AppError> {
        match self.kind {
            TriggerKind::Once if self.at.is_none() => Err(AppError::validation(
                "trigger.at",
                "a ONCE campaign needs `at`",
            )),
            TriggerKind::Daily | TriggerKind::Weekly | TriggerKind::Monthly
                if self.time.is_none() =>
            {
                Err(AppError::validation(
                    "trigger.time",
                    "a recurring campaign needs `time` (HH:MM)",
                ))
            }
            TriggerKind::RegisteredNoPurchase
                if !self.days.is_some_and(|days| (1..=365).contains(&days)) =>
            {
                Err(AppError::validation("trigger.days", "must be 1 to 365"))
            }
            _ => Ok(()),
        }
    }
}

/// Parses a business time of day written `HH:MM`.
///
/// # Errors
/// `VALIDATION` on `trigger.time`.
pub fn parse_time(text: &str) -> Result<NaiveTime, AppError> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_invalid| AppError::validation("trigger.time", "must be HH:MM"))
}

/// How often one member may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum PerMember {
    /// Once for the whole campaign, whatever the number of occurrences.
    Once,
    /// At every occurrence (every day, year, transition…).
    EveryOccurrence,
}

impl PerMember {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The key under which a member's reach is recorded (the exactly-once key's third part):
/// the occurrence, or `once` when a member is reached at most once.
pub fn claim_key(per_member: PerMember, occurrence: &str) -> String {
    match per_member {
        PerMember::Once => ONCE.to_owned(),
        PerMember::EveryOccurrence => occurrence.to_owned(),
    }
}

/// The key of a campaign that happens, or reaches each member, once.
pub const ONCE: &str = "once";

/// Who an occurrence may reach, beyond the campaign's segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eligible {
    /// Everyone in the segment.
    Everyone,
    /// Members whose birthday (`MM-DD`) is one of these.
    BirthdayOn(Vec<String>),
    /// Members registered in one of these ranges (anniversaries).
    RegisteredIn(Vec<(DateTime<Utc>, DateTime<Utc>)>),
    /// Members registered in the range who never bought.
    RegisteredWithoutPurchase(DateTime<Utc>, DateTime<Utc>),
    /// Members with this transition on this business day, recorded since the activation.
    Transitioned {
        stage: &'static str,
        day: NaiveDate,
        since: DateTime<Utc>,
    },
    /// Members in the segment now who were not at the last run (kept per campaign).
    EnteredSegment,
}

/// One occurrence of a campaign: its key, and who it may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub key: String,
    pub eligible: Eligible,
}

/// How far back a pass looks for transitions it has not served (a pass that did not run for
/// longer misses the older ones).
pub const TRANSITION_LOOKBACK_DAYS: i64 = 7;
/// How many registration anniversaries are looked for.
const ANNIVERSARY_YEARS: i32 = 30;

/// The occurrences of a campaign due at `now`: pure, so that every instance computes the
/// same keys. `activated_at` bounds the recurring and event triggers (nothing before the
/// campaign was switched on is owed).
pub fn due_occurrences(
    trigger: &Trigger,
    activated_at: DateTime<Utc>,
    now: DateTime<Utc>,
    timezone: Tz,
) -> Vec<Occurrence> {
    let local = now.with_timezone(&timezone);
    let today = local.date_naive();
    let everyone = |key: String| Occurrence {
        key,
        eligible: Eligible::Everyone,
    };
    match trigger.kind {
        TriggerKind::Once => trigger
            .at
            .filter(|at| *at <= now)
            .map(|_| everyone(ONCE.to_owned()))
            .into_iter()
            .collect(),
        TriggerKind::Daily | TriggerKind::Weekly | TriggerKind::Monthly => {
            let Some(time) = trigger.time else {
                return Vec::new();
            };
            let (first_day, key) = match trigger.kind {
                TriggerKind::Daily => (today, today.format("%Y-%m-%d").to_string()),
                TriggerKind::Weekly => {
                    let week = today.iso_week();
                    let monday =
                        days_before(today, i64::from(today.weekday().num_days_from_monday()));
                    (monday, format!("{}-W{:02}", week.year(), week.week()))
                }
                _ => (
                    today.with_day(1).unwrap_or(today),
                    today.format("%Y-%m").to_string(),
                ),
            };
            let starts = local_instant(first_day.and_time(time), timezone);
            if starts <= now && starts >= activated_at {
                vec![everyone(key)]
            } else {
                Vec::new()
            }
        }
        TriggerKind::Birthday => {
            let mut days = vec![today.format("%m-%d").to_string()];
            // A 29 February birthday is kept on the 28th in other years.
            let leap = NaiveDate::from_ymd_opt(today.year(), 2, 29).is_some();
            if !leap && today.month() == 2 && today.day() == 28 {
                days.push("02-29".to_owned());
            }
            vec![Occurrence {
                key: today.year().to_string(),
                eligible: Eligible::BirthdayOn(days),
            }]
        }
        TriggerKind::Anniversary => {
            let ranges = (1..=ANNIVERSARY_YEARS)
                .filter_map(|years| {
                    let day = today.with_year(today.year() - years).or_else(|| {
                        // 29 February registrations are celebrated on the 28th.
                        today
                            .pred_opt()?
                            .with_year(today.year() - years)?
                            .succ_opt()
                    })?;
                    let next = day.succ_opt()?;
                    Some((day_start(day, timezone), day_start(next, timezone)))
                })
                .collect();
            vec![Occurrence {
                key: today.year().to_string(),
                eligible: Eligible::RegisteredIn(ranges),
            }]
        }
        TriggerKind::RegisteredNoPurchase => {
            let days = i64::from(trigger.days.unwrap_or(7));
            let activated = activated_at.with_timezone(&timezone).date_naive();
            // Day `days` after registration has come for members registered up to
            // `today − days`; those who reached it before the activation are not owed it.
            let from = day_start(days_before(activated, days), timezone);
            let until = day_start(days_before(today, days - 1), timezone);
            vec![Occurrence {
                key: ONCE.to_owned(),
                eligible: Eligible::RegisteredWithoutPurchase(from, until),
            }]
        }
        TriggerKind::BecameAtRisk | TriggerKind::BecameDormant | TriggerKind::TierUpgraded => {
            let Some(stage) = trigger.kind.transition() else {
                return Vec::new();
            };
            let activated = activated_at.with_timezone(&timezone).date_naive();
            (0..TRANSITION_LOOKBACK_DAYS)
                .rev()
                .map(|back| days_before(today, back))
                .filter(|day| *day >= activated)
                .map(|day| Occurrence {
                    key: format!("{}:{}", stage, day.format("%Y-%m-%d")),
                    eligible: Eligible::Transitioned {
                        stage,
                        day,
                        since: activated_at,
                    },
                })
                .collect()
        }
        TriggerKind::SegmentEntered => vec![Occurrence {
            key: today.format("%Y-%m-%d").to_string(),
            eligible: Eligible::EnteredSegment,
        }],
    }
}

/// A business date and time as an instant (the earliest, across a clock change).
fn local_instant(at: chrono::NaiveDateTime, timezone: Tz) -> DateTime<Utc> {
    at.and_local_timezone(timezone).earliest().map_or_else(
        || DateTime::<Utc>::from_naive_utc_and_offset(at, Utc),
        |t| t.with_timezone(&Utc),
    )
}

/// Quiet hours for marketing messages (免打扰): 22:00–08:00 business time.
const QUIET_FROM: u32 = 22;
const QUIET_UNTIL: u32 = 8;

/// When a campaign's subscribe message may go out: now, or 08:00 business time when now is
/// in the quiet hours.
pub fn marketing_send_at(now: DateTime<Utc>, timezone: Tz) -> DateTime<Utc> {
    let local = now.with_timezone(&timezone);
    let today = local.date_naive();
    let morning = |day: NaiveDate| {
        local_instant(
            day.and_time(NaiveTime::from_hms_opt(QUIET_UNTIL, 0, 0).unwrap_or(NaiveTime::MIN)),
            timezone,
        )
    };
    match local.hour() {
        hour if hour >= QUIET_FROM => today.succ_opt().map_or(now, morning),
        hour if hour < QUIET_UNTIL => morning(today),
        _ => now,
    }
}

/// What a campaign does for a member it reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    /// 积分红包: a `CAMPAIGN` credit, expiring after `expire_in_days` (the programme's normal
    /// expiry when none).
    GrantPoints {
        points: i64,
        expire_in_days: Option<i64>,
    },
    /// 福利召回: `quantity` units of a reward, granted (§5: stock taken, no price or limits).
    GrantReward { reward_id: i64, quantity: i32 },
    /// Free draws of a lottery (SPEC §14).
    GrantDraws { lottery_id: i64, draws: i32 },
    /// Puts a tag on the member.
    AddTag { tag_id: i64 },
    /// Takes a tag off the member.
    RemoveTag { tag_id: i64 },
    /// An inbox `CAMPAIGN` notice, and a subscribe message where the member consented.
    Notify { title: String, body: String },
}

/// Checks a campaign's actions: 1–5 of them, at most one grant of 1–100000 points expiring
/// in 1–3660 days, rewards of 1–10 units, notices with a 1–20 character title and a 1–200
/// character body.
///
/// # Errors
/// `VALIDATION` on `actions`, `actions.points`, `actions.pointsExpireInDays`,
/// `actions.quantity`, `actions.title` or `actions.body`.
pub fn check_actions(actions: &[Action]) -> Result<(), AppError> {
    if actions.is_empty() || actions.len() > 5 {
        return Err(AppError::validation("actions", "name 1 to 5 actions"));
    }
    let grants = actions
        .iter()
        .filter(|a| matches!(a, Action::GrantPoints { .. }))
        .count();
    if grants > 1 {
        return Err(AppError::validation("actions", "grant points at most once"));
    }
    for action in actions {
        match action {
            Action::GrantPoints {
                points,
                expire_in_days,
            } => {
                if !(1..=100_000).contains(points) {
                    return Err(AppError::validation(
                        "actions.points",
                        "must be 1 to 100000",
                    ));
                }
                if expire_in_days.is_some_and(|days| !(1..=3660).contains(&days)) {
                    return Err(AppError::validation(
                        "actions.pointsExpireInDays",
                        "must be 1 to 3660 days",
                    ));
                }
            }
            Action::GrantReward { quantity, .. } => {
                if !(1..=10).contains(quantity) {
                    return Err(AppError::validation("actions.quantity", "must be 1 to 10"));
                }
            }
            Action::GrantDraws { draws, .. } => {
                if !(1..=100).contains(draws) {
                    return Err(AppError::validation("actions.draws", "must be 1 to 100"));
                }
            }
            Action::AddTag { .. } | Action::RemoveTag { .. } => {}
            Action::Notify { title, body } => {
                let chars = |s: &str| s.trim().chars().count();
                if !(1..=20).contains(&chars(title)) {
                    return Err(AppError::validation(
                        "actions.title",
                        "must be 1 to 20 characters",
                    ));
                }
                if !(1..=200).contains(&chars(body)) {
                    return Err(AppError::validation(
                        "actions.body",
                        "must be 1 to 200 characters",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The points one member's grant costs.
pub fn grant_points(actions: &[Action]) -> i64 {
    actions
        .iter()
        .map(|action| match action {
            Action::GrantPoints { points, .. } => *points,
            _ => 0,
        })
        .sum()
}

/// The reward units one member's grant asks for.
pub fn grant_units(actions: &[Action]) -> i64 {
    actions
        .iter()
        .map(|action| match action {
            Action::GrantReward { quantity, .. } => i64::from(*quantity),
            _ => 0,
        })
        .sum()
}

/// The attribution window (归因窗口): what a member does within it after a reach counts for
/// the campaign.
pub const ATTRIBUTION_DAYS: i64 = 7;

/// `part / whole` to 4 decimals, or none of nothing.
pub fn rate(part: i64, whole: i64) -> Option<f64> {
    stats::redemption_rate(whole, part)
}

/// The difference of two rates to 4 decimals (uplift: treated − control), computed in basis
/// points so that 0.3 − 0.1 is 0.2.
pub fn rate_difference(treated: (i64, i64), control: (i64, i64)) -> Option<f64> {
    let basis = |(part, whole): (i64, i64)| rate(part, whole).map(|r| (r * 10_000.0).round());
    Some((basis(treated)? - basis(control)?) / 10_000.0)
}

/// What the campaign cost, in cents: points at the checkout rate (`points_per_yuan` points
/// are worth ¥1, rounded half up) plus what the granted rewards cost the brand.
pub fn cost_cents(points: i64, points_per_yuan: i64, reward_cents: i64) -> i64 {
    let per_yuan = points_per_yuan.max(1);
    let points_cents = points
        .saturating_mul(100)
        .saturating_add(per_yuan / 2)
        .checked_div(per_yuan)
        .unwrap_or(0);
    points_cents.saturating_add(reward_cents)
}

/// Return on investment (投入产出比): attributed purchase amount ÷ cost, to 4 decimals; none
/// without cost.
pub fn roi(purchase_cents: i64, cost_cents: i64) -> Option<f64> {
    rate(purchase_cents, cost_cents)
}

/// A campaign as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub segment_id: Option<i64>,
    pub trigger: Trigger,
    pub actions: Vec<Action>,
    pub per_member: PerMember,
    /// Runs only from here (inclusive)…
    pub starts_at: Option<DateTime<Utc>>,
    /// …until here (exclusive); the campaign ends then.
    pub ends_at: Option<DateTime<Utc>>,
    pub budget_points: Option<i64>,
    pub spent_points: i64,
    pub budget_units: Option<i64>,
    pub spent_units: i64,
    /// When it was first activated: recurring and event triggers count from here.
    pub activated_at: Option<DateTime<Utc>>,
    pub budget_exhausted: bool,
    pub holdout_percent: i32,
    pub status: CampaignStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What happened for one member at one occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Granted,
    /// In the holdout group (对照组): nothing given, recorded as control.
    HeldOut,
    /// Frozen, or only notices for a member who refuses marketing: nothing given.
    Skipped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Whether a member falls in the holdout for an occurrence: a stable draw per member and
/// occurrence (the same member is in or out whichever instance asks, and on a replay).
pub fn held_out(holdout_percent: i32, campaign: i64, member: i64, occurrence: &str) -> bool {
    if holdout_percent <= 0 {
        return false;
    }
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{campaign}:{member}:{occurrence}").as_bytes());
    let bytes: [u8; 32] = digest.into();
    let [first, second, ..] = bytes;
    let draw = u16::from_be_bytes([first, second]) % 100;
    i32::from(draw) < holdout_percent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_move_as_the_spec_says() {
        use CampaignStatus::*;
        assert!(Draft.may_become(Active));
        assert!(Active.may_become(Paused));
        assert!(Paused.may_become(Active));
        assert!(Active.may_become(Ended));
        assert!(!Ended.may_become(Active));
        assert!(!Draft.may_become(Paused));
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    fn recurring(kind: TriggerKind) -> Trigger {
        Trigger {
            kind,
            at: None,
            time: Some(NaiveTime::from_hms_opt(9, 0, 0).unwrap()),
            days: None,
        }
    }

    #[test]
    fn recurring_occurrences_come_at_their_business_time_after_the_activation() {
        let daily = recurring(TriggerKind::Daily);
        let activated = at("2026-03-02T00:30:00Z"); // 08:30 in Shanghai, a Monday
        let keys = |trigger: &Trigger, now: &str| -> Vec<String> {
            due_occurrences(trigger, activated, at(now), SHANGHAI)
                .into_iter()
                .map(|o| o.key)
                .collect()
        };
        assert!(
            keys(&daily, "2026-03-02T00:59:00Z").is_empty(),
            "before 09:00"
        );
        assert_eq!(keys(&daily, "2026-03-02T01:00:00Z"), ["2026-03-02"]);
        let weekly = recurring(TriggerKind::Weekly);
        assert_eq!(keys(&weekly, "2026-03-04T05:00:00Z"), ["2026-W10"]);
        let monthly = recurring(TriggerKind::Monthly);
        assert!(
            keys(&monthly, "2026-03-20T05:00:00Z").is_empty(),
            "the 1st of March was before the activation"
        );
        assert_eq!(keys(&monthly, "2026-04-01T01:00:00Z"), ["2026-04"]);
    }

    #[test]
    fn a_29_february_birthday_is_kept_on_the_28th_in_other_years() {
        let birthday = Trigger {
            kind: TriggerKind::Birthday,
            at: None,
            time: None,
            days: None,
        };
        let due = due_occurrences(
            &birthday,
            at("2026-01-01T00:00:00Z"),
            at("2027-02-28T02:00:00Z"),
            SHANGHAI,
        );
        assert_eq!(
            due[0].eligible,
            Eligible::BirthdayOn(vec!["02-28".to_owned(), "02-29".to_owned()])
        );
        assert_eq!(due[0].key, "2027");
    }

    #[test]
    fn transitions_are_looked_for_a_week_back_but_not_before_the_activation() {
        let at_risk = Trigger {
            kind: TriggerKind::BecameAtRisk,
            at: None,
            time: None,
            days: None,
        };
        let due = due_occurrences(
            &at_risk,
            at("2026-03-05T02:00:00Z"),
            at("2026-03-20T02:00:00Z"),
            SHANGHAI,
        );
        assert_eq!(due.len(), 7);
        let due = due_occurrences(
            &at_risk,
            at("2026-03-19T02:00:00Z"),
            at("2026-03-20T02:00:00Z"),
            SHANGHAI,
        );
        let keys: Vec<&str> = due.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["AT_RISK:2026-03-19", "AT_RISK:2026-03-20"]);
        assert_eq!(claim_key(PerMember::Once, &due[0].key), ONCE);
    }

    #[test]
    fn marketing_messages_wait_out_the_quiet_hours() {
        // 23:00 and 07:00 in Shanghai wait for 08:00; 12:00 goes now.
        assert_eq!(
            marketing_send_at(at("2026-03-03T15:00:00Z"), SHANGHAI),
            at("2026-03-04T00:00:00Z")
        );
        assert_eq!(
            marketing_send_at(at("2026-03-03T23:00:00Z"), SHANGHAI),
            at("2026-03-04T00:00:00Z")
        );
        assert_eq!(
            marketing_send_at(at("2026-03-04T04:00:00Z"), SHANGHAI),
            at("2026-03-04T04:00:00Z")
        );
    }

    #[test]
    fn costs_and_rates_are_exact() {
        assert_eq!(cost_cents(150, 100, 1_000), 1_150);
        assert_eq!(roi(8_800, 100), Some(88.0));
        assert_eq!(roi(1, 0), None);
        assert_eq!(rate_difference((3, 10), (1, 10)), Some(0.2));
        assert_eq!(rate_difference((3, 10), (0, 0)), None);
    }

    #[test]
    fn the_holdout_is_stable_and_about_its_share() {
        let held = (0..10_000)
            .filter(|member| held_out(20, 1, *member, "once"))
            .count();
        assert!((1_700..2_300).contains(&held), "{held}");
        assert_eq!(held_out(20, 1, 42, "once"), held_out(20, 1, 42, "once"));
        assert!(!held_out(0, 1, 42, "once"));
    }
}
