//! The KOC programme: applications, tasks, submissions and their review.

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, InputObject, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::ids::{KocApplicationId, KocSubmissionId, KocTaskId, MemberId};
use crate::domain::koc::{self, Platform, Proof};
use crate::domain::paging::PageSize;
use crate::graphql::connection::{Page, after_id, page};
use crate::graphql::context::ContextExt;
use crate::service::koc::{Application, Award, KocProfile, Submission, TaskStatus};

macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident => $domain:path {
        $($(#[$variant_meta:meta])* $variant:ident),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Enum, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($(#[$variant_meta])* $variant),+ }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value { $(<$domain>::$variant => Self::$variant),+ }
            }
        }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => Self::$variant),+ }
            }
        }
    };
}

mirror_enum!(
    /// Where a KOC application or task submission stands (审核状态).
    KocReviewStatus => koc::ReviewStatus {
        /// Waiting for an operator's review (待审核).
        Pending,
        /// Approved (已通过): the applicant is a KOC, or the work was rewarded.
        Approved,
        /// Rejected (已驳回), with the reviewer's note; a submission may be sent again.
        Rejected,
    }
);
mirror_enum!(
    /// What a KOC task (达人任务) asks for, in rising difficulty.
    KocTaskKind => koc::TaskKind {
        /// Share brand content (转发品牌内容).
        Share,
        /// Write a product review or note (测评/笔记).
        Review,
        /// Help run the brand's community groups (协助运营社群).
        Community,
        /// Bring in people they know (推荐身边人): counts invitees who completed a first sign-in.
        Referral,
        /// Produce quality content (优质内容生产).
        Content,
        /// Drive sales (带货数量): counts purchases by the KOC's invitees.
        Sales,
    }
);
mirror_enum!(
    /// How often a task can be completed (任务周期), up to `maxCompletions` each period.
    /// Periods follow the business calendar; weeks are ISO weeks starting on Monday.
    KocTaskPeriod => koc::TaskPeriod {
        /// Once ever (一次性).
        Once,
        /// Each business day (每日).
        Daily,
        /// Each ISO week (每周).
        Weekly,
        /// Each business month (每月).
        Monthly,
    }
);
mirror_enum!(
    /// How a completion is verified (验证方式).
    KocVerification => koc::Verification {
        /// The member submits proof and an operator reviews it (人工审核).
        Manual,
        /// Completed by itself when progress reaches the target (自动完成); REFERRAL and SALES only.
        Auto,
    }
);

/// A social platform the KOC applicant publishes on (自媒体平台).
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "KocPlatformInput")]
pub struct KocPlatform {
    /// The platform's name, 1–32 characters, e.g. 小红书, 抖音, 微信视频号.
    platform: String,
    /// The applicant's account name there (账号), 1–64 characters.
    handle: String,
    /// Followers on that account (粉丝数), 0 or more.
    followers: i64,
}

impl From<Platform> for KocPlatform {
    fn from(p: Platform) -> Self {
        Self {
            platform: p.platform,
            handle: p.handle,
            followers: p.followers,
        }
    }
}

impl From<KocPlatform> for Platform {
    fn from(p: KocPlatform) -> Self {
        Self {
            platform: p.platform,
            handle: p.handle,
            followers: p.followers,
        }
    }
}

/// An application to become a KOC (达人申请, Key Opinion Consumer).
#[derive(SimpleObject)]
pub struct KocApplication {
    /// The application's id.
    id: ID,
    /// The applicant's member id.
    member_id: ID,
    /// The platforms the applicant publishes on.
    platforms: Vec<KocPlatform>,
    /// Why the member wants to be a KOC (申请理由).
    reason: String,
    /// Where the review stands.
    status: KocReviewStatus,
    /// The reviewer's note (always given for a rejection).
    note: Option<String>,
    /// When the member applied.
    created_at: DateTime<Utc>,
    /// When an operator reviewed it; null while pending.
    reviewed_at: Option<DateTime<Utc>>,
}

