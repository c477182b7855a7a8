//! The points lottery (积分抽奖 / 以小博大, SPEC §14).
//!
//! A draw runs in the member's unit of work: the replay lookup, the limits, the free draw or
//! the paid debit (counted toward the monthly redemption cap), the pick by the operating
//! system's random generator, then the prize — taken from its stock, the lottery's budget and
//! (for points) the programme's, each with one conditional statement, so no prize is paid
//! beyond a stock or a budget however many draws run at once; a prize that does not fit falls
//! to `NONE`. Every draw is recorded with its random value and the weights in force.

use std::sync::Arc;

use rand::Rng;
use rand::rngs::OsRng;
use sea_orm::DatabaseConnection;

use crate::domain::ids::{LotteryId, MemberId, RewardId, SegmentId};
use crate::domain::lottery::Draw;
use crate::domain::lottery::{self, Lottery, PRIZE_VALUE_CAP_CENTS, PrizeKind};
use crate::domain::points::{EntryKind, MonthKey};
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::service::ledger::{Credit, Debit, Ledger};
use crate::service::purchases::checkout_rules;
use crate::service::rewards;
use crate::service::segments::{SegmentService, member_segments};
use crate::service::stats::{self, MONTHLY_POINTS_BUDGET};
use crate::service::work::PointsEngine;
use crate::store;
use crate::store::ledger::LockedMember;
use crate::store::lottery::{DrawTotals, NewDraw};

/// A lottery as a member sees it.
#[derive(Debug, Clone)]
pub struct LotteryView {
    pub lottery: Lottery,
    /// Each prize's probability for the caller (概率公示), by prize id.
    pub probabilities: Vec<(i64, f64)>,
    /// The caller's free draws on it.
    pub draws_available: i32,
}

/// What a lottery did (operators).
#[derive(Debug, Clone, PartialEq)]
pub struct LotteryStats {
    pub totals: DrawTotals,
    /// Of the draws, the share that won.
    pub observed_win_rate: Option<f64>,
    /// The winning prizes' share of the configured weights (no boost, no pity).
    pub configured_win_rate: Option<f64>,
    pub budget_points: Option<i64>,
    pub budget_used: i64,
}

pub struct LotteryService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    engine: PointsEngine,
}

impl LotteryService {
    pub fn new(db: DatabaseConnection, clock: Arc<Clock>, engine: PointsEngine) -> Self {
        Self { db, clock, engine }
    }

    /// Creates a lottery, or with an id rewrites it (prizes replaced).
    ///
    /// # Errors
    /// `VALIDATION` by field (a prize worth more than ¥50,000 on `prizes`); `NOT_FOUND` for
    /// an unknown lottery, tier, segment or reward.
    pub async fn save(&self, segments: &SegmentService, l: Lottery) -> Result<Lottery, AppError> {
        l.check()?;
        let rules = self.engine.rules().await?;
        if let Some(tier) = &l.min_tier {
            rules
                .tier(tier)
                .map_err(|_unknown| AppError::NotFound("tier"))?;
        }
        for boost in &l.tier_boosts {
            rules
                .tier(&boost.tier_code)
                .map_err(|_unknown| AppError::NotFound("tier"))?;
        }
        if let Some(segment) = l.segment_id {
            segments.find(SegmentId::new(segment)).await?;
        }
        let checkout = checkout_rules(&rules)?;
        for prize in &l.prizes {
            let cents = match (prize.kind, prize.reward_id) {
                (PrizeKind::Reward, Some(reward)) => {
                    let found = store::rewards::find_reward(&self.db, reward)
                        .await?
                        .ok_or(AppError::NotFound("reward"))?;
                    found
                        .cost_cents
                        .unwrap_or(0)
                        .saturating_mul(i64::from(prize.quantity))
                }
                (PrizeKind::Points, _) => prize
                    .points
                    .saturating_mul(100)
                    .checked_div(checkout.points_per_yuan.max(1))
                    .unwrap_or(0),
                _ => 0,
            };
            if cents > PRIZE_VALUE_CAP_CENTS {
                return Err(AppError::validation(
                    "prizes",
                    "a prize may be worth at most ¥50,000",
                ));
            }
        }
        let now = self.clock.now();
        let txn = store::begin(&self.db).await?;
        let id = if l.id == 0 {
            store::lottery::insert(&txn, &l, now).await?
        } else if store::lottery::update(&txn, &l, now).await? {
            l.id
        } else {
            return Err(AppError::NotFound("lottery"));
        };
        txn.commit().await?;
        self.find(LotteryId::new(id)).await
    }

