//! Instants that come in from clients. Every backend keeps whole microseconds (PostgreSQL's
//! precision), so an instant is cut to microseconds on the way in and an idempotent replay
//! with nanoseconds matches its first request on both backends. Only years this programme can
//! live in are taken: a purchase in year 0 or a test clock in year 9999 is a mistake, and
//! date arithmetic near chrono's limits would fail.

use chrono::{DateTime, SubsecRound, TimeZone, Utc};

use crate::error::AppError;

/// The earliest instant accepted: 2000-01-01T00:00:00Z.
pub fn earliest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The first instant no longer accepted: 2200-01-01T00:00:00Z.
pub fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2200, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `at` cut to whole microseconds, when it lies in the years 2000–2199.
///
/// # Errors
/// `VALIDATION` on `field` for an instant outside those years.
pub fn accept(field: &'static str, at: DateTime<Utc>) -> Result<DateTime<Utc>, AppError> {
    if at < earliest() || at >= end() {
        return Err(AppError::validation(
            field,
            "must be an instant in the years 2000 to 2199",
        ));
    }
    Ok(at.trunc_subsecs(6))
}

/// `accept` for an optional instant.
///
/// # Errors
/// As `accept`.
pub fn accept_opt(
    field: &'static str,
    at: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    at.map(|at| accept(field, at)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_cut_to_microseconds_and_bounded() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T08:00:00.123456789+08:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            accept("occurredAt", at).unwrap().to_rfc3339(),
            "2026-03-01T00:00:00.123456+00:00"
        );
        for bad in [
            "0000-03-01T00:00:00Z",
            "1999-12-31T23:59:59Z",
            "2200-01-01T00:00:00Z",
            "9999-12-31T00:00:00Z",
        ] {
            let at = DateTime::parse_from_rfc3339(bad)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(
                accept("occurredAt", at).unwrap_err().code(),
                "VALIDATION",
                "{bad}"
            );
        }
    }
}
