//! Daily sign-in, make-up, the calendar, and the sign-in rules.

use async_graphql::{Context, Enum, ID, InputObject, Object, ResultExt, SimpleObject};

use crate::domain::auth::AdminAction;
use crate::domain::ids::{MemberId, RewardId};
use crate::domain::points::MonthKey;
use crate::domain::signin::{self, Cycle, Milestone};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::rewards::{Coupon, RewardKind};
use crate::graphql::scalars::Date;
use crate::graphql::tasks::RewardDraws;
use crate::service::signin::{
    CalendarEntry, DayStatus, MakeUpOutcome, MilestoneBonus as BonusView, SignInOutcome,
    SignInRules as RulesView,
};

/// What a sign-in milestone (签到里程碑) measures.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum MilestoneKind {
    /// The current streak (连续签到) reaches the threshold (paid again on every new run).
    Streak,
    /// All-time signed days (累计签到) reach the threshold (paid once ever).
    Total,
}

impl From<signin::MilestoneKind> for MilestoneKind {
    fn from(kind: signin::MilestoneKind) -> Self {
        match kind {
            signin::MilestoneKind::Streak => Self::Streak,
            signin::MilestoneKind::Total => Self::Total,
        }
    }
}

impl From<MilestoneKind> for signin::MilestoneKind {
    fn from(kind: MilestoneKind) -> Self {
        match kind {
            MilestoneKind::Streak => Self::Streak,
            MilestoneKind::Total => Self::Total,
        }
    }
}

/// A milestone bonus (里程碑奖励) paid with a sign-in.
#[derive(SimpleObject)]
pub struct MilestoneBonus {
    /// What the milestone measures.
    kind: MilestoneKind,
    /// The days it needed.
    threshold: i32,
    /// Points paid (after the monthly cap).
    points: i64,
    /// Points the monthly cap cut.
    cut_by_cap: i64,
}

impl From<BonusView> for MilestoneBonus {
    fn from(bonus: BonusView) -> Self {
        Self {
            kind: bonus.milestone.kind.into(),
            threshold: bonus.milestone.threshold,
            points: bonus.granted,
            cut_by_cap: bonus.cut,
        }
    }
}

/// Everything the sign-in (签到) screen shows after signing in.
#[derive(SimpleObject)]
pub struct SignInPayload {
    /// The business day signed.
    day: Date,
    /// The cycle's points for this streak day.
    base_points: i64,
    /// The tier's points multiplier (积分倍率) applied, in percent (120 = 1.2×).
    multiplier_percent: i32,
    /// The member-day multiplier applied, in percent (100 when it is not member day).
    member_day_multiplier_percent: i32,
    /// Base points times both multipliers, floored once.
    requested_points: i64,
    /// Points paid for the sign-in after the monthly cap (每月积分上限).
    points_granted: i64,
    /// Points the monthly cap cut (sign-in and milestones).
    cut_by_cap: i64,
    /// True when the monthly cap cut anything.
    capped: bool,
    /// Consecutive signed days ending today (连续签到天数).
    streak: i32,
    /// All signed days ever.
    total_sign_ins: i32,
    /// True when a streak freeze covered yesterday.
    freeze_used: bool,
    /// Milestone bonuses reached today.
    milestone_bonuses: Vec<MilestoneBonus>,
    /// The tier's birthday points, paid on the member's birthday (once a year).
    birthday_points: i64,
    /// The reward today's cycle day grants ("coupon after check-in"), when it could be granted.
    granted_reward: Option<GrantedReward>,
    /// The points balance (积分余额) after everything above.
    balance: i64,
    /// What tomorrow's sign-in pays if the streak goes on (before the cap).
    tomorrow_points: i64,
}

impl From<SignInOutcome> for SignInPayload {
    fn from(outcome: SignInOutcome) -> Self {
        let capped = outcome.capped();
        let milestone_cut: i64 = outcome.milestones.iter().map(|m| m.cut).sum();
        Self {
            day: outcome.day.into(),
            base_points: outcome.base_points,
            multiplier_percent: outcome.multiplier_percent,
            member_day_multiplier_percent: outcome.member_day_multiplier_percent,
            requested_points: outcome.requested_points,
            points_granted: outcome.points_granted,
            cut_by_cap: outcome.cut_by_cap.saturating_add(milestone_cut),
            capped,
            streak: outcome.streak,
            total_sign_ins: outcome.total_sign_ins,
            freeze_used: outcome.freeze_used,
            milestone_bonuses: outcome.milestones.into_iter().map(Into::into).collect(),
            birthday_points: outcome.birthday_points,
            granted_reward: outcome
                .granted_reward
                .map(|(reward, coupons)| GrantedReward {
                    reward_id: ID(reward.id.to_string()),
                    title: reward.title,
                    kind: reward.kind.into(),
                    coupons: coupons.into_iter().map(Into::into).collect(),
                }),
            balance: outcome.balance,
            tomorrow_points: outcome.tomorrow_points,
        }
    }
}

