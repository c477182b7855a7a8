//! Rewards and redemption (积分兑换 / 核销): kinds, availability, the checks a redemption passes
//! in order, and prices.
#![deny(clippy::arithmetic_side_effects)]

use chrono::{DateTime, Utc};

use crate::domain::instant;
use crate::domain::member_day;
use crate::error::AppError;

/// What a reward is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewardKind {
    /// A coupon with an unguessable code, written off by staff.
    Coupon,
    /// Shipped: pending until fulfilled or cancelled.
    Physical,
    /// Delivered at once.
    Virtual,
    /// A streak freeze, added to the member's stock at once.
    StreakFreeze,
}

impl RewardKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Coupon => "COUPON",
            Self::Physical => "PHYSICAL",
            Self::Virtual => "VIRTUAL",
            Self::StreakFreeze => "STREAK_FREEZE",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "COUPON" => Some(Self::Coupon),
            "PHYSICAL" => Some(Self::Physical),
            "VIRTUAL" => Some(Self::Virtual),
            "STREAK_FREEZE" => Some(Self::StreakFreeze),
            _ => None,
        }
    }

    /// Physical rewards wait for fulfilment; everything else is delivered at once.
    pub fn starts_pending(self) -> bool {
        self == Self::Physical
    }
}

/// Where a redemption stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedemptionStatus {
    Pending,
    Fulfilled,
    Cancelled,
}

impl RedemptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Fulfilled => "FULFILLED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "PENDING" => Some(Self::Pending),
            "FULFILLED" => Some(Self::Fulfilled),
            "CANCELLED" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// A reward in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reward {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub image_url: Option<String>,
    pub kind: RewardKind,
    pub points_cost: i64,
    /// None = unlimited.
    pub stock: Option<i64>,
    pub monthly_limit: Option<i32>,
    pub lifetime_limit: Option<i32>,
    pub min_tier: Option<String>,
    pub available_from: Option<DateTime<Utc>>,
    pub available_until: Option<DateTime<Utc>>,
    pub member_day_only: bool,
    pub active: bool,
    /// What a unit costs the brand, in cents (for campaign ROI and prize-value rules).
    pub cost_cents: Option<i64>,
}

impl Reward {
    /// Active and inside its availability window.
    pub fn is_available(&self, at: DateTime<Utc>) -> bool {
        self.active
            && self.available_from.is_none_or(|from| from <= at)
            && self.available_until.is_none_or(|until| at < until)
    }
}

/// What the redemption checks need to know about the member and the moment.
#[derive(Debug, Clone, Copy)]
pub struct RedeemContext {
    pub at: DateTime<Utc>,
    pub member_rank: i32,
    /// Rank of the reward's minimum tier (None = any tier).
    pub min_rank: Option<i32>,
    /// Member-day event discount now (None when it is not member day).
    pub member_day_discount_pct: Option<i32>,
    pub tier_member_day_discount_pct: i32,
    pub redeemed_this_month: i64,
    pub redeemed_lifetime: i64,
    pub month_redeemed_points: i64,
    pub monthly_redeem_cap: i64,
}

/// The price of one unit for this member now: discounted on a member day.
pub fn unit_price(reward: &Reward, ctx: &RedeemContext) -> i64 {
    match ctx.member_day_discount_pct {
        Some(event) => member_day::discounted_price(
            reward.points_cost,
            member_day::total_discount_pct(event, ctx.tier_member_day_discount_pct),
        ),
        None => reward.points_cost,
    }
}

/// Runs the checks of SPEC §5 that need no locks, in order: available, tier, member day,
/// limits, monthly cap. Stock and balance are checked by the conditional writes that follow.
/// Returns the total price.
///
/// # Errors
/// `REWARD_UNAVAILABLE`, `TIER_TOO_LOW`, `NOT_MEMBER_DAY`, `REDEMPTION_LIMIT_REACHED`,
/// `MONTHLY_REDEEM_CAP_REACHED`.
pub fn check_redemption(
    reward: &Reward,
    quantity: i64,
    ctx: &RedeemContext,
) -> Result<i64, AppError> {
    if !reward.is_available(ctx.at) {
        return Err(AppError::RewardUnavailable);
    }
    if ctx.min_rank.is_some_and(|min| ctx.member_rank < min) {
        return Err(AppError::TierTooLow {
            required: reward.min_tier.clone().unwrap_or_default(),
        });
    }
    if reward.member_day_only && ctx.member_day_discount_pct.is_none() {
        return Err(AppError::NotMemberDay);
    }
    let over = |limit: Option<i32>, used: i64| {
        limit.is_some_and(|limit| used.saturating_add(quantity) > i64::from(limit))
    };
    if over(reward.monthly_limit, ctx.redeemed_this_month)
        || over(reward.lifetime_limit, ctx.redeemed_lifetime)
    {
        return Err(AppError::RedemptionLimitReached);
    }
    let total = unit_price(reward, ctx).saturating_mul(quantity);
    let room = ctx
        .monthly_redeem_cap
        .saturating_sub(ctx.month_redeemed_points)
        .max(0);
    if total > room {
        return Err(AppError::MonthlyRedeemCapReached { remaining: room });
    }
    Ok(total)
}

