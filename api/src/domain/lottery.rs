//! The points lottery (积分抽奖 / 以小博大, SPEC §14): prizes and their weights, tier boosts,
//! pity, and the published probabilities.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The legal cap on a prize's value in China (¥50,000), in cents.
pub const PRIZE_VALUE_CAP_CENTS: i64 = 5_000_000;

/// What a prize pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum PrizeKind {
    /// `LOTTERY_PRIZE` points.
    Points,
    /// Units of a reward, granted.
    Reward,
    /// Nothing (谢谢参与).
    None,
}

impl PrizeKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A prize of a lottery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prize {
    pub id: i64,
    pub kind: PrizeKind,
    pub points: i64,
    pub reward_id: Option<i64>,
    pub quantity: i32,
    /// A relative weight, 0 or more.
    pub weight: i32,
    /// Units left; none: unlimited.
    pub stock: Option<i64>,
}

impl Prize {
    pub fn wins(&self) -> bool {
        self.kind != PrizeKind::None
    }

    pub fn in_stock(&self) -> bool {
        self.stock.is_none_or(|left| left > 0)
    }
}

/// A tier's higher odds (提高活动中奖率): a winning prize's weight × (100 + percent) / 100.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierBoost {
    pub tier_code: String,
    pub percent: i32,
}

/// A lottery (积分抽奖).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lottery {
    pub id: i64,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Points a paid draw costs (0: free to play).
    pub cost_points: i64,
    pub draws_per_day: Option<i32>,
    pub draws_total: Option<i32>,
    /// After this many draws in a row without a prize, the next one wins (保底).
    pub pity_after: Option<i32>,
    /// The most points-equivalent it may pay out.
    pub budget_points: Option<i64>,
    pub spent_points: i64,
    pub min_tier: Option<String>,
    pub segment_id: Option<i64>,
    pub tier_boosts: Vec<TierBoost>,
    pub prizes: Vec<Prize>,
}

impl Lottery {
    /// Checks a lottery's settings (the prize-value cap is checked by the service, which knows
    /// rewards and the checkout rate).
    ///
    /// # Errors
    /// `VALIDATION` on `title`, `endsAt`, `costPoints`, `drawsPerDay`, `drawsTotal`,
    /// `pityAfter`, `budgetPoints`, `prizes…` or `tierBoosts`.
    pub fn check(&self) -> Result<(), AppError> {
        if !(1..=64).contains(&self.title.trim().chars().count()) {
            return Err(AppError::validation("title", "must be 1 to 64 characters"));
        }
        if self.ends_at <= self.starts_at {
            return Err(AppError::validation("endsAt", "must be after startsAt"));
        }
        if !(0..=1_000_000).contains(&self.cost_points) {
            return Err(AppError::validation("costPoints", "must be 0 to 1000000"));
        }
        for (field, limit) in [
            ("drawsPerDay", self.draws_per_day),
            ("drawsTotal", self.draws_total),
            ("pityAfter", self.pity_after),
        ] {
            if limit.is_some_and(|n| !(1..=100_000).contains(&n)) {
                return Err(AppError::validation(field, "must be 1 to 100000"));
            }
        }
        if self.budget_points.is_some_and(|points| points < 1) {
            return Err(AppError::validation("budgetPoints", "must be at least 1"));
        }
        if !(1..=20).contains(&self.prizes.len()) {
            return Err(AppError::validation("prizes", "name 1 to 20 prizes"));
        }
        for prize in &self.prizes {
            if !(0..=1_000_000).contains(&prize.weight) {
                return Err(AppError::validation(
                    "prizes.weight",
                    "must be 0 to 1000000",
                ));
            }
            if prize.stock.is_some_and(|stock| stock < 0) {
                return Err(AppError::validation("prizes.stock", "must not be negative"));
            }
            match prize.kind {
                PrizeKind::Points if !(1..=10_000_000).contains(&prize.points) => {
                    return Err(AppError::validation(
                        "prizes.points",
                        "must be 1 to 10000000",
                    ));
                }
                PrizeKind::Reward if prize.reward_id.is_none() => {
                    return Err(AppError::validation("prizes.rewardId", "is required"));
                }
                PrizeKind::Reward if !(1..=10).contains(&prize.quantity) => {
                    return Err(AppError::validation("prizes.quantity", "must be 1 to 10"));
                }
                _ => {}
            }
        }
        if self.prizes.iter().all(|p| p.weight == 0) {
            return Err(AppError::validation(
                "prizes.weight",
                "one weight must be above 0",
            ));
        }
        if self
            .tier_boosts
            .iter()
            .any(|b| !(0..=1000).contains(&b.percent))
        {
            return Err(AppError::validation(
                "tierBoosts.percent",
                "must be 0 to 1000",
            ));
        }
        Ok(())
    }