/// A reward granted with a sign-in (签到奖励).
#[derive(SimpleObject)]
pub struct GrantedReward {
    /// The reward's id.
    reward_id: ID,
    /// The reward's name (奖品名称).
    title: String,
    /// What kind of reward it is.
    kind: RewardKind,
    /// The coupons issued (COUPON rewards).
    coupons: Vec<Coupon>,
}

/// A day of the sign-in cycle (签到周期) that also grants a reward, free lottery draws, or
/// both.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "CycleRewardInput")]
pub struct CycleReward {
    /// 1-based day of the cycle.
    day: i32,
    /// The reward granted that day (one unit, free); null: none.
    reward_id: Option<ID>,
    /// Free draws of a lottery granted that day (1–100); null: none.
    draws: Option<RewardDraws>,
}

/// The result of a make-up sign-in (补签).
#[derive(SimpleObject)]
pub struct MakeUpSignInPayload {
    /// The day filled.
    day: Date,
    /// Points it cost.
    cost: i64,
    /// The streak after the gap was filled.
    streak: i32,
    /// All signed days ever (累计签到天数).
    total_sign_ins: i32,
    /// Streak milestones the filled gap reached.
    milestone_bonuses: Vec<MilestoneBonus>,
    /// The points balance (积分余额) after it.
    balance: i64,
}

impl From<MakeUpOutcome> for MakeUpSignInPayload {
    fn from(outcome: MakeUpOutcome) -> Self {
        Self {
            day: outcome.day.into(),
            cost: outcome.cost,
            streak: outcome.streak,
            total_sign_ins: outcome.total_sign_ins,
            milestone_bonuses: outcome.milestones.into_iter().map(Into::into).collect(),
            balance: outcome.balance,
        }
    }
}

/// How a day of the sign-in calendar (签到日历) stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum SignInDayStatus {
    /// Signed in that day (已签到).
    SignedIn,
    /// Filled by a make-up sign-in (已补签).
    MadeUp,
    /// A streak freeze (断签保护) covered the day.
    Frozen,
    /// A past day without a sign-in (漏签); it can be made up this month.
    Missed,
    /// Today, not signed yet.
    Open,
    /// A day after today (未到).
    Upcoming,
}

/// One day of the sign-in calendar (签到日历).
#[derive(SimpleObject)]
pub struct SignInCalendarDay {
    /// The business day.
    date: Date,
    /// How the day stands.
    status: SignInDayStatus,
    /// Points the day gave, or would give if the member signs in every day from today.
    points: i64,
}

impl From<CalendarEntry> for SignInCalendarDay {
    fn from(entry: CalendarEntry) -> Self {
        Self {
            date: entry.day.into(),
            status: match entry.status {
                DayStatus::SignedIn => SignInDayStatus::SignedIn,
                DayStatus::MadeUp => SignInDayStatus::MadeUp,
                DayStatus::Frozen => SignInDayStatus::Frozen,
                DayStatus::Missed => SignInDayStatus::Missed,
                DayStatus::Open => SignInDayStatus::Open,
                DayStatus::Upcoming => SignInDayStatus::Upcoming,
            },
            points: entry.points,
        }
    }
}

/// A milestone of the sign-in programme (签到里程碑).
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "SignInMilestoneInput")]
pub struct SignInMilestone {
    /// What it measures.
    kind: MilestoneKind,
    /// The days needed, 1–10,000; a kind's thresholds are unique.
    threshold: i32,
    /// Bonus points, 0–100,000 (not multiplied; counted toward the monthly cap).
    points: i64,
}

/// The sign-in programme's rules (签到规则).
#[derive(SimpleObject)]
pub struct SignInRules {
    /// The sign-in cycle (签到周期): points for day 1, 2, … of a streak; day N pays entry
    /// (N − 1) mod length.
    cycle: Vec<i64>,
    /// Streak and total milestones and their bonuses.
    milestones: Vec<SignInMilestone>,
    /// Points a make-up sign-in (补签) costs.
    make_up_cost: i64,
    /// Cycle days that also grant a reward.
    cycle_rewards: Vec<CycleReward>,
}

impl From<RulesView> for SignInRules {
    fn from(rules: RulesView) -> Self {
        Self {
            cycle: rules.cycle.days().to_vec(),
            milestones: rules
                .milestones
                .into_iter()
                .map(|m| SignInMilestone {
                    kind: m.kind.into(),
                    threshold: m.threshold,
                    points: m.points,
                })
                .collect(),
            make_up_cost: rules.make_up_cost,
            cycle_rewards: rules
                .cycle_rewards
                .into_iter()
                .map(|r| CycleReward {
                    day: r.day,
                    reward_id: r.reward.map(|reward| ID(reward.to_string())),
                    draws: r
                        .draws
                        .map(|(lottery, draws)| RewardDraws::new(lottery, draws)),
                })
                .collect(),
        }
    }
}

/// Sign-in rules (签到规则) to change; omitted ones stay. They apply from the next sign-in on.
#[derive(InputObject)]
pub struct UpdateSignInRulesInput {
    /// The cycle's points per streak day (签到周期): 1 to 31 entries of 0 to 100000 points.
    cycle: Option<Vec<i64>>,
    /// Replaces the whole milestone table.
    milestones: Option<Vec<SignInMilestone>>,
    /// What a make-up sign-in (补签) costs, 0 to 100000 points.
    make_up_cost: Option<i64>,
    /// Replaces which cycle days grant a reward.
    cycle_rewards: Option<Vec<CycleReward>>,
}

