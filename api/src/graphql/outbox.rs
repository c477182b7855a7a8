//! Reaching the brand's other systems and watching deliveries (触达): webhooks and the outbox,
//! for operators.

use async_graphql::{Context, Enum, ID, InputObject, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::delivery::Delivery as DeliveryView;
use crate::domain::ids::{DeliveryId, WebhookId};
use crate::domain::paging::PageSize;
use crate::domain::webhook::{self, Webhook as WebhookView};
use crate::graphql::connection::{Page, after_id, page};
use crate::graphql::context::ContextExt;

/// Something that happened, sent to webhooks (事件).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::webhook::WebhookEvent")]
pub enum WebhookEvent {
    /// A ledger entry was written (积分变动): `{ memberId, entryId, kind, amount, balanceAfter }`,
    /// one per entry.
    PointsChanged,
    /// A member's tier changed (等级变更): `{ memberId, from, to, upgraded }`.
    TierChanged,
    /// A member redeemed a reward (兑换): `{ memberId, redemptionId, rewardId, quantity,
    /// pointsTotal, status }`.
    RedemptionCreated,
    /// A redemption was fulfilled or cancelled (兑换状态变更): `{ memberId, redemptionId,
    /// rewardId, status, trackingNumber }`.
    RedemptionUpdated,
    /// A coupon was written off (核销): `{ memberId, code, rewardId, redemptionId }`.
    CouponWrittenOff,
    /// A new member joined (新会员注册): `{ memberId, tier }`.
    MemberRegistered,
    /// A campaign gave a member something (活动发放): `{ campaignId, memberId, points }`.
    CampaignGranted,
}

/// A receiver in the brand's other systems (mall, CRM, 企业微信) (Webhook 订阅). Its secret is
/// never shown again after `createWebhook`.
#[derive(SimpleObject)]
pub struct Webhook {
    /// The webhook's id (for `deleteWebhook`).
    id: ID,
    /// Where events are POSTed.
    url: String,
    /// The events it receives.
    events: Vec<WebhookEvent>,
    /// When it was registered.
    created_at: DateTime<Utc>,
}

impl From<WebhookView> for Webhook {
    fn from(hook: WebhookView) -> Self {
        Self {
            id: ID(hook.id.to_string()),
            url: hook.url,
            events: hook.events.into_iter().map(Into::into).collect(),
            created_at: hook.created_at,
        }
    }
}

/// A new webhook (新建 Webhook).
#[derive(InputObject)]
pub struct CreateWebhookInput {
    /// http(s) URL of the receiver; loopback and private-network addresses are refused in
    /// production.
    url: String,
    /// The HMAC key (签名密钥), 16 to 256 characters: each call carries
    /// `X-Membercard-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
    secret: String,
    /// The events to receive, at least one.
    events: Vec<WebhookEvent>,
}

/// Where a delivery goes (投递渠道).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::delivery::Channel")]
pub enum DeliveryChannel {
    /// A WeChat subscribe message (订阅消息) to one member.
    Wechat,
    /// A signed POST to one webhook.
    Webhook,
}

/// How a delivery stands (投递状态).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::delivery::DeliveryStatus")]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt (待发送).
    Pending,
    /// Delivered (已送达).
    Sent,
    /// Given up (失败): refused for good, or every attempt failed. `retryDelivery` sends it
    /// again.
    Dead,
}

/// One outbox row (投递记录): a subscribe message or a webhook call, written with the change
/// that caused it, and how its delivery went.
#[derive(SimpleObject)]
pub struct Delivery {
    /// The delivery's id (for `retryDelivery`).
    id: ID,
    /// Where it goes: a subscribe message or a webhook call.
    channel: DeliveryChannel,
    /// How it stands.
    status: DeliveryStatus,
    /// The notice kind (WeChat) or the webhook event, e.g. `POINTS_EARNED`, `POINTS_CHANGED`.
    event: String,
    /// The member a subscribe message goes to.
    member_id: Option<ID>,
    /// The webhook a call goes to.
    webhook_id: Option<ID>,
    /// What is sent, as JSON: the template, page and data of a subscribe message, or the body
    /// of a webhook call.
    payload: String,
    /// Attempts made so far (尝试次数).
    attempts: i32,
    /// When it is (next) due; after `SENT` or `DEAD`, the last attempt.
    next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed, if it did.
    last_error: Option<String>,
    /// WeChat's errcode, or the receiver's HTTP status, of the last failed attempt.
    last_errcode: Option<i64>,
    /// When the change that caused it committed.
    created_at: DateTime<Utc>,
    /// When it was delivered.
    sent_at: Option<DateTime<Utc>>,
}