    /// # Errors
    /// `NOT_FOUND` for an unknown id.
    pub async fn find(&self, id: LotteryId) -> Result<Lottery, AppError> {
        store::lottery::load(&self.db, Some(id.get()))
            .await?
            .pop()
            .ok_or(AppError::NotFound("lottery"))
    }

    /// Every lottery (operators), with the configured probabilities.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn all(&self) -> Result<Vec<LotteryView>, AppError> {
        Ok(store::lottery::load(&self.db, None)
            .await?
            .into_iter()
            .map(|l| LotteryView {
                probabilities: lottery::probabilities(&l.weights("", false)),
                lottery: l,
                draws_available: 0,
            })
            .collect())
    }

    /// The live lotteries the member qualifies for, with each prize's probability for them
    /// and their free draws.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn for_member(&self, member: MemberId) -> Result<Vec<LotteryView>, AppError> {
        let work = self.engine.begin(member).await?;
        let now = work.now;
        let all = store::lottery::load(work.txn(), None).await?;
        let free = store::lottery::free_draws_of(work.txn(), member).await?;
        let mut shown = Vec::new();
        for l in all.into_iter().filter(|l| l.is_live(now)) {
            if !qualifies(&work.ledger(), &work.member, &l).await? {
                continue;
            }
            shown.push(LotteryView {
                probabilities: lottery::probabilities(&l.weights(&work.member.tier_code, false)),
                draws_available: free
                    .iter()
                    .find(|(id, _)| *id == l.id)
                    .map_or(0, |(_, n)| *n),
                lottery: l,
            });
        }
        work.commit().await?;
        Ok(shown)
    }

    /// Draws once (`drawLottery`). A replayed key returns the first result.
    ///
    /// # Errors
    /// `LOTTERY_UNAVAILABLE`; `DRAW_LIMIT_REACHED`; `MONTHLY_REDEEM_CAP_REACHED`;
    /// `INSUFFICIENT_POINTS`; `FORBIDDEN` for a frozen member; `NOT_FOUND`; `CONFLICT` for a
    /// key used on another lottery; `VALIDATION` on `idempotencyKey`.
    pub async fn draw(
        &self,
        member: MemberId,
        id: LotteryId,
        key: &str,
    ) -> Result<(Draw, bool), AppError> {
        if !(1..=64).contains(&key.chars().count()) {
            return Err(AppError::validation(
                "idempotencyKey",
                "must be 1 to 64 characters",
            ));
        }
        let mut work = self.engine.begin(member).await?;
        if let Some(found) = store::lottery::draw_by_key(work.txn(), member, key).await? {
            if found.lottery_id != id.get() {
                return Err(AppError::Conflict(
                    "the idempotency key was used on another lottery".to_owned(),
                ));
            }
            return Ok((found, true));
        }
        let l = store::lottery::load(work.txn(), Some(id.get()))
            .await?
            .pop()
            .ok_or(AppError::NotFound("lottery"))?;
        if work.member.frozen {
            return Err(AppError::Forbidden("this member is frozen: no draws"));
        }
        let now = work.now;
        if !l.is_live(now) || !qualifies(&work.ledger(), &work.member, &l).await? {
            return Err(AppError::LotteryUnavailable);
        }
        let timezone = work.policy.timezone;
        let day = now.with_timezone(&timezone).date_naive();
        let (today, total) = store::lottery::draws_made(work.txn(), l.id, member, day).await?;
        let over = |limit: Option<i32>, made: u64| {
            limit.is_some_and(|limit| made >= u64::try_from(limit).unwrap_or(0))
        };
        if over(l.draws_per_day, today) || over(l.draws_total, total) {
            return Err(AppError::DrawLimitReached);
        }
        let (_, misses) = store::lottery::standing(work.txn(), l.id, member).await?;
        let free = store::lottery::take_free_draw(work.txn(), l.id, member).await?;
        let cost = if free { 0 } else { l.cost_points };
        if cost > 0 {
            let tier = work.rules.tier(&work.member.tier_code)?;
            let month = MonthKey::of(now, timezone);
            let redeemed = store::ledger::month_totals(work.txn(), &work.member, month.as_str())
                .await?
                .redeemed;
            let room = tier.monthly_redeem_cap.saturating_sub(redeemed).max(0);
            if cost > room {
                return Err(AppError::MonthlyRedeemCapReached { remaining: room });
            }
            let (ledger, locked) = work.split();
            ledger
                .debit_first(
                    locked,
                    Debit {
                        kind: EntryKind::Lottery,
                        amount: cost,
                        is_redemption: true,
                        key: &format!("lottery:{}:{key}", l.id),
                        payload: key,
                        reference: Some(&format!("lottery:{}", l.id)),
                        note: Some(&l.title),
                    },
                )
                .await?;
        }
        let pity = l.pity_after.is_some_and(|after| misses >= after);
        let weights = l.weights(&work.member.tier_code, pity);
        let total_weight = lottery::total_weight(&weights);
        let random = if total_weight > 0 {
            OsRng.gen_range(0..total_weight)
        } else {
            0
        };
        let picked = lottery::pick(&weights, random)
            .and_then(|prize| l.prizes.iter().find(|p| p.id == prize));
        let (ledger, locked) = work.split();
        let (paid, value) = match picked.filter(|p| p.wins()) {
            Some(prize) => pay_prize(&ledger, locked, &l, prize, key).await?,
            None => (PrizeKind::None, 0),
        };
        let won = paid != PrizeKind::None;
        let misses_after = if won { 0 } else { misses.saturating_add(1) };
        store::lottery::set_misses(ledger.db, l.id, member, misses_after).await?;
        let audit: serde_json::Map<String, serde_json::Value> = weights
            .iter()
            .map(|(prize, weight)| (prize.to_string(), serde_json::json!(weight)))
            .collect();
        let record = store::lottery::insert_draw(
            ledger.db,
            &NewDraw {
                lottery: l.id,
                member,
                key,
                day,
                prize: picked,
                paid,
                free,
                cost_points: cost,
                value,
                random_value: random,
                weights: serde_json::Value::Object(audit).to_string(),
            },
            now,
        )
        .await?;
        work.commit().await?;
        Ok((record, false))
    }

    /// The member's draws, newest first.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn my_draws(&self, member: MemberId, first: u64) -> Result<Vec<Draw>, AppError> {
        store::lottery::member_draws(&self.db, member, first).await
    }

    /// # Errors
    /// `NOT_FOUND` for an unknown id.
    pub async fn stats(&self, id: LotteryId) -> Result<LotteryStats, AppError> {
        let l = self.find(id).await?;
        let totals = store::lottery::totals(&self.db, id.get()).await?;
        let weights = l.weights("", false);
        let winning: i64 = weights
            .iter()
            .filter(|(prize, _)| l.prizes.iter().any(|p| p.id == *prize && p.wins()))
            .map(|(_, w)| *w)
            .sum();
        Ok(LotteryStats {
            observed_win_rate: crate::domain::campaign::rate(totals.won, totals.draws),
            configured_win_rate: crate::domain::campaign::rate(
                winning,
                lottery::total_weight(&weights),
            ),
            budget_points: l.budget_points,
            budget_used: l.spent_points,
            totals,
        })
    }
}

