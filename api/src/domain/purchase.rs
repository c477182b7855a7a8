//! Purchase points (积分获取 from orders), refunds, and points as cash at checkout (兑换抵现).
#![deny(clippy::arithmetic_side_effects)]

use crate::domain::points;
use crate::error::AppError;

/// Where a purchase's points stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurchaseStatus {
    /// Inside the return window: visible, not spendable, not in the balance.
    Pending,
    /// Credited to the balance.
    Available,
    Refunded,
}

impl PurchaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Available => "AVAILABLE",
            Self::Refunded => "REFUNDED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "PENDING" => Some(Self::Pending),
            "AVAILABLE" => Some(Self::Available),
            "REFUNDED" => Some(Self::Refunded),
            _ => None,
        }
    }
}

/// The largest order amount accepted: ¥100,000,000.
pub const MAX_ORDER_CENTS: i64 = 10_000_000_000;

/// Checks an order amount in cents.
///
/// # Errors
/// `VALIDATION` (field `amountCents`).
pub fn check_amount(amount_cents: i64) -> Result<(), AppError> {
    if (1..=MAX_ORDER_CENTS).contains(&amount_cents) {
        Ok(())
    } else {
        Err(AppError::validation(
            "amountCents",
            "must be 1 to 10000000000 cents",
        ))
    }
}

/// Checks an order id from the mall or POS.
///
/// # Errors
/// `VALIDATION` (field `orderId`).
pub fn check_order_id(order_id: &str) -> Result<(), AppError> {
    let ok = (1..=64).contains(&order_id.len())
        && order_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AppError::validation(
            "orderId",
            "must be 1-64 letters, digits, '-', '_', '.' or ':'",
        ))
    }
}

/// Points (before the cap) and growth a purchase earns: 1 per whole yuan, points times the
/// multipliers (percent: tier, member day) and floored; growth is not multiplied by them.
pub fn purchase_rewards(amount_cents: i64, multiplier_percents: &[i32]) -> (i64, i64) {
    let yuan = amount_cents.checked_div(100).unwrap_or(0);
    (points::multiply_all(yuan, multiplier_percents), yuan)
}

/// How a refund after the window takes points back: as much as the balance holds; the rest is
/// the shortfall, recorded and never taken (the balance never goes negative).
pub fn clawback(granted: i64, balance: i64) -> (i64, i64) {
    let take = granted.min(balance.max(0)).max(0);
    (take, granted.saturating_sub(take))
}

/// The checkout rules: how many points make a yuan, in what units they are spent, and how much
/// of an order points may pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckoutRules {
    pub points_per_yuan: i64,
    pub unit: i64,
    pub max_percent: i64,
}

impl CheckoutRules {
    /// # Errors
    /// `VALIDATION` for non-positive rates or units, or a percentage outside 1..=100.
    pub fn parse(points_per_yuan: i64, unit: i64, max_percent: i64) -> Result<Self, AppError> {
        if !(1..=100_000).contains(&points_per_yuan) {
            return Err(AppError::validation("pointsPerYuan", "must be 1 to 100000"));
        }
        if !(1..=100_000).contains(&unit) {
            return Err(AppError::validation("unit", "must be 1 to 100000"));
        }
        if !(1..=100).contains(&max_percent) {
            return Err(AppError::validation("maxPercent", "must be 1 to 100"));
        }
        Ok(Self {
            points_per_yuan,
            unit,
            max_percent,
        })
    }

    /// The most points an order of `amount_cents` may use, given the member's spendable
    /// `balance` and what is left of the month's redemption cap, in whole units.
    pub fn max_points(self, amount_cents: i64, balance: i64, redeem_room: i64) -> i64 {
        let payable_cents = amount_cents
            .saturating_mul(self.max_percent)
            .checked_div(100)
            .unwrap_or(0);
        // points = cents × points_per_yuan / 100, floored.
        let by_order = payable_cents
            .saturating_mul(self.points_per_yuan)
            .checked_div(100)
            .unwrap_or(0);
        let most = by_order.min(balance).min(redeem_room).max(0);
        most.checked_div(self.unit)
            .unwrap_or(0)
            .saturating_mul(self.unit)
    }

    /// What `points` take off the order, in cents.
    pub fn cents_for(self, points: i64) -> i64 {
        points
            .saturating_mul(100)
            .checked_div(self.points_per_yuan)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purchase_earns_per_whole_yuan_times_the_multiplier() {
        assert_eq!(purchase_rewards(12_345, &[100, 100]), (123, 123));
        assert_eq!(purchase_rewards(12_345, &[150, 100]), (184, 123));
        assert_eq!(purchase_rewards(12_345, &[120, 200]), (295, 123));
        assert_eq!(purchase_rewards(99, &[200]), (0, 0));
    }

    #[test]
    fn a_clawback_never_overdraws() {
        assert_eq!(clawback(100, 250), (100, 0));
        assert_eq!(clawback(100, 30), (30, 70));
        assert_eq!(clawback(100, 0), (0, 100));
    }

    #[test]
    fn checkout_limits_by_order_share_balance_cap_and_unit() {
        let rules = CheckoutRules::parse(100, 100, 50).unwrap();
        // A ¥100 order: at most ¥50 = 5000 points.
        assert_eq!(rules.max_points(10_000, 100_000, 100_000), 5_000);
        assert_eq!(rules.max_points(10_000, 1_234, 100_000), 1_200);
        assert_eq!(rules.max_points(10_000, 100_000, 950), 900);
        assert_eq!(rules.max_points(150, 100_000, 100_000), 0);
        assert_eq!(rules.cents_for(1_200), 1_200);
        assert!(CheckoutRules::parse(100, 0, 50).is_err());
    }

    #[test]
    fn order_ids_and_amounts_are_checked() {
        assert!(check_order_id("POS-2026:0001").is_ok());
        assert!(check_order_id("").is_err());
        assert!(check_order_id("has space").is_err());
        assert!(check_amount(0).is_err());
        assert!(check_amount(1).is_ok());
    }
}
