//! Campaigns (营销自动化) for operators: create, move through their states, and see what they
//! did. The scheduled pass (`runScheduledJobs`) executes them.

use async_graphql::{Context, Enum, ID, InputObject, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::campaign::{self, Action, Campaign as CampaignView, CampaignStatus as Status};
use crate::domain::ids::{CampaignId, SegmentId};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::service::campaigns::NewCampaign;

/// Where a campaign stands (活动状态): `DRAFT` → `ACTIVE` ⇄ `PAUSED` → `ENDED`.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::campaign::CampaignStatus")]
pub enum CampaignStatus {
    /// Being prepared; nothing runs.
    Draft,
    /// Runs at its trigger.
    Active,
    /// Stopped for now; activate it again to go on where it stopped.
    Paused,
    /// Over for good.
    Ended,
}

/// When a campaign reaches its members (触发方式). Only `ONCE` so far.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CampaignTriggerKind {
    /// At `at`, every member of the segment once.
    Once,
}

/// What a campaign does for a member (活动动作).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CampaignActionKind {
    /// 积分红包: `points` as a `CAMPAIGN` entry, expiring after `pointsExpireInDays` (the
    /// programme's normal expiry when null). Checked against the campaign's budget.
    GrantPoints,
    /// An inbox `CAMPAIGN` notice (`title`, `body`) and a subscribe message where consented;
    /// not for members who refuse personalised marketing.
    Notify,
}

/// A campaign's trigger.
#[derive(InputObject)]
pub struct CampaignTriggerInput {
    /// The kind; only `ONCE` so far.
    kind: CampaignTriggerKind,
    /// When a `ONCE` campaign runs (the first scheduled pass at or after it).
    at: Option<DateTime<Utc>>,
}

/// One action of a campaign.
#[derive(InputObject)]
pub struct CampaignActionInput {
    /// The kind of action.
    kind: CampaignActionKind,
    /// GRANT_POINTS: points per member, 1–100000.
    points: Option<i32>,
    /// GRANT_POINTS: days until the points lapse, 1–3660; null: the programme's expiry.
    points_expire_in_days: Option<i32>,
    /// NOTIFY: the notice's title, 1–20 characters.
    title: Option<String>,
    /// NOTIFY: the notice's text, 1–200 characters.
    body: Option<String>,
}

impl CampaignActionInput {
    fn into_domain(self) -> Result<Action, AppError> {
        match self.kind {
            CampaignActionKind::GrantPoints => Ok(Action::GrantPoints {
                points: i64::from(
                    self.points
                        .ok_or_else(|| AppError::validation("actions.points", "is required"))?,
                ),
                expire_in_days: self.points_expire_in_days.map(i64::from),
            }),
            CampaignActionKind::Notify => Ok(Action::Notify {
                title: self
                    .title
                    .ok_or_else(|| AppError::validation("actions.title", "is required"))?,
                body: self
                    .body
                    .ok_or_else(|| AppError::validation("actions.body", "is required"))?,
            }),
        }
    }
}

/// A new campaign (新建活动).
#[derive(InputObject)]
pub struct CampaignInput {
    /// Name, 1–64 characters.
    name: String,
    /// The segment (人群) it reaches, as of each run; null: every member.
    segment_id: Option<ID>,
    /// When it runs.
    trigger: CampaignTriggerInput,
    /// What it does, 1–5 actions, at most one GRANT_POINTS.
    actions: Vec<CampaignActionInput>,
    /// The most points it may grant in all (成本预算); null: no limit.
    budget_points: Option<i32>,
    /// The share of the audience held out as control (对照组), 0–50 percent.
    #[graphql(default)]
    holdout_percent: i32,
}

/// One action of a campaign, as saved.
#[derive(SimpleObject)]
pub struct CampaignAction {
    /// The kind of action.
    kind: CampaignActionKind,
    /// GRANT_POINTS: points per member.
    points: Option<i64>,
    /// GRANT_POINTS: days until the points lapse; null: the programme's expiry.
    points_expire_in_days: Option<i64>,
    /// NOTIFY: the notice's title.
    title: Option<String>,
    /// NOTIFY: the notice's text.
    body: Option<String>,
}

impl From<Action> for CampaignAction {
    fn from(action: Action) -> Self {
        match action {
            Action::GrantPoints {
                points,
                expire_in_days,
            } => Self {
                kind: CampaignActionKind::GrantPoints,
                points: Some(points),
                points_expire_in_days: expire_in_days,
                title: None,
                body: None,
            },
            Action::Notify { title, body } => Self {
                kind: CampaignActionKind::Notify,
                points: None,
                points_expire_in_days: None,
                title: Some(title),
                body: Some(body),
            },
        }
    }
}

