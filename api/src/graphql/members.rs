//! The member card: `me`, `updateProfile`, and members as admins look them up.

use async_graphql::{Context, ID, InputObject, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::AdminAction;
use crate::domain::ids::MemberId;
use crate::domain::member::{AvatarUrl, Birthday, MemberProfile, Nickname, Phone, ProfileUpdate};
use crate::error::AppError;
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
    async fn member(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Member> {
        ctx.viewer()?.admin_for(AdminAction::ReadMembers).extend()?;
        let id = MemberId::parse(&id).extend()?;
        let profile = ctx.services().members.profile(id).await.extend()?;
        Ok(profile.into())
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
