//! Campaigns (营销自动化) for operators: create, move through their states, and see what they
//! did. The scheduled pass (`runScheduledJobs`) executes them.

use async_graphql::{Context, Enum, ID, InputObject, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::campaign::{self, Action, Campaign as CampaignView, CampaignStatus as Status};
use crate::domain::ids::{CampaignId, LotteryId, RewardId, SegmentId, TagId};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::service::campaigns::{CampaignOutcomes, CampaignSettings, GroupResult};

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

/// When a campaign reaches its members (触发方式), and what one occurrence is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::campaign::TriggerKind")]
pub enum CampaignTriggerKind {
    /// At `at`, the segment once (单次).
    Once,
    /// Every business day at `time` (每天); the day is the occurrence.
    Daily,
    /// Every Monday at `time` (每周); the ISO week is the occurrence.
    Weekly,
    /// The 1st of every month at `time` (每月); the month is the occurrence.
    Monthly,
    /// On the member's birthday (生日), business time; the year is the occurrence.
    Birthday,
    /// On the anniversary of registration (一周年祝福); the year is the occurrence.
    Anniversary,
    /// `days` after registration, for members who have not bought (新客激活); once.
    RegisteredNoPurchase,
    /// When the scheduled pass notices a member became AT_RISK (预警流失); the day is the
    /// occurrence. Only transitions after the activation count.
    BecameAtRisk,
    /// When the scheduled pass notices a member became DORMANT (沉睡).
    BecameDormant,
    /// When a member moves up a tier (升级); the day of the upgrade is the occurrence.
    TierUpgraded,
    /// When a member enters the segment (进入人群); members already in it at activation have
    /// not entered it. The day is the occurrence.
    SegmentEntered,
}

/// How often one member may be reached (触达频次).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::campaign::PerMember")]
pub enum CampaignFrequency {
    /// Once for the whole campaign (每人一次).
    Once,
    /// At every occurrence: every day, week, month, year or transition (每次触发).
    EveryOccurrence,
}

/// What a campaign does for a member (活动动作).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CampaignActionKind {
    /// 积分红包: `points` as a `CAMPAIGN` entry, expiring after `pointsExpireInDays` (the
    /// programme's normal expiry when null). Checked against the campaign's budget and the
    /// programme's monthly budget; not capped by the tier's monthly earning cap.
    GrantPoints,
    /// 福利召回: `quantity` units of the reward `rewardId`, granted (no price, no limits; stock
    /// taken, a unit out of stock is skipped). Checked against `budgetUnits`.
    GrantReward,
    /// `draws` free draws of the lottery `lotteryId` (抽奖次数).
    GrantDraws,
    /// Puts the tag `tagId` on the member (打标签).
    AddTag,
    /// Takes the tag `tagId` off the member (去标签).
    RemoveTag,
    /// An inbox `CAMPAIGN` notice (`title`, `body`) and a subscribe message where consented
    /// (at most `MEMBERCARD_MARKETING_MESSAGES_PER_DAY` a day, none 22:00–08:00: deferred to
    /// 08:00); not for members who refuse personalised marketing.
    Notify,
}

/// A campaign's trigger.
#[derive(InputObject)]
pub struct CampaignTriggerInput {
    /// The kind.
    kind: CampaignTriggerKind,
    /// ONCE: when it runs (the first scheduled pass at or after it).
    at: Option<DateTime<Utc>>,
    /// DAILY / WEEKLY / MONTHLY: the business time of day, "HH:MM".
    time: Option<String>,
    /// REGISTERED_NO_PURCHASE: days after registration, 1–365.
    days: Option<i32>,
}

impl CampaignTriggerInput {
    fn into_domain(self) -> Result<campaign::Trigger, AppError> {
        Ok(campaign::Trigger {
            kind: self.kind.into(),
            at: self.at,
            time: self.time.as_deref().map(campaign::parse_time).transpose()?,
            days: self.days,
        })
    }
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
    /// GRANT_REWARD: the reward granted.
    reward_id: Option<ID>,
    /// GRANT_REWARD: units per member, 1–10 (default 1).
    quantity: Option<i32>,
    /// GRANT_DRAWS: the lottery.
    lottery_id: Option<ID>,
    /// GRANT_DRAWS: free draws per member, 1–100.
    draws: Option<i32>,
    /// ADD_TAG / REMOVE_TAG: the tag.
    tag_id: Option<ID>,
    /// NOTIFY: the notice's title, 1–20 characters.
    title: Option<String>,
    /// NOTIFY: the notice's text, 1–200 characters.
    body: Option<String>,
}

