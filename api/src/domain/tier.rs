//! Tiers (会员等级) and their privileges (等级特权): which tier growth earns, how evaluation
//! moves members down, the KOC growth coefficient, and birthdays.
#![deny(clippy::arithmetic_side_effects)]

use chrono::{Datelike, Months, NaiveDate};

use crate::domain::points;
use crate::error::AppError;

/// A tier with every privilege it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub code: String,
    pub name: String,
    pub rank: i32,
    /// Growth over the trailing 12 months that reaches this tier.
    pub growth_threshold: i64,
    pub points_multiplier_pct: i32,
    pub monthly_earn_cap: i64,
    pub monthly_redeem_cap: i64,
    pub birthday_points: i64,
    pub make_ups_per_month: i32,
    pub member_day_discount_pct: i32,
    pub upgrade_gift_points: i64,
    pub badge: String,
    pub priority_support: bool,
}

/// The tier `growth` reaches: the highest threshold met (tiers sorted by rank).
pub fn tier_for_growth(tiers: &[Tier], growth: i64) -> Option<&Tier> {
    tiers
        .iter()
        .rev()
        .find(|tier| tier.growth_threshold <= growth)
}

/// The tier after `rank`, if any.
pub fn next_tier(tiers: &[Tier], rank: i32) -> Option<&Tier> {
    tiers.iter().find(|tier| tier.rank > rank)
}

/// Where the monthly evaluation puts a member in tier `current` whose growth reaches `earned`:
/// up to it at once, or down one level — once a business month at most, however often the
/// evaluation runs (`demoted_this_month`).
pub fn evaluated_rank(current: i32, earned: i32, demoted_this_month: bool) -> i32 {
    if earned >= current {
        earned
    } else if demoted_this_month {
        current
    } else {
        current.saturating_sub(1).max(earned)
    }
}

/// A business month as the number YYYYMM (how demotions and evaluations remember months).
pub fn month_number(day: NaiveDate) -> i32 {
    day.year()
        .saturating_mul(100)
        .saturating_add(i32::try_from(day.month()).unwrap_or(0))
}

/// The KOC growth coefficient (成长系数) in percent: 120 / 150 / 200 for levels 1–3, 100 for
/// everyone else.
pub fn growth_coefficient_pct(koc_level: Option<i32>) -> i32 {
    match koc_level {
        Some(1) => 120,
        Some(2) => 150,
        Some(3..) => 200,
        _ => 100,
    }
}

/// Growth after the coefficient, floored.
pub fn apply_growth_coefficient(growth: i64, koc_level: Option<i32>) -> i64 {
    points::multiply(growth, growth_coefficient_pct(koc_level))
}

/// The business months of the trailing 12-month window ending in `today`'s month.
pub fn trailing_months(today: NaiveDate) -> Vec<String> {
    (0..12_u32)
        .filter_map(|back| today.checked_sub_months(Months::new(back)))
        .map(|day| points::MonthKey::of_day(day).as_str().to_owned())
        .collect()
}

/// Where growth (成长值) came from, as growth entries record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrowthSource {
    SignIn,
    Purchase,
    /// A refunded purchase's growth taken back.
    PurchaseRefund,
    KocTask,
    /// A task's growth reward (SPEC §13).
    Task,
}

impl GrowthSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "SIGN_IN",
            Self::Purchase => "PURCHASE",
            Self::PurchaseRefund => "PURCHASE_REFUND",
            Self::KocTask => "KOC_TASK",
            Self::Task => "TASK",
        }
    }
}

/// Whether `today` is the member's birthday (`MM-DD`); a 02-29 birthday falls on 02-28 in other
/// years.
pub fn is_birthday(birthday: &str, today: NaiveDate) -> bool {
    let Some((month, day)) = birthday.split_once('-') else {
        return false;
    };
    let (Ok(month), Ok(day)) = (month.parse::<u32>(), day.parse::<u32>()) else {
        return false;
    };
    let leap = NaiveDate::from_ymd_opt(today.year(), 2, 29).is_some();
    let (month, day) = if (month, day) == (2, 29) && !leap {
        (2, 28)
    } else {
        (month, day)
    };
    today.month() == month && today.day() == day
}

