//! The mall/POS integration: purchases, refunds, and points as cash at checkout. ADMIN tokens
//! (the integration's account) only.

use async_graphql::{Context, Enum, ID, InputObject, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::ids::MemberId;
use crate::domain::purchase::{CheckoutRules as RulesView, PurchaseStatus as StatusView};
use crate::graphql::context::ContextExt;
use crate::service::purchases::{CheckoutQuote, DeductionOutcome, PurchaseOutcome, RefundOutcome};

/// Where a purchase's points (消费积分) stand.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum PurchaseStatus {
    /// Pending (待生效): inside the return window, visible, not spendable.
    Pending,
    /// Available (已生效): in the balance.
    Available,
    /// Refunded (已退款): the points were cancelled or taken back.
    Refunded,
}

impl From<StatusView> for PurchaseStatus {
    fn from(status: StatusView) -> Self {
        match status {
            StatusView::Pending => Self::Pending,
            StatusView::Available => Self::Available,
            StatusView::Refunded => Self::Refunded,
        }
    }
}

/// The result of `recordPurchase` (消费记录).
#[derive(SimpleObject)]
pub struct RecordPurchasePayload {
    /// The mall's order id (订单号).
    order_id: String,
    /// The member who bought.
    member_id: ID,
    /// The amount paid, in cents (分).
    amount_cents: i64,
    /// Where the purchase's points stand.
    status: PurchaseStatus,
    /// Points after multipliers, before the monthly cap.
    points_requested: i64,
    /// Points after the monthly cap.
    points_granted: i64,
    /// True when the monthly cap cut the award.
    capped: bool,
    /// Growth (成长值) the purchase earned, after the KOC coefficient.
    growth: i64,
    /// When the points become spendable (end of the return window).
    available_at: DateTime<Utc>,
    /// True when this replayed an earlier call for the same order.
    replayed: bool,
}

impl From<PurchaseOutcome> for RecordPurchasePayload {
    fn from(outcome: PurchaseOutcome) -> Self {
        let p = outcome.purchase;
        Self {
            capped: p.points_granted < p.points_requested,
            order_id: p.order_id,
            member_id: ID(p.member_id.to_string()),
            amount_cents: p.amount_cents,
            status: p.status.into(),
            points_requested: p.points_requested,
            points_granted: p.points_granted,
            growth: p.growth,
            available_at: p.available_at,
            replayed: outcome.replayed,
        }
    }
}

/// The result of `refundPurchase` (退款).
#[derive(SimpleObject)]
pub struct RefundPurchasePayload {
    /// The refunded order's id (订单号).
    order_id: String,
    /// Pending points cancelled (refund inside the return window).
    points_cancelled: i64,
    /// Points taken back from the balance (refund after the window).
    points_reversed: i64,
    /// Points that could not be taken back because the balance was short.
    shortfall: i64,
    /// Checkout points returned to the member.
    points_returned: i64,
    /// True when the order was already refunded: nothing changed.
    already_refunded: bool,
}

impl From<RefundOutcome> for RefundPurchasePayload {
    fn from(outcome: RefundOutcome) -> Self {
        Self {
            order_id: outcome.order_id,
            points_cancelled: outcome.points_cancelled,
            points_reversed: outcome.points_reversed,
            shortfall: outcome.shortfall,
            points_returned: outcome.points_returned,
            already_refunded: outcome.already_refunded,
        }
    }
}

/// The checkout rules (积分抵现规则): points as cash at the till.
#[derive(SimpleObject)]
pub struct CheckoutRules {
    /// Points worth ¥1 (积分抵现比例).
    points_per_yuan: i64,
    /// Points are spent in multiples of this.
    unit: i64,
    /// The largest share of an order points may pay, in percent.
    max_percent: i64,
}

impl From<RulesView> for CheckoutRules {
    fn from(rules: RulesView) -> Self {
        Self {
            points_per_yuan: rules.points_per_yuan,
            unit: rules.unit,
            max_percent: rules.max_percent,
        }
    }
}

/// How many points an order may use (积分抵扣试算).
#[derive(SimpleObject)]
pub struct PointsDeductionQuote {
    /// The most points the order may use now (balance, order share, monthly redemption cap).
    max_points: i64,
    /// What `maxPoints` takes off the order, in cents.
    max_deduction_cents: i64,
    /// The member's spendable balance.
    balance: i64,
    /// The rules the quote applied.
    rules: CheckoutRules,
}

impl From<CheckoutQuote> for PointsDeductionQuote {
    fn from(quote: CheckoutQuote) -> Self {
        Self {
            max_points: quote.max_points,
            max_deduction_cents: quote.max_deduction_cents,
            balance: quote.balance,
            rules: quote.rules.into(),
        }
    }
}

/// The result of `deductPointsForOrder` (积分抵扣).
#[derive(SimpleObject)]
pub struct DeductPointsPayload {
    /// The order's id (订单号).
    order_id: String,
    /// Points spent on the order.
    points: i64,
    /// What the points take off the order, in cents.
    deduction_cents: i64,
    /// The member's balance (积分余额) after it.
    balance_after: i64,
    /// True when this replayed an earlier call for the same order.
    replayed: bool,
}

