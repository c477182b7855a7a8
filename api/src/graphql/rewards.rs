//! The rewards catalogue, redemption, coupons and fulfilment.

use async_graphql::{Context, Enum, ID, InputObject, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::ids::{RedemptionId, RewardId};
use crate::domain::paging::PageSize;
use crate::domain::reward::{self, Coupon as CouponView, Redemption as RedemptionView};
use crate::graphql::connection::{Page, after_id, page};
use crate::graphql::context::ContextExt;
use crate::service::rewards::{RedeemOutcome, RewardOffer};

/// What a reward (奖品) is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum RewardKind {
    /// A coupon (优惠券) with a code staff write off (核销), valid 30 days.
    Coupon,
    /// A physical gift (实物), shipped; pending until fulfilled or cancelled.
    Physical,
    /// A virtual reward (虚拟权益), delivered at once.
    Virtual,
    /// A streak freeze (补签卡/断签保护), added to the member's stock; it covers one missed day.
    StreakFreeze,
}

impl From<reward::RewardKind> for RewardKind {
    fn from(kind: reward::RewardKind) -> Self {
        match kind {
            reward::RewardKind::Coupon => Self::Coupon,
            reward::RewardKind::Physical => Self::Physical,
            reward::RewardKind::Virtual => Self::Virtual,
            reward::RewardKind::StreakFreeze => Self::StreakFreeze,
        }
    }
}

impl From<RewardKind> for reward::RewardKind {
    fn from(kind: RewardKind) -> Self {
        match kind {
            RewardKind::Coupon => Self::Coupon,
            RewardKind::Physical => Self::Physical,
            RewardKind::Virtual => Self::Virtual,
            RewardKind::StreakFreeze => Self::StreakFreeze,
        }
    }
}

/// Where a redemption (兑换) stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum RedemptionStatus {
    /// Waiting to be shipped (待发货): PHYSICAL rewards until fulfilled or cancelled.
    Pending,
    /// Delivered (已完成): shipped, or delivered at once for the other kinds.
    Fulfilled,
    /// Cancelled (已取消): the points were returned and the stock restored.
    Cancelled,
}

impl From<reward::RedemptionStatus> for RedemptionStatus {
    fn from(status: reward::RedemptionStatus) -> Self {
        match status {
            reward::RedemptionStatus::Pending => Self::Pending,
            reward::RedemptionStatus::Fulfilled => Self::Fulfilled,
            reward::RedemptionStatus::Cancelled => Self::Cancelled,
        }
    }
}

