//! Leaderboards (SPEC §9): which boards exist, how a member's place is ordered, and how a
//! member shows on a board.
//!
//! Order: the higher value first; on a tie the earlier arrival (the moment the member reached
//! that value, in whole seconds); then the lower member id. Redis and the database both rank
//! by exactly this, so either answers the same.
#![deny(clippy::arithmetic_side_effects)]

use chrono::{
    DateTime, Datelike, Days, Months, NaiveDate, SubsecRound, TimeDelta, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// Days a monthly board is kept after its month ends.
pub const MONTHLY_BOARD_RETENTION_DAYS: i64 = 90;

/// A leaderboard (排行榜). Its name (`POINTS_MONTH` …) and the list of boards are derived.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::VariantArray,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Board {
    /// Points earned this business month (what counts toward the earning cap).
    PointsMonth,
    /// Current sign-in streak (alive: last signed today or yesterday).
    Streak,
    /// KOC score earned this business month.
    KocMonth,
    /// Successful invites ever.
    Referrals,
    /// Points earned this ISO week (business time), counted like `PointsMonth`.
    PointsWeek,
    /// Days signed in this ISO week (business time).
    SignInsWeek,
}

impl Board {
    pub const ALL: &'static [Self] = <Self as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The board with this stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }

    /// Which instance of the board `today` reads: the business month, the day (a streak is
    /// alive for a day), or the one all-time board.
    pub fn edition(self, today: NaiveDate) -> String {
        match self {
            Self::PointsMonth | Self::KocMonth => {
                format!("{:04}-{:02}", today.year(), today.month())
            }
            Self::Streak => today.to_string(),
            Self::Referrals => "all".to_owned(),
            Self::PointsWeek | Self::SignInsWeek => week_key(today),
        }
    }

    /// Whether the board's editions end (weeks and months), so they can be settled and
    /// archived (SPEC §18).
    pub fn is_seasonal(self) -> bool {
        matches!(
            self,
            Self::PointsMonth | Self::KocMonth | Self::PointsWeek | Self::SignInsWeek
        )
    }

    /// The first and last business day of an edition of a seasonal board ("2026-W10" for a
    /// weekly board, "2026-03" for a monthly one); `None` for anything else.
    pub fn period_days(self, edition: &str) -> Option<(NaiveDate, NaiveDate)> {
        let first = match self {
            Self::PointsWeek | Self::SignInsWeek => {
                let (year, week) = edition.split_once("-W")?;
                let week: u32 = week.parse().ok().filter(|_| week.len() == 2)?;
                NaiveDate::from_isoywd_opt(year.parse().ok()?, week, Weekday::Mon)?
            }
            Self::PointsMonth | Self::KocMonth => {
                if edition.len() != 7 {
                    return None;
                }
                NaiveDate::parse_from_str(&format!("{edition}-01"), "%Y-%m-%d").ok()?
            }
            Self::Streak | Self::Referrals => return None,
        };
        let next = match self {
            Self::PointsWeek | Self::SignInsWeek => first.checked_add_days(Days::new(7))?,
            _ => first.checked_add_months(Months::new(1))?,
        };
        Some((first, next.pred_opt()?))
    }

    /// The edition after `edition` of a seasonal board.
    pub fn next_edition(self, edition: &str) -> Option<String> {
        let (_, last) = self.period_days(edition)?;
        Some(self.edition(last.succ_opt()?))
    }

    /// When the edition for `today` may be dropped; `None` = kept for good.
    pub fn expires_at(self, today: NaiveDate, timezone: Tz) -> Option<DateTime<Utc>> {
        match self {
            Self::PointsMonth | Self::KocMonth | Self::PointsWeek | Self::SignInsWeek => {
                let (_, last) = self.period_days(&self.edition(today))?;
                let end = start_of_day(last.succ_opt()?, timezone)?;
                end.checked_add_signed(TimeDelta::days(MONTHLY_BOARD_RETENTION_DAYS))
            }
            // Yesterday's signers still hold a live streak today; two days covers every reader.
            Self::Streak => {
                let start = timezone
                    .from_local_datetime(&today.and_hms_opt(0, 0, 0)?)
                    .earliest()?
                    .with_timezone(&Utc);
                start.checked_add_signed(TimeDelta::days(2))
            }
            Self::Referrals => None,
        }
    }
}

/// The ISO week a business day falls in, written "2026-W10" (how week counters are keyed).
pub fn week_key(day: NaiveDate) -> String {
    let week = day.iso_week();
    format!("{:04}-W{:02}", week.year(), week.week())
}

/// The ISO week an instant falls in, in business time.
pub fn week_of(instant: DateTime<Utc>, timezone: Tz) -> String {
    week_key(instant.with_timezone(&timezone).date_naive())
}