impl From<DeductionOutcome> for DeductPointsPayload {
    fn from(outcome: DeductionOutcome) -> Self {
        Self {
            order_id: outcome.deduction.order_id,
            points: outcome.deduction.points,
            deduction_cents: outcome.deduction.deduction_cents,
            balance_after: outcome.balance_after,
            replayed: outcome.replayed,
        }
    }
}

/// Checkout rules (积分抵现规则) to change; omitted values stay.
#[derive(InputObject)]
pub struct UpdateCheckoutRulesInput {
    /// Points worth ¥1, 1–100,000.
    points_per_yuan: Option<i64>,
    /// Points are spent in multiples of this, 1–100,000.
    unit: Option<i64>,
    /// The largest share of an order points may pay, in percent, 1–100.
    max_percent: Option<i64>,
}

#[derive(Default)]
pub struct PurchaseQuery;

#[Object]
impl PurchaseQuery {
    /// How many points a member may use on an order of `amountCents` (积分抵扣试算; ADMIN integration).
    async fn quote_points_deduction(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member (会员) the operation is for.")] member_id: ID,
        #[graphql(desc = "The order's amount in cents (分).")] amount_cents: i64,
    ) -> async_graphql::Result<PointsDeductionQuote> {
        ctx.viewer()?
            .admin_for(AdminAction::Integrations)
            .extend()?;
        let member = MemberId::parse_as(&member_id, "memberId").extend()?;
        let quote = ctx
            .services()
            .purchases
            .quote(member, amount_cents)
            .await
            .extend()?;
        Ok(quote.into())
    }

    /// The checkout rules (积分抵现规则). Public.
    async fn checkout_rules(&self, ctx: &Context<'_>) -> async_graphql::Result<CheckoutRules> {
        Ok(ctx.services().purchases.rules().await.extend()?.into())
    }
}

#[derive(Default)]
pub struct PurchaseMutation;

#[Object]
impl PurchaseMutation {
    /// Records a purchase (消费积分; ADMIN integration): 1 point and 1 growth per whole yuan,
    /// multiplied, capped, pending through the return window. Idempotent by `orderId`; the same
    /// order with other details is CONFLICT.
    async fn record_purchase(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member (会员) the operation is for.")] member_id: ID,
        #[graphql(
            validator(chars_max_length = 64),
            desc = "The mall or POS order id (订单号), at most 64 characters; recording is idempotent by it."
        )]
        order_id: String,
        #[graphql(desc = "What the member paid, in cents (分).")] amount_cents: i64,
        #[graphql(desc = "When the purchase happened, RFC 3339 with an offset; years 2000–2199.")]
        occurred_at: DateTime<Utc>,
    ) -> async_graphql::Result<RecordPurchasePayload> {
        ctx.viewer()?
            .admin_for(AdminAction::Integrations)
            .extend()?;
        let member = MemberId::parse_as(&member_id, "memberId").extend()?;
        let outcome = ctx
            .services()
            .purchases
            .record(member, &order_id, amount_cents, occurred_at)
            .await
            .extend()?;
        Ok(outcome.into())
    }

    /// Refunds an order (退款; ADMIN integration): cancels pending points, or takes available ones
    /// back down to zero; returns checkout points. Refunding twice changes nothing.
    async fn refund_purchase(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            validator(chars_max_length = 64),
            desc = "The order to refund (退款订单号)."
        )]
        order_id: String,
    ) -> async_graphql::Result<RefundPurchasePayload> {
        ctx.viewer()?
            .admin_for(AdminAction::Integrations)
            .extend()?;
        Ok(ctx
            .services()
            .purchases
            .refund(&order_id)
            .await
            .extend()?
            .into())
    }

    /// Pays `points` toward an order of `amountCents` (积分抵现; ADMIN integration). Idempotent by
    /// `orderId`; counts toward the monthly redemption cap; reversed by `refundPurchase`.
    async fn deduct_points_for_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member (会员) the operation is for.")] member_id: ID,
        #[graphql(
            validator(chars_max_length = 64),
            desc = "The order the points pay toward (积分抵现订单号); idempotent by it."
        )]
        order_id: String,
        #[graphql(desc = "The order's amount in cents (分), which bounds the deduction.")]
        amount_cents: i64,
        #[graphql(desc = "Points to spend as cash (积分抵现), a multiple of the checkout unit.")]
        points: i64,
    ) -> async_graphql::Result<DeductPointsPayload> {
        ctx.viewer()?
            .admin_for(AdminAction::Integrations)
            .extend()?;
        let member = MemberId::parse_as(&member_id, "memberId").extend()?;
        let outcome = ctx
            .services()
            .purchases
            .deduct(member, &order_id, amount_cents, points)
            .await
            .extend()?;
        Ok(outcome.into())
    }

    /// Changes the checkout rules (修改积分抵现规则; ADMIN).
    async fn update_checkout_rules(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The points-as-cash rules to change (积分抵现规则); omitted fields stay."
        )]
        input: UpdateCheckoutRulesInput,
    ) -> async_graphql::Result<CheckoutRules> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let rules = ctx
            .services()
            .purchases
            .update_rules(input.points_per_yuan, input.unit, input.max_percent)
            .await
            .extend()?;
        Ok(rules.into())
    }
}
