//! Referrals: binding an inviter, the inviter's progress, voiding.

use async_graphql::{Context, Enum, ID, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::ids::ReferralId;
use crate::domain::paging::PageSize;
use crate::domain::referral::{self, ReferralStatus as DomainStatus};
use crate::graphql::connection::{Page, after_id, page};
use crate::graphql::context::ContextExt;
use crate::service::referrals::Referral as ReferralRow;

/// Where an invite stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ReferralStatus {
    /// Bound; the invitee has not signed in yet.
    Bound,
    /// The invitee completed a first sign-in.
    Completed,
    /// Voided by an operator; its rewards were taken back.
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

/// An invite.
#[derive(SimpleObject)]
pub struct Referral {
    id: ID,
    inviter_id: ID,
    invitee_id: ID,
    status: ReferralStatus,
    /// False when the completion came past the inviter's 5 paid invites that day.
    rewarded: bool,
    inviter_points: i64,
    invitee_points: i64,
    bound_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
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

/// A milestone of successful invites.
#[derive(SimpleObject)]
pub struct ReferralMilestone {
    invites: i32,
    bonus_points: i64,
}

/// The signed-in member's invites and progress.
#[derive(SimpleObject)]
pub struct MyReferrals {
    /// The code friends enter with `bindInviter`.
    invite_code: String,
    /// Invitees who completed a first sign-in (void ones taken off).
    successful_invites: i32,
    /// The next milestone; null after the last.
    next_milestone: Option<ReferralMilestone>,
    /// Invites still needed for the next milestone.
    invites_to_next_milestone: Option<i32>,
    /// Paid invites today (at most 5; more still count toward milestones).
    rewarded_today: i32,
    /// The member's invites, newest first.
    referrals: Page<Referral>,
}

#[derive(Default)]
pub struct ReferralQuery;

#[Object]
impl ReferralQuery {
    /// The signed-in member's invites, with progress to the next milestone.
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn my_referrals(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
        #[graphql(
            desc = "Start after this cursor: the `cursor` of the last edge of the previous page (分页游标); omit for the first page."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<MyReferrals> {
        let member = ctx.viewer()?.member().extend()?;
        let after = after_id(after).extend()?;
        let first = PageSize::parse(first).extend()?;
        let summary = ctx
            .services()
            .referrals
            .summary(member, first, after)
            .await
            .extend()?;
        let count = summary.successful_invites;
        Ok(MyReferrals {
            invite_code: summary.invite_code,
            successful_invites: count,
            next_milestone: summary.next_milestone.map(|(invites, bonus_points)| {
                ReferralMilestone {
                    invites,
                    bonus_points,
                }
            }),
            invites_to_next_milestone: referral::next_milestone(count)
                .map(|(invites, _)| invites.saturating_sub(count)),
            rewarded_today: i32::try_from(summary.rewarded_today).unwrap_or(i32::MAX),
            referrals: page(
                summary
                    .referrals
                    .into_iter()
                    .map(|r| (r.id, r.into()))
                    .collect(),
                after,
                summary.has_next,
            ),
        })
    }

    /// The invite the signed-in member bound, if any.
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
    /// Names the member's inviter by invite code: within 7 days of registering, once, never
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

    /// Voids an invite (admins and operators): its rewards are taken back like a refund,
    /// never below zero, and it stops counting. Voiding twice changes nothing.
    async fn void_referral(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The referral (邀请关系) to void; its rewards are clawed back.")] id: ID,
    ) -> async_graphql::Result<Referral> {
        ctx.viewer()?.admin_for(AdminAction::Review).extend()?;
        let id = ReferralId::parse(&id).extend()?.get();
        Ok(ctx.services().referrals.void(id).await.extend()?.into())
    }
}