/// A member's sign-in standing (签到状态).
#[derive(SimpleObject)]
pub struct SignInStatus {
    /// Consecutive signed days (连续签到天数) ending today or yesterday (0 once a day is missed).
    streak: i32,
    /// All signed days ever (累计签到天数).
    total_sign_ins: i32,
    /// Streak freezes (断签保护卡) in stock; one covers a single missed day automatically.
    streak_freezes: i32,
}

#[derive(Default)]
pub struct SigninQuery;

#[Object]
impl SigninQuery {
    /// The signed-in member's calendar for a business month (签到日历; `YYYY-MM`).
    async fn sign_in_calendar(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The business month to show (签到日历), `YYYY-MM`.")] month: String,
    ) -> async_graphql::Result<Vec<SignInCalendarDay>> {
        let member = ctx.viewer()?.member().extend()?;
        let month = MonthKey::parse(&month).extend()?;
        let days = ctx
            .services()
            .signin
            .calendar(member, month)
            .await
            .extend()?;
        Ok(days.into_iter().map(Into::into).collect())
    }

    /// The signed-in member's streak, total and freezes (签到状态).
    async fn sign_in_status(&self, ctx: &Context<'_>) -> async_graphql::Result<SignInStatus> {
        let member = ctx.viewer()?.member().extend()?;
        let (streak, total_sign_ins, streak_freezes) =
            ctx.services().signin.streak(member).await.extend()?;
        Ok(SignInStatus {
            streak,
            total_sign_ins,
            streak_freezes,
        })
    }

    /// The sign-in programme's rules (签到规则). Public.
    async fn sign_in_rules(&self, ctx: &Context<'_>) -> async_graphql::Result<SignInRules> {
        Ok(ctx.services().signin.rules().await.extend()?.into())
    }
}

#[derive(Default)]
pub struct SigninMutation;

#[Object]
impl SigninMutation {
    /// Signs in for today (每日签到). ALREADY_SIGNED_IN on a second call the same business day.
    async fn sign_in(&self, ctx: &Context<'_>) -> async_graphql::Result<SignInPayload> {
        let member = ctx.viewer()?.member().extend()?;
        Ok(ctx.services().signin.sign_in(member).await.extend()?.into())
    }

    /// Fills a missed day of this month for points (补签). MAKEUP_NOT_ALLOWED for today, the future,
    /// another month, a signed day or an exhausted quota; INSUFFICIENT_POINTS when short.
    async fn make_up_sign_in(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The missed day to fill (补签日期), `YYYY-MM-DD`: a past day of this business month, not before the member joined."
        )]
        date: Date,
    ) -> async_graphql::Result<MakeUpSignInPayload> {
        let member = ctx.viewer()?.member().extend()?;
        Ok(ctx
            .services()
            .signin
            .make_up(member, date.0)
            .await
            .extend()?
            .into())
    }

    /// Changes the sign-in rules (修改签到规则; ADMIN).
    async fn update_sign_in_rules(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The sign-in rules to change (签到规则): the cycle, milestones, make-up cost; omitted parts stay."
        )]
        input: UpdateSignInRulesInput,
    ) -> async_graphql::Result<SignInRules> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let cycle = input.cycle.map(Cycle::parse).transpose().extend()?;
        let milestones = input.milestones.map(|list| {
            list.into_iter()
                .map(|m| Milestone {
                    kind: m.kind.into(),
                    threshold: m.threshold,
                    points: m.points,
                })
                .collect()
        });
        let cycle_rewards = input
            .cycle_rewards
            .map(|list| {
                list.into_iter()
                    .map(|r| {
                        Ok(signin::CycleReward {
                            day: r.day,
                            reward: r
                                .reward_id
                                .map(|id| RewardId::parse_as(&id, "cycleRewards"))
                                .transpose()?,
                            draws: r.draws.map(RewardDraws::parse).transpose()?,
                        })
                    })
                    .collect::<Result<Vec<_>, AppError>>()
            })
            .transpose()
            .extend()?;
        let rules = ctx
            .services()
            .signin
            .update_rules(cycle, milestones, input.make_up_cost, cycle_rewards)
            .await
            .extend()?;
        Ok(rules.into())
    }

    /// Gives a member streak freezes (发放断签保护卡; ADMIN). Returns the member's stock.
    async fn grant_streak_freezes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member (会员) the operation is for.")] member_id: ID,
        #[graphql(desc = "How many streak freezes (断签保护卡) to add.")] count: i32,
    ) -> async_graphql::Result<i32> {
        ctx.viewer()?
            .admin_for(AdminAction::AdjustPoints)
            .extend()?;
        let member = MemberId::parse_as(&member_id, "memberId").extend()?;
        ctx.services()
            .signin
            .grant_freezes(member, count)
            .await
            .extend()
    }
}