impl From<RedemptionStatus> for reward::RedemptionStatus {
    fn from(status: RedemptionStatus) -> Self {
        match status {
            RedemptionStatus::Pending => Self::Pending,
            RedemptionStatus::Fulfilled => Self::Fulfilled,
            RedemptionStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// A reward in the points mall (积分商城奖品), as the caller sees it today.
#[derive(SimpleObject)]
pub struct Reward {
    /// The reward's id.
    id: ID,
    /// The reward's name (奖品名称).
    title: String,
    /// What the member gets (奖品说明); may be empty.
    description: String,
    /// A picture of it (图片), if any.
    image_url: Option<String>,
    /// What kind of reward it is.
    kind: RewardKind,
    /// The list price in points (所需积分).
    points_cost: i64,
    /// What one unit costs the caller now (member-day discount applied).
    price: i64,
    /// Units left (库存); null = unlimited.
    stock: Option<i64>,
    /// Units per member per business month; null = no limit.
    monthly_limit: Option<i32>,
    /// Units per member ever; null = no limit.
    lifetime_limit: Option<i32>,
    /// The lowest tier that may redeem it; null = every tier.
    min_tier: Option<String>,
    /// When it can first be redeemed; null = already.
    available_from: Option<DateTime<Utc>>,
    /// When redeeming it ends; null = never.
    available_until: Option<DateTime<Utc>>,
    /// Redeemable only on member day (会员日专享).
    member_day_only: bool,
    /// False takes it off the shelf (下架); only admins see inactive rewards.
    active: bool,
    /// What a unit costs the brand in cents (成本, for campaign ROI); admins only, null for
    /// everyone else.
    cost_cents: Option<i64>,
    /// For a signed-in member: true when one unit could be redeemed now.
    eligible: Option<bool>,
    /// For a signed-in member: the error code redeeming one unit would get now.
    unavailable_reason: Option<String>,
}

impl Reward {
    fn from_offer(offer: RewardOffer, for_member: bool, admin: bool) -> Self {
        let r = offer.reward;
        Self {
            id: ID(r.id.to_string()),
            title: r.title,
            description: r.description,
            image_url: r.image_url,
            kind: r.kind.into(),
            points_cost: r.points_cost,
            price: offer.price,
            stock: r.stock,
            monthly_limit: r.monthly_limit,
            lifetime_limit: r.lifetime_limit,
            min_tier: r.min_tier,
            available_from: r.available_from,
            available_until: r.available_until,
            member_day_only: r.member_day_only,
            active: r.active,
            cost_cents: r.cost_cents.filter(|_| admin),
            eligible: for_member.then_some(offer.unavailable_reason.is_none()),
            unavailable_reason: offer.unavailable_reason.map(str::to_owned),
        }
    }

    fn plain(r: reward::Reward) -> Self {
        Self::from_offer(
            RewardOffer {
                price: r.points_cost,
                unavailable_reason: None,
                reward: r,
            },
            false,
            true,
        )
    }
}

/// A coupon (优惠券) a member holds.
#[derive(SimpleObject)]
pub struct Coupon {
    /// The coupon code (券码), 16 characters; staff write it off (核销) with `redeemCoupon`.
    code: String,
    /// The reward it came from.
    reward_id: ID,
    /// The redemption that issued it.
    redemption_id: ID,
    /// When it stops being valid (有效期至), 30 days after issue.
    expires_at: DateTime<Utc>,
    /// When staff wrote it off; null while unused.
    used_at: Option<DateTime<Utc>>,
}

impl From<CouponView> for Coupon {
    fn from(c: CouponView) -> Self {
        Self {
            code: c.code,
            reward_id: ID(c.reward_id.to_string()),
            redemption_id: ID(c.redemption_id.to_string()),
            expires_at: c.expires_at,
            used_at: c.used_at,
        }
    }
}

/// A redemption (兑换记录): points spent on a reward.
#[derive(SimpleObject)]
pub struct Redemption {
    /// The redemption's id.
    id: ID,
    /// The member who redeemed.
    member_id: ID,
    /// The reward redeemed.
    reward_id: ID,
    /// Units redeemed (数量).
    quantity: i32,
    /// Points per unit paid.
    unit_price: i64,
    /// Points spent in all (消耗积分): `unitPrice × quantity`.
    points_total: i64,
    /// Where it stands.
    status: RedemptionStatus,
    /// The courier's tracking number (快递单号) of a fulfilled PHYSICAL reward.
    tracking_number: Option<String>,
    /// When the member redeemed.
    created_at: DateTime<Utc>,
}

impl From<RedemptionView> for Redemption {
    fn from(r: RedemptionView) -> Self {
        Self {
            id: ID(r.id.to_string()),
            member_id: ID(r.member_id.to_string()),
            reward_id: ID(r.reward_id.to_string()),
            quantity: r.quantity,
            unit_price: r.unit_price,
            points_total: r.points_total,
            status: r.status.into(),
            tracking_number: r.tracking_number,
            created_at: r.created_at,
        }
    }
}

/// The result of `redeemReward` (兑换结果).
#[derive(SimpleObject)]
pub struct RedeemRewardPayload {
    /// The redemption made (or the earlier one, on a replay).
    redemption: Redemption,
    /// The coupons issued (COUPON rewards).
    coupons: Vec<Coupon>,
    /// The member's points balance (积分余额) after it.
    balance_after: i64,
    /// True when this replayed an earlier call with the same key.
    replayed: bool,
}

impl From<RedeemOutcome> for RedeemRewardPayload {
    fn from(o: RedeemOutcome) -> Self {
        Self {
            redemption: o.redemption.into(),
            coupons: o.coupons.into_iter().map(Into::into).collect(),
            balance_after: o.balance_after,
            replayed: o.replayed,
        }
    }
}

/// A reward's fields (奖品), for creating or replacing one.
#[derive(InputObject)]
pub struct RewardInput {
    /// The name (奖品名称), 1–64 characters.
    title: String,
    /// What the member gets (奖品说明), at most 1000 characters.
    #[graphql(default)]
    description: String,
    /// A picture's URL (图片), at most 512 characters.
    #[graphql(validator(chars_max_length = 512))]
    image_url: Option<String>,
    /// What kind of reward it is.
    kind: RewardKind,
    /// The price in points (所需积分), 0–10,000,000.
    points_cost: i64,
    /// Units in stock (库存), 0 or more; omit for unlimited.
    stock: Option<i64>,
    /// Units per member per business month (每月限兑), at least 1; omit for no limit.
    monthly_limit: Option<i32>,
    /// Units per member ever (终身限兑), at least 1; omit for no limit.
    lifetime_limit: Option<i32>,
    /// The lowest tier code that may redeem it (最低等级), e.g. `CORE`; omit for every tier.
    #[graphql(validator(chars_max_length = 32))]
    min_tier: Option<String>,
    /// When it can first be redeemed; omit for "at once".
    available_from: Option<DateTime<Utc>>,
    /// When redeeming it ends, after `availableFrom`; omit for "never".
    available_until: Option<DateTime<Utc>>,
    /// Redeemable only on member day (会员日专享).
    #[graphql(default)]
    member_day_only: bool,
    /// False keeps it off the shelf (下架).
    #[graphql(default = true)]
    active: bool,
    /// What a unit costs the brand in cents (成本), 0–100,000,000; used for campaign ROI.
    cost_cents: Option<i64>,
}

impl RewardInput {
    fn into_reward(self, id: i64) -> reward::Reward {
        reward::Reward {
            id,
            title: self.title.trim().to_owned(),
            description: self.description,
            image_url: self.image_url,
            kind: self.kind.into(),
            points_cost: self.points_cost,
            stock: self.stock,
            monthly_limit: self.monthly_limit,
            lifetime_limit: self.lifetime_limit,
            min_tier: self.min_tier,
            available_from: self.available_from,
            available_until: self.available_until,
            member_day_only: self.member_day_only,
            active: self.active,
            cost_cents: self.cost_cents,
        }
    }
}

#[derive(Default)]
pub struct RewardQuery;

#[Object]
impl RewardQuery {
    /// The catalogue, newest first (积分商城). Public; a signed-in member sees today's price,
    /// eligibility and the reason when not eligible. Admins also see inactive rewards.
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn rewards(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
        #[graphql(
            desc = "Start after this cursor: the `cursor` of the last edge of the previous page (分页游标); omit for the first page."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Page<Reward>> {
        let (member, admin) = (ctx.member_if_any(), ctx.is_admin());
        let after = after_id(after).extend()?;
        let first = PageSize::parse(first).extend()?;
        let (offers, has_next) = ctx
            .services()
            .rewards
            .catalogue(member, admin, first, after)
            .await
            .extend()?;
        let items = offers
            .into_iter()
            .map(|o| (o.reward.id, Reward::from_offer(o, member.is_some(), admin)))
            .collect();
        Ok(page(items, after, has_next))
    }

    /// The signed-in member's redemptions, newest first (我的兑换记录).
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn my_redemptions(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
        #[graphql(
            desc = "Start after this cursor: the `cursor` of the last edge of the previous page (分页游标); omit for the first page."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Page<Redemption>> {
        let member = ctx.viewer()?.member().extend()?;
        let after = after_id(after).extend()?;
        let first = PageSize::parse(first).extend()?;
        let (list, has_next) = ctx
            .services()
            .rewards
            .redemptions(Some(member), None, first, after)
            .await
            .extend()?;
        Ok(page(
            list.into_iter().map(|r| (r.id, r.into())).collect(),
            after,
            has_next,
        ))
    }

    /// The signed-in member's coupons, newest first (我的优惠券).
    async fn my_coupons(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Coupon>> {
        let member = ctx.viewer()?.member().extend()?;
        let coupons = ctx.services().rewards.coupons(member).await.extend()?;
        Ok(coupons.into_iter().map(Into::into).collect())
    }

    /// Redemptions of every member, newest first, optionally by status (兑换记录; admins and
    /// operators).
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn redemptions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only redemptions in this state (兑换状态); every state when omitted.")]
        status: Option<RedemptionStatus>,
        #[graphql(default = 20, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
        #[graphql(
            desc = "Start after this cursor: the `cursor` of the last edge of the previous page (分页游标); omit for the first page."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Page<Redemption>> {
        ctx.viewer()?.admin_for(AdminAction::Fulfil).extend()?;
        let after = after_id(after).extend()?;
        let first = PageSize::parse(first).extend()?;
        let (list, has_next) = ctx
            .services()
            .rewards
            .redemptions(None, status.map(Into::into), first, after)
            .await
            .extend()?;
        Ok(page(
            list.into_iter().map(|r| (r.id, r.into())).collect(),
            after,
            has_next,
        ))
    }
}

#[derive(Default)]
pub struct RewardMutation;

#[Object]
impl RewardMutation {
    /// Redeems a reward (积分兑换). Checks in order: REWARD_UNAVAILABLE, TIER_TOO_LOW, NOT_MEMBER_DAY,
    /// REDEMPTION_LIMIT_REACHED, MONTHLY_REDEEM_CAP_REACHED, OUT_OF_STOCK, INSUFFICIENT_POINTS.
    /// The same key replays the first result.
    async fn redeem_reward(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reward to redeem (兑换奖品).")] reward_id: ID,
        #[graphql(default = 1, desc = "How many (兑换数量).")] quantity: i32,
        #[graphql(
            validator(chars_max_length = 191),
            desc = "Your key for this operation, unique per member (幂等键): replaying it returns the first result and changes nothing; the same key with other details is CONFLICT. At most 191 characters."
        )]
        idempotency_key: String,
    ) -> async_graphql::Result<RedeemRewardPayload> {
        let member = ctx.viewer()?.member().extend()?;
        let reward_id = RewardId::parse_as(&reward_id, "rewardId").extend()?;
        let outcome = ctx
            .services()
            .rewards
            .redeem(member, reward_id, quantity, &idempotency_key)
            .await
            .extend()?;
        Ok(outcome.into())
    }

    /// Writes a coupon off at the counter (admins and operators), once (核销优惠券). COUPON_INVALID for
    /// an unknown, used or expired code.
    async fn redeem_coupon(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            validator(chars_max_length = 32),
            desc = "The coupon code to write off (核销券码), 16 characters."
        )]
        code: String,
    ) -> async_graphql::Result<Coupon> {
        ctx.viewer()?.admin_for(AdminAction::Fulfil).extend()?;
        Ok(ctx
            .services()
            .rewards
            .use_coupon(&code)
            .await
            .extend()?
            .into())
    }

    /// Marks a pending physical redemption shipped (发货; admins and operators).
    async fn fulfill_redemption(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The physical redemption to ship (发货).")] id: ID,
        #[graphql(
            validator(chars_max_length = 64),
            desc = "The courier's tracking number (物流单号), at most 64 characters."
        )]
        tracking_number: String,
    ) -> async_graphql::Result<Redemption> {
        ctx.viewer()?.admin_for(AdminAction::Fulfil).extend()?;
        let id = RedemptionId::parse(&id).extend()?;
        let redemption = ctx
            .services()
            .rewards
            .fulfil(id, &tracking_number)
            .await
            .extend()?;
        Ok(redemption.into())
    }

