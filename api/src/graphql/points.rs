//! A member's points, their history, operator adjustments, and the expiry run.

use async_graphql::{Context, Enum, ID, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::ids::MemberId;
use crate::domain::paging::PageSize;
use crate::domain::points::{EntryKind, LedgerEntry};
use crate::graphql::connection::{Page, after_id, page};
use crate::graphql::context::ContextExt;
use crate::service::jobs;
use crate::service::ledger::Posting;
use crate::service::points::{ExpiryRun, MonthStanding, PointsGlance};

/// What a points entry (积分明细) records.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum PointsEntryKind {
    /// Daily sign-in points (签到积分).
    SignIn,
    /// A streak milestone bonus (连续签到奖励).
    SignInMilestone,
    /// Points paid for a make-up sign-in (补签消耗).
    #[graphql(name = "MAKEUP_SIGN_IN")]
    MakeUpSignIn,
    /// Points earned by a purchase (消费积分), pending during the return window.
    Purchase,
    /// A refunded purchase's points taken back (退款扣回).
    PurchaseRefund,
    /// A KOC task's reward (达人任务奖励).
    KocTask,
    /// An invite's reward (邀请奖励), to the inviter or the invitee, or its claw-back.
    Referral,
    /// Birthday points (生日积分).
    Birthday,
    /// A tier's upgrade gift (升级礼).
    TierUpgradeGift,
    /// An operator's adjustment (人工调整).
    AdminAdjust,
    /// Points spent on a reward or deducted at checkout (积分兑换/抵扣).
    Redemption,
    /// Points returned by a cancelled redemption or a refunded order (兑换退回).
    RedemptionRefund,
    /// Points that lapsed (积分过期).
    Expiry,
    /// A campaign's points (积分红包), expiring as the campaign says.
    Campaign,
    /// A task's reward (任务奖励): newbie, daily and achievement tasks.
    Task,
    /// A paid lottery draw (积分抽奖), counted toward the monthly redemption cap.
    Lottery,
    /// A lottery's points prize (抽奖奖励), not cut by the monthly earning cap.
    LotteryPrize,
    /// A leaderboard's season reward (榜单奖励): a weekly or monthly board's paid rank. Never
    /// counted on a board or toward the monthly earning cap.
    SeasonReward,
}

impl From<EntryKind> for PointsEntryKind {
    fn from(kind: EntryKind) -> Self {
        match kind {
            EntryKind::SignIn => Self::SignIn,
            EntryKind::SignInMilestone => Self::SignInMilestone,
            EntryKind::MakeUpSignIn => Self::MakeUpSignIn,
            EntryKind::Purchase => Self::Purchase,
            EntryKind::PurchaseRefund => Self::PurchaseRefund,
            EntryKind::KocTask => Self::KocTask,
            EntryKind::Referral => Self::Referral,
            EntryKind::Birthday => Self::Birthday,
            EntryKind::TierUpgradeGift => Self::TierUpgradeGift,
            EntryKind::AdminAdjust => Self::AdminAdjust,
            EntryKind::Redemption => Self::Redemption,
            EntryKind::RedemptionRefund => Self::RedemptionRefund,
            EntryKind::Expiry => Self::Expiry,
            EntryKind::Campaign => Self::Campaign,
            EntryKind::Task => Self::Task,
            EntryKind::Lottery => Self::Lottery,
            EntryKind::LotteryPrize => Self::LotteryPrize,
            EntryKind::SeasonReward => Self::SeasonReward,
        }
    }
}

impl From<PointsEntryKind> for EntryKind {
    fn from(kind: PointsEntryKind) -> Self {
        match kind {
            PointsEntryKind::SignIn => Self::SignIn,
            PointsEntryKind::SignInMilestone => Self::SignInMilestone,
            PointsEntryKind::MakeUpSignIn => Self::MakeUpSignIn,
            PointsEntryKind::Purchase => Self::Purchase,
            PointsEntryKind::PurchaseRefund => Self::PurchaseRefund,
            PointsEntryKind::KocTask => Self::KocTask,
            PointsEntryKind::Referral => Self::Referral,
            PointsEntryKind::Birthday => Self::Birthday,
            PointsEntryKind::TierUpgradeGift => Self::TierUpgradeGift,
            PointsEntryKind::AdminAdjust => Self::AdminAdjust,
            PointsEntryKind::Redemption => Self::Redemption,
            PointsEntryKind::RedemptionRefund => Self::RedemptionRefund,
            PointsEntryKind::Expiry => Self::Expiry,
            PointsEntryKind::Campaign => Self::Campaign,
            PointsEntryKind::Task => Self::Task,
            PointsEntryKind::Lottery => Self::Lottery,
            PointsEntryKind::LotteryPrize => Self::LotteryPrize,
            PointsEntryKind::SeasonReward => Self::SeasonReward,
        }
    }
}