impl CampaignActionInput {
    fn into_domain(self) -> Result<Action, AppError> {
        let required = |field: &'static str| move || AppError::validation(field, "is required");
        let tag = |id: Option<ID>| -> Result<i64, AppError> {
            let id = id.ok_or_else(required("actions.tagId"))?;
            Ok(TagId::parse_as(&id, "actions.tagId")?.get())
        };
        match self.kind {
            CampaignActionKind::GrantPoints => Ok(Action::GrantPoints {
                points: i64::from(self.points.ok_or_else(required("actions.points"))?),
                expire_in_days: self.points_expire_in_days.map(i64::from),
            }),
            CampaignActionKind::GrantReward => {
                let id = self.reward_id.ok_or_else(required("actions.rewardId"))?;
                Ok(Action::GrantReward {
                    reward_id: RewardId::parse_as(&id, "actions.rewardId")?.get(),
                    quantity: self.quantity.unwrap_or(1),
                })
            }
            CampaignActionKind::GrantDraws => {
                let id = self.lottery_id.ok_or_else(required("actions.lotteryId"))?;
                Ok(Action::GrantDraws {
                    lottery_id: LotteryId::parse_as(&id, "actions.lotteryId")?.get(),
                    draws: self.draws.ok_or_else(required("actions.draws"))?,
                })
            }
            CampaignActionKind::AddTag => Ok(Action::AddTag {
                tag_id: tag(self.tag_id)?,
            }),
            CampaignActionKind::RemoveTag => Ok(Action::RemoveTag {
                tag_id: tag(self.tag_id)?,
            }),
            CampaignActionKind::Notify => Ok(Action::Notify {
                title: self.title.ok_or_else(required("actions.title"))?,
                body: self.body.ok_or_else(required("actions.body"))?,
            }),
        }
    }
}

/// A campaign's settings (活动设置), to create it or to change a DRAFT or PAUSED one.
#[derive(InputObject)]
pub struct CampaignInput {
    /// Name, 1–64 characters.
    name: String,
    /// The segment (人群) it reaches, as of each run; null: every member. Required for
    /// SEGMENT_ENTERED.
    segment_id: Option<ID>,
    /// When it runs.
    trigger: CampaignTriggerInput,
    /// What it does, 1–5 actions, at most one GRANT_POINTS.
    actions: Vec<CampaignActionInput>,
    /// How often one member may be reached; ONCE by default.
    #[graphql(default_with = "CampaignFrequency::Once")]
    per_member: CampaignFrequency,
    /// It runs from here (活动开始); null: from activation.
    starts_at: Option<DateTime<Utc>>,
    /// It ends here (活动结束), after `startsAt`; null: never (a ONCE campaign ends when done).
    ends_at: Option<DateTime<Utc>>,
    /// The most points it may grant in all (成本预算); null: no limit.
    budget_points: Option<i32>,
    /// The most reward units it may grant in all; null: no limit.
    budget_units: Option<i32>,
    /// The share of the audience held out as control (对照组), 0–50 percent.
    #[graphql(default)]
    holdout_percent: i32,
}