impl From<DeliveryView> for Delivery {
    fn from(row: DeliveryView) -> Self {
        Self {
            id: ID(row.id.to_string()),
            channel: row.channel.into(),
            status: row.status.into(),
            event: row.event,
            member_id: row.member_id.map(|id| ID(id.to_string())),
            webhook_id: row.webhook_id.map(|id| ID(id.to_string())),
            payload: row.payload,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error,
            last_errcode: row.last_errcode,
            created_at: row.created_at,
            sent_at: row.sent_at,
        }
    }
}

#[derive(Default)]
pub struct OutboxQuery;

#[Object]
impl OutboxQuery {
    /// Every webhook, oldest first (Webhook 列表; ADMIN).
    async fn webhooks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Webhook>> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let hooks = ctx.services().webhooks.all().await.extend()?;
        Ok(hooks.into_iter().map(Webhook::from).collect())
    }

    /// The outbox, newest first (投递记录; admins and operators): subscribe messages and
    /// webhook calls with their attempts.
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only deliveries in this state (投递状态); every state when omitted.")]
        status: Option<DeliveryStatus>,
        #[graphql(default = 20, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
        #[graphql(
            desc = "Start after this cursor: the `cursor` of the last edge of the previous page (分页游标); omit for the first page."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Page<Delivery>> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let after = after_id(after).extend()?;
        let first = PageSize::parse(first).extend()?;
        let (rows, has_next) = ctx
            .services()
            .outbox
            .page(status.map(Into::into), first, after)
            .await
            .extend()?;
        Ok(page(
            rows.into_iter().map(|row| (row.id, row.into())).collect(),
            after,
            has_next,
        ))
    }
}

#[derive(Default)]
pub struct OutboxMutation;

#[Object]
impl OutboxMutation {
    /// Registers a webhook (新建 Webhook; ADMIN): from the next change on, its events are
    /// POSTed to it, signed, at least once. VALIDATION on `url` (not http(s); a private address
    /// in production), `secret` or `events`.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The receiver, its secret and its events.")] input: CreateWebhookInput,
    ) -> async_graphql::Result<Webhook> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let events: Vec<webhook::WebhookEvent> = input.events.into_iter().map(Into::into).collect();
        let hook = ctx
            .services()
            .webhooks
            .create(&input.url, &input.secret, &events)
            .await
            .extend()?;
        Ok(hook.into())
    }

    /// Deletes a webhook (删除 Webhook; ADMIN): what was queued for it is not sent; its
    /// delivery log stays. NOT_FOUND for an unknown id.
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook to delete.")] id: ID,
    ) -> async_graphql::Result<bool> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let id = WebhookId::parse(&id).extend()?;
        ctx.services().webhooks.delete(id).await.extend()?;
        Ok(true)
    }

    /// Sends a `DEAD` delivery again with a fresh set of attempts (重新投递; ADMIN).
    /// NOT_FOUND for an unknown id; CONFLICT when it is not `DEAD`. Answers with the row as
    /// the retry left it (`PENDING`, no attempts); `deliveries` shows how the send went.
    async fn retry_delivery(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The dead delivery to send again.")] id: ID,
    ) -> async_graphql::Result<Delivery> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let id = DeliveryId::parse(&id).extend()?;
        let row = ctx.services().outbox.retry(id).await.extend()?;
        Ok(row.into())
    }
}