/// One movement of points (积分明细).
#[derive(SimpleObject)]
pub struct PointsEntry {
    /// The entry's id.
    id: ID,
    /// What it records.
    kind: PointsEntryKind,
    /// Signed: positive credits, negative debits.
    amount: i64,
    /// The balance (积分余额) right after it.
    balance_after: i64,
    /// For awards: what was asked before the monthly cap.
    requested_amount: i64,
    /// Order id, day, redemption id… that the entry belongs to.
    reference: Option<String>,
    /// A human note (备注): an operator's reason, a reward's title.
    note: Option<String>,
    /// When it was written.
    created_at: DateTime<Utc>,
}

impl From<LedgerEntry> for PointsEntry {
    fn from(entry: LedgerEntry) -> Self {
        Self {
            id: ID(entry.id.to_string()),
            kind: entry.kind.into(),
            amount: entry.amount,
            balance_after: entry.balance_after,
            requested_amount: entry.requested,
            reference: entry.reference,
            note: entry.note,
            created_at: entry.created_at,
        }
    }
}

/// A member's points, for the GraphQL `MemberPoints` type: the balance is read with the
/// object, the month's counters only when a month field is asked for (once).
pub struct MemberPoints {
    member: MemberId,
    glance: PointsGlance,
    month: tokio::sync::OnceCell<MonthStanding>,
}

impl MemberPoints {
    pub fn new(member: MemberId, glance: PointsGlance) -> Self {
        Self {
            member,
            glance,
            month: tokio::sync::OnceCell::new(),
        }
    }

    async fn month(&self, ctx: &Context<'_>) -> async_graphql::Result<&MonthStanding> {
        self.month
            .get_or_try_init(|| async { ctx.services().points.month(self.member).await })
            .await
            .extend()
    }
}

/// A member's points (积分) at a glance: the balance and this business month's counters.
#[Object]
impl MemberPoints {
    /// Spendable points (可用积分).
    async fn balance(&self) -> i64 {
        self.glance.balance
    }

    /// Pending points (待生效积分): purchase points inside their return window, not yet spendable.
    async fn pending_points(&self) -> i64 {
        self.glance.pending
    }

    /// Points earned this business month (what the cap counts).
    async fn month_earned(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.month(ctx).await?.earned)
    }

    /// The tier's monthly earning cap (每月积分上限).
    async fn month_earn_cap(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.month(ctx).await?.earn_cap)
    }

    /// Points the cap cut this month.
    async fn month_cut_by_cap(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.month(ctx).await?.cut_by_cap)
    }

    /// Points spent on redemptions this business month.
    async fn month_redeemed(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.month(ctx).await?.redeemed)
    }

    /// The tier's monthly redemption cap (每月兑换上限).
    async fn month_redeem_cap(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.month(ctx).await?.redeem_cap)
    }

    /// Points that expire (即将过期) within `days` days (1-366).
    async fn expiring_soon(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 30, desc = "The window in days from now (积分即将过期).")] days: i64,
    ) -> async_graphql::Result<i64> {
        ctx.services()
            .points
            .expiring_soon(self.member, days)
            .await
            .extend()
    }
}

/// The result of `adjustPoints` (积分调整).
#[derive(SimpleObject)]
pub struct AdjustPointsPayload {
    /// Signed amount that moved.
    amount: i64,
    /// The member's balance (积分余额) after it.
    balance_after: i64,
    /// True when this was a replay of an earlier call with the same key.
    replayed: bool,
}

impl From<Posting> for AdjustPointsPayload {
    fn from(posting: Posting) -> Self {
        Self {
            amount: posting.amount,
            balance_after: posting.balance_after,
            replayed: posting.replayed,
        }
    }
}

/// What an expiry run (积分过期) did.
#[derive(SimpleObject)]
pub struct PointsExpiryPayload {
    /// Members who lost points.
    members: u64,
    /// Points expired.
    points: i64,
    /// Purchase points whose return window closed and that became spendable.
    matured_points: i64,
}

impl From<ExpiryRun> for PointsExpiryPayload {
    fn from(run: ExpiryRun) -> Self {
        Self {
            members: run.members,
            points: run.points,
            matured_points: run.matured,
        }
    }
}