impl CampaignInput {
    fn into_settings(self) -> Result<CampaignSettings, AppError> {
        Ok(CampaignSettings {
            name: self.name,
            segment: self
                .segment_id
                .map(|id| SegmentId::parse_as(&id, "segmentId"))
                .transpose()?,
            trigger: self.trigger.into_domain()?,
            actions: self
                .actions
                .into_iter()
                .map(CampaignActionInput::into_domain)
                .collect::<Result<_, _>>()?,
            per_member: self.per_member.into(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            budget_points: self.budget_points.map(i64::from),
            budget_units: self.budget_units.map(i64::from),
            holdout_percent: self.holdout_percent,
        })
    }
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
    /// GRANT_REWARD: the reward.
    reward_id: Option<ID>,
    /// GRANT_REWARD: units per member.
    quantity: Option<i32>,
    /// GRANT_DRAWS: the lottery.
    lottery_id: Option<ID>,
    /// GRANT_DRAWS: free draws per member.
    draws: Option<i32>,
    /// ADD_TAG / REMOVE_TAG: the tag.
    tag_id: Option<ID>,
    /// NOTIFY: the notice's title.
    title: Option<String>,
    /// NOTIFY: the notice's text.
    body: Option<String>,
}

impl From<Action> for CampaignAction {
    fn from(action: Action) -> Self {
        let empty = |kind| Self {
            kind,
            points: None,
            points_expire_in_days: None,
            reward_id: None,
            quantity: None,
            lottery_id: None,
            draws: None,
            tag_id: None,
            title: None,
            body: None,
        };
        let id = |id: i64| Some(ID(id.to_string()));
        match action {
            Action::GrantPoints {
                points,
                expire_in_days,
            } => Self {
                points: Some(points),
                points_expire_in_days: expire_in_days,
                ..empty(CampaignActionKind::GrantPoints)
            },
            Action::GrantReward {
                reward_id,
                quantity,
            } => Self {
                reward_id: id(reward_id),
                quantity: Some(quantity),
                ..empty(CampaignActionKind::GrantReward)
            },
            Action::GrantDraws { lottery_id, draws } => Self {
                lottery_id: id(lottery_id),
                draws: Some(draws),
                ..empty(CampaignActionKind::GrantDraws)
            },
            Action::AddTag { tag_id } => Self {
                tag_id: id(tag_id),
                ..empty(CampaignActionKind::AddTag)
            },
            Action::RemoveTag { tag_id } => Self {
                tag_id: id(tag_id),
                ..empty(CampaignActionKind::RemoveTag)
            },
            Action::Notify { title, body } => Self {
                title: Some(title),
                body: Some(body),
                ..empty(CampaignActionKind::Notify)
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
    /// ONCE: when it runs.
    trigger_at: Option<DateTime<Utc>>,
    /// DAILY / WEEKLY / MONTHLY: the business time of day, "HH:MM".
    trigger_time: Option<String>,
    /// REGISTERED_NO_PURCHASE: days after registration.
    trigger_days: Option<i32>,
    /// How often one member may be reached.
    per_member: CampaignFrequency,
    /// It runs from here; null: from activation.
    starts_at: Option<DateTime<Utc>>,
    /// It ends here; null: never.
    ends_at: Option<DateTime<Utc>>,
    /// What it does.
    actions: Vec<CampaignAction>,
    /// The most points it may grant; null: no limit.
    budget_points: Option<i64>,
    /// Points granted so far.
    spent_points: i64,
    /// The most reward units it may grant; null: no limit.
    budget_units: Option<i64>,
    /// Reward units taken from the budget so far.
    spent_units: i64,
    /// True once a grant did not fit a budget (the campaign's or the programme's): it grants
    /// nothing more until its settings change.
    budget_exhausted: bool,
    /// The control share, in percent.
    holdout_percent: i32,
    /// Where it stands.
    status: CampaignStatus,
    /// When it was first activated: recurring and event triggers count from here (a paused
    /// campaign goes on where it stopped).
    activated_at: Option<DateTime<Utc>>,
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
            trigger_kind: c.trigger.kind.into(),
            trigger_at: c.trigger.at,
            trigger_time: c.trigger.time.map(|t| t.format("%H:%M").to_string()),
            trigger_days: c.trigger.days,
            per_member: c.per_member.into(),
            starts_at: c.starts_at,
            ends_at: c.ends_at,
            actions: c.actions.into_iter().map(Into::into).collect(),
            budget_points: c.budget_points,
            spent_points: c.spent_points,
            budget_units: c.budget_units,
            spent_units: c.spent_units,
            budget_exhausted: c.budget_exhausted,
            holdout_percent: c.holdout_percent,
            status: c.status.into(),
            activated_at: c.activated_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// What one group of a campaign did within the attribution window (7 days after each reach).
#[derive(SimpleObject)]
pub struct CampaignGroupStats {
    /// Reaches (a member at an occurrence) in the group.
    members: i64,
    /// Of them, who signed in (签到).
    signed_in_count: i64,
    /// Of them, who bought (下单), refunds excluded.
    purchased_count: i64,
    /// What they bought for, in cents (成交金额).
    purchase_amount_cents: i64,
    /// Of them, who redeemed points (兑换).
    redeemed_count: i64,
    /// Of them, who signed in or bought (回访).
    returned_count: i64,
    /// `purchasedCount ÷ members`; null when empty.
    purchase_rate: Option<f64>,
}

impl From<GroupResult> for CampaignGroupStats {
    fn from(g: GroupResult) -> Self {
        Self {
            members: g.reaches,
            signed_in_count: g.signed_in,
            purchased_count: g.purchased,
            purchase_amount_cents: g.purchase_cents,
            redeemed_count: g.redeemed,
            returned_count: g.returned,
            purchase_rate: campaign::rate(g.purchased, g.reaches),
        }
    }
}

/// What a campaign did (效果分析): reach, cost and, within the attribution window (归因窗口,
/// 7 days after each reach), what the treated and control (对照组) groups did.
#[derive(SimpleObject)]
pub struct CampaignStats {
    /// Members reached (触达人数; a member counts once per occurrence).
    reached: i64,
    /// Members held out as control (对照组).
    held_out: i64,
    /// Members skipped: frozen, or refusing marketing when the campaign only notifies.
    skipped: i64,
    /// Points granted in all (成本: 积分).
    cost_points: i64,
    /// Reward units granted in all (成本: 奖品件数).
    cost_units: i64,
    /// What the campaign cost in cents: points at the checkout rate (积分抵现比例) plus the
    /// granted rewards' `costCents`.
    cost_cents: i64,
    /// Treated members who signed in within the window.
    signed_in_count: i64,
    /// Treated members who bought within the window.
    purchased_count: i64,
    /// What they bought for, in cents (归因成交额).
    purchase_amount_cents: i64,
    /// Treated members who redeemed points within the window.
    redeemed_count: i64,
    /// The treated group.
    treated: CampaignGroupStats,
    /// The control group (held out).
    control: CampaignGroupStats,
    /// 召回率: the share of treated members who signed in or bought within the window; for
    /// BECAME_AT_RISK and BECAME_DORMANT campaigns only, null otherwise.
    recall_rate: Option<f64>,
    /// 增量: treated purchase rate − control purchase rate; null without a control group.
    uplift: Option<f64>,
    /// 投入产出比: `purchaseAmountCents ÷ costCents`; null when nothing was spent.
    roi: Option<f64>,
}

impl From<CampaignOutcomes> for CampaignStats {
    fn from(o: CampaignOutcomes) -> Self {
        Self {
            reached: o.treated.reaches,
            held_out: o.control.reaches,
            skipped: o.skipped,
            cost_points: o.cost_points,
            cost_units: o.cost_units,
            cost_cents: o.cost_cents,
            signed_in_count: o.treated.signed_in,
            purchased_count: o.treated.purchased,
            purchase_amount_cents: o.treated.purchase_cents,
            redeemed_count: o.treated.redeemed,
            treated: o.treated.into(),
            control: o.control.into(),
            recall_rate: o.recall_rate,
            uplift: o.uplift,
            roi: o.roi,
        }
    }
}

/// Who a campaign would reach now, and at what cost (活动预估).
#[derive(SimpleObject)]
pub struct CampaignPreview {
    /// Members in its audience now (its segment, or everyone).
    audience: i64,
    /// Points if every one of them is granted.
    cost_points: i64,
    /// Reward units if every one of them is granted.
    cost_units: i64,
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
        let outcomes = ctx.services().campaigns.outcomes(id).await.extend()?;
        Ok(outcomes.into())
    }

    /// Who a campaign would reach now and the cost if everyone is granted (活动预估; admins and
    /// operators). NOT_FOUND for an unknown id.
    async fn preview_campaign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign.")] id: ID,
    ) -> async_graphql::Result<CampaignPreview> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let id = CampaignId::parse(&id).extend()?;
        let services = ctx.services();
        let preview = services
            .campaigns
            .preview(&services.segments, id)
            .await
            .extend()?;
        Ok(CampaignPreview {
            audience: preview.audience,
            cost_points: preview.cost_points,
            cost_units: preview.cost_units,
        })
    }
}

#[derive(Default)]
pub struct CampaignMutation;

#[Object]
impl CampaignMutation {
    /// Creates a DRAFT campaign (新建活动; ADMIN). VALIDATION on `name`, `trigger.at`,
    /// `trigger.time`, `trigger.days`, `actions…`, `segmentId`, `endsAt`, `budgetPoints`,
    /// `budgetUnits` or `holdoutPercent`; NOT_FOUND for an unknown segment, reward or tag.
    async fn create_campaign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign.")] input: CampaignInput,
    ) -> async_graphql::Result<Campaign> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let settings = input.into_settings().extend()?;
        let services = ctx.services();
        let created = services
            .campaigns
            .create(&services.segments, settings)
            .await
            .extend()?;
        Ok(created.into())
    }

    /// Changes a DRAFT or PAUSED campaign's settings (编辑活动; ADMIN); what it already did
    /// stays, and a larger budget lets an exhausted campaign go on. Errors as
    /// `createCampaign`; CONFLICT when it is ACTIVE or ENDED.
    async fn update_campaign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The campaign.")] id: ID,
        #[graphql(desc = "Its new settings, in full.")] input: CampaignInput,
    ) -> async_graphql::Result<Campaign> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let id = CampaignId::parse(&id).extend()?;
        let settings = input.into_settings().extend()?;
        let services = ctx.services();
        let updated = services
            .campaigns
            .update(&services.segments, id, settings)
            .await
            .extend()?;
        Ok(updated.into())
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
    let services = ctx.services();
    let moved = services
        .campaigns
        .set_status(&services.segments, id, to)
        .await
        .extend()?;
    Ok(moved.into())
}
