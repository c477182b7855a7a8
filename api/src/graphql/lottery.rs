//! The points lottery (积分抽奖 / 以小博大): operators define lotteries; members see the odds
//! (概率公示), draw, and read their draws.

use async_graphql::{Context, Enum, ID, InputObject, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::ids::{LotteryId, RewardId, SegmentId};
use crate::domain::lottery::Draw;
use crate::domain::lottery::{self, TierBoost};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::service::lottery::{LotteryStats as Stats, LotteryView};

/// What a prize pays (奖品类型).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::lottery::PrizeKind")]
pub enum PrizeKind {
    /// `points` as a `LOTTERY_PRIZE` entry (not cut by the monthly earning cap).
    Points,
    /// `quantity` units of the reward `rewardId`, granted.
    Reward,
    /// Nothing (谢谢参与).
    None,
}

/// A prize of a lottery, as operators set it.
#[derive(InputObject)]
pub struct PrizeInput {
    /// What it pays.
    kind: PrizeKind,
    /// POINTS: 1–10,000,000.
    points: Option<i64>,
    /// REWARD: the reward.
    reward_id: Option<ID>,
    /// REWARD: units, 1–10.
    #[graphql(default = 1)]
    quantity: i32,
    /// Its relative weight (权重), 0–1,000,000.
    weight: i32,
    /// Units it may pay out (库存); null: unlimited.
    stock: Option<i64>,
}

/// A tier's higher odds (提高活动中奖率).
#[derive(InputObject, SimpleObject)]
#[graphql(input_name = "TierBoostInput")]
pub struct LotteryTierBoost {
    /// The tier code.
    tier_code: String,
    /// A winning prize's weight for the tier is `weight × (100 + percent) / 100`; 0–1000.
    percent: i32,
}

/// A lottery's settings (抽奖设置).
#[derive(InputObject)]
pub struct LotteryInput {
    /// 1–64 characters.
    title: String,
    /// Live from here.
    starts_at: DateTime<Utc>,
    /// Live until here, after `startsAt`.
    ends_at: DateTime<Utc>,
    /// Points a draw costs when the member has no free draw; 0–1,000,000.
    #[graphql(default)]
    cost_points: i64,
    /// Draws per member per business day, 1–100000; null: no limit.
    draws_per_day: Option<i32>,
    /// Draws per member in all, 1–100000; null: no limit.
    draws_total: Option<i32>,
    /// 保底: after this many draws in a row without a prize, the next picks among winning
    /// prizes in stock; null: none.
    pity_after: Option<i32>,
    /// The most it may pay out, points-equivalent (points prizes at face value, rewards at
    /// their `pointsCost`); null: no limit.
    budget_points: Option<i64>,
    /// The lowest tier that may play.
    min_tier: Option<String>,
    /// The segment (人群) that may play.
    segment_id: Option<ID>,
    /// 1–20 prizes; a prize worth more than ¥50,000 is refused.
    prizes: Vec<PrizeInput>,
    /// Higher odds by tier.
    #[graphql(default)]
    tier_boosts: Vec<LotteryTierBoost>,
}

impl LotteryInput {
    fn into_lottery(self, id: i64) -> Result<lottery::Lottery, AppError> {
        let prizes = self
            .prizes
            .into_iter()
            .map(|p| {
                Ok(lottery::Prize {
                    id: 0,
                    kind: p.kind.into(),
                    points: p.points.unwrap_or(0),
                    reward_id: p
                        .reward_id
                        .map(|id| RewardId::parse_as(&id, "prizes.rewardId").map(RewardId::get))
                        .transpose()?,
                    quantity: p.quantity,
                    weight: p.weight,
                    stock: p.stock,
                })
            })
            .collect::<Result<_, AppError>>()?;
        Ok(lottery::Lottery {
            id,
            title: self.title,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            cost_points: self.cost_points,
            draws_per_day: self.draws_per_day,
            draws_total: self.draws_total,
            pity_after: self.pity_after,
            budget_points: self.budget_points,
            spent_points: 0,
            min_tier: self.min_tier,
            segment_id: self
                .segment_id
                .map(|id| SegmentId::parse_as(&id, "segmentId").map(SegmentId::get))
                .transpose()?,
            tier_boosts: self
                .tier_boosts
                .into_iter()
                .map(|b| TierBoost {
                    tier_code: b.tier_code,
                    percent: b.percent,
                })
                .collect(),
            prizes,
        })
    }
}

/// A prize, with its probability for the caller.
#[derive(SimpleObject)]
pub struct Prize {
    /// The prize's id.
    id: ID,
    /// What it pays.
    kind: PrizeKind,
    /// POINTS: the points.
    points: Option<i64>,
    /// REWARD: the reward.
    reward_id: Option<ID>,
    /// REWARD: units.
    quantity: i32,
    /// Its weight as configured.
    weight: i32,
    /// Units left; null: unlimited.
    stock: Option<i64>,
    /// 概率公示: the chance a draw lands on it, for the caller's tier (0–1, 4 decimals).
    probability: f64,
}

/// A lottery (积分抽奖).
#[derive(SimpleObject)]
pub struct Lottery {
    /// The lottery's id.
    id: ID,
    /// Its title.
    title: String,
    /// Live from here.
    starts_at: DateTime<Utc>,
    /// Live until here.
    ends_at: DateTime<Utc>,
    /// Points a paid draw costs.
    cost_points: i64,
    /// Draws per member per day; null: no limit.
    draws_per_day: Option<i32>,
    /// Draws per member in all; null: no limit.
    draws_total: Option<i32>,
    /// 保底 after this many misses in a row; null: none.
    pity_after: Option<i32>,
    /// Its budget, points-equivalent; null: no limit.
    budget_points: Option<i64>,
    /// What it paid out so far, points-equivalent.
    spent_points: i64,
    /// The lowest tier that may play.
    min_tier: Option<String>,
    /// The segment that may play.
    segment_id: Option<ID>,
    /// Higher odds by tier.
    tier_boosts: Vec<LotteryTierBoost>,
    /// The prizes with their probabilities for the caller.
    prizes: Vec<Prize>,
    /// The caller's free draws on it (免费抽奖次数): from tasks, sign-in cycle days and
    /// campaigns; 0 for operators.
    draws_available: i32,
}

impl From<LotteryView> for Lottery {
    fn from(v: LotteryView) -> Self {
        let l = v.lottery;
        let probability = |id: i64| {
            v.probabilities
                .iter()
                .find(|(prize, _)| *prize == id)
                .map_or(0.0, |(_, p)| *p)
        };
        Self {
            id: ID(l.id.to_string()),
            title: l.title,
            starts_at: l.starts_at,
            ends_at: l.ends_at,
            cost_points: l.cost_points,
            draws_per_day: l.draws_per_day,
            draws_total: l.draws_total,
            pity_after: l.pity_after,
            budget_points: l.budget_points,
            spent_points: l.spent_points,
            min_tier: l.min_tier,
            segment_id: l.segment_id.map(|id| ID(id.to_string())),
            tier_boosts: l
                .tier_boosts
                .into_iter()
                .map(|b| LotteryTierBoost {
                    tier_code: b.tier_code,
                    percent: b.percent,
                })
                .collect(),
            prizes: l
                .prizes
                .into_iter()
                .map(|p| Prize {
                    id: ID(p.id.to_string()),
                    probability: probability(p.id),
                    kind: p.kind.into(),
                    points: (p.kind == lottery::PrizeKind::Points).then_some(p.points),
                    reward_id: p.reward_id.map(|id| ID(id.to_string())),
                    quantity: p.quantity,
                    weight: p.weight,
                    stock: p.stock,
                })
                .collect(),
            draws_available: v.draws_available,
        }
    }
}

/// What a draw paid.
#[derive(SimpleObject)]
pub struct DrawnPrize {
    /// What it paid (NONE when nothing, also when a drawn prize's stock or budget ran out).
    kind: PrizeKind,
    /// POINTS: the points.
    points: Option<i64>,
    /// REWARD: the reward.
    reward_id: Option<ID>,
    /// REWARD: units.
    quantity: i32,
}

/// One draw (抽奖记录).
#[derive(SimpleObject)]
pub struct LotteryDraw {
    /// The draw's id.
    id: ID,
    /// The lottery.
    lottery_id: ID,
    /// What it paid.
    prize: DrawnPrize,
    /// True when it paid a prize.
    won: bool,
    /// Paid with a free draw.
    free: bool,
    /// Points it cost.
    cost_points: i64,
    /// When it happened.
    created_at: DateTime<Utc>,
}

impl From<Draw> for LotteryDraw {
    fn from(d: Draw) -> Self {
        Self {
            id: ID(d.id.to_string()),
            lottery_id: ID(d.lottery_id.to_string()),
            prize: DrawnPrize {
                kind: d.kind.into(),
                points: (d.kind == lottery::PrizeKind::Points).then_some(d.points),
                reward_id: d.reward_id.map(|id| ID(id.to_string())),
                quantity: d.quantity,
            },
            won: d.won,
            free: d.free,
            cost_points: d.cost_points,
            created_at: d.created_at,
        }
    }
}

/// The result of `drawLottery`.
#[derive(SimpleObject)]
pub struct DrawResult {
    /// The draw.
    draw: LotteryDraw,
    /// True when the key was used before: this is the first result, nothing was drawn again.
    replayed: bool,
}

/// What a lottery did (抽奖统计).
#[derive(SimpleObject)]
pub struct LotteryStats {
    /// Draws made.
    draws: i64,
    /// Points members paid for draws.
    points_taken: i64,
    /// Draws that paid points.
    points_prizes: i64,
    /// Draws that paid a reward.
    reward_prizes: i64,
    /// Prizes paid out, points-equivalent (the budget used).
    budget_used: i64,
    /// Its budget; null: none.
    budget_points: Option<i64>,
    /// The share of draws that won.
    observed_win_rate: Option<f64>,
    /// The winning prizes' share of the configured weights (no tier boost, no pity).
    configured_win_rate: Option<f64>,
}

impl From<Stats> for LotteryStats {
    fn from(s: Stats) -> Self {
        Self {
            draws: s.totals.draws,
            points_taken: s.totals.points_taken,
            points_prizes: s.totals.points_prizes,
            reward_prizes: s.totals.reward_prizes,
            budget_used: s.budget_used,
            budget_points: s.budget_points,
            observed_win_rate: s.observed_win_rate,
            configured_win_rate: s.configured_win_rate,
        }
    }
}

#[derive(Default)]
pub struct LotteryQuery;

#[Object]
impl LotteryQuery {
    /// Lotteries (抽奖活动). A member sees the live ones they qualify for, with each prize's
    /// probability for them and their free draws; operators see every lottery.
    async fn lotteries(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Lottery>> {
        let viewer = ctx.viewer()?;
        let service = &ctx.services().lottery;
        let views = match viewer.member() {
            Ok(member) => service.for_member(member).await.extend()?,
            Err(_) => {
                viewer.admin_for(AdminAction::ReadMembers).extend()?;
                service.all().await.extend()?
            }
        };
        Ok(views.into_iter().map(Into::into).collect())
    }

    /// The signed-in member's draws, newest first (我的抽奖记录).
    async fn my_lottery_draws(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default = 20,
            validator(minimum = 1, maximum = 100),
            desc = "How many, 1–100."
        )]
        first: i32,
    ) -> async_graphql::Result<Vec<LotteryDraw>> {
        let member = ctx.viewer()?.member().extend()?;
        let first = u64::try_from(first).unwrap_or(20);
        let draws = ctx
            .services()
            .lottery
            .my_draws(member, first)
            .await
            .extend()?;
        Ok(draws.into_iter().map(Into::into).collect())
    }

    /// What a lottery did (抽奖统计; admins and operators). NOT_FOUND for an unknown id.
    async fn lottery_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The lottery.")] id: ID,
    ) -> async_graphql::Result<LotteryStats> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let id = LotteryId::parse(&id).extend()?;
        let stats = ctx.services().lottery.stats(id).await.extend()?;
        Ok(stats.into())
    }
}

