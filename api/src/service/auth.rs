//! Signing in: members through WeChat (or `dev:` codes outside production), admins with a
//! password; and turning a bearer token back into the viewer it speaks for.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::domain::auth::{Role, Viewer};
use crate::domain::ids::AdminId;
use crate::domain::member::MemberProfile;
use crate::domain::webhook::WebhookEvent;
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::infra::rate_limit::RateLimiter;
use crate::infra::token::TokenService;
use crate::infra::wechat::{WechatClient, WechatSession};
use crate::infra::{password, random};
use crate::service::outbox::Reach;
use crate::service::work::PointsEngine;
use crate::store;

/// The prefix of login codes that name an openid directly (development only).
pub const DEV_CODE_PREFIX: &str = "dev:";

/// A signed-in member.
#[derive(Debug, Clone)]
pub struct MemberLogin {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub is_new: bool,
    pub member: MemberProfile,
}

/// A signed-in operator.
#[derive(Debug, Clone)]
pub struct AdminLogin {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub admin: AdminProfile,
}

/// An operator account as clients see it.
#[derive(Debug, Clone)]
pub struct AdminProfile {
    pub id: AdminId,
    pub username: String,
    pub role: Role,
}

pub struct AuthService {
    db: DatabaseConnection,
    clock: Arc<Clock>,
    tokens: TokenService,
    wechat: Option<WechatClient>,
    dev_login: bool,
    engine: PointsEngine,
    limiter: Arc<RateLimiter>,
}