/// What a pass of the scheduled jobs (定时任务) did.
#[derive(SimpleObject)]
pub struct ScheduledJobsPayload {
    /// Points expired.
    points_expired: i64,
    /// Purchase points whose return window closed.
    matured_points: i64,
    /// Members evaluated, when this pass ran the month's tier evaluation.
    tiers_evaluated: Option<u64>,
    /// Member-day notices sent for tomorrow.
    member_day_notices: u64,
    /// Reminders that an unused coupon lapses within 3 days (券到期提醒), once per coupon.
    coupon_expiring_notices: u64,
    /// Members noticed entering AT_RISK (预警流失) since the last pass, once per entry.
    became_at_risk: u64,
    /// Members noticed entering DORMANT (沉睡) since the last pass, once per entry.
    became_dormant: u64,
    /// Members campaigns granted in this pass (活动发放), each once per occurrence.
    campaign_grants: u64,
    /// Board periods this pass settled (榜单结算), each once ever.
    boards_settled: u64,
    /// Ranks whose season rewards this pass paid (榜单奖励发放), each once ever.
    season_rewards_paid: u64,
}

#[derive(Default)]
pub struct PointsQuery;

#[Object]
impl PointsQuery {
    /// The signed-in member's ledger, newest first (积分明细).
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn points_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
        #[graphql(
            desc = "Start after this cursor: the `cursor` of the last edge of the previous page (分页游标); omit for the first page."
        )]
        after: Option<String>,
        #[graphql(desc = "Only entries of these kinds (积分明细类型); every kind when omitted.")]
        kinds: Option<Vec<PointsEntryKind>>,
    ) -> async_graphql::Result<Page<PointsEntry>> {
        let member = ctx.viewer()?.member().extend()?;
        let after = after_id(after).extend()?;
        let first = PageSize::parse(first).extend()?;
        let kinds: Vec<EntryKind> = kinds
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let (entries, has_next) = ctx
            .services()
            .points
            .history(member, first, after, &kinds)
            .await
            .extend()?;
        let items = entries.into_iter().map(|e| (e.id, e.into())).collect();
        Ok(page(items, after, has_next))
    }
}

#[derive(Default)]
pub struct PointsMutation;

#[Object]
impl PointsMutation {
    /// Adds (positive) or removes (negative) a member's points (积分调整; ADMIN). Not capped; never
    /// below zero (INSUFFICIENT_POINTS). The same key replays the first result; with another amount
    /// or reason it is CONFLICT.
    async fn adjust_points(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member (会员) the operation is for.")] member_id: ID,
        #[graphql(
            desc = "Points to add (positive) or take (积分调整; negative); a debit never takes the balance below zero."
        )]
        amount: i64,
        #[graphql(
            validator(chars_max_length = 255),
            desc = "Why, shown in the member's points history, at most 255 characters."
        )]
        reason: String,
        #[graphql(
            validator(chars_max_length = 191),
            desc = "Your key for this operation, unique per member (幂等键): replaying it returns the first result and changes nothing; the same key with other details is CONFLICT. At most 191 characters."
        )]
        idempotency_key: String,
    ) -> async_graphql::Result<AdjustPointsPayload> {
        ctx.viewer()?
            .admin_for(AdminAction::AdjustPoints)
            .extend()?;
        let member = MemberId::parse_as(&member_id, "memberId").extend()?;
        let posting = ctx
            .services()
            .points
            .adjust(member, amount, &reason, &idempotency_key)
            .await
            .extend()?;
        Ok(posting.into())
    }

    /// Runs every scheduled job once now (ADMIN), as the server does each interval (定时任务): expiry
    /// and pending purchases, the month's tier evaluation (once a month), tomorrow's member-day
    /// notice, campaigns, and settling boards' periods and paying their season rewards.
    async fn run_scheduled_jobs(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<ScheduledJobsPayload> {
        ctx.viewer()?.admin_for(AdminAction::RunJobs).extend()?;
        let run = jobs::run_all(ctx.services()).await.extend()?;
        Ok(ScheduledJobsPayload {
            points_expired: run.expiry.points,
            matured_points: run.expiry.matured,
            tiers_evaluated: run.tiers.map(|t| t.evaluated),
            member_day_notices: run.member_day_notices,
            coupon_expiring_notices: run.coupon_notices,
            became_at_risk: run.became_at_risk,
            became_dormant: run.became_dormant,
            campaign_grants: run.campaign_grants,
            boards_settled: run.seasons.settled,
            season_rewards_paid: run.seasons.paid,
        })
    }

    /// Expires lapsed points and credits purchases whose return window closed, now (积分过期; ADMIN);
    /// the server also runs this periodically.
    async fn run_points_expiry(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<PointsExpiryPayload> {
        ctx.viewer()?.admin_for(AdminAction::RunJobs).extend()?;
        Ok(ctx.services().points.run_expiry().await.extend()?.into())
    }
}