impl From<Application> for KocApplication {
    fn from(a: Application) -> Self {
        Self {
            id: ID(a.id.to_string()),
            member_id: ID(a.member.to_string()),
            platforms: a.platforms.into_iter().map(Into::into).collect(),
            reason: a.reason,
            status: a.status.into(),
            note: a.note,
            created_at: a.created_at,
            reviewed_at: a.reviewed_at,
        }
    }
}

/// A member's KOC standing (达人身份).
#[derive(SimpleObject)]
pub struct MemberKoc {
    /// The KOC level (达人等级), 1–3 (体验官 / 测评官 / 产品官); null when the member is not a KOC.
    level: Option<i32>,
    /// The level's name: 体验官, 测评官 or 产品官; null when the member is not a KOC.
    level_name: Option<String>,
    /// KOC score (达人积分) ever earned; the level follows it (300 → 2, 1000 → 3).
    score_total: i64,
    /// KOC score earned this business month (the KOC_MONTH board).
    score_this_month: i64,
    /// The score the next level needs; null at the top level or for non-KOCs.
    next_level_score: Option<i64>,
    /// The member's latest application.
    application: Option<KocApplication>,
}

impl From<KocProfile> for MemberKoc {
    fn from(p: KocProfile) -> Self {
        Self {
            level: p.level,
            level_name: p.level.map(|l| koc::level_name(l).to_owned()),
            score_total: p.score_total,
            score_this_month: p.score_this_month,
            next_level_score: p.level.and_then(koc::next_level_score),
            application: p.application.map(Into::into),
        }
    }
}

/// A KOC task (达人任务) as operators define it.
#[derive(SimpleObject)]
pub struct KocTask {
    /// The task's id.
    id: ID,
    /// The task's title (任务名称).
    title: String,
    /// What to do and how it is judged (任务说明); may be empty.
    description: String,
    /// What the task asks for.
    kind: KocTaskKind,
    /// Difficulty (难度), 1 (easiest) to 5.
    difficulty: i32,
    /// The lowest KOC level that may take it on, 1–3.
    min_koc_level: i32,
    /// Points (积分) per completion: not multiplied, counted toward the monthly earning cap.
    reward_points: i64,
    /// Growth (成长值) per completion, before the KOC level's coefficient.
    reward_growth: i64,
    /// KOC score (达人积分) per completion; it raises the KOC level and the KOC_MONTH board.
    reward_score: i64,
    /// How often it can be completed.
    period: KocTaskPeriod,
    /// Completions allowed per period, 1–100.
    max_completions: i32,
    /// When it opens; null for "already open".
    starts_at: Option<DateTime<Utc>>,
    /// When it closes; null for "never".
    ends_at: Option<DateTime<Utc>>,
    /// How a completion is verified.
    verification: KocVerification,
    /// AUTO tasks: invitees who completed a first sign-in (REFERRAL) or purchases by invitees
    /// (SALES) per completion.
    target: Option<i32>,
    /// False hides the task from members (下架) without losing its history.
    active: bool,
}

impl From<koc::KocTask> for KocTask {
    fn from(t: koc::KocTask) -> Self {
        Self {
            id: ID(t.id.to_string()),
            title: t.title,
            description: t.description,
            kind: t.kind.into(),
            difficulty: t.difficulty,
            min_koc_level: t.min_koc_level,
            reward_points: t.reward_points,
            reward_growth: t.reward_growth,
            reward_score: t.reward_score,
            period: t.period.into(),
            max_completions: t.max_completions,
            starts_at: t.starts_at,
            ends_at: t.ends_at,
            verification: t.verification.into(),
            target: t.target,
            active: t.active,
        }
    }
}

