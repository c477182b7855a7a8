//! The member card: `me`, `updateProfile`, and members as admins look them up.

use async_graphql::{Context, ID, InputObject, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::ids::{MemberId, SegmentId, TagId};
use crate::domain::member::{
    AvatarUrl, Birthday, MemberFilter, MemberProfile, MemberSearch, MemberSummary, Nickname, Phone,
    ProfileUpdate,
};
use crate::domain::paging::PageSize;
use crate::error::AppError;
use crate::graphql::connection::{Page, after_id, page};
use crate::graphql::context::ContextExt;
use crate::graphql::koc::MemberKoc;
use crate::graphql::points::MemberPoints;
use crate::graphql::scalars::Date;
use crate::graphql::segments::{LifecycleStage, MemberRfm, Tag};
use crate::graphql::tiers::MemberTier;
use crate::service::members::MemberCard;
use crate::service::points::PointsGlance;

/// A member (会员) of the programme, for the GraphQL `Member` type.
pub struct Member {
    profile: MemberProfile,
    /// The points and the rules' version when `me` read them with the profile.
    card: Option<(PointsGlance, i64)>,
}

impl From<MemberProfile> for Member {
    fn from(profile: MemberProfile) -> Self {
        Self {
            profile,
            card: None,
        }
    }
}

impl From<MemberCard> for Member {
    fn from(card: MemberCard) -> Self {
        Self {
            profile: card.profile,
            card: Some((card.points, card.rules_version)),
        }
    }
}

/// A member (会员) of the programme. Only the member themself and admins ever see one.
#[Object]
impl Member {
    /// Stable member id (会员ID).
    async fn id(&self) -> ID {
        ID(self.profile.id.to_string())
    }

    /// Display name (昵称); null until the member sets one.
    async fn nickname(&self) -> Option<&str> {
        self.profile.nickname.as_deref()
    }

    /// Avatar image URL (头像).
    async fn avatar_url(&self) -> Option<&str> {
        self.profile.avatar_url.as_deref()
    }

    /// Mobile number (手机号), unique across members: 11 digits for a mainland number,
    /// `+<country code><number>` for another one verified by WeChat.
    async fn phone(&self) -> Option<&str> {
        self.profile.phone.as_deref()
    }

    /// Whether WeChat verified the phone number (手机号已验证, `bindPhoneByWeChat`); false
    /// when the member typed it. Typing another number clears it.
    async fn phone_verified(&self) -> bool {
        self.profile.phone_verified
    }

    /// The subscribe-message templates (订阅消息) the member allows messages of, with how many
    /// are left (`recordMessageSubscriptions`). Read only when asked for.
    async fn message_consents(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<crate::graphql::messages::MessageConsent>> {
        let consents = ctx
            .services()
            .messages
            .consents(self.profile.id)
            .await
            .extend()?;
        Ok(consents.into_iter().map(Into::into).collect())
    }

    /// Birthday (生日) as `MM-DD`; set once.
    async fn birthday(&self) -> Option<&str> {
        self.profile.birthday.as_deref()
    }

    /// Whether the member is left out of leaderboards (排行榜).
    async fn hide_from_leaderboards(&self) -> bool {
        self.profile.hide_from_leaderboards
    }

    /// The member's own code for inviting friends (邀请码; 8 characters, no look-alike characters).
    async fn invite_code(&self) -> &str {
        &self.profile.invite_code
    }

    /// The member's tier (会员等级), the next one, progress and privileges.
    async fn tier(&self, ctx: &Context<'_>) -> async_graphql::Result<MemberTier> {
        let tiers = &ctx.services().tiers;
        let code = &self.profile.tier_code;
        let standing = match self.card {
            Some((_, version)) => tiers.standing_at(code, version).await,
            None => tiers.standing(code).await,
        }
        .extend()?;
        Ok(MemberTier::new(self.profile.id, standing))
    }

    /// Points (积分) balance and this month's counters.
    async fn points(&self, ctx: &Context<'_>) -> async_graphql::Result<MemberPoints> {
        let glance = match self.card {
            Some((glance, _)) => glance,
            None => ctx
                .services()
                .points
                .glance(self.profile.id)
                .await
                .extend()?,
        };
        Ok(MemberPoints::new(self.profile.id, glance))
    }

    /// The member's KOC (达人) level, score and latest application.
    async fn koc(&self, ctx: &Context<'_>) -> async_graphql::Result<MemberKoc> {
        Ok(ctx
            .services()
            .koc
            .profile(self.profile.id)
            .await
            .extend()?
            .into())
    }

    /// When the member first logged in (注册时间).
    async fn created_at(&self) -> DateTime<Utc> {
        self.profile.created_at
    }

    /// Whether an operator has frozen the member (冻结, 风控): they can log in and read, but
    /// earn and spend no points and are on no leaderboard.
    async fn frozen(&self) -> bool {
        self.profile.frozen.is_some()
    }

    /// Why and when the member was frozen; null while not frozen.
    async fn frozen_reason(&self) -> Option<&str> {
        self.profile
            .frozen
            .as_ref()
            .map(|(_, reason)| reason.as_str())
    }

    /// When the member was frozen; null while not frozen.
    async fn frozen_at(&self) -> Option<DateTime<Utc>> {
        self.profile.frozen.as_ref().map(|(at, _)| *at)
    }

    /// Whether the member refuses personalised marketing (拒绝个性化营销): no campaign
    /// reaches them. The member's own switch, in `updateProfile`.
    async fn marketing_opt_out(&self) -> bool {
        self.profile.marketing_opt_out
    }

    /// The member's badges not expired (我的勋章), newest first.
    async fn badges(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<crate::graphql::tasks::MemberBadge>> {
        crate::graphql::tasks::member_badges(ctx, self.profile.id).await
    }

    /// The badge the member shows beside their name on boards (佩戴的勋章), while they hold
    /// it; null: none.
    async fn displayed_badge(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let shown = ctx
            .services()
            .tasks
            .displayed_badge(self.profile.id)
            .await
            .extend()?;
        Ok(shown)
    }

    /// Sign-ins in the trailing 30 business days (近30天签到次数), a fact segments read; the
    /// daily facts pass drops the days that leave the window. Admins and operators only.
    #[expect(clippy::unused_async, reason = "resolvers are async")]
    async fn sign_ins_last_30_days(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        Ok(self.profile.sign_ins_30d)
    }

    /// The operators' tags on the member (标签), by name. Admins and operators only.
    async fn tags(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Tag>> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let tags = ctx
            .services()
            .tags
            .of_members(&[self.profile.id])
            .await
            .extend()?;
        Ok(tags.into_iter().map(|(_, tag)| tag.into()).collect())
    }

    /// The member's RFM standing (RFM 分析) today; null for a member who never bought. Admins
    /// and operators only.
    async fn rfm(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<MemberRfm>> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let standing = ctx
            .services()
            .segments
            .standing(self.profile.id)
            .await
            .extend()?;
        Ok(standing.rfm.map(Into::into))
    }

    /// The member's lifecycle stage (生命周期) today. Admins and operators only.
    async fn lifecycle_stage(&self, ctx: &Context<'_>) -> async_graphql::Result<LifecycleStage> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let standing = ctx
            .services()
            .segments
            .standing(self.profile.id)
            .await
            .extend()?;
        Ok(standing.stage.into())
    }
}

/// A row of the operators' member list, for the GraphQL `MemberListItem` type.
pub struct MemberListItem(MemberSummary);

impl From<MemberSummary> for MemberListItem {
    fn from(summary: MemberSummary) -> Self {
        Self(summary)
    }
}

/// A row of the operators' member list (会员列表): what a table of members shows, read from
/// the member row alone (one query per page). Open `member(id)` for the tier, points history
/// and KOC standing.
#[Object]
impl MemberListItem {
    /// Stable member id (会员ID).
    async fn id(&self) -> ID {
        ID(self.0.profile.id.to_string())
    }

    /// Display name (昵称); null until the member sets one.
    async fn nickname(&self) -> Option<&str> {
        self.0.profile.nickname.as_deref()
    }

    /// Avatar image URL (头像).
    async fn avatar_url(&self) -> Option<&str> {
        self.0.profile.avatar_url.as_deref()
    }

    /// Mobile number (手机号), 11 digits.
    async fn phone(&self) -> Option<&str> {
        self.0.profile.phone.as_deref()
    }

    /// The member's invite code (邀请码).
    async fn invite_code(&self) -> &str {
        &self.0.profile.invite_code
    }

    /// The member's tier code (会员等级): NEW, REGULAR, CORE or SEED.
    async fn tier_code(&self) -> &str {
        &self.0.profile.tier_code
    }

    /// Points the member can spend now (pending purchase points not included).
    async fn points_balance(&self) -> i64 {
        self.0.points_balance
    }

    /// Growth (成长值) ever recorded.
    async fn growth_total(&self) -> i64 {
        self.0.growth_total
    }

    /// The KOC level (达人等级), 1-3 for a KOC; null otherwise.
    async fn koc_level(&self) -> Option<i32> {
        self.0.koc_level
    }

    /// Consecutive signed days (连续签到天数) ending today or yesterday; 0 once a day is missed.
    async fn current_streak(&self) -> i32 {
        self.0.current_streak
    }

    /// The last business day the member signed in (最近签到日); null if never.
    async fn last_sign_in_day(&self) -> Option<Date> {
        self.0.last_sign_in_day.map(Date)
    }

    /// All signed days ever (累计签到天数).
    async fn total_sign_ins(&self) -> i32 {
        self.0.total_sign_ins
    }

    /// Whether the member is left out of leaderboards (排行榜).
    async fn hide_from_leaderboards(&self) -> bool {
        self.0.profile.hide_from_leaderboards
    }

    /// When the member first logged in (注册时间).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.profile.created_at
    }
}

/// Profile fields (个人资料) to change; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// Display name (昵称), 1-32 characters of letters, digits, punctuation, symbols and
    /// spaces; no control, format or direction characters (a zero-width joiner only inside an
    /// emoji).
    nickname: Option<String>,
    /// Avatar (头像): an absolute http(s) URL, at most 512 characters.
    avatar_url: Option<String>,
    /// Mobile number (手机号), mainland China; `+86`, spaces and dashes are accepted.
    phone: Option<String>,
    /// Birthday (生日) as `MM-DD`; can be set once.
    birthday: Option<String>,
    /// Leave the member out of leaderboards (排行榜).
    hide_from_leaderboards: Option<bool>,
    /// Refuse personalised marketing (拒绝个性化营销): no campaign reaches the member.
    marketing_opt_out: Option<bool>,
}

impl UpdateProfileInput {
    fn parse(self) -> Result<ProfileUpdate, AppError> {
        Ok(ProfileUpdate {
            nickname: self.nickname.as_deref().map(Nickname::parse).transpose()?,
            avatar_url: self
                .avatar_url
                .as_deref()
                .map(AvatarUrl::parse)
                .transpose()?,
            phone: self.phone.as_deref().map(Phone::parse).transpose()?,
            birthday: self.birthday.as_deref().map(Birthday::parse).transpose()?,
            hide_from_leaderboards: self.hide_from_leaderboards,
            marketing_opt_out: self.marketing_opt_out,
        })
    }
}

/// The result of `updateProfile` (修改个人资料).
#[derive(SimpleObject)]
pub struct UpdateProfilePayload {
    /// The member after the update.
    member: Member,
}

#[derive(Default)]
pub struct MemberQuery;

#[Object]
impl MemberQuery {
    /// The signed-in member (我的会员卡).
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        let member = ctx.viewer()?.member().extend()?;
        // The profile, the points and the rules' version in one read.
        let card = ctx.services().members.card(member).await.extend()?;
        Ok(card.into())
    }

    /// A member by id (会员详情; admins and operators).
    async fn member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member (会员) to open.")] id: ID,
    ) -> async_graphql::Result<Member> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let id = MemberId::parse(&id).extend()?;
        let profile = ctx.services().members.profile(id).await.extend()?;
        Ok(profile.into())
    }

    /// Members, newest first (会员列表; admins and operators). `search` matches part of a nickname
    /// (ignoring case) or phone number, or a whole invite code; `tier` keeps one tier; `koc`
    /// keeps KOCs (true) or everyone else (false). Filters combine.
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
    #[expect(
        clippy::too_many_arguments,
        reason = "each GraphQL argument is a parameter of the resolver"
    )]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            validator(chars_max_length = 64),
            desc = "Part of a nickname (any case), part of a phone number, or a whole invite code (会员搜索), at most 64 characters."
        )]
        search: Option<String>,
        #[graphql(desc = "Only members of this tier code (会员等级).")] tier: Option<String>,
        #[graphql(desc = "true: only KOCs; false: only non-KOCs; omitted: everyone.")] koc: Option<
            bool,
        >,
        #[graphql(desc = "Only members of this saved segment (人群), as of now.")]
        segment_id: Option<ID>,
        #[graphql(desc = "Only members holding this tag (标签).")] tag_id: Option<ID>,
        #[graphql(default = 20, desc = "How many items to return, 1–100 (每页条数).")] first: i32,
        #[graphql(
            desc = "Start after this cursor: the `cursor` of the last edge of the previous page (分页游标); omit for the first page."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Page<MemberListItem>> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let after = after_id(after).extend()?;
        let first = PageSize::parse(first).extend()?;
        let filter = MemberFilter {
            search: search
                .as_deref()
                .map(MemberSearch::parse)
                .transpose()
                .extend()?,
            tier_code: tier.map(|t| t.trim().to_ascii_uppercase()),
            koc,
        };
        let segment = segment_id
            .map(|id| SegmentId::parse_as(&id, "segmentId"))
            .transpose()
            .extend()?;
        let tag = tag_id
            .map(|id| TagId::parse_as(&id, "tagId"))
            .transpose()
            .extend()?;
        let services = ctx.services();
        let audience = services.segments.audience_of(segment, tag).await.extend()?;
        let (rows, has_next) = services
            .members
            .search(&filter, audience, first, after)
            .await
            .extend()?;
        Ok(page(
            rows.into_iter()
                .map(|m| (m.profile.id.get(), MemberListItem(m)))
                .collect(),
            after,
            has_next,
        ))
    }
}