impl AuthService {
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<Clock>,
        tokens: TokenService,
        wechat: Option<WechatClient>,
        dev_login: bool,
        engine: PointsEngine,
        limiter: Arc<RateLimiter>,
    ) -> Self {
        Self {
            db,
            clock,
            tokens,
            wechat,
            dev_login,
            engine,
            limiter,
        }
    }

    /// Exchanges a `wx.login` code for an access token, creating the member at first login.
    ///
    /// # Errors
    /// `VALIDATION` for an empty code;
    /// `WECHAT_LOGIN_FAILED` when WeChat rejects the code, cannot be reached, or is not configured.
    #[tracing::instrument(skip_all)]
    pub async fn member_login(&self, code: &str) -> Result<MemberLogin, AppError> {
        let session = self.resolve_code(code.trim()).await?;
        let (member, is_new) = self
            .ensure_member(&session.openid, session.unionid.as_deref())
            .await?;
        // The first login of a birthday pays the birthday points (once a year).
        let today = self.clock.today();
        let birthday = member.birthday.as_deref();
        if birthday.is_some_and(|birthday| crate::domain::tier::is_birthday(birthday, today)) {
            let mut work = self.engine.begin(member.id).await?;
            let (ledger, locked) = work.split();
            ledger.grant_birthday_if_due(locked).await?;
            work.commit().await?;
        }
        let issued = self
            .tokens
            .issue(Viewer::Member(member.id), self.clock.now())?;
        tracing::info!(member.id = %member.id, member.is_new = is_new, "member logged in");
        Ok(MemberLogin {
            token: issued.token,
            expires_at: issued.expires_at,
            is_new,
            member,
        })
    }

    async fn resolve_code(&self, code: &str) -> Result<WechatSession, AppError> {
        if code.is_empty() {
            return Err(AppError::validation("code", "must not be empty"));
        }
        if let Some(openid) = code.strip_prefix(DEV_CODE_PREFIX)
            && self.dev_login
        {
            if openid.is_empty() || openid.len() > 128 {
                return Err(AppError::validation("code", "dev:<openid> needs an openid"));
            }
            return Ok(WechatSession {
                openid: openid.to_owned(),
                unionid: None,
            });
        }
        match &self.wechat {
            Some(wechat) => wechat.code_to_session(code).await,
            None => Err(AppError::WechatLoginFailed(
                "WeChat login is not configured on this server".into(),
            )),
        }
    }

    /// The member with this openid (its `unionid` brought up to date), else the member with
    /// this `unionid` (the same WeChat user in another of the brand's apps), else a new member
    /// in the entry tier; true when created. Insert-if-absent, then read: two first logins
    /// racing create one member.
    ///
    /// # Errors
    /// `INTERNAL` on database failure.
    pub async fn ensure_member(
        &self,
        openid: &str,
        unionid: Option<&str>,
    ) -> Result<(MemberProfile, bool), AppError> {
        if let Some(member) = store::members::find_by_openid(&self.db, openid).await? {
            if let Some(unionid) = unionid {
                store::members::refresh_unionid(&self.db, member.id, unionid).await?;
            }
            return Ok((member, false));
        }
        if let Some(unionid) = unionid
            && let Some(member) = store::members::find_by_unionid(&self.db, unionid).await?
        {
            return Ok((member, false));
        }
        let tier_code = store::tiers::entry_tier_code(&self.db).await?;
        let mut attempts = 0;
        let is_new = loop {
            let invite_code = random::invite_code();
            let new = store::members::NewMember {
                openid,
                unionid,
                invite_code: &invite_code,
                tier_code: &tier_code,
                now: self.clock.now(),
            };
            // The member and its MEMBER_REGISTERED event commit together.
            let txn = store::begin(&self.db).await?;
            match store::members::insert_if_absent(&txn, new).await {
                Ok(inserted) => {
                    if inserted {
                        self.publish_registered(&txn, openid).await?;
                    }
                    txn.commit().await?;
                    break inserted;
                }
                // 31^8 codes make a collision rare; draw again a few times before giving up.
                Err(e) if store::members::UQ_INVITE_CODE.is_violated_by(&e) && attempts < 5 => {
                    attempts += 1;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let member = store::members::find_by_openid(&self.db, openid)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("member vanished after insert")))?;
        Ok((member, is_new))
    }

    async fn publish_registered(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        openid: &str,
    ) -> Result<(), AppError> {
        let member = store::members::find_by_openid(txn, openid)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("member vanished after insert")))?;
        let rules = self.engine.rules_cache().latest(txn).await?;
        Reach {
            db: txn,
            rules: &rules,
            timezone: self.clock.timezone(),
            now: self.clock.now(),
        }
        .publish(
            WebhookEvent::MemberRegistered,
            serde_json::json!({
                "memberId": member.id.get().to_string(),
                "tier": member.tier_code,
            }),
        )
        .await
    }

    /// Checks a username and password and returns an admin token.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` for an unknown username or a wrong password (the same answer for both);
    /// `RATE_LIMITED` while the username is locked after too many failures.
    #[tracing::instrument(skip_all)]
    pub async fn admin_login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<AdminLogin, AppError> {
        let username = username.trim();
        self.limiter.ensure_unlocked(username).await?;
        let account = store::admins::find_by_username(&self.db, username).await?;
        let stored = account.as_ref().map(|a| a.password_hash.clone());
        let verified = password::verify(password.to_owned(), stored).await?;
        // A disabled account answers like a wrong password: nothing tells which it was.
        let Some(account) = account.filter(|account| verified && !account.disabled) else {
            self.limiter.record_failure(username).await?;
            return Err(AppError::Unauthenticated("invalid username or password"));
        };
        let viewer = Viewer::Admin {
            id: account.id,
            role: account.role,
        };
        let issued = self.tokens.issue(viewer, self.clock.now())?;
        tracing::info!(admin.id = %account.id, "admin logged in");
        Ok(AdminLogin {
            token: issued.token,
            expires_at: issued.expires_at,
            admin: AdminProfile {
                id: account.id,
                username: account.username,
                role: account.role,
            },
        })
    }

    /// Creates an operator account (used by `membercard admin create`).
    ///
    /// # Errors
    /// `VALIDATION` for a bad username or a short password; `CONFLICT` for a taken username.
    pub async fn create_admin(
        &self,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<AdminProfile, AppError> {
        let username = username.trim();
        let username_ok = (3..=64).contains(&username.len())
            && username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !username_ok {
            return Err(AppError::validation(
                "username",
                "must be 3-64 characters of letters, digits, '.', '_' or '-'",
            ));
        }
        check_admin_password(password)?;
        let hash = password::hash(password.to_owned()).await?;
        let id = store::admins::insert(&self.db, username, &hash, role, self.clock.now())
            .await
            .map_err(
                store::admins::UQ_USERNAME
                    .map(|| AppError::Conflict(format!("the username {username} is taken"))),
            )?;
        Ok(AdminProfile {
            id,
            username: username.to_owned(),
            role,
        })
    }

    /// The viewer a bearer token speaks for. A member token is judged by its signature and
    /// expiry alone (no query on the members' hot path); an admin token also needs its account
    /// to exist, be enabled, and not have revoked it (one primary-key read).
    ///
    /// # Errors
    /// `UNAUTHENTICATED` for an invalid, expired or revoked token, or a disabled or deleted
    /// admin.
    pub async fn viewer_for_token(&self, token: &str) -> Result<Viewer, AppError> {
        let (viewer, issued_at) = self.tokens.verify_issued(token, self.clock.now())?;
        let Viewer::Admin { id, .. } = viewer else {
            return Ok(viewer);
        };
        let access =
            store::admins::access(&self.db, id)
                .await?
                .ok_or(AppError::Unauthenticated(
                    "the admin account no longer exists",
                ))?;
        if access.disabled {
            return Err(AppError::Unauthenticated("the admin account is disabled"));
        }
        if access
            .tokens_valid_after
            .is_some_and(|after| issued_at < after.timestamp())
        {
            return Err(AppError::Unauthenticated(
                "the access token was revoked; please log in again",
            ));
        }
        Ok(viewer)
    }

    /// Disables or enables an operator account (`membercard admin disable|enable`). A disabled
    /// admin cannot log in, and their tokens stop working at once.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown username.
    pub async fn set_admin_disabled(&self, username: &str, disabled: bool) -> Result<(), AppError> {
        let disabled_at = disabled.then(|| self.clock.now());
        if store::admins::set_disabled(&self.db, username.trim(), disabled_at).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("admin"))
        }
    }

    /// Sets a new password (`membercard admin set-password`); every token issued before now
    /// stops working.
    ///
    /// # Errors
    /// `VALIDATION` for a short password; `NOT_FOUND` for an unknown username.
    pub async fn set_admin_password(&self, username: &str, password: &str) -> Result<(), AppError> {
        check_admin_password(password)?;
        let hash = password::hash(password.to_owned()).await?;
        let now = self.clock.now();
        if store::admins::set_password(&self.db, username.trim(), &hash, now).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("admin"))
        }
    }
}

fn check_admin_password(password: &str) -> Result<(), AppError> {
    if password.chars().count() < 12 {
        return Err(AppError::validation(
            "password",
            "must be at least 12 characters",
        ));
    }
    Ok(())
}
