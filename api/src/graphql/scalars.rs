//! Scalars named and described for clients, not after the Rust types behind them.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

/// A calendar day, for the GraphQL `Date` scalar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar date (日期) in the programme's business time zone, written `YYYY-MM-DD`
/// (RFC 3339 full-date), e.g. `2026-12-08`. Business days — sign-ins, member days,
/// statistics — are dates.
#[Scalar(
    name = "Date",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6"
)]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        // Only the strict `YYYY-MM-DD` form, so `2026-2-3` or `2026-02-30` are refused, not guessed.
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|date| date.format("%Y-%m-%d").to_string() == *text)
            .map(Date)
            .ok_or_else(|| InputValueError::custom("expected a date written YYYY-MM-DD"))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<NaiveDate> for Date {
    fn from(date: NaiveDate) -> Self {
        Self(date)
    }
}

/// How the built-in `DateTime` scalar is described to clients.
pub const DATE_TIME_DESCRIPTION: &str = "An instant (时间), written in RFC 3339 with a UTC \
offset, e.g. `2026-12-08T10:30:00+08:00`. Answers are given in UTC (`+00:00`); inputs may use \
any offset, must name one, fall in the years 2000–2199 and are kept to the microsecond.";