/// A KOC task as the signed-in member sees it now (任务进度).
#[derive(SimpleObject)]
pub struct KocTaskStatus {
    /// The task.
    task: KocTask,
    /// The period the counts are for: "once", "2026-11-22", "2026-W47" or "2026-11".
    period_key: String,
    /// Approved completions this period.
    completed: i32,
    /// Submissions awaiting review this period.
    pending: i32,
    /// Completions still open this period.
    remaining: i32,
    /// AUTO tasks: progress this period toward the next multiple of `target`.
    progress: Option<i64>,
    /// True when the member can submit work for it now.
    available: bool,
    /// Why not: NOT_KOC, INACTIVE, NOT_STARTED, ENDED, LEVEL_TOO_LOW, LIMIT_REACHED or
    /// AUTO_VERIFIED (nothing to submit: it completes itself).
    unavailable_reason: Option<String>,
}

impl From<TaskStatus> for KocTaskStatus {
    fn from(s: TaskStatus) -> Self {
        Self {
            task: s.task.into(),
            period_key: s.period_key,
            completed: s.completed,
            pending: s.pending,
            remaining: s.remaining,
            progress: s.progress,
            available: s.unavailable.is_none(),
            unavailable_reason: s.unavailable.map(|u| u.as_str().to_owned()),
        }
    }
}

/// Work on a KOC task (任务提交): submitted proof, or an AUTO completion.
#[derive(SimpleObject)]
pub struct KocSubmission {
    /// The submission's id.
    id: ID,
    /// The task's id.
    task_id: ID,
    /// The task's title, for lists.
    task_title: String,
    /// The KOC's member id.
    member_id: ID,
    /// The task period it counts for: "once", "2026-11-22", "2026-W47" or "2026-11".
    period_key: String,
    /// Where the review stands (AUTO completions are APPROVED at once).
    status: KocReviewStatus,
    /// The proof's link (作品链接), if given.
    proof_url: Option<String>,
    /// The proof's text (说明), if given.
    proof_text: Option<String>,
    /// The proof's image links (截图), up to 9.
    proof_image_urls: Vec<String>,
    /// The reviewer's note (always given for a rejection).
    note: Option<String>,
    /// 1, plus one per resubmission.
    attempts: i32,
    /// Completed by AUTO verification.
    auto: bool,
    /// When it was (last) submitted.
    submitted_at: DateTime<Utc>,
    /// When an operator reviewed it; null while pending.
    reviewed_at: Option<DateTime<Utc>>,
}

impl KocSubmission {
    fn new(s: Submission, task_title: String) -> Self {
        Self {
            id: ID(s.id.to_string()),
            task_id: ID(s.task_id.to_string()),
            task_title,
            member_id: ID(s.member.to_string()),
            period_key: s.period_key,
            status: s.status.into(),
            proof_url: s.proof.url,
            proof_text: s.proof.text,
            proof_image_urls: s.proof.image_urls,
            note: s.note,
            attempts: s.attempts,
            auto: s.auto,
            submitted_at: s.submitted_at,
            reviewed_at: s.reviewed_at,
        }
    }
}

/// Proof of a MANUAL task (任务凭证): a URL, a text, images, or any mix; at least one.
#[derive(InputObject)]
pub struct KocProofInput {
    /// A link to the work (作品链接): http(s), at most 512 characters.
    url: Option<String>,
    /// A text about the work (说明), at most 2000 characters.
    text: Option<String>,
    /// Links to screenshots (截图): up to 9 http(s) URLs of at most 512 characters.
    #[graphql(default)]
    image_urls: Vec<String>,
}

impl From<KocProofInput> for Proof {
    fn from(p: KocProofInput) -> Self {
        Self {
            url: p.url,
            text: p.text,
            image_urls: p.image_urls,
        }
    }
}