/// Whether the member's tier and segment let them play.
async fn qualifies(
    ledger: &Ledger<'_>,
    member: &LockedMember,
    l: &Lottery,
) -> Result<bool, AppError> {
    let tiers = &ledger.rules.tiers;
    let rank = |code: &str| tiers.iter().find(|t| t.code == code).map(|t| t.rank);
    if l.min_tier
        .as_deref()
        .is_some_and(|min| rank(&member.tier_code) < rank(min))
    {
        return Ok(false);
    }
    let Some(segment) = l.segment_id else {
        return Ok(true);
    };
    let timezone = ledger.policy.timezone;
    let today = ledger.now.with_timezone(&timezone).date_naive();
    let inside = member_segments(
        ledger.db,
        ledger.rules,
        member.id,
        &[segment],
        today,
        timezone,
    )
    .await?;
    Ok(inside.contains(&segment))
}

/// Pays a drawn prize if its stock, the lottery's budget and (for points) the programme's
/// budget allow; otherwise it falls to `NONE`. Returns what was paid and its
/// points-equivalent.
async fn pay_prize(
    ledger: &Ledger<'_>,
    member: &mut LockedMember,
    l: &Lottery,
    prize: &lottery::Prize,
    key: &str,
) -> Result<(PrizeKind, i64), AppError> {
    let value = match (prize.kind, prize.reward_id) {
        (PrizeKind::Points, _) => prize.points,
        (PrizeKind::Reward, Some(reward)) => store::rewards::find_reward(ledger.db, reward)
            .await?
            .map_or(0, |r| {
                r.points_cost.saturating_mul(i64::from(prize.quantity))
            }),
        _ => 0,
    };
    if !store::lottery::take_stock(ledger.db, prize.id).await? {
        return Ok((PrizeKind::None, 0));
    }
    if !store::lottery::take_budget(ledger.db, l.id, value).await? {
        store::lottery::give_back_stock(ledger.db, prize.id).await?;
        return Ok((PrizeKind::None, 0));
    }
    if prize.kind == PrizeKind::Points && !fits_programme_budget(ledger, prize.points).await? {
        store::lottery::give_back_stock(ledger.db, prize.id).await?;
        store::lottery::give_back_budget(ledger.db, l.id, value).await?;
        return Ok((PrizeKind::None, 0));
    }
    let prize_key = format!("lottery-prize:{}:{key}", l.id);
    let reference = format!("lottery:{}", l.id);
    match (prize.kind, prize.reward_id) {
        (PrizeKind::Points, _) => {
            ledger
                .credit(
                    member,
                    Credit {
                        kind: EntryKind::LotteryPrize,
                        requested: prize.points,
                        key: &prize_key,
                        payload: &prize_key,
                        reference: Some(&reference),
                        note: Some(&l.title),
                        expires_at: None,
                    },
                )
                .await?;
        }
        (PrizeKind::Reward, Some(reward)) => {
            for unit in 0..prize.quantity {
                let unit_key = format!("{prize_key}:{unit}");
                rewards::grant_free(ledger, member, RewardId::new(reward), &unit_key).await?;
            }
        }
        _ => {}
    }
    Ok((prize.kind, value))
}

/// Takes `points` from the programme's monthly budget when one is set (SPEC §16: lottery
/// prizes stop at it).
async fn fits_programme_budget(ledger: &Ledger<'_>, points: i64) -> Result<bool, AppError> {
    let budget = ledger.rules.setting(MONTHLY_POINTS_BUDGET, 0);
    if budget <= 0 {
        return Ok(true);
    }
    let month = MonthKey::of(ledger.now, ledger.policy.timezone);
    let issued = stats::programme_budget(ledger.db, &month).await?;
    Ok(store::campaigns::take_programme_budget(
        ledger.db,
        month.as_str(),
        points,
        issued.earned_this_month,
        budget,
    )
    .await?)
}

/// Gives the member `draws` free draws on a lottery (tasks, campaigns); nothing for an
/// unknown lottery.
///
/// # Errors
/// `INTERNAL` on database failure.
pub async fn grant_draws(
    ledger: &Ledger<'_>,
    member: MemberId,
    lottery: i64,
    draws: i32,
) -> Result<(), AppError> {
    if draws > 0
        && !store::lottery::load(ledger.db, Some(lottery))
            .await?
            .is_empty()
    {
        store::lottery::add_free_draws(ledger.db, lottery, member, draws).await?;
    }
    Ok(())
}