    /// Cancels a pending physical redemption (取消兑换; admins and operators): points back as
    /// REDEMPTION_REFUND and stock restored, once.
    async fn cancel_redemption(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The redemption to cancel; its points come back and its stock is restored."
        )]
        id: ID,
    ) -> async_graphql::Result<Redemption> {
        ctx.viewer()?.admin_for(AdminAction::Fulfil).extend()?;
        let id = RedemptionId::parse(&id).extend()?;
        Ok(ctx.services().rewards.cancel(id).await.extend()?.into())
    }

    /// Adds a reward (新建奖品; ADMIN).
    async fn create_reward(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reward to create (积分商城奖品).")] input: RewardInput,
    ) -> async_graphql::Result<Reward> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let created = ctx
            .services()
            .rewards
            .create(input.into_reward(0))
            .await
            .extend()?;
        Ok(Reward::plain(created))
    }

    /// Deletes a reward nobody has redeemed (删除奖品; ADMIN); CONFLICT otherwise (retire it with
    /// `active: false`).
    async fn delete_reward(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reward to delete; only one nobody has redeemed.")] id: ID,
    ) -> async_graphql::Result<bool> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let id = RewardId::parse(&id).extend()?;
        ctx.services().rewards.delete(id).await.extend()?;
        Ok(true)
    }

    /// Replaces a reward's fields (修改奖品; ADMIN).
    async fn update_reward(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reward to change.")] id: ID,
        #[graphql(desc = "The reward's new fields (all of them).")] input: RewardInput,
    ) -> async_graphql::Result<Reward> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let id = RewardId::parse(&id).extend()?;
        let updated = ctx
            .services()
            .rewards
            .update(id, |r| *r = input.into_reward(id.get()))
            .await
            .extend()?;
        Ok(Reward::plain(updated))
    }
}
