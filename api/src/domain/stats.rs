//! Programme statistics (SPEC §11): the period operators ask about and the figures derived
//! from raw counts.
#![deny(clippy::arithmetic_side_effects)]

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::AppError;

/// The longest period one request may cover.
pub const MAX_PERIOD_DAYS: u64 = 366;

/// Business days `from` to `to`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsPeriod {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl StatsPeriod {
    /// # Errors
    /// `VALIDATION` (field `to`) when `to` is before `from` or the period is over 366 days.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, AppError> {
        if to < from {
            return Err(AppError::validation("to", "must not be before from"));
        }
        let last_allowed = from.checked_add_days(Days::new(MAX_PERIOD_DAYS.saturating_sub(1)));
        if last_allowed.is_some_and(|last| to > last) {
            return Err(AppError::validation(
                "to",
                "a period covers at most 366 days",
            ));
        }
        Ok(Self { from, to })
    }

    /// The period as instants: from the start of `from` up to (not including) the start of
    /// the day after `to`, in the business time zone.
    pub fn instants(self, timezone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let end_day = self.to.checked_add_days(Days::new(1)).unwrap_or(self.to);
        (start_of(self.from, timezone), start_of(end_day, timezone))
    }

    /// The first day of the `days`-long window that ends on `to` (7 for WAU, 30 for MAU).
    pub fn window_start(self, days: u64) -> NaiveDate {
        self.to
            .checked_sub_days(Days::new(days.saturating_sub(1)))
            .unwrap_or(self.to)
    }
}

fn start_of(day: NaiveDate, timezone: Tz) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .and_then(|midnight| timezone.from_local_datetime(&midnight).earliest())
        .map_or_else(
            || day.and_time(chrono::NaiveTime::MIN).and_utc(),
            |at| at.with_timezone(&Utc),
        )
}

/// Points redeemed per point issued in the period, to 4 decimals; `None` when nothing was
/// issued. (Redeemed may exceed issued: members spend points earned before the period.)
pub fn redemption_rate(issued: i64, redeemed: i64) -> Option<f64> {
    if issued <= 0 {
        return None;
    }
    // Basis points, rounded half up, in integers so no precision is lost on the way.
    let basis_points = i128::from(redeemed.max(0))
        .checked_mul(10_000)
        .and_then(|scaled| scaled.checked_add(i128::from(issued) / 2))
        .and_then(|scaled| scaled.checked_div(i128::from(issued)))
        .unwrap_or(0);
    let basis_points = i32::try_from(basis_points).unwrap_or(i32::MAX);
    Some(f64::from(basis_points) / 10_000.0)
}

/// Members who bought at least twice per member who bought in the period (复购率), to 4
/// decimals; `None` when nobody bought.
pub fn repurchase_rate(purchasers: i64, repeat_purchasers: i64) -> Option<f64> {
    redemption_rate(purchasers, repeat_purchasers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn periods_are_ordered_and_bounded() {
        assert!(StatsPeriod::new(day(2026, 11, 2), day(2026, 11, 1)).is_err());
        assert!(StatsPeriod::new(day(2026, 1, 1), day(2027, 1, 1)).is_ok());
        assert!(StatsPeriod::new(day(2026, 1, 1), day(2027, 1, 2)).is_err());
        assert!(StatsPeriod::new(day(2026, 11, 1), day(2026, 11, 1)).is_ok());
    }

    #[test]
    fn periods_cover_whole_business_days() {
        let period = StatsPeriod::new(day(2026, 11, 1), day(2026, 11, 30)).unwrap();
        let (start, end) = period.instants(chrono_tz::Asia::Shanghai);
        assert_eq!(start.to_rfc3339(), "2026-10-31T16:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-11-30T16:00:00+00:00");
        assert_eq!(period.window_start(7), day(2026, 11, 24));
        assert_eq!(period.window_start(30), day(2026, 11, 1));
    }

    #[test]
    fn redemption_rate_is_a_rounded_ratio() {
        assert_eq!(redemption_rate(0, 10), None);
        assert_eq!(redemption_rate(300, 100), Some(0.3333));
        assert_eq!(redemption_rate(100, 100), Some(1.0));
    }
}