    /// Whether the lottery is live at `at`.
    pub fn is_live(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.ends_at
    }

    /// The weights in force for a member of `tier_code`, by prize: winning prizes boosted for
    /// the tier; with `pity`, only winning prizes in stock (none: the draw pays nothing).
    pub fn weights(&self, tier_code: &str, pity: bool) -> Vec<(i64, i64)> {
        let boost = self
            .tier_boosts
            .iter()
            .find(|b| b.tier_code == tier_code)
            .map_or(0, |b| i64::from(b.percent));
        self.prizes
            .iter()
            .filter(|p| !pity || (p.wins() && p.in_stock()))
            .map(|p| {
                let base = i64::from(p.weight);
                let weight = if p.wins() {
                    base.saturating_mul(100 + boost) / 100
                } else {
                    base
                };
                (p.id, weight)
            })
            .collect()
    }
}

/// A draw as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draw {
    pub id: i64,
    pub lottery_id: i64,
    pub prize_id: Option<i64>,
    pub kind: PrizeKind,
    pub points: i64,
    pub reward_id: Option<i64>,
    pub quantity: i32,
    pub won: bool,
    pub free: bool,
    pub cost_points: i64,
    pub random_value: i64,
    pub created_at: DateTime<Utc>,
}

/// The prize a random value in `[0, total weight)` lands on.
pub fn pick(weights: &[(i64, i64)], random: i64) -> Option<i64> {
    let mut left = random;
    for (id, weight) in weights {
        if left < *weight {
            return Some(*id);
        }
        left -= weight;
    }
    None
}

/// The sum of the weights.
pub fn total_weight(weights: &[(i64, i64)]) -> i64 {
    weights.iter().map(|(_, w)| (*w).max(0)).sum()
}

/// Each prize's probability under `weights`, to 4 decimals (概率公示).
pub fn probabilities(weights: &[(i64, i64)]) -> Vec<(i64, f64)> {
    let total = total_weight(weights);
    weights
        .iter()
        .map(|(id, weight)| {
            (
                *id,
                crate::domain::stats::redemption_rate(total, *weight).unwrap_or(0.0),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prize(id: i64, kind: PrizeKind, weight: i32, stock: Option<i64>) -> Prize {
        Prize {
            id,
            kind,
            points: 10,
            reward_id: None,
            quantity: 1,
            weight,
            stock,
        }
    }

    fn lottery(prizes: Vec<Prize>) -> Lottery {
        Lottery {
            id: 1,
            title: "t".into(),
            starts_at: "2026-03-01T00:00:00Z".parse().unwrap(),
            ends_at: "2026-04-01T00:00:00Z".parse().unwrap(),
            cost_points: 10,
            draws_per_day: None,
            draws_total: None,
            pity_after: Some(3),
            budget_points: None,
            spent_points: 0,
            min_tier: None,
            segment_id: None,
            tier_boosts: vec![TierBoost {
                tier_code: "SEED".into(),
                percent: 100,
            }],
            prizes,
        }
    }

    #[test]
    fn weights_pick_boost_and_pity() {
        let l = lottery(vec![
            prize(1, PrizeKind::Points, 10, None),
            prize(2, PrizeKind::None, 90, None),
            prize(3, PrizeKind::Points, 5, Some(0)),
        ]);
        let plain = l.weights("NEW", false);
        assert_eq!(plain, [(1, 10), (2, 90), (3, 5)]);
        assert_eq!(pick(&plain, 0), Some(1));
        assert_eq!(pick(&plain, 10), Some(2));
        assert_eq!(pick(&plain, 104), Some(3));
        assert_eq!(l.weights("SEED", false), [(1, 20), (2, 90), (3, 10)]);
        // Pity: winning prizes in stock only.
        assert_eq!(l.weights("NEW", true), [(1, 10)]);
        let shown = probabilities(&plain);
        assert_eq!(shown[0], (1, 0.0952));
    }

    #[test]
    fn settings_are_checked_by_field() {
        let mut l = lottery(vec![prize(1, PrizeKind::None, 0, None)]);
        assert_eq!(l.check().unwrap_err().code(), "VALIDATION");
        l.prizes = vec![prize(1, PrizeKind::Reward, 1, None)];
        assert!(matches!(
            l.check(),
            Err(AppError::Validation {
                field: "prizes.rewardId",
                ..
            })
        ));
    }
}
