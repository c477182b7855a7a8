//! Member day (会员日): what is on now or next, and operators' events.

use async_graphql::{Context, ID, InputObject, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::ids::EventId;
use crate::domain::member_day::ScheduledEvent;
use crate::graphql::context::ContextExt;
use crate::service::member_day::{MemberDayForViewer, NewEvent};

/// The member day (会员日) in force now, or the next one.
#[derive(SimpleObject)]
pub struct MemberDay {
    /// True while it is on.
    active: bool,
    /// What the UI calls it, e.g. 会员日 or an event's title.
    title: String,
    /// When it starts (the business day's midnight for the monthly member day).
    starts_at: DateTime<Utc>,
    /// When it ends (exclusive).
    ends_at: DateTime<Utc>,
    /// Points multiplier (积分倍率) on sign-in and purchase points, in percent (200 = 2×).
    multiplier_percent: i32,
    /// The event discount (折扣) on rewards, in percent.
    discount_percent: i32,
    /// For a signed-in member: event discount plus the tier's member-day discount (at most 50).
    your_discount_percent: Option<i32>,
}

/// An operator's one-off member-day event (会员日活动).
#[derive(SimpleObject)]
pub struct MemberDayEvent {
    /// The event's id.
    id: ID,
    /// The event's title (活动名称).
    title: String,
    /// When it starts.
    starts_at: DateTime<Utc>,
    /// When it ends (exclusive).
    ends_at: DateTime<Utc>,
    /// Points multiplier (积分倍率) in percent (200 = 2×).
    multiplier_percent: i32,
    /// Discount (折扣) on rewards, in percent.
    discount_percent: i32,
    /// The lowest tier it is for; null = everyone.
    min_tier: Option<String>,
}

impl From<ScheduledEvent> for MemberDayEvent {
    fn from(event: ScheduledEvent) -> Self {
        Self {
            id: ID(event.id.to_string()),
            title: event.title,
            starts_at: event.starts_at,
            ends_at: event.ends_at,
            multiplier_percent: event.multiplier_pct,
            discount_percent: event.discount_pct,
            min_tier: event.min_tier,
        }
    }
}

/// A one-off member-day event (会员日活动).
#[derive(InputObject)]
pub struct CreateMemberDayEventInput {
    /// The event's title (活动名称), 1–64 characters.
    title: String,
    /// When it starts.
    starts_at: DateTime<Utc>,
    /// When it ends, after `startsAt`.
    ends_at: DateTime<Utc>,
    /// Points multiplier (积分倍率) in percent, 100–1000.
    multiplier_percent: i32,
    /// Discount (折扣) on rewards in percent, 0–50.
    discount_percent: i32,
    /// The lowest tier code it is for (最低等级); omitted = everyone.
    #[graphql(validator(chars_max_length = 32))]
    min_tier: Option<String>,
}

#[derive(Default)]
pub struct MemberDayQuery;

#[Object]
impl MemberDayQuery {
    /// The member day in force now, or the next one (会员日). Public; with a member token, tier-gated
    /// events and the member's own discount are included.
    async fn member_day(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<MemberDay>> {
        let found = ctx
            .services()
            .member_day
            .for_viewer(ctx.member_if_any())
            .await
            .extend()?;
        Ok(found.map(
            |MemberDayForViewer {
                 view,
                 your_discount_pct,
             }| MemberDay {
                active: view.active,
                title: view.window.title,
                starts_at: view.window.starts_at,
                ends_at: view.window.ends_at,
                multiplier_percent: view.effects.multiplier_pct,
                discount_percent: view.effects.discount_pct,
                your_discount_percent: your_discount_pct,
            },
        ))
    }

    /// Member-day events not yet over, soonest first (会员日活动; admins and operators).
    async fn member_day_events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<MemberDayEvent>> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let events = ctx.services().member_day.events().await.extend()?;
        Ok(events.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct MemberDayMutation;

#[Object]
impl MemberDayMutation {
    /// Adds a one-off member-day event (新建会员日活动; ADMIN). Overlapping events do not compound: the
    /// highest multiplier and the highest discount win.
    async fn create_member_day_event(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The one-off member-day event (会员日活动) to create.")]
        input: CreateMemberDayEventInput,
    ) -> async_graphql::Result<MemberDayEvent> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let event = ctx
            .services()
            .member_day
            .create_event(NewEvent {
                title: input.title,
                starts_at: input.starts_at,
                ends_at: input.ends_at,
                multiplier_pct: input.multiplier_percent,
                discount_pct: input.discount_percent,
                min_tier: input.min_tier,
            })
            .await
            .extend()?;
        Ok(event.into())
    }

    /// Removes a member-day event (删除会员日活动; ADMIN).
    async fn delete_member_day_event(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member-day event to delete.")] id: ID,
    ) -> async_graphql::Result<bool> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let id = EventId::parse(&id).extend()?;
        ctx.services().member_day.delete_event(id).await.extend()?;
        Ok(true)
    }

    /// Changes the monthly member day's multiplier and event discount (修改每月会员日; ADMIN).
    async fn update_monthly_member_day(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The monthly member day's points multiplier in percent (会员日积分倍数), 100–1000."
        )]
        multiplier_percent: i32,
        #[graphql(desc = "The monthly member day's discount in percent (会员日折扣), 0–50.")]
        discount_percent: i32,
    ) -> async_graphql::Result<bool> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        ctx.services()
            .member_day
            .update_monthly(multiplier_percent, discount_percent)
            .await
            .extend()?;
        Ok(true)
    }
}