/// The first instant of a business day.
pub fn start_of_day(day: NaiveDate, timezone: Tz) -> Option<DateTime<Utc>> {
    timezone
        .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
}

/// The arrival time recorded next to a board value: `now` in whole seconds.
pub fn arrival(now: DateTime<Utc>) -> DateTime<Utc> {
    now.trunc_subsecs(0)
}

const ARRIVAL_BITS: u32 = 32;

/// One number that sorts ascending in board order: the value in the high bits (negated, so
/// more comes first), the arrival second in the low 32 bits. Exact in a Redis score (a double)
/// for values below 2^20 — far above any monthly points cap, streak or invite count.
pub fn sort_key(value: i64, arrival: DateTime<Utc>) -> i64 {
    let seconds = arrival.timestamp().clamp(0, i64::from(u32::MAX));
    value
        .checked_shl(ARRIVAL_BITS)
        .and_then(i64::checked_neg)
        .and_then(|high| high.checked_add(seconds))
        .unwrap_or(i64::MIN)
}

/// The value a `sort_key` was made from.
pub fn value_of(sort_key: i64) -> i64 {
    let unit = 1_i64 << ARRIVAL_BITS;
    sort_key
        .checked_neg()
        .and_then(|negated| negated.checked_add(unit.saturating_sub(1)))
        .map_or(0, |shifted| shifted >> ARRIVAL_BITS)
}

/// How a member appears on a board: their nickname, or a stand-in that never reveals who
/// they are beyond two characters of their invite code.
pub fn display_name(nickname: Option<&str>, invite_code: &str) -> String {
    match nickname.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => name.to_owned(),
        None => {
            let visible: String = invite_code.chars().take(2).collect();
            format!("会员{visible}******")
        }
    }
}

/// The member as a sorted-set member: fixed width, so lexical order is id order.
pub fn set_member(member_id: i64) -> String {
    format!("{member_id:020}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap_or_default()
    }

    #[test]
    fn sort_keys_order_by_value_then_earlier_arrival() {
        let now = 1_795_000_000;
        let more = sort_key(120, at(now));
        let less_earlier = sort_key(119, at(now - 1000));
        let same_later = sort_key(120, at(now + 5));
        assert!(more < less_earlier);
        assert!(more < same_later);
        for (value, seconds) in [(0, now), (1, now), (5000, now), (1_000_000, 0)] {
            assert_eq!(value_of(sort_key(value, at(seconds))), value);
        }
    }

    #[test]
    fn sort_keys_are_exact_as_doubles() {
        let key = sort_key(1 << 19, at(4_000_000_000));
        assert!(key.unsigned_abs() < (1_u64 << 53));
    }

    #[test]
    fn members_without_a_nickname_get_a_masked_stand_in() {
        assert_eq!(display_name(Some(" 小红 "), "ABCDEFGH"), "小红");
        assert_eq!(display_name(None, "ABCDEFGH"), "会员AB******");
        assert_eq!(display_name(Some(""), "XY"), "会员XY******");
    }

    #[test]
    fn monthly_boards_expire_ninety_days_after_their_month() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        let expiry = Board::PointsMonth.expires_at(today, chrono_tz::Asia::Shanghai);
        // 2026-12-01 00:00 in Shanghai is 2026-11-30 16:00 UTC.
        assert_eq!(
            expiry.map(|e| e.to_rfc3339()),
            Some("2027-02-28T16:00:00+00:00".to_owned())
        );
        assert_eq!(
            Board::Referrals.expires_at(today, chrono_tz::Asia::Shanghai),
            None
        );
        assert_eq!(Board::KocMonth.edition(today), "2026-11");
        assert_eq!(Board::Streak.edition(today), "2026-11-22");
    }

    #[test]
    fn weeks_are_iso_weeks_and_periods_round_trip() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        // 2026-03-08 is a Sunday: the last day of 2026-W10; 2027-01-01 is in 2026-W53.
        assert_eq!(Board::PointsWeek.edition(day(2026, 3, 8)), "2026-W10");
        assert_eq!(Board::SignInsWeek.edition(day(2027, 1, 1)), "2026-W53");
        assert_eq!(
            Board::PointsWeek.period_days("2026-W10"),
            Some((day(2026, 3, 2), day(2026, 3, 8)))
        );
        assert_eq!(
            Board::PointsMonth.period_days("2026-02"),
            Some((day(2026, 2, 1), day(2026, 2, 28)))
        );
        assert_eq!(
            Board::PointsWeek.next_edition("2026-W53").as_deref(),
            Some("2027-W01")
        );
        assert_eq!(Board::PointsWeek.period_days("2026-10"), None);
        assert_eq!(Board::PointsMonth.period_days("2026-W10"), None);
        assert_eq!(Board::Streak.period_days("2026-03-01"), None);
    }
}
