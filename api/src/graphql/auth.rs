//! Logging in: members with a WeChat code, admins with a password.

use async_graphql::{Context, Enum, ID, Object, ResultExt, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::auth::Role;
use crate::graphql::context::ContextExt;
use crate::graphql::members::Member;
use crate::service::auth::{AdminLogin, AdminProfile, MemberLogin};

/// The result of `memberLogin` (会员登录).
#[derive(SimpleObject)]
pub struct MemberLoginPayload {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    /// When the token stops working.
    expires_at: DateTime<Utc>,
    /// True when this login created the member.
    is_new: bool,
    /// The member who logged in.
    member: Member,
}

impl From<MemberLogin> for MemberLoginPayload {
    fn from(login: MemberLogin) -> Self {
        Self {
            token: login.token,
            expires_at: login.expires_at,
            is_new: login.is_new,
            member: login.member.into(),
        }
    }
}

/// An operator role (后台角色).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "AdminRole")]
pub enum AdminRole {
    /// Administrator (管理员): everything, including rule changes and point adjustments.
    Admin,
    /// Operator (运营): reviews, fulfilment and reads.
    Operator,
}

impl From<Role> for AdminRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => Self::Admin,
            Role::Operator => Self::Operator,
        }
    }
}

/// An operator account (后台账号).
#[derive(SimpleObject)]
pub struct Admin {
    /// The account's id.
    id: ID,
    /// Login name (用户名).
    username: String,
    /// What the account may do.
    role: AdminRole,
}

impl From<AdminProfile> for Admin {
    fn from(admin: AdminProfile) -> Self {
        Self {
            id: ID(admin.id.to_string()),
            username: admin.username,
            role: admin.role.into(),
        }
    }
}

/// The result of `adminLogin` (后台登录).
#[derive(SimpleObject)]
pub struct AdminLoginPayload {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    /// When the token stops working.
    expires_at: DateTime<Utc>,
    /// The account that logged in.
    admin: Admin,
}

impl From<AdminLogin> for AdminLoginPayload {
    fn from(login: AdminLogin) -> Self {
        Self {
            token: login.token,
            expires_at: login.expires_at,
            admin: login.admin.into(),
        }
    }
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Logs a member in with the code from `wx.login`, creating the member on first login (会员登录).
    /// Outside production and without WeChat credentials, `dev:<openid>` logs in directly.
    /// WECHAT_LOGIN_FAILED when WeChat rejects the code; RATE_LIMITED over the per-IP limit.
    async fn member_login(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            validator(chars_max_length = 256),
            desc = "The code from the mini-program's `wx.login` (微信登录凭证); outside production without WeChat credentials, `dev:<openid>` logs in directly."
        )]
        code: String,
    ) -> async_graphql::Result<MemberLoginPayload> {
        let login = ctx.services().auth.member_login(&code).await.extend()?;
        Ok(login.into())
    }

    /// Logs an operator in (后台登录). UNAUTHENTICATED for an unknown username or a wrong password.
    async fn admin_login(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            validator(chars_max_length = 64),
            desc = "The operator's username (管理员账号), at most 64 characters."
        )]
        username: String,
        #[graphql(
            validator(chars_max_length = 256),
            desc = "The operator's password, at most 256 characters."
        )]
        password: String,
    ) -> async_graphql::Result<AdminLoginPayload> {
        let login = ctx
            .services()
            .auth
            .admin_login(&username, &password)
            .await
            .extend()?;
        Ok(login.into())
    }
}