/// A campaign (营销活动).
#[derive(SimpleObject)]
pub struct Campaign {
    /// The campaign's id.
    id: ID,
    /// Its name.
    name: String,
    /// The segment it reaches; null: every member.
    segment_id: Option<ID>,
    /// When it runs.
    trigger_kind: CampaignTriggerKind,
    /// When a ONCE campaign runs.
    trigger_at: Option<DateTime<Utc>>,
    /// What it does.
    actions: Vec<CampaignAction>,
    /// The most points it may grant; null: no limit.
    budget_points: Option<i64>,
    /// Points granted so far.
    spent_points: i64,
    /// True once no further grant fits the budget: it grants nothing more.
    budget_exhausted: bool,
    /// The control share, in percent.
    holdout_percent: i32,
    /// Where it stands.
    status: CampaignStatus,
    /// When it was created.
    created_at: DateTime<Utc>,
    /// When it last changed.
    updated_at: DateTime<Utc>,
}

impl From<CampaignView> for Campaign {
    fn from(c: CampaignView) -> Self {
        Self {
            id: ID(c.id.to_string()),
            name: c.name,
            segment_id: c.segment_id.map(|id| ID(id.to_string())),
            trigger_kind: match c.trigger {
                campaign::TriggerKind::Once => CampaignTriggerKind::Once,
            },
            trigger_at: c.trigger_at,
            actions: c.actions.into_iter().map(Into::into).collect(),
            budget_points: c.budget_points,
            spent_points: c.spent_points,
            budget_exhausted: c.budget_exhausted,
            holdout_percent: c.holdout_percent,
            status: c.status.into(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// What a campaign did (效果分析). Attribution (sign-ins, purchases, recall rate, uplift, ROI)
/// is not built yet.
#[derive(SimpleObject)]
pub struct CampaignStats {
    /// Members granted (触达人数).
    reached: i64,
    /// Members held out as control (对照组).
    held_out: i64,
    /// Members skipped (frozen).
    skipped: i64,
    /// Points granted in all (成本).
    cost_points: i64,
}

#[derive(Default)]
pub struct CampaignQuery;

#[Object]
impl CampaignQuery {
    /// Campaigns, newest first (活动列表; admins and operators).
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only campaigns in this state; every state when omitted.")] status: Option<
            CampaignStatus,
        >,
    ) -> async_graphql::Result<Vec<Campaign>> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let status = status.map(Status::from);
        let all = ctx.services().campaigns.all(status).await.extend()?;
        Ok(all.into_iter().map(Campaign::from).collect())
    }

    /// What a campaign did (效果分析; admins and operators). NOT_FOUND for an unknown id.
    async fn campaign_stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign.")] id: ID,
    ) -> async_graphql::Result<CampaignStats> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let id = CampaignId::parse(&id).extend()?;
        let o = ctx.services().campaigns.outcomes(id).await.extend()?;
        Ok(CampaignStats {
            reached: o.reached,
            held_out: o.held_out,
            skipped: o.skipped,
            cost_points: o.cost_points,
        })
    }
}

#[derive(Default)]
pub struct CampaignMutation;

#[Object]
impl CampaignMutation {
    /// Creates a DRAFT campaign (新建活动; ADMIN). VALIDATION on `name`, `trigger.at`,
    /// `actions…`, `budgetPoints` or `holdoutPercent`; NOT_FOUND for an unknown segment.
    async fn create_campaign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign.")] input: CampaignInput,
    ) -> async_graphql::Result<Campaign> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let actions = input
            .actions
            .into_iter()
            .map(CampaignActionInput::into_domain)
            .collect::<Result<Vec<_>, _>>()
            .extend()?;
        let segment = input
            .segment_id
            .map(|id| SegmentId::parse_as(&id, "segmentId"))
            .transpose()
            .extend()?;
        let new = NewCampaign {
            name: input.name,
            segment,
            trigger: match input.trigger.kind {
                CampaignTriggerKind::Once => campaign::TriggerKind::Once,
            },
            at: input.trigger.at,
            actions,
            budget_points: input.budget_points.map(i64::from),
            holdout_percent: input.holdout_percent,
        };
        let services = ctx.services();
        let created = services
            .campaigns
            .create(&services.segments, new)
            .await
            .extend()?;
        Ok(created.into())
    }

    /// Activates a DRAFT or PAUSED campaign (启动活动; ADMIN). CONFLICT from another state.
    async fn activate_campaign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign.")] id: ID,
    ) -> async_graphql::Result<Campaign> {
        move_to(ctx, &id, Status::Active).await
    }

    /// Pauses an ACTIVE campaign (暂停活动; ADMIN). CONFLICT from another state.
    async fn pause_campaign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign.")] id: ID,
    ) -> async_graphql::Result<Campaign> {
        move_to(ctx, &id, Status::Paused).await
    }

    /// Ends a campaign for good (结束活动; ADMIN). CONFLICT when it already ended.
    async fn end_campaign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign.")] id: ID,
    ) -> async_graphql::Result<Campaign> {
        move_to(ctx, &id, Status::Ended).await
    }
}

async fn move_to(ctx: &Context<'_>, id: &ID, to: Status) -> async_graphql::Result<Campaign> {
    ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
    let id = CampaignId::parse(id).extend()?;
    let moved = ctx.services().campaigns.set_status(id, to).await.extend()?;
    Ok(moved.into())
}
