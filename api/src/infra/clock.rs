//! The only place that reads the wall clock. Everything else asks a `Clock` for `now` and
//! the business `today`, so the test clock of SPEC §0 moves every rule consistently.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::domain::instant;
use crate::error::AppError;

/// Wall-clock time plus an optional test offset, in the programme's business time zone.
///
/// The offset is per process: the test clock is a development tool, and production (where
/// several instances run) never has one.
#[derive(Debug)]
pub struct Clock {
    timezone: Tz,
    adjustable: bool,
    offset_ms: AtomicI64,
}

impl Clock {
    /// A clock whose test offset can be moved when `adjustable` (never in production).
    pub fn new(timezone: Tz, adjustable: bool) -> Self {
        Self {
            timezone,
            adjustable,
            offset_ms: AtomicI64::new(0),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }

    /// The wall clock without the test offset: for what other systems check against their own
    /// clocks (a webhook's signed timestamp).
    pub fn wall_now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// Today's business date in the programme's time zone.
    pub fn today(&self) -> NaiveDate {
        self.now().with_timezone(&self.timezone).date_naive()
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    pub fn is_adjustable(&self) -> bool {
        self.adjustable
    }

    /// How far the test clock is ahead of (or behind) the wall clock.
    pub fn offset(&self) -> TimeDelta {
        TimeDelta::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Makes `now` read `at` from this moment on (time keeps running).
    ///
    /// # Errors
    /// `FORBIDDEN` when the clock is not adjustable;
    /// `VALIDATION` (`now`) outside the years 2000–2199.
    pub fn set(&self, at: DateTime<Utc>) -> Result<(), AppError> {
        self.ensure_adjustable()?;
        let at = instant::accept("now", at)?;
        let offset = (at - Utc::now()).num_milliseconds();
        self.offset_ms.store(offset, Ordering::Relaxed);
        Ok(())
    }

    /// Moves `now` forward by `by`.
    ///
    /// # Errors
    /// `FORBIDDEN` when the clock is not adjustable;
    /// `VALIDATION` (`seconds`) when that would leave the years 2000–2199.
    pub fn advance(&self, by: TimeDelta) -> Result<(), AppError> {
        self.ensure_adjustable()?;
        let target = self
            .now()
            .checked_add_signed(by)
            .filter(|at| *at >= instant::earliest() && *at < instant::end())
            .ok_or_else(|| {
                AppError::validation(
                    "seconds",
                    "would move the clock out of the years 2000 to 2199",
                )
            })?;
        self.offset_ms
            .store((target - Utc::now()).num_milliseconds(), Ordering::Relaxed);
        Ok(())
    }

    /// Back to the wall clock.
    ///
    /// # Errors
    /// `FORBIDDEN` when the clock is not adjustable.
    pub fn reset(&self) -> Result<(), AppError> {
        self.ensure_adjustable()?;
        self.offset_ms.store(0, Ordering::Relaxed);
        Ok(())
    }

    fn ensure_adjustable(&self) -> Result<(), AppError> {
        if self.adjustable {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "the test clock is not available in production",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn business_day_follows_the_configured_zone_not_utc() {
        let clock = Clock::new(chrono_tz::Asia::Shanghai, true);
        // 2026-03-01 15:59 UTC is 23:59 in Shanghai; a minute later it is the next day there.
        clock
            .set(Utc.with_ymd_and_hms(2026, 3, 1, 15, 59, 0).unwrap())
            .unwrap();
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
        clock.advance(TimeDelta::minutes(2)).unwrap();
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
    }

    #[test]
    fn a_fixed_clock_refuses_to_move() {
        let clock = Clock::new(chrono_tz::UTC, false);
        assert!(clock.advance(TimeDelta::days(1)).is_err());
        assert!(clock.reset().is_err());
        assert_eq!(clock.offset(), TimeDelta::zero());
    }
}
