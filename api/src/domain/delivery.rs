//! The outbox (SPEC §17): what a delivery is, how long to wait before the next attempt, and
//! what an answer from WeChat or a webhook receiver means for it.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

/// Where a delivery goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Channel {
    /// A subscribe message (订阅消息) to one member.
    Wechat,
    /// A signed POST to one webhook.
    Webhook,
}

/// How a delivery stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr, strum::VariantArray,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    Sent,
    /// Given up: a permanent refusal or every attempt failed. An operator may retry it.
    Dead,
}

impl DeliveryStatus {
    pub const ALL: &'static [Self] = <Self as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The retry policy: the first retry waits `base`, each next one twice as long; after
/// `max_attempts` attempts the delivery is dead.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_attempts: u32,
}

/// The longest wait between two attempts, whatever the base and the count.
const MAX_WAIT: Duration = Duration::from_secs(6 * 3600);

impl RetryPolicy {
    /// The wait after the `attempts`-th failed attempt (1 = the first).
    pub fn wait_after(self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        self.base
            .checked_mul(1_u32 << doublings)
            .map_or(MAX_WAIT, |wait| wait.min(MAX_WAIT))
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Try again after the backoff (or die when the attempts are used up).
    Retry,
    /// A permanent refusal: dead at once.
    Dead,
    /// WeChat says the member refused the template (43101): zero their consents for it, dead.
    ConsentWithdrawn,
    /// WeChat's daily quota is used up (45009): try again at the next business day.
    NextDay,
}

/// What a `subscribe/send` errcode means (SPEC §17). Token refusals (40001, 42001) are retried
/// by the WeChat client itself before an answer gets here.
pub fn wechat_outcome(errcode: Option<i64>) -> Outcome {
    match errcode {
        Some(0) => Outcome::Sent,
        Some(43101) => Outcome::ConsentWithdrawn,
        Some(40003 | 40037 | 41030 | 47003) => Outcome::Dead,
        Some(45009) => Outcome::NextDay,
        _ => Outcome::Retry,
    }
}

/// What a webhook receiver's HTTP status means: 2xx is delivered; anything else, or no answer,
/// is retried until the attempts run out (a receiver being redeployed may answer 404 or 502
/// for a moment, and an operator can retry a dead one).
pub fn webhook_outcome(status: Option<u16>) -> Outcome {
    match status {
        Some(200..=299) => Outcome::Sent,
        _ => Outcome::Retry,
    }
}

/// The start of the business day after `now`'s, as an instant.
pub fn next_business_day(now: DateTime<Utc>, timezone: Tz) -> DateTime<Utc> {
    let tomorrow = now
        .with_timezone(&timezone)
        .date_naive()
        .succ_opt()
        .unwrap_or(chrono::NaiveDate::MAX);
    tomorrow
        .and_hms_opt(0, 0, 0)
        .and_then(|midnight| midnight.and_local_timezone(timezone).earliest())
        .map_or(now + TimeDelta::days(1), |start| start.with_timezone(&Utc))
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub channel: Channel,
    /// The member a subscribe message goes to.
    pub member_id: Option<i64>,
    /// The webhook a call goes to.
    pub webhook_id: Option<i64>,
    /// The notice kind (WeChat) or the webhook event.
    pub event: String,
    /// What is sent, fixed when the change committed: a subscribe message's template, page and
    /// data, or a webhook call's body.
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub last_errcode: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_the_base() {
        let policy = RetryPolicy {
            base: Duration::from_millis(1000),
            max_attempts: 8,
        };
        let waits: Vec<u128> = (1..=4).map(|n| policy.wait_after(n).as_millis()).collect();
        assert_eq!(waits, [1000, 2000, 4000, 8000]);
        assert_eq!(policy.wait_after(200), MAX_WAIT);
    }

    #[test]
    fn errcodes_follow_the_spec() {
        assert_eq!(wechat_outcome(Some(0)), Outcome::Sent);
        assert_eq!(wechat_outcome(Some(43101)), Outcome::ConsentWithdrawn);
        for code in [40003, 40037, 41030, 47003] {
            assert_eq!(wechat_outcome(Some(code)), Outcome::Dead);
        }
        assert_eq!(wechat_outcome(Some(45009)), Outcome::NextDay);
        assert_eq!(wechat_outcome(Some(-1)), Outcome::Retry);
        assert_eq!(wechat_outcome(None), Outcome::Retry);
    }

    #[test]
    fn the_next_day_starts_at_business_midnight() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T17:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let next = next_business_day(now, chrono_tz::Asia::Shanghai);
        assert_eq!(next.to_rfc3339(), "2026-12-04T16:00:00+00:00");
    }
}
