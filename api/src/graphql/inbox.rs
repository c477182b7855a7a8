//! The member inbox (站内消息).

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, ResultExt, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use crate::domain::ids::NotificationId;
use crate::domain::notification::InboxNotice;
use crate::domain::paging::PageSize;
use crate::graphql::connection::{Page, after_id, page};
use crate::graphql::context::ContextExt;

/// What an inbox notice (站内消息) is about.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::notification::NoticeKind")]
pub enum NotificationKind {
    /// Points arrived (积分到账): a purchase, a reward, an operator's adjustment.
    PointsEarned,
    /// Points left the balance (积分已使用): a redemption, a make-up, a checkout, a claw-back.
    PointsRedeemed,
    /// Points will expire soon (积分即将过期); sent once per expiry date.
    PointsExpiring,
    /// Points expired (积分已过期).
    PointsExpired,
    /// The member's tier changed (等级变更), up or down.
    TierChanged,
    /// Member day (会员日) is tomorrow.
    MemberDayTomorrow,
    /// The member's KOC application was reviewed (达人申请结果).
    KocApplicationReviewed,
    /// A KOC task submission was reviewed (任务审核结果).
    KocSubmissionReviewed,
    /// An invite was rewarded (邀请奖励到账).
    ReferralRewarded,
    /// 生日祝福: the birthday greeting, with the birthday points (生日礼).
    BirthdayGreeting,
    /// Coupons arrived in the member's coupon wallet (券到账), from a redemption or a sign-in
    /// reward.
    CouponArrived,
    /// A coupon lapses in 3 days (券到期提醒); sent once per coupon.
    CouponExpiring,
    /// An operator's campaign notice (活动通知).
    Campaign,
    /// A leaderboard season reward won (每周之星 / 榜单奖励): the board, the period, the rank and
    /// the prize.
    SeasonReward,
}

/// A notice in the member's inbox (站内消息).
#[derive(SimpleObject)]
pub struct Notification {
    /// The notice's id; pass the newest one as `inboxUpdates(after:)` when reconnecting.
    id: ID,
    /// What it is about.
    kind: NotificationKind,
    /// The title (标题), in Chinese, ready to show.
    title: String,
    /// The text (内容), in Chinese, ready to show.
    body: String,
    /// The order, day or other record the notice is about.
    reference: Option<String>,
    /// Whether the member has read it (已读).
    read: bool,
    /// When it was written.
    created_at: DateTime<Utc>,
}

impl From<InboxNotice> for Notification {
    fn from(notice: InboxNotice) -> Self {
        Self {
            id: ID(notice.id.to_string()),
            kind: notice.kind.into(),
            title: notice.title,
            body: notice.body,
            reference: notice.reference,
            read: notice.read_at.is_some(),
            created_at: notice.created_at,
        }
    }
}

/// The result of marking notices read (已读).
#[derive(SimpleObject)]
pub struct MarkNotificationsReadPayload {
    /// Unread notices left.
    unread_count: u64,
}

#[derive(Default)]
pub struct InboxQuery;

#[Object]
impl InboxQuery {
    /// The signed-in member's notices, newest first (站内消息).
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn inbox(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
        #[graphql(
            desc = "Start after this cursor: the `cursor` of the last edge of the previous page (分页游标); omit for the first page."
        )]
        after: Option<String>,
        #[graphql(default = false, desc = "true: only unread notices (未读消息).")]
        unread_only: bool,
    ) -> async_graphql::Result<Page<Notification>> {
        let member = ctx.viewer()?.member().extend()?;
        let after = after_id(after).extend()?;
        let first = PageSize::parse(first).extend()?;
        let (notices, has_next) = ctx
            .services()
            .inbox
            .page(member, first, after, unread_only)
            .await
            .extend()?;
        let items = notices.into_iter().map(|n| (n.id, n.into())).collect();
        Ok(page(items, after, has_next))
    }

    /// How many of the signed-in member's notices are unread (未读消息数).
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let member = ctx.viewer()?.member().extend()?;
        ctx.services().inbox.unread_count(member).await.extend()
    }
}

#[derive(Default)]
pub struct InboxMutation;

#[Object]
impl InboxMutation {
    /// Marks the given notices read (at most 100 (消息已读); other members' ids are ignored).
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The caller's notices to mark read (消息已读); others' ids are ignored.")]
        ids: Vec<ID>,
    ) -> async_graphql::Result<MarkNotificationsReadPayload> {
        let member = ctx.viewer()?.member().extend()?;
        let ids = ids
            .iter()
            .map(|id| NotificationId::parse_as(id, "ids"))
            .collect::<Result<Vec<_>, _>>()
            .extend()?;
        let unread_count = ctx
            .services()
            .inbox
            .mark_read(member, Some(ids))
            .await
            .extend()?;
        Ok(MarkNotificationsReadPayload { unread_count })
    }

    /// Marks every notice of the signed-in member read (全部已读).
    async fn mark_all_notifications_read(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<MarkNotificationsReadPayload> {
        let member = ctx.viewer()?.member().extend()?;
        let unread_count = ctx
            .services()
            .inbox
            .mark_read(member, None)
            .await
            .extend()?;
        Ok(MarkNotificationsReadPayload { unread_count })
    }
}

/// A notice as it arrives (新消息), with the unread count after it.
#[derive(SimpleObject)]
pub struct InboxUpdate {
    /// The new notice.
    notification: Notification,
    /// Unread notices (未读数) after it, for the badge.
    unread_count: u64,
}

#[derive(Default)]
pub struct InboxSubscription;

#[Subscription]
impl InboxSubscription {
    /// The signed-in member's new notices (新消息推送) as they are written, on any server instance,
    /// within about `MEMBERCARD_SUBSCRIPTION_POLL_MS`. Over `/graphql/ws` (graphql-transport-ws)
    /// with `{"token": "…"}` in `connection_init`. Pass the id of the newest notice the client has
    /// as `after` to get the ones since first (up to 100), so reconnecting loses nothing.
    async fn inbox_updates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Replay the notices after this one first (断线重连), then go live.")]
        after: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<InboxUpdate>> + use<>> {
        let member = ctx.viewer()?.member().extend()?;
        let after = after
            .map(|id| NotificationId::parse_as(&id, "after").map(NotificationId::get))
            .transpose()
            .extend()?;
        let services = Arc::clone(ctx.services());
        let notices = services
            .inbox_feed
            .subscribe(member, after)
            .await
            .extend()?;
        Ok(notices.then(move |notice| {
            let services = Arc::clone(&services);
            async move {
                let unread_count = services.inbox.unread_count(member).await.extend()?;
                Ok(InboxUpdate {
                    notification: notice.into(),
                    unread_count,
                })
            }
        }))
    }
}
