//! Referrals: binding an inviter, the inviter's progress, voiding.

use async_graphql::{Context, Enum, ID, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::ids::{MemberId, ReferralId};
use crate::domain::paging::PageSize;
use crate::domain::referral::{self, ReferralStatus as DomainStatus};
use crate::graphql::connection::{Page, after_id, page};
use crate::graphql::context::ContextExt;
use crate::service::referrals::{Referral as ReferralRow, ReferralSummary};

/// Where an invite (邀请) stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ReferralStatus {
    /// Bound (已绑定); the invitee has not signed in yet.
    Bound,
    /// Completed (已完成): the invitee signed in for the first time and both were paid.
    Completed,
    /// Voided (已作废) by an operator; its rewards were taken back.
    Void,
}

impl From<DomainStatus> for ReferralStatus {
    fn from(s: DomainStatus) -> Self {
        match s {
            DomainStatus::Bound => Self::Bound,
            DomainStatus::Completed => Self::Completed,
            DomainStatus::Void => Self::Void,
        }
    }
}

/// An invite (邀请关系): one member (the inviter, 邀请人) brought another (the invitee, 被邀请人).
#[derive(SimpleObject)]
pub struct Referral {
    /// The invite's id.
    id: ID,
    /// The inviter's member id (邀请人).
    inviter_id: ID,
    /// The invitee's member id (被邀请人).
    invitee_id: ID,
    /// Where the invite stands.
    status: ReferralStatus,
    /// False when the completion came past the inviter's 5 paid invites that day.
    rewarded: bool,
    /// Points (积分) paid to the inviter at completion; 0 before, or when not rewarded.
    inviter_points: i64,
    /// Points paid to the invitee at completion; 0 before.
    invitee_points: i64,
    /// When the invitee named the inviter (绑定时间).
    bound_at: DateTime<Utc>,
    /// When the invitee's first sign-in completed the invite; null before.
    completed_at: Option<DateTime<Utc>>,
    /// When an operator voided the invite; null unless voided.
    voided_at: Option<DateTime<Utc>>,
}

impl From<ReferralRow> for Referral {
    fn from(r: ReferralRow) -> Self {
        Self {
            id: ID(r.id.to_string()),
            inviter_id: ID(r.inviter.to_string()),
            invitee_id: ID(r.invitee.to_string()),
            status: r.status.into(),
            rewarded: r.rewarded,
            inviter_points: r.inviter_points,
            invitee_points: r.invitee_points,
            bound_at: r.bound_at,
            completed_at: r.completed_at,
            voided_at: r.voided_at,
        }
    }
}

/// A milestone (邀请里程碑) of successful invites, paid once when reached.
#[derive(SimpleObject)]
pub struct ReferralMilestone {
    /// Successful invites needed.
    invites: i32,
    /// Bonus points (奖励积分) paid when reached.
    bonus_points: i64,
}

/// The signed-in member's invites, for the GraphQL `MyReferrals` type.
pub struct MyReferrals {
    member: MemberId,
    summary: ReferralSummary,
}

/// The signed-in member's invites (我的邀请) and progress toward the next milestone.
#[Object]
impl MyReferrals {
    /// The code friends enter with `bindInviter` (邀请码).
    async fn invite_code(&self) -> &str {
        &self.summary.invite_code
    }

    /// Invitees who completed a first sign-in (成功邀请数; void ones taken off).
    async fn successful_invites(&self) -> i32 {
        self.summary.successful_invites
    }

    /// The next milestone; null after the last.
    async fn next_milestone(&self) -> Option<ReferralMilestone> {
        self.summary
            .next_milestone
            .map(|(invites, bonus_points)| ReferralMilestone {
                invites,
                bonus_points,
            })
    }

    /// Invites still needed for the next milestone; null after the last.
    async fn invites_to_next_milestone(&self) -> Option<i32> {
        let count = self.summary.successful_invites;
        referral::next_milestone(count).map(|(invites, _)| invites.saturating_sub(count))
    }

    /// Paid invites today (at most 5; more still count toward milestones).
    async fn rewarded_today(&self) -> i32 {
        i32::try_from(self.summary.rewarded_today).unwrap_or(i32::MAX)
    }

    /// The member's invites, newest first.
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn referrals(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
        #[graphql(
            desc = "Start after this cursor: the `cursor` of the last edge of the previous page (分页游标); omit for the first page."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Page<Referral>> {
        let after = after_id(after).extend()?;
        let first = PageSize::parse(first).extend()?;
        let (rows, has_next) = ctx
            .services()
            .referrals
            .invites(self.member, first, after)
            .await
            .extend()?;
        let items = rows.into_iter().map(|r| (r.id, r.into())).collect();
        Ok(page(items, after, has_next))
    }
}

#[derive(Default)]
pub struct ReferralQuery;

#[Object]
impl ReferralQuery {
    /// The signed-in member's invites (我的邀请), with progress to the next milestone.
    async fn my_referrals(&self, ctx: &Context<'_>) -> async_graphql::Result<MyReferrals> {
        let member = ctx.viewer()?.member().extend()?;
        let summary = ctx.services().referrals.summary(member).await.extend()?;
        Ok(MyReferrals { member, summary })
    }

    /// The invite the signed-in member bound, if any (我的邀请人).
    async fn my_inviter(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Referral>> {
        let member = ctx.viewer()?.member().extend()?;
        let found = ctx.services().referrals.of_invitee(member).await.extend()?;
        Ok(found.map(Into::into))
    }
}

#[derive(Default)]
pub struct ReferralMutation;

#[Object]
impl ReferralMutation {
    /// Names the member's inviter by invite code (绑定邀请人): within 7 days of registering, once, never
    /// oneself or one's own invitee's chain (INVITE_INVALID). Both are paid at the invitee's
    /// first sign-in (inviter +50, invitee +20).
    async fn bind_inviter(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            validator(chars_max_length = 16),
            desc = "The inviter's code (邀请码), 8 characters."
        )]
        invite_code: String,
    ) -> async_graphql::Result<Referral> {
        let member = ctx.viewer()?.member().extend()?;
        Ok(ctx
            .services()
            .referrals
            .bind(member, &invite_code)
            .await
            .extend()?
            .into())
    }

    /// Voids an invite (作废邀请; admins and operators): its rewards are taken back like a refund,
    /// never below zero, and it stops counting. Voiding twice changes nothing.
    async fn void_referral(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The referral (邀请关系) to void; its rewards are clawed back.")] id: ID,
    ) -> async_graphql::Result<Referral> {
        ctx.viewer()?.admin_for(AdminAction::Review).extend()?;
        let id = ReferralId::parse(&id).extend()?;
        Ok(ctx.services().referrals.void(id).await.extend()?.into())
    }
}