#[derive(Default)]
pub struct MemberMutation;

#[Object]
impl MemberMutation {
    /// Freezes a member (冻结会员, 风控; ADMIN): they can still log in and read, but earn and
    /// spend no points, are on no leaderboard, and no campaign, task or season reward pays
    /// them. VALIDATION on `reason` (1–200 characters); NOT_FOUND for an unknown member.
    async fn freeze_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member to freeze.")] id: ID,
        #[graphql(desc = "Why (风控原因), 1–200 characters; shown to operators and the member.")]
        reason: String,
    ) -> async_graphql::Result<Member> {
        ctx.viewer()?
            .admin_for(AdminAction::AdjustPoints)
            .extend()?;
        let id = MemberId::parse(&id).extend()?;
        let profile = ctx
            .services()
            .members
            .set_frozen(id, Some(&reason))
            .await
            .extend()?;
        Ok(profile.into())
    }

    /// Unfreezes a member (解冻会员; ADMIN): they earn and spend again from the next action on.
    async fn unfreeze_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member to unfreeze.")] id: ID,
    ) -> async_graphql::Result<Member> {
        ctx.viewer()?
            .admin_for(AdminAction::AdjustPoints)
            .extend()?;
        let id = MemberId::parse(&id).extend()?;
        let profile = ctx.services().members.set_frozen(id, None).await.extend()?;
        Ok(profile.into())
    }

    /// Changes the signed-in member's profile (修改个人资料). VALIDATION (with `extensions.field`) for a
    /// bad value or a changed birthday; CONFLICT for a phone number another member uses.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The profile fields to change (个人资料); omitted fields stay as they are."
        )]
        input: UpdateProfileInput,
    ) -> async_graphql::Result<UpdateProfilePayload> {
        let member = ctx.viewer()?.member().extend()?;
        let update = input.parse().extend()?;
        let profile = ctx
            .services()
            .members
            .update_profile(member, update)
            .await
            .extend()?;
        Ok(UpdateProfilePayload {
            member: profile.into(),
        })
    }

    /// Binds the phone number WeChat verified (绑定微信手机号): `code` is what the
    /// mini-program's `getPhoneNumber` button returned. The number becomes the member's,
    /// verified; a member who had only typed it loses it. CONFLICT when another member
    /// verified it; WECHAT_API_FAILED (with `extensions.errcode`) when WeChat refuses the code.
    /// The code is used once: WeChat is not asked again after it accepted it.
    async fn bind_phone_by_we_chat(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The code of the `getPhoneNumber` button (手机号授权码), valid once for 5 minutes.",
            validator(chars_max_length = 128)
        )]
        code: String,
    ) -> async_graphql::Result<UpdateProfilePayload> {
        let member = ctx.viewer()?.member().extend()?;
        let profile = ctx
            .services()
            .members
            .bind_phone_by_wechat(member, &code)
            .await
            .extend()?;
        Ok(UpdateProfilePayload {
            member: profile.into(),
        })
    }
}