/// A KOC task's fields (达人任务), for creating or replacing one.
#[derive(InputObject)]
pub struct KocTaskInput {
    /// The title (任务名称), 1–128 characters.
    title: String,
    /// What to do and how it is judged (任务说明), at most 2000 characters.
    #[graphql(default)]
    description: String,
    /// What the task asks for.
    kind: KocTaskKind,
    /// Difficulty (难度), 1–5.
    #[graphql(default = 1)]
    difficulty: i32,
    /// The lowest KOC level that may take it on, 1–3.
    #[graphql(default = 1)]
    min_koc_level: i32,
    /// Points (积分) per completion, 0–1,000,000.
    reward_points: i64,
    /// Growth (成长值) per completion, 0–1,000,000, before the KOC level's coefficient.
    #[graphql(default)]
    reward_growth: i64,
    /// KOC score (达人积分) per completion, 0–1,000,000.
    #[graphql(default)]
    reward_score: i64,
    /// How often it can be completed.
    period: KocTaskPeriod,
    /// Completions allowed per period, 1–100.
    #[graphql(default = 1)]
    max_completions: i32,
    /// When it opens; omit for "at once".
    starts_at: Option<DateTime<Utc>>,
    /// When it closes, after `startsAt`; omit for "never".
    ends_at: Option<DateTime<Utc>>,
    /// How a completion is verified; AUTO only for REFERRAL and SALES.
    #[graphql(default_with = "KocVerification::Manual")]
    verification: KocVerification,
    /// AUTO tasks only: progress per completion, 1–10,000.
    target: Option<i32>,
    /// False keeps the task hidden from members (下架).
    #[graphql(default = true)]
    active: bool,
}

impl KocTaskInput {
    fn into_task(self, id: i64) -> koc::KocTask {
        koc::KocTask {
            id,
            title: self.title,
            description: self.description,
            kind: self.kind.into(),
            difficulty: self.difficulty,
            min_koc_level: self.min_koc_level,
            reward_points: self.reward_points,
            reward_growth: self.reward_growth,
            reward_score: self.reward_score,
            period: self.period.into(),
            max_completions: self.max_completions,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            verification: self.verification.into(),
            target: self.target,
            active: self.active,
        }
    }
}

/// The result of `reviewKocSubmission` (审核结果).
#[derive(SimpleObject)]
pub struct ReviewKocSubmissionPayload {
    /// The submission as reviewed.
    submission: KocSubmission,
    /// Points credited (after the monthly cap); 0 for a rejection.
    points_awarded: i64,
    /// Growth recorded (after the KOC coefficient).
    growth_awarded: i64,
    /// KOC score (达人积分) awarded; 0 for a rejection.
    score_awarded: i64,
}

