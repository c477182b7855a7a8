//! Member events, the task centre and badges (任务中心 / 新手任务 / 成就 / 勋章): event types
//! and events, tasks and each member's progress, claims, badges.

use async_graphql::{Context, Enum, ID, InputObject, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::ids::{LotteryId, MemberId, RewardId, SegmentId, TaskId};
use crate::domain::task::{self, TaskReward};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::service::tasks::{Completion, EventOutcome, MemberTask};

/// A kind of task (任务类型), and so its period.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::task::TaskCategory")]
pub enum TaskCategory {
    /// 新手任务: once per member; period key `ONCE`.
    Newbie,
    /// 每日任务: every business day; period key `2026-03-03`.
    Daily,
    /// 每周任务: every ISO week; period key `2026-W10`.
    Weekly,
    /// 每月任务: every month; period key `2026-03`.
    Monthly,
    /// 成就: once (`ONCE`), or when `repeating` at every new multiple of the target (`R1`,
    /// `R2`, …).
    Achievement,
}

/// What a task adds up (任务目标).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::task::TaskGoal")]
pub enum TaskGoal {
    /// The number of events.
    Count,
    /// The sum of the events' `value` (e.g. minutes watched, yuan spent).
    Sum,
}

/// How a completed task pays (领取方式).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::task::ClaimMode")]
pub enum TaskClaimMode {
    /// 自动发放: paid in the transaction of the event that reached the goal.
    Auto,
    /// 手动领取: the member claims it with `claimTaskReward` before the period ends; unclaimed
    /// rewards lapse.
    Claim,
}

/// Where a member stands on a task in a period (任务状态).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::task::TaskStatus")]
pub enum TaskStatus {
    /// 进行中.
    InProgress,
    /// 待领取: complete, waiting for `claimTaskReward`.
    Claimable,
    /// 已完成: complete and paid.
    Done,
    /// 已过期: the period ended before the goal or the claim.
    Expired,
}

/// A kind of member event tasks count (事件类型).
#[derive(SimpleObject)]
pub struct EventType {
    /// The code events name, e.g. `SHARE`.
    code: String,
    /// Its name.
    name: String,
    /// Members may report it themselves with `reportEvent` (keep its rewards small: members
    /// can farm what they report).
    member_reportable: bool,
    /// How many a member may report per business day; null: no limit.
    daily_limit_per_member: Option<i32>,
    /// Emitted by membercard itself (SIGN_IN, PURCHASE, PROFILE_COMPLETED, PHONE_BOUND,
    /// REFERRAL_COMPLETED, INVITEE_PURCHASE, REDEMPTION, KOC_TASK_APPROVED); integrations
    /// cannot record it.
    built_in: bool,
}

impl From<task::EventType> for EventType {
    fn from(t: task::EventType) -> Self {
        Self {
            code: t.code,
            name: t.name,
            member_reportable: t.member_reportable,
            daily_limit_per_member: t.daily_limit,
            built_in: t.built_in,
        }
    }
}

/// A new event type (新建事件类型).
#[derive(InputObject)]
pub struct EventTypeInput {
    /// 2–32 of A–Z, 0–9 and _.
    code: String,
    /// 1–32 characters.
    name: String,
    /// Members may report it themselves.
    #[graphql(default)]
    member_reportable: bool,
    /// How many a member may report per business day, 1–1000; null: no limit.
    daily_limit_per_member: Option<i32>,
}

/// A task (任务), as operators define it.
#[derive(SimpleObject)]
pub struct Task {
    /// The task's id.
    id: ID,
    /// Its title (任务名称).
    title: String,
    /// What to do (任务说明).
    description: String,
    /// Its icon's URL.
    icon_url: Option<String>,
    /// Its kind, and so its period.
    category: TaskCategory,
    /// The event type it counts.
    event_type: String,
    /// Count of events or sum of their values.
    goal: TaskGoal,
    /// The count or sum to reach (per day, with `consecutiveDays`).
    target: i64,
    /// The target must be met on this many consecutive business days (连续); null: no run.
    consecutive_days: Option<i32>,
    /// An ACHIEVEMENT that pays again at every new multiple of its goal.
    repeating: bool,
    /// The lowest tier that sees it; null: every tier.
    min_tier: Option<String>,
    /// The lowest KOC level that sees it; null: everyone.
    min_koc_level: Option<i32>,
    /// The segment (人群) that sees it; null: everyone.
    segment_id: Option<ID>,
    /// Open from here; null: already.
    starts_at: Option<DateTime<Utc>>,
    /// Open until here; null: no end.
    ends_at: Option<DateTime<Utc>>,
    /// `TASK` points paid (not multiplied; counted toward the monthly earning cap).
    reward_points: i64,
    /// Growth paid (times the KOC coefficient).
    reward_growth: i64,
    /// One unit of this reward, granted.
    reward_id: Option<ID>,
    /// A badge given.
    badge_code: Option<String>,
    /// Free lottery draws given.
    reward_draws: Option<RewardDraws>,
    /// How it pays.
    claim_mode: TaskClaimMode,
    /// False: closed to everyone.
    active: bool,
}

impl From<task::Task> for Task {
    fn from(t: task::Task) -> Self {
        Self {
            id: ID(t.id.to_string()),
            title: t.title,
            description: t.description,
            icon_url: t.icon_url,
            category: t.category.into(),
            event_type: t.event_type,
            goal: t.goal.into(),
            target: t.target,
            consecutive_days: t.consecutive_days,
            repeating: t.repeating,
            min_tier: t.min_tier,
            min_koc_level: t.min_koc_level,
            segment_id: t.segment_id.map(|id| ID(id.to_string())),
            starts_at: t.starts_at,
            ends_at: t.ends_at,
            reward_points: t.reward.points,
            reward_growth: t.reward.growth,
            reward_id: t.reward.reward_id.map(|id| ID(id.to_string())),
            badge_code: t.reward.badge_code,
            reward_draws: t.reward.draws.map(|(lottery, draws)| RewardDraws {
                lottery_id: ID(lottery.to_string()),
                draws,
            }),
            claim_mode: t.claim_mode.into(),
            active: t.active,
        }
    }
}

/// A task's settings (任务设置).
#[derive(InputObject)]
pub struct TaskInput {
    /// 1–64 characters.
    title: String,
    /// At most 500 characters.
    #[graphql(default)]
    description: String,
    /// At most 512 characters.
    icon_url: Option<String>,
    /// Its kind.
    category: TaskCategory,
    /// The event type it counts (an existing code).
    event_type: String,
    /// COUNT by default.
    #[graphql(default_with = "TaskGoal::Count")]
    goal: TaskGoal,
    /// 1–1,000,000.
    target: i64,
    /// 2–366 consecutive business days on which the target must be met; NEWBIE and
    /// ACHIEVEMENT only.
    consecutive_days: Option<i32>,
    /// ACHIEVEMENT only: pays again at every new multiple of the goal.
    #[graphql(default)]
    repeating: bool,
    /// The lowest tier code that sees it.
    min_tier: Option<String>,
    /// The lowest KOC level (1–3) that sees it.
    min_koc_level: Option<i32>,
    /// The segment that sees it.
    segment_id: Option<ID>,
    /// Open from here.
    starts_at: Option<DateTime<Utc>>,
    /// Open until here, after `startsAt`.
    ends_at: Option<DateTime<Utc>>,
    /// `TASK` points, 0–100,000.
    #[graphql(default)]
    reward_points: i64,
    /// Growth, 0–100,000.
    #[graphql(default)]
    reward_growth: i64,
    /// One unit of this reward, granted.
    reward_id: Option<ID>,
    /// A badge given (an existing code).
    badge_code: Option<String>,
    /// Free draws of a lottery given (1–100).
    reward_draws: Option<RewardDraws>,
    /// AUTO by default.
    #[graphql(default_with = "TaskClaimMode::Auto")]
    claim_mode: TaskClaimMode,
    /// False closes it.
    #[graphql(default = true)]
    active: bool,
}

impl TaskInput {
    fn into_task(self, id: i64) -> Result<task::Task, AppError> {
        Ok(task::Task {
            id,
            title: self.title,
            description: self.description,
            icon_url: self.icon_url,
            category: self.category.into(),
            event_type: self.event_type,
            goal: self.goal.into(),
            target: self.target,
            consecutive_days: self.consecutive_days,
            repeating: self.repeating,
            min_tier: self.min_tier,
            min_koc_level: self.min_koc_level,
            segment_id: self
                .segment_id
                .map(|id| SegmentId::parse_as(&id, "segmentId").map(SegmentId::get))
                .transpose()?,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            reward: TaskReward {
                points: self.reward_points,
                growth: self.reward_growth,
                reward_id: self
                    .reward_id
                    .map(|id| RewardId::parse_as(&id, "rewardId").map(RewardId::get))
                    .transpose()?,
                badge_code: self.badge_code,
                draws: self
                    .reward_draws
                    .map(|d| {
                        LotteryId::parse_as(&d.lottery_id, "rewardDraws.lotteryId")
                            .map(|lottery| (lottery.get(), d.draws))
                    })
                    .transpose()?,
            },
            claim_mode: self.claim_mode.into(),
            active: self.active,
        })
    }
}

/// Free draws of a lottery a task gives (抽奖次数).
#[derive(InputObject, SimpleObject)]
#[graphql(input_name = "RewardDrawsInput")]
pub struct RewardDraws {
    /// The lottery.
    lottery_id: ID,
    /// How many free draws, 1–100.
    draws: i32,
}

impl RewardDraws {
    pub(crate) fn new(lottery: i64, draws: i32) -> Self {
        Self {
            lottery_id: ID(lottery.to_string()),
            draws,
        }
    }

    /// (lottery id, draws).
    pub(crate) fn parse(self) -> Result<(i64, i32), AppError> {
        let lottery = LotteryId::parse_as(&self.lottery_id, "rewardDraws.lotteryId")?;
        Ok((lottery.get(), self.draws))
    }
}

/// A task in the member's task centre (任务中心), with where they stand this period.
#[derive(SimpleObject)]
pub struct MemberTaskView {
    /// The task and its reward.
    task: Task,
    /// The period this progress belongs to (`ONCE`, `2026-03-03`, `2026-W10`, `2026-03`, `R<n>`);
    /// `claimTaskReward` takes it.
    period_key: String,
    /// The count or sum so far; for a consecutive-days goal, the days in a row.
    progress: i64,
    /// What `progress` must reach.
    target: i64,
    /// Where the member stands.
    status: TaskStatus,
    /// When the period ends (unclaimed rewards lapse then); null: never.
    period_ends_at: Option<DateTime<Utc>>,
}

impl From<MemberTask> for MemberTaskView {
    fn from(t: MemberTask) -> Self {
        Self {
            task: t.task.into(),
            period_key: t.period_key,
            progress: t.progress,
            target: t.target,
            status: t.status.into(),
            period_ends_at: t.period_ends_at,
        }
    }
}

/// A task an event completed.
#[derive(SimpleObject)]
pub struct CompletedTask {
    /// The task.
    task_id: ID,
    /// The period it completed.
    period_key: String,
    /// True: paid now (AUTO); false: waiting for `claimTaskReward`.
    paid: bool,
}

impl From<Completion> for CompletedTask {
    fn from(c: Completion) -> Self {
        Self {
            task_id: ID(c.task_id.to_string()),
            period_key: c.period_key,
            paid: c.paid,
        }
    }
}

/// What recording an event did.
#[derive(SimpleObject)]
pub struct EventResult {
    /// True when the idempotency key was used before: nothing counted again.
    replayed: bool,
    /// The tasks this event completed.
    completed_tasks: Vec<CompletedTask>,
}

impl From<EventOutcome> for EventResult {
    fn from(o: EventOutcome) -> Self {
        Self {
            replayed: o.replayed,
            completed_tasks: o.completed.into_iter().map(Into::into).collect(),
        }
    }
}

/// A badge (勋章).
#[derive(SimpleObject)]
pub struct Badge {
    /// Its code, e.g. `PERSEVERANCE`.
    code: String,
    /// Its name.
    name: String,
    /// Its icon's URL.
    icon_url: Option<String>,
    /// Days a grant lasts; null: forever.
    valid_days: Option<i32>,
}

impl From<task::Badge> for Badge {
    fn from(b: task::Badge) -> Self {
        Self {
            code: b.code,
            name: b.name,
            icon_url: b.icon_url,
            valid_days: b.valid_days,
        }
    }
}

/// A badge a member holds.
#[derive(SimpleObject)]
pub struct MemberBadge {
    /// The badge.
    badge: Badge,
    /// When it was (last) given.
    granted_at: DateTime<Utc>,
    /// When it lapses; null: never.
    expires_at: Option<DateTime<Utc>>,
}

/// A new badge (新建勋章).
#[derive(InputObject)]
pub struct BadgeInput {
    /// 2–32 of A–Z, 0–9 and _.
    code: String,
    /// 1–32 characters.
    name: String,
    /// At most 512 characters.
    icon_url: Option<String>,
    /// Days a grant lasts, 1–3660; null: forever (每周之星 might last 7).
    valid_days: Option<i32>,
}

#[derive(Default)]
pub struct TaskQuery;

#[Object]
impl TaskQuery {
    /// Every event type (事件类型; admins and operators).
    async fn event_types(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EventType>> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let all = ctx.services().tasks.event_types().await.extend()?;
        Ok(all.into_iter().map(Into::into).collect())
    }

    /// The signed-in member's task centre (任务中心): every open task they qualify for, with
    /// their progress this period.
    async fn tasks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MemberTaskView>> {
        let member = ctx.viewer()?.member().extend()?;
        let tasks = ctx.services().tasks.for_member(member).await.extend()?;
        Ok(tasks.into_iter().map(Into::into).collect())
    }

    /// Every task, open or not (任务管理; admins and operators).
    async fn all_tasks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Task>> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let all = ctx.services().tasks.all().await.extend()?;
        Ok(all.into_iter().map(Into::into).collect())
    }

    /// Every badge (勋章; public).
    async fn badges(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Badge>> {
        let all = ctx.services().tasks.badges().await.extend()?;
        Ok(all.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct TaskMutation;

#[Object]
impl TaskMutation {
    /// Adds an event type (新建事件类型; ADMIN). VALIDATION by field; CONFLICT for a code taken.
    async fn create_event_type(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The event type.")] input: EventTypeInput,
    ) -> async_graphql::Result<EventType> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let new = task::EventType {
            code: input.code.trim().to_owned(),
            name: input.name,
            member_reportable: input.member_reportable,
            daily_limit: input.daily_limit_per_member,
            built_in: false,
        };
        let created = ctx.services().tasks.create_event_type(new).await.extend()?;
        Ok(created.into())
    }

    /// Records a member's event (记录会员事件; ADMIN integration), idempotent by the member's
    /// key, counted in the period of `occurredAt`. VALIDATION on `type` (unknown, or built in),
    /// `value`, `occurredAt` (more than 5 minutes ahead) or `idempotencyKey`; CONFLICT for a
    /// key reused with another event.
    async fn record_member_event(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member.")] member_id: ID,
        #[graphql(name = "type", desc = "The event type's code.")] event_type: String,
        #[graphql(desc = "The event's value, 0–1,000,000 (minutes, yuan…); 1 when omitted.")]
        value: Option<i64>,
        #[graphql(desc = "When it happened; now when omitted.")] occurred_at: Option<DateTime<Utc>>,
        #[graphql(desc = "The integration's key, 1–64 characters, unique per member.")]
        idempotency_key: String,
    ) -> async_graphql::Result<EventResult> {
        ctx.viewer()?
            .admin_for(AdminAction::Integrations)
            .extend()?;
        let member = MemberId::parse_as(&member_id, "memberId").extend()?;
        let outcome = ctx
            .services()
            .tasks
            .record(
                member,
                &event_type,
                value.unwrap_or(1),
                occurred_at,
                &idempotency_key,
            )
            .await
            .extend()?;
        Ok(outcome.into())
    }

    /// Reports an event the member did (上报事件, e.g. SHARE). FORBIDDEN for a type members
    /// may not report; EVENT_LIMIT_REACHED past its daily limit; a replayed key returns
    /// `replayed: true`.
    async fn report_event(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "type", desc = "The event type's code.")] event_type: String,
        #[graphql(desc = "The client's key, 1–64 characters: a retry counts once.")]
        idempotency_key: String,
    ) -> async_graphql::Result<EventResult> {
        let member = ctx.viewer()?.member().extend()?;
        let outcome = ctx
            .services()
            .tasks
            .report(member, &event_type, &idempotency_key)
            .await
            .extend()?;
        Ok(outcome.into())
    }

    /// Creates a task (新建任务; ADMIN). VALIDATION by field; NOT_FOUND for an unknown event
    /// type, tier, segment, reward or badge.
    async fn create_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] input: TaskInput,
    ) -> async_graphql::Result<Task> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let t = input.into_task(0).extend()?;
        let services = ctx.services();
        let saved = services.tasks.save(&services.segments, t).await.extend()?;
        Ok(saved.into())
    }

    /// Rewrites a task's settings (编辑任务; ADMIN); progress already made stays. Errors as
    /// `createTask`, and NOT_FOUND for an unknown task.
    async fn update_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] id: ID,
        #[graphql(desc = "Its new settings, in full.")] input: TaskInput,
    ) -> async_graphql::Result<Task> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let id = TaskId::parse_as(&id, "id").extend()?;
        let t = input.into_task(id.get()).extend()?;
        let services = ctx.services();
        let saved = services.tasks.save(&services.segments, t).await.extend()?;
        Ok(saved.into())
    }

    /// Claims a completed CLAIM task's reward (领取任务奖励). TASK_NOT_CLAIMABLE when the
    /// period is not complete, was claimed, or has ended; NOT_FOUND for an unknown task.
    async fn claim_task_reward(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task.")] task_id: ID,
        #[graphql(desc = "The period, as `tasks` shows it.")] period_key: String,
    ) -> async_graphql::Result<Task> {
        let member = ctx.viewer()?.member().extend()?;
        let task_id = TaskId::parse(&task_id).extend()?;
        let claimed = ctx
            .services()
            .tasks
            .claim(member, task_id.get(), &period_key)
            .await
            .extend()?;
        Ok(claimed.into())
    }

    /// Creates a badge (新建勋章; ADMIN). VALIDATION by field; CONFLICT for a code taken.
    async fn create_badge(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The badge.")] input: BadgeInput,
    ) -> async_graphql::Result<Badge> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let badge = task::Badge {
            code: input.code.trim().to_owned(),
            name: input.name,
            icon_url: input.icon_url,
            valid_days: input.valid_days,
        };
        let created = ctx.services().tasks.create_badge(badge).await.extend()?;
        Ok(created.into())
    }

    /// Gives a member a badge by hand (颁发勋章; ADMIN); a badge held again is renewed.
    /// NOT_FOUND for an unknown member or badge.
    async fn grant_badge(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member.")] member_id: ID,
        #[graphql(desc = "The badge's code.")] code: String,
    ) -> async_graphql::Result<bool> {
        ctx.viewer()?
            .admin_for(AdminAction::AdjustPoints)
            .extend()?;
        let member = MemberId::parse_as(&member_id, "memberId").extend()?;
        ctx.services()
            .tasks
            .grant_badge(member, &code)
            .await
            .extend()?;
        Ok(true)
    }

    /// Picks the badge shown beside the member's name on boards (佩戴勋章); null shows none.
    /// VALIDATION on `code` for a badge the member does not hold.
    async fn set_displayed_badge(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A badge the member holds; null: none.")] code: Option<String>,
    ) -> async_graphql::Result<Option<String>> {
        let member = ctx.viewer()?.member().extend()?;
        let services = ctx.services();
        services
            .tasks
            .set_displayed_badge(member, code.as_deref())
            .await
            .extend()?;
        Ok(code)
    }
}

/// The member's badges not expired, for `Member.badges`.
pub(crate) async fn member_badges(
    ctx: &Context<'_>,
    member: MemberId,
) -> async_graphql::Result<Vec<MemberBadge>> {
    let held = ctx.services().tasks.member_badges(member).await.extend()?;
    Ok(held
        .into_iter()
        .map(|(badge, granted_at, expires_at)| MemberBadge {
            badge: badge.into(),
            granted_at,
            expires_at,
        })
        .collect())
}