/// Checks an operator's reward fields.
///
/// # Errors
/// `VALIDATION` naming the field.
pub fn check_reward(reward: &Reward) -> Result<(), AppError> {
    if reward.title.trim().is_empty() || reward.title.chars().count() > 64 {
        return Err(AppError::validation("title", "must be 1 to 64 characters"));
    }
    if reward.description.chars().count() > 1000 {
        return Err(AppError::validation(
            "description",
            "must be at most 1000 characters",
        ));
    }
    instant::accept_opt("availableFrom", reward.available_from)?;
    instant::accept_opt("availableUntil", reward.available_until)?;
    if reward
        .cost_cents
        .is_some_and(|cents| !(0..=100_000_000).contains(&cents))
    {
        return Err(AppError::validation("costCents", "must be 0 to 100000000"));
    }
    if !(0..=10_000_000).contains(&reward.points_cost) {
        return Err(AppError::validation("pointsCost", "must be 0 to 10000000"));
    }
    if reward.stock.is_some_and(|stock| stock < 0) {
        return Err(AppError::validation("stock", "must not be negative"));
    }
    for (field, limit) in [
        ("monthlyLimit", reward.monthly_limit),
        ("lifetimeLimit", reward.lifetime_limit),
    ] {
        if limit.is_some_and(|l| l < 1) {
            return Err(AppError::validation(field, "must be at least 1"));
        }
    }
    if let (Some(from), Some(until)) = (reward.available_from, reward.available_until)
        && until <= from
    {
        return Err(AppError::validation(
            "availableUntil",
            "must be after availableFrom",
        ));
    }
    Ok(())
}

/// A redemption of a reward by a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    pub id: i64,
    pub member_id: crate::domain::ids::MemberId,
    pub reward_id: i64,
    pub quantity: i32,
    pub unit_price: i64,
    pub points_total: i64,
    pub status: RedemptionStatus,
    pub idempotency_key: String,
    pub tracking_number: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A coupon a member holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coupon {
    pub code: String,
    pub redemption_id: i64,
    pub member_id: crate::domain::ids::MemberId,
    pub reward_id: i64,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// Letters and digits for coupon codes: no look-alikes.
pub const COUPON_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// 31^16 ≈ 7 × 10^23 codes: unguessable.
pub const COUPON_LENGTH: usize = 16;
/// Coupons are valid this many days.
pub const COUPON_VALID_DAYS: i64 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    fn reward() -> Reward {
        Reward {
            id: 1,
            title: "t".into(),
            description: String::new(),
            image_url: None,
            kind: RewardKind::Virtual,
            points_cost: 100,
            stock: Some(5),
            monthly_limit: Some(2),
            lifetime_limit: None,
            min_tier: None,
            available_from: None,
            available_until: None,
            member_day_only: false,
            active: true,
            cost_cents: None,
        }
    }

    fn ctx() -> RedeemContext {
        RedeemContext {
            at: Utc::now(),
            member_rank: 0,
            min_rank: None,
            member_day_discount_pct: None,
            tier_member_day_discount_pct: 0,
            redeemed_this_month: 0,
            redeemed_lifetime: 0,
            month_redeemed_points: 0,
            monthly_redeem_cap: 2000,
        }
    }

    #[test]
    fn checks_run_in_the_specified_order() {
        let mut r = reward();
        r.active = false;
        r.member_day_only = true;
        let mut c = ctx();
        c.min_rank = Some(2);
        assert_eq!(
            check_redemption(&r, 1, &c).unwrap_err().code(),
            "REWARD_UNAVAILABLE"
        );
        r.active = true;
        assert_eq!(
            check_redemption(&r, 1, &c).unwrap_err().code(),
            "TIER_TOO_LOW"
        );
        c.min_rank = None;
        assert_eq!(
            check_redemption(&r, 1, &c).unwrap_err().code(),
            "NOT_MEMBER_DAY"
        );
        r.member_day_only = false;
        c.redeemed_this_month = 2;
        assert_eq!(
            check_redemption(&r, 1, &c).unwrap_err().code(),
            "REDEMPTION_LIMIT_REACHED"
        );
        c.redeemed_this_month = 0;
        c.month_redeemed_points = 1950;
        assert_eq!(
            check_redemption(&r, 1, &c).unwrap_err().code(),
            "MONTHLY_REDEEM_CAP_REACHED"
        );
        c.month_redeemed_points = 0;
        assert_eq!(check_redemption(&r, 2, &c).unwrap(), 200);
    }

    #[test]
    fn member_day_prices_add_the_tier_discount_and_round_up() {
        let mut c = ctx();
        c.member_day_discount_pct = Some(20);
        c.tier_member_day_discount_pct = 15;
        let mut r = reward();
        r.points_cost = 99;
        assert_eq!(unit_price(&r, &c), 65); // ceil(99 × 0.65)
    }
}