/// Dresses submissions with their task titles (one query per page).
async fn with_titles(
    ctx: &Context<'_>,
    submissions: Vec<Submission>,
) -> async_graphql::Result<Vec<(i64, KocSubmission)>> {
    let mut ids: Vec<i64> = submissions.iter().map(|s| s.task_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let titles: HashMap<i64, String> = ctx
        .services()
        .koc
        .tasks_by_id(&ids)
        .await
        .extend()?
        .into_iter()
        .map(|t| (t.id, t.title))
        .collect();
    Ok(submissions
        .into_iter()
        .map(|s| {
            let title = titles.get(&s.task_id).cloned().unwrap_or_default();
            (s.id, KocSubmission::new(s, title))
        })
        .collect())
}

/// Dresses one submission with its task title.
async fn with_title(
    ctx: &Context<'_>,
    submission: Submission,
) -> async_graphql::Result<KocSubmission> {
    with_titles(ctx, vec![submission])
        .await?
        .pop()
        .map(|(_, s)| s)
        .ok_or_else(|| "submission vanished".into())
}

#[derive(Default)]
pub struct KocQuery;

#[Object]
impl KocQuery {
    /// The signed-in member's KOC level, score and latest application (我的达人身份).
    async fn my_koc(&self, ctx: &Context<'_>) -> async_graphql::Result<MemberKoc> {
        let member = ctx.viewer()?.member().extend()?;
        Ok(ctx.services().koc.profile(member).await.extend()?.into())
    }

    /// Active KOC tasks for the signed-in member, easiest first (达人任务): progress, completions left
    /// this period, and why a task is unavailable.
    async fn koc_tasks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<KocTaskStatus>> {
        let member = ctx.viewer()?.member().extend()?;
        let tasks = ctx.services().koc.tasks_for(member).await.extend()?;
        Ok(tasks.into_iter().map(Into::into).collect())
    }

    /// Every KOC task, retired ones included (达人任务管理; admins and operators).
    async fn all_koc_tasks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<KocTask>> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let tasks = ctx.services().koc.all_tasks().await.extend()?;
        Ok(tasks.into_iter().map(Into::into).collect())
    }

    /// The signed-in member's task submissions, oldest first (我的任务提交).
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn my_koc_submissions(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
        #[graphql(
            desc = "Start after this cursor: the `cursor` of the last edge of the previous page (分页游标); omit for the first page."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Page<KocSubmission>> {
        let member = ctx.viewer()?.member().extend()?;
        submissions(ctx, Some(member), None, first, after).await
    }

    /// KOC applications, oldest first (达人申请审核): the review queue with `status: PENDING` (admins and
    /// operators).
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn koc_applications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only applications in this state (审核状态); every state when omitted.")]
        status: Option<KocReviewStatus>,
        #[graphql(default = 20, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
        #[graphql(
            desc = "Start after this cursor: the `cursor` of the last edge of the previous page (分页游标); omit for the first page."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Page<KocApplication>> {
        ctx.viewer()?.admin_for(AdminAction::Review).extend()?;
        let after = after_id(after).extend()?;
        let first = PageSize::parse(first).extend()?;
        let (rows, has_next) = ctx
            .services()
            .koc
            .applications(status.map(Into::into), first, after)
            .await
            .extend()?;
        Ok(page(
            rows.into_iter().map(|a| (a.id, a.into())).collect(),
            after,
            has_next,
        ))
    }

    /// Task submissions of every member, oldest first (任务提交审核): the review queue with
    /// `status: PENDING` (admins and operators).
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    async fn koc_submissions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only submissions in this state (审核状态); every state when omitted.")]
        status: Option<KocReviewStatus>,
        #[graphql(default = 20, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
        #[graphql(
            desc = "Start after this cursor: the `cursor` of the last edge of the previous page (分页游标); omit for the first page."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Page<KocSubmission>> {
        ctx.viewer()?.admin_for(AdminAction::Review).extend()?;
        submissions(ctx, None, status, first, after).await
    }
}

async fn submissions(
    ctx: &Context<'_>,
    member: Option<MemberId>,
    status: Option<KocReviewStatus>,
    first: i32,
    after: Option<String>,
) -> async_graphql::Result<Page<KocSubmission>> {
    let after = after_id(after).extend()?;
    let first = PageSize::parse(first).extend()?;
    let (rows, has_next) = ctx
        .services()
        .koc
        .submissions(member, status.map(Into::into), first, after)
        .await
        .extend()?;
    Ok(page(with_titles(ctx, rows).await?, after, has_next))
}

#[derive(Default)]
pub struct KocMutation;

#[Object]
impl KocMutation {
    /// Applies to be a KOC (申请成为达人): KOC_NOT_ELIGIBLE below the required tier
    /// (extensions.requiredTier); CONFLICT for a KOC or while an application is open.
    async fn apply_koc(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's social accounts (社交平台账号), 1–10.")] platforms: Vec<
            KocPlatform,
        >,
        #[graphql(
            validator(chars_max_length = 500),
            desc = "Why they want to be a KOC (申请理由), 1–500 characters."
        )]
        reason: String,
    ) -> async_graphql::Result<KocApplication> {
        let member = ctx.viewer()?.member().extend()?;
        let platforms = platforms.into_iter().map(Into::into).collect();
        Ok(ctx
            .services()
            .koc
            .apply(member, platforms, &reason)
            .await
            .extend()?
            .into())
    }

    /// Approves or rejects a pending application (审核达人申请; admins and operators); a rejection needs
    /// a note. The member gets an inbox notice.
    async fn review_koc_application(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The KOC application (KOC申请) to decide.")] id: ID,
        #[graphql(desc = "true approves, false rejects.")] approve: bool,
        #[graphql(desc = "The operator's note to the member; required for a rejection.")]
        note: Option<String>,
    ) -> async_graphql::Result<KocApplication> {
        let (admin, _) = ctx.viewer()?.admin_for(AdminAction::Review).extend()?;
        let id = KocApplicationId::parse(&id).extend()?;
        Ok(ctx
            .services()
            .koc
            .review_application(admin, id, approve, note.as_deref())
            .await
            .extend()?
            .into())
    }

    /// Submits proof for a MANUAL task (提交达人任务): KOC_REQUIRED for non-KOCs; TASK_UNAVAILABLE when
    /// the task is closed, above the member's level, AUTO, or used up this period.
    async fn submit_koc_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The KOC task (KOC任务) done.")] task_id: ID,
        #[graphql(desc = "The proof (任务凭证): a URL, text and up to 9 images.")]
        proof: KocProofInput,
    ) -> async_graphql::Result<KocSubmission> {
        let member = ctx.viewer()?.member().extend()?;
        let task_id = KocTaskId::parse_as(&task_id, "taskId").extend()?;
        let submission = ctx
            .services()
            .koc
            .submit(member, task_id, proof.into())
            .await
            .extend()?;
        with_title(ctx, submission).await
    }

    /// Sends a rejected submission back for review with new proof (重新提交任务).
    async fn resubmit_koc_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rejected submission to send again.")] submission_id: ID,
        #[graphql(desc = "The new proof (任务凭证).")] proof: KocProofInput,
    ) -> async_graphql::Result<KocSubmission> {
        let member = ctx.viewer()?.member().extend()?;
        let id = KocSubmissionId::parse_as(&submission_id, "submissionId").extend()?;
        let submission = ctx
            .services()
            .koc
            .resubmit(member, id, proof.into())
            .await
            .extend()?;
        with_title(ctx, submission).await
    }

    /// Approves (paying the task's points, growth and KOC score) or rejects (with a note) a
    /// pending submission (审核任务提交; admins and operators). The member gets an inbox notice.
    async fn review_koc_submission(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The KOC submission (任务提交) to decide.")] id: ID,
        #[graphql(desc = "true approves and pays the task's rewards, false rejects.")]
        approve: bool,
        #[graphql(desc = "The operator's note to the member; required for a rejection.")]
        note: Option<String>,
    ) -> async_graphql::Result<ReviewKocSubmissionPayload> {
        let (admin, _) = ctx.viewer()?.admin_for(AdminAction::Review).extend()?;
        let id = KocSubmissionId::parse(&id).extend()?;
        let (
            submission,
            Award {
                points,
                growth,
                score,
            },
        ) = ctx
            .services()
            .koc
            .review_submission(admin, id, approve, note.as_deref())
            .await
            .extend()?;
        let submission = with_title(ctx, submission).await?;
        Ok(ReviewKocSubmissionPayload {
            submission,
            points_awarded: points,
            growth_awarded: growth,
            score_awarded: score,
        })
    }

    /// Adds a KOC task (新建达人任务; ADMIN).
    async fn create_koc_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The KOC task to create (KOC任务).")] input: KocTaskInput,
    ) -> async_graphql::Result<KocTask> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let task = ctx
            .services()
            .koc
            .create_task(input.into_task(0))
            .await
            .extend()?;
        Ok(task.into())
    }

    /// Replaces a KOC task's fields (修改达人任务; ADMIN); applies from the next action on.
    async fn update_koc_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The KOC task to change.")] id: ID,
        #[graphql(desc = "The task's new fields (all of them).")] input: KocTaskInput,
    ) -> async_graphql::Result<KocTask> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let id = KocTaskId::parse(&id).extend()?;
        let task = ctx
            .services()
            .koc
            .update_task(input.into_task(id.get()))
            .await
            .extend()?;
        Ok(task.into())
    }

    /// Deletes a task nobody has worked on (删除达人任务; ADMIN); CONFLICT otherwise (retire it with
    /// `active: false`).
    async fn delete_koc_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The KOC task to delete; only one without submissions.")] id: ID,
    ) -> async_graphql::Result<bool> {
        ctx.viewer()?.admin_for(AdminAction::ManageRules).extend()?;
        let id = KocTaskId::parse(&id).extend()?;
        ctx.services().koc.delete_task(id).await.extend()?;
        Ok(true)
    }
}
