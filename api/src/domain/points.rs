//! Points rules: entry kinds, multipliers, the monthly earning cap, lot expiry, FIFO spending.
#![deny(clippy::arithmetic_side_effects)]

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::AppError;

/// What a ledger entry records (SPEC §3). Stored by its `SCREAMING_SNAKE_CASE` name; the list
/// of kinds is derived, so a new kind is parsed and listed without anyone updating a list.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumIter,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryKind {
    SignIn,
    SignInMilestone,
    #[strum(serialize = "MAKEUP_SIGN_IN")]
    MakeUpSignIn,
    Purchase,
    PurchaseRefund,
    KocTask,
    Referral,
    Birthday,
    TierUpgradeGift,
    AdminAdjust,
    Redemption,
    RedemptionRefund,
    Expiry,
    /// A campaign's points (积分红包); checked against the campaign's budget instead of the cap.
    Campaign,
    /// A task's reward (任务奖励), counted toward the cap.
    Task,
    /// A paid lottery draw (抽奖消耗), counted toward the monthly redemption cap.
    Lottery,
    /// A lottery's points prize (抽奖奖励); not cut by the cap: the member paid for the draw.
    LotteryPrize,
    /// A leaderboard's season reward (榜单奖励); never counted on a board or toward the cap.
    SeasonReward,
}

impl EntryKind {
    /// Every kind.
    pub fn all() -> impl Iterator<Item = Self> {
        <Self as strum::IntoEnumIterator>::iter()
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The kind with this stored name, exactly (no other spelling).
    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }

    /// Whether credits of this kind count toward the monthly earning cap: every earning kind
    /// but operator adjustments and refunds (SPEC §3).
    pub fn counts_toward_earn_cap(self) -> bool {
        !matches!(
            self,
            Self::AdminAdjust
                | Self::PurchaseRefund
                | Self::RedemptionRefund
                | Self::Expiry
                | Self::Campaign
                | Self::Lottery
                | Self::LotteryPrize
                | Self::SeasonReward
        )
    }
}

/// Applies a multiplier given in percent, then floors (SPEC §0: multipliers first, then floor).
pub fn multiply(base: i64, percent: i32) -> i64 {
    base.checked_mul(i64::from(percent))
        .and_then(|scaled| scaled.checked_div(100))
        .unwrap_or(i64::MAX)
}

/// Applies several multipliers given in percent together, then floors once (so 5 × 1.2 × 2 is
/// 12, not floor(floor(6) × 2)).
pub fn multiply_all(base: i64, percents: &[i32]) -> i64 {
    let (scaled, scale) =
        percents
            .iter()
            .fold((Some(i128::from(base)), Some(1_i128)), |(n, d), p| {
                (
                    n.and_then(|n| n.checked_mul(i128::from(*p))),
                    d.and_then(|d| d.checked_mul(100)),
                )
            });
    scaled
        .zip(scale)
        .and_then(|(n, d)| n.checked_div(d))
        .and_then(|v| i64::try_from(v).ok())
        .unwrap_or(i64::MAX)
}

/// How much of `requested` the monthly cap lets through, given what was `earned` this month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapOutcome {
    pub granted: i64,
    pub cut: i64,
}

/// Cuts an award at what is left of the month's cap; never negative.
pub fn apply_earn_cap(requested: i64, earned: i64, cap: i64) -> CapOutcome {
    let left = cap.saturating_sub(earned).max(0);
    let granted = requested.clamp(0, left);
    CapOutcome {
        granted,
        cut: requested.saturating_sub(granted),
    }
}

/// A business month, written "YYYY-MM" (how the month counters are keyed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthKey(String);

impl MonthKey {
    /// The business month a day falls in.
    pub fn of_day(day: NaiveDate) -> Self {
        Self(format!("{:04}-{:02}", day.year(), day.month()))
    }

    /// The business month an instant falls in.
    pub fn of(instant: DateTime<Utc>, timezone: Tz) -> Self {
        Self::of_day(instant.with_timezone(&timezone).date_naive())
    }

