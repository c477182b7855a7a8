//! `AppError`: every failure a client can act on, each with a stable code (SPEC §12).
//! Knows nothing about GraphQL; `graphql::error` is the only bridge.

use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// One domain error enum for the whole service.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("invalid {field}: {reason}")]
    Validation { field: &'static str, reason: String },
    #[error("{0}")]
    Conflict(String),
    #[error("WeChat login failed: {0}")]
    WechatLoginFailed(String),
    #[error("already signed in today")]
    AlreadySignedIn,
    #[error("make-up sign-in not allowed: {0}")]
    MakeUpNotAllowed(&'static str),
    #[error("not enough points: {needed} needed, {available} available")]
    InsufficientPoints { needed: i64, available: i64 },
    #[error("this month's redemption cap is reached: {remaining} points left this month")]
    MonthlyRedeemCapReached { remaining: i64 },
    #[error("this reward is not available")]
    RewardUnavailable,
    #[error("this reward needs a higher tier ({required})")]
    TierTooLow { required: String },
    #[error("this reward can only be redeemed on member day")]
    NotMemberDay,
    #[error("the redemption limit for this reward is reached")]
    RedemptionLimitReached,
    #[error("this reward is out of stock")]
    OutOfStock,
    #[error("this coupon is not valid")]
    CouponInvalid,
    #[error("only members of tier {required} or above can apply to be a KOC")]
    KocNotEligible { required: String },
    #[error("this is for KOCs only")]
    KocRequired,
    #[error("this task is not available: {0}")]
    TaskUnavailable(&'static str),
    #[error("this invite is not valid: {0}")]
    InviteInvalid(&'static str),
    #[error("this task has nothing to claim now")]
    TaskNotClaimable,
    #[error("today's limit for this event is reached")]
    EventLimitReached,
    #[error("this lottery is not open to you now")]
    LotteryUnavailable,
    #[error("the draw limit of this lottery is reached")]
    DrawLimitReached,
    /// A WeChat API call (other than login) failed: WeChat's `errcode` when it answered one,
    /// none when it could not be reached or is not configured.
    #[error("WeChat API call failed: {message}")]
    WechatApiFailed {
        errcode: Option<i64>,
        message: String,
    },
    #[error("too many requests, try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The database did not answer in time (down, stalled or overloaded): HTTP 503.
    #[error("the service is briefly unavailable; try again in a few seconds")]
    Unavailable,
    /// Never shown to a client: the source is logged once at the GraphQL boundary.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    /// The stable, client-facing code of SPEC §12.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Validation { .. } => "VALIDATION",
            Self::Conflict(_) => "CONFLICT",
            Self::WechatLoginFailed(_) => "WECHAT_LOGIN_FAILED",
            Self::AlreadySignedIn => "ALREADY_SIGNED_IN",
            Self::MakeUpNotAllowed(_) => "MAKEUP_NOT_ALLOWED",
            Self::InsufficientPoints { .. } => "INSUFFICIENT_POINTS",
            Self::MonthlyRedeemCapReached { .. } => "MONTHLY_REDEEM_CAP_REACHED",
            Self::RewardUnavailable => "REWARD_UNAVAILABLE",
            Self::TierTooLow { .. } => "TIER_TOO_LOW",
            Self::NotMemberDay => "NOT_MEMBER_DAY",
            Self::RedemptionLimitReached => "REDEMPTION_LIMIT_REACHED",
            Self::OutOfStock => "OUT_OF_STOCK",
            Self::CouponInvalid => "COUPON_INVALID",
            Self::KocNotEligible { .. } => "KOC_NOT_ELIGIBLE",
            Self::KocRequired => "KOC_REQUIRED",
            Self::TaskUnavailable(_) => "TASK_UNAVAILABLE",
            Self::InviteInvalid(_) => "INVITE_INVALID",
            Self::TaskNotClaimable => "TASK_NOT_CLAIMABLE",
            Self::EventLimitReached => "EVENT_LIMIT_REACHED",
            Self::LotteryUnavailable => "LOTTERY_UNAVAILABLE",
            Self::DrawLimitReached => "DRAW_LIMIT_REACHED",
            Self::WechatApiFailed { .. } => "WECHAT_API_FAILED",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    pub fn validation(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Validation {
            field,
            reason: reason.into(),
        }
    }

    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        Self::Internal(source.into())
    }
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        if database_unreachable(&e) {
            tracing::warn!(error = %e, "the database did not answer in time");
            Self::Unavailable
        } else {
            Self::Internal(e.into())
        }
    }
}

/// Whether `e` says the database could not be reached or did not answer in time, rather than
/// that a statement was wrong: no connection within the acquire timeout, a broken connection,
/// a statement cancelled by `statement_timeout`, a server shutting down, or SQLite busy past
/// its busy timeout.
pub fn database_unreachable(e: &DbErr) -> bool {
    let sqlx = match e {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(sqlx))
        | DbErr::Exec(RuntimeErr::SqlxError(sqlx))
        | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => sqlx,
        _ => return false,
    };
    match sqlx.as_ref() {
        sea_orm::sqlx::Error::Io(_)
        | sea_orm::sqlx::Error::Tls(_)
        | sea_orm::sqlx::Error::Protocol(_)
        | sea_orm::sqlx::Error::PoolTimedOut
        | sea_orm::sqlx::Error::PoolClosed
        | sea_orm::sqlx::Error::WorkerCrashed => true,
        sea_orm::sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // PostgreSQL: connection exceptions (08…), query_canceled (statement_timeout),
            // admin_shutdown, cannot_connect_now. SQLite: SQLITE_BUSY and its extended codes.
            code.starts_with("08")
                || matches!(&*code, "57014" | "57P01" | "57P03" | "5" | "261" | "517")
        }),
        _ => false,
    }
}

impl From<redis::RedisError> for AppError {
    fn from(e: redis::RedisError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Internal(e.into())
    }
}

/// A unique index the service expects to be violated now and then, named as in the migrations.
/// PostgreSQL reports the index name; SQLite reports `table.column`, so both are kept.
#[derive(Debug, Clone, Copy)]
pub struct UniqueIndex {
    pub name: &'static str,
    pub sqlite_columns: &'static str,
}

impl UniqueIndex {
    /// Whether `err` is a violation of this index.
    pub fn is_violated_by(&self, err: &DbErr) -> bool {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(message)) => {
                message.contains(self.name) || message.contains(self.sqlite_columns)
            }
            _ => false,
        }
    }

    /// Maps a violation of this index to `mapped`, anything else to `Internal`.
    pub fn map(self, mapped: impl FnOnce() -> AppError) -> impl FnOnce(DbErr) -> AppError {
        move |err| {
            if self.is_violated_by(&err) {
                mapped()
            } else {
                AppError::from(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_spec_code_and_a_safe_message() {
        let cases = [
            (
                AppError::Unauthenticated("please sign in"),
                "UNAUTHENTICATED",
            ),
            (AppError::Forbidden("admins only"), "FORBIDDEN"),
            (AppError::NotFound("member"), "NOT_FOUND"),
            (AppError::validation("phone", "bad"), "VALIDATION"),
            (AppError::Conflict("taken".into()), "CONFLICT"),
            (
                AppError::WechatLoginFailed("x".into()),
                "WECHAT_LOGIN_FAILED",
            ),
            (
                AppError::internal(anyhow::anyhow!("SELECT secret FROM x")),
                "INTERNAL",
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code);
            assert!(!error.to_string().contains("SELECT"));
        }
    }
}
