//! The member card: `me`, `updateProfile`, and members as admins look them up.

use async_graphql::{Context, ID, InputObject, Object, ResultExt, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::ids::MemberId;
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
use crate::graphql::tiers::MemberTier;

/// A member of the programme. Only the member themself and admins ever see one.
pub struct Member(MemberProfile);

impl From<MemberProfile> for Member {
    fn from(profile: MemberProfile) -> Self {
        Self(profile)
    }
}

#[Object]
impl Member {
    /// Stable member id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Display name; null until the member sets one.
    async fn nickname(&self) -> Option<&str> {
        self.0.nickname.as_deref()
    }

    /// Avatar image URL.
    async fn avatar_url(&self) -> Option<&str> {
        self.0.avatar_url.as_deref()
    }

    /// Mobile number (11 digits), unique across members.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    /// Birthday as `MM-DD`; set once.
    async fn birthday(&self) -> Option<&str> {
        self.0.birthday.as_deref()
    }

    /// Whether the member is left out of leaderboards.
    async fn hide_from_leaderboards(&self) -> bool {
        self.0.hide_from_leaderboards
    }

    /// The member's own code for inviting friends (8 characters, no look-alike characters).
    async fn invite_code(&self) -> &str {
        &self.0.invite_code
    }

    /// The member's tier, the next one, progress and privileges.
    async fn tier(&self, ctx: &Context<'_>) -> async_graphql::Result<MemberTier> {
        let standing = ctx.services().tiers.standing(self.0.id).await.extend()?;
        Ok(standing.into())
    }

    /// Points balance and this month's counters.
    async fn points(&self, ctx: &Context<'_>) -> async_graphql::Result<MemberPoints> {
        let summary = ctx.services().points.summary(self.0.id).await.extend()?;
        Ok(MemberPoints::new(self.0.id, summary))
    }

    /// The member's KOC level, score and latest application.
    async fn koc(&self, ctx: &Context<'_>) -> async_graphql::Result<MemberKoc> {
        Ok(ctx.services().koc.profile(self.0.id).await.extend()?.into())
    }

    /// When the member first logged in.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A row of the operators' member list: what a table of members shows, read from the member
/// row alone (one query per page). Open `member(id)` for the tier, points history and KOC
/// standing.
pub struct MemberListItem(MemberSummary);

#[Object]
impl MemberListItem {
    async fn id(&self) -> ID {
        ID(self.0.profile.id.to_string())
    }

    async fn nickname(&self) -> Option<&str> {
        self.0.profile.nickname.as_deref()
    }

    async fn avatar_url(&self) -> Option<&str> {
        self.0.profile.avatar_url.as_deref()
    }

    async fn phone(&self) -> Option<&str> {
        self.0.profile.phone.as_deref()
    }

    async fn invite_code(&self) -> &str {
        &self.0.profile.invite_code
    }

    async fn tier_code(&self) -> &str {
        &self.0.profile.tier_code
    }

    /// Points the member can spend now (pending purchase points not included).
    async fn points_balance(&self) -> i64 {
        self.0.points_balance
    }

    /// Growth ever recorded.
    async fn growth_total(&self) -> i64 {
        self.0.growth_total
    }

    /// 1-3 for a KOC; null otherwise.
    async fn koc_level(&self) -> Option<i32> {
        self.0.koc_level
    }

    async fn current_streak(&self) -> i32 {
        self.0.current_streak
    }

    async fn last_sign_in_day(&self) -> Option<NaiveDate> {
        self.0.last_sign_in_day
    }

    async fn total_sign_ins(&self) -> i32 {
        self.0.total_sign_ins
    }

    async fn hide_from_leaderboards(&self) -> bool {
        self.0.profile.hide_from_leaderboards
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.profile.created_at
    }
}

/// Profile fields to change; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// 1-32 characters.
    nickname: Option<String>,
    /// Absolute http(s) URL, at most 512 characters.
    avatar_url: Option<String>,
    /// Mainland China mobile number; `+86`, spaces and dashes are accepted.
    phone: Option<String>,
    /// `MM-DD`; can be set once.
    birthday: Option<String>,
    /// Leave the member out of leaderboards.
    hide_from_leaderboards: Option<bool>,
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
        })
    }
}

/// The result of `updateProfile`.
#[derive(SimpleObject)]
pub struct UpdateProfilePayload {
    /// The member after the update.
    member: Member,
}

#[derive(Default)]
pub struct MemberQuery;

#[Object]
impl MemberQuery {
    /// The signed-in member.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Member> {
        let member = ctx.viewer()?.member().extend()?;
        let profile = ctx.services().members.profile(member).await.extend()?;
        Ok(profile.into())
    }

    /// A member by id (admins and operators).
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

    /// Members, newest first (admins and operators). `search` matches part of a nickname
    /// (ignoring case) or phone number, or a whole invite code; `tier` keeps one tier; `koc`
    /// keeps KOCs (true) or everyone else (false). Filters combine.
    #[graphql(complexity = "crate::graphql::connection::list_cost(first, child_complexity)")]
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
        let (rows, has_next) = ctx
            .services()
            .members
            .search(&filter, first, after)
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
    /// Changes the signed-in member's profile. VALIDATION (with `extensions.field`) for a bad
    /// value or a changed birthday; CONFLICT for a phone number another member uses.
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
}