/// Checks an operator's edit of the tier table: the entry tier starts at 0 growth, thresholds
/// rise with rank, multipliers and caps are sane.
///
/// # Errors
/// `VALIDATION` naming the offending field.
pub fn check_tiers(tiers: &[Tier]) -> Result<(), AppError> {
    if tiers
        .first()
        .is_some_and(|entry| entry.growth_threshold != 0)
    {
        return Err(AppError::validation(
            "growthThreshold",
            "the entry tier must start at 0 growth",
        ));
    }
    if tiers.windows(2).any(
        |pair| matches!(pair, [lower, higher] if lower.growth_threshold >= higher.growth_threshold),
    ) {
        return Err(AppError::validation(
            "growthThreshold",
            "thresholds must rise with each tier",
        ));
    }
    for tier in tiers {
        if !(100..=1000).contains(&tier.points_multiplier_pct) {
            return Err(AppError::validation(
                "pointsMultiplierPercent",
                "must be 100 to 1000",
            ));
        }
        if !(0..=50).contains(&tier.member_day_discount_pct) {
            return Err(AppError::validation(
                "memberDayDiscountPercent",
                "must be 0 to 50",
            ));
        }
        for (field, amount) in [
            ("monthlyEarnCap", tier.monthly_earn_cap),
            ("monthlyRedeemCap", tier.monthly_redeem_cap),
            ("birthdayPoints", tier.birthday_points),
            ("upgradeGiftPoints", tier.upgrade_gift_points),
            ("makeUpsPerMonth", i64::from(tier.make_ups_per_month)),
        ] {
            if !(0..=10_000_000).contains(&amount) {
                return Err(AppError::validation(field, "must be 0 to 10000000"));
            }
        }
        if tier.name.trim().is_empty() || tier.name.chars().count() > 32 {
            return Err(AppError::validation("name", "must be 1 to 32 characters"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(code: &str, rank: i32, threshold: i64) -> Tier {
        Tier {
            code: code.into(),
            name: code.into(),
            rank,
            growth_threshold: threshold,
            points_multiplier_pct: 100,
            monthly_earn_cap: 1000,
            monthly_redeem_cap: 1000,
            birthday_points: 0,
            make_ups_per_month: 1,
            member_day_discount_pct: 0,
            upgrade_gift_points: 0,
            badge: code.into(),
            priority_support: false,
        }
    }

    #[test]
    fn the_highest_threshold_met_wins() {
        let tiers = [
            tier("NEW", 0, 0),
            tier("REGULAR", 1, 500),
            tier("CORE", 2, 2000),
        ];
        assert_eq!(tier_for_growth(&tiers, 0).unwrap().code, "NEW");
        assert_eq!(tier_for_growth(&tiers, 499).unwrap().code, "NEW");
        assert_eq!(tier_for_growth(&tiers, 500).unwrap().code, "REGULAR");
        assert_eq!(tier_for_growth(&tiers, 1_000_000).unwrap().code, "CORE");
        assert_eq!(next_tier(&tiers, 1).unwrap().code, "CORE");
        assert!(next_tier(&tiers, 2).is_none());
    }

    #[test]
    fn evaluation_moves_down_one_level_at_most() {
        assert_eq!(evaluated_rank(3, 0, false), 2);
        assert_eq!(evaluated_rank(2, 1, false), 1);
        assert_eq!(evaluated_rank(1, 1, false), 1);
        assert_eq!(evaluated_rank(1, 3, false), 3);
        assert_eq!(evaluated_rank(3, 0, true), 3);
        assert_eq!(evaluated_rank(1, 3, true), 3);
        assert_eq!(
            month_number(NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()),
            202_602
        );
    }

    #[test]
    fn koc_levels_multiply_growth() {
        assert_eq!(apply_growth_coefficient(10, None), 10);
        assert_eq!(apply_growth_coefficient(10, Some(1)), 12);
        assert_eq!(apply_growth_coefficient(10, Some(2)), 15);
        assert_eq!(apply_growth_coefficient(10, Some(3)), 20);
    }

    #[test]
    fn the_window_is_twelve_business_months() {
        let months = trailing_months(NaiveDate::from_ymd_opt(2026, 3, 31).unwrap());
        assert_eq!(months.len(), 12);
        assert_eq!(months.first().unwrap(), "2026-03");
        assert_eq!(months.last().unwrap(), "2025-04");
    }

    #[test]
    fn leap_day_birthdays_fall_on_the_28th_otherwise() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert!(is_birthday("02-29", day(2027, 2, 28)));
        assert!(!is_birthday("02-29", day(2028, 2, 28)));
        assert!(is_birthday("02-29", day(2028, 2, 29)));
        assert!(is_birthday("05-20", day(2026, 5, 20)));
        assert!(!is_birthday("05-20", day(2026, 5, 21)));
    }

    #[test]
    fn tier_tables_must_rise() {
        assert!(check_tiers(&[tier("A", 0, 0), tier("B", 1, 10)]).is_ok());
        assert!(check_tiers(&[tier("A", 0, 5), tier("B", 1, 10)]).is_err());
        assert!(check_tiers(&[tier("A", 0, 0), tier("B", 1, 0)]).is_err());
    }
}