    /// Parses "YYYY-MM" into the month's first day.
    ///
    /// # Errors
    /// `VALIDATION` (field `month`) for anything else.
    pub fn parse(raw: &str) -> Result<NaiveDate, AppError> {
        NaiveDate::parse_from_str(&format!("{}-01", raw.trim()), "%Y-%m-%d")
            .ok()
            .filter(|_| raw.trim().len() == 7)
            .ok_or_else(|| AppError::validation("month", "must be YYYY-MM"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// When points earned at `earned_at` lapse: the end of the business month `months` months
/// later (i.e. the first instant of the month after). `None` when `months` is 0 (never).
pub fn lot_expiry(earned_at: DateTime<Utc>, months: u32, timezone: Tz) -> Option<DateTime<Utc>> {
    if months == 0 {
        return None;
    }
    let local = earned_at.with_timezone(&timezone).date_naive();
    let first_of_month = local.with_day(1)?;
    let first_after = first_of_month.checked_add_months(Months::new(months.checked_add(1)?))?;
    let midnight = first_after.and_hms_opt(0, 0, 0)?;
    timezone
        .from_local_datetime(&midnight)
        .earliest()
        .map(|instant| instant.with_timezone(&Utc))
}

/// A lot that can still be spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenLot {
    pub id: i64,
    pub remaining: i64,
}

/// Takes `amount` from `lots` (already ordered FIFO by expiry, then id): the lots touched and
/// how much each gives.
///
/// # Errors
/// `INSUFFICIENT_POINTS` when the lots hold less than `amount`.
pub fn take_fifo(lots: &[OpenLot], amount: i64) -> Result<Vec<(i64, i64)>, AppError> {
    let mut left = amount;
    let mut takes = Vec::new();
    for lot in lots {
        if left == 0 {
            break;
        }
        let take = lot.remaining.min(left);
        if take > 0 {
            takes.push((lot.id, take));
            left = left.saturating_sub(take);
        }
    }
    if left > 0 {
        let available = lots
            .iter()
            .fold(0_i64, |sum, lot| sum.saturating_add(lot.remaining));
        return Err(AppError::InsufficientPoints {
            needed: amount,
            available,
        });
    }
    Ok(takes)
}

/// One entry of the points ledger.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub id: i64,
    pub member_id: crate::domain::ids::MemberId,
    pub kind: EntryKind,
    pub amount: i64,
    pub balance_after: i64,
    pub requested: i64,
    pub reference: Option<String>,
    pub idempotency_key: String,
    pub payload_hash: String,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipliers_apply_then_floor() {
        assert_eq!(multiply(5, 100), 5);
        assert_eq!(multiply(5, 120), 6);
        assert_eq!(multiply(15, 150), 22);
        assert_eq!(multiply(5, 250), 12);
    }

    #[test]
    fn several_multipliers_floor_once() {
        assert_eq!(multiply_all(5, &[120, 200]), 12);
        assert_eq!(multiply_all(5, &[150, 200]), 15);
        assert_eq!(multiply_all(7, &[120, 150]), 12);
        assert_eq!(multiply_all(7, &[]), 7);
    }

    #[test]
    fn the_cap_cuts_exactly_at_what_is_left() {
        assert_eq!(
            apply_earn_cap(30, 980, 1000),
            CapOutcome {
                granted: 20,
                cut: 10
            }
        );
        assert_eq!(
            apply_earn_cap(30, 1000, 1000),
            CapOutcome {
                granted: 0,
                cut: 30
            }
        );
        assert_eq!(
            apply_earn_cap(30, 0, 1000),
            CapOutcome {
                granted: 30,
                cut: 0
            }
        );
        assert_eq!(
            apply_earn_cap(30, 1200, 1000),
            CapOutcome {
                granted: 0,
                cut: 30
            }
        );
    }

    #[test]
    fn lots_expire_at_the_end_of_the_business_month_twelve_months_on() {
        let tz = chrono_tz::Asia::Shanghai;
        // 2026-03-31 20:00 UTC is already April 1st in Shanghai.
        let earned = Utc.with_ymd_and_hms(2026, 3, 31, 20, 0, 0).unwrap();
        let expires = lot_expiry(earned, 12, tz).unwrap();
        // End of April 2027 in Shanghai = 2027-05-01 00:00 +08:00 = 2027-04-30 16:00 UTC.
        assert_eq!(
            expires,
            Utc.with_ymd_and_hms(2027, 4, 30, 16, 0, 0).unwrap()
        );
        assert_eq!(lot_expiry(earned, 0, tz), None);
    }

    #[test]
    fn fifo_takes_oldest_lots_first_and_refuses_to_overdraw() {
        let lots = [
            OpenLot {
                id: 1,
                remaining: 10,
            },
            OpenLot {
                id: 2,
                remaining: 5,
            },
            OpenLot {
                id: 3,
                remaining: 20,
            },
        ];
        assert_eq!(take_fifo(&lots, 12).unwrap(), vec![(1, 10), (2, 2)]);
        assert_eq!(take_fifo(&lots, 35).unwrap().len(), 3);
        let err = take_fifo(&lots, 36).unwrap_err();
        assert_eq!(err.code(), "INSUFFICIENT_POINTS");
    }

    #[test]
    fn kinds_round_trip_and_refunds_are_not_capped() {
        assert_eq!(EntryKind::all().count(), 18);
        assert_eq!(EntryKind::parse("sign_in"), None);
        for kind in EntryKind::all() {
            assert_eq!(EntryKind::parse(kind.as_str()), Some(kind));
        }
        assert!(EntryKind::SignIn.counts_toward_earn_cap());
        assert!(EntryKind::Purchase.counts_toward_earn_cap());
        assert!(!EntryKind::AdminAdjust.counts_toward_earn_cap());
        assert!(!EntryKind::Campaign.counts_toward_earn_cap());
        assert!(EntryKind::Task.counts_toward_earn_cap());
        assert!(!EntryKind::PurchaseRefund.counts_toward_earn_cap());
    }
}