#[derive(Default)]
pub struct LotteryMutation;

#[Object]
impl LotteryMutation {
    /// Creates a lottery (新建抽奖; ADMIN). VALIDATION by field (a prize worth more than
    /// ¥50,000 on `prizes`); NOT_FOUND for an unknown tier, segment or reward.
    async fn create_lottery(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The lottery.")] input: LotteryInput,
    ) -> async_graphql::Result<Lottery> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        save(ctx, input, 0).await
    }

    /// Rewrites a lottery and its prizes (编辑抽奖; ADMIN); draws made stay. Errors as
    /// `createLottery`, and NOT_FOUND for an unknown lottery.
    async fn update_lottery(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The lottery.")] id: ID,
        #[graphql(desc = "Its new settings, in full.")] input: LotteryInput,
    ) -> async_graphql::Result<Lottery> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let id = LotteryId::parse(&id).extend()?;
        save(ctx, input, id.get()).await
    }

    /// Draws once (抽奖). LOTTERY_UNAVAILABLE when it is not live or the member does not
    /// qualify; DRAW_LIMIT_REACHED; with no free draw, MONTHLY_REDEEM_CAP_REACHED or
    /// INSUFFICIENT_POINTS for `costPoints`; a replayed key returns the first result.
    async fn draw_lottery(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The lottery.")] lottery_id: ID,
        #[graphql(desc = "The client's key, 1–64 characters: a retry draws once.")]
        idempotency_key: String,
    ) -> async_graphql::Result<DrawResult> {
        let member = ctx.viewer()?.member().extend()?;
        let id = LotteryId::parse(&lottery_id).extend()?;
        let (draw, replayed) = ctx
            .services()
            .lottery
            .draw(member, id, &idempotency_key)
            .await
            .extend()?;
        Ok(DrawResult {
            draw: draw.into(),
            replayed,
        })
    }
}

async fn save(ctx: &Context<'_>, input: LotteryInput, id: i64) -> async_graphql::Result<Lottery> {
    let l = input.into_lottery(id).extend()?;
    let services = ctx.services();
    let saved = services
        .lottery
        .save(&services.segments, l)
        .await
        .extend()?;
    Ok(LotteryView {
        probabilities: lottery::probabilities(&saved.weights("", false)),
        lottery: saved,
        draws_available: 0,
    }
    .into())
}
