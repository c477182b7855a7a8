//! The only bridge from `AppError` to GraphQL errors: every error carries `extensions.code`,
//! internal errors are logged here once and reach the client as a bare "internal error".

use async_graphql::ErrorExtensions;

use crate::error::AppError;

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(source) = self {
            tracing::error!(error = ?source, "request failed with an internal error");
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Self::Validation { field, .. } => ext.set("field", *field),
                Self::InsufficientPoints { needed, available } => {
                    ext.set("needed", *needed);
                    ext.set("available", *available);
                }
                Self::MonthlyRedeemCapReached { remaining } => ext.set("remaining", *remaining),
                Self::TierTooLow { required } | Self::KocNotEligible { required } => {
                    ext.set("requiredTier", required.as_str());
                }
                Self::RateLimited { retry_after_secs } => {
                    ext.set("retryAfterSeconds", *retry_after_secs);
                }
                Self::WechatApiFailed {
                    errcode: Some(errcode),
                    ..
                } => ext.set("errcode", *errcode),
                _ => {}
            }
        })
    }
}

/// 错误码: every `extensions.code` an error of this API carries. Errors come in `errors`
/// beside `data`; act on the code, show the message. Not used as a field's type: it is here so
/// the schema documents the codes.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ErrorCode {
    /// 未登录: no token, a forged or expired one, an admin token whose account is disabled,
    /// deleted or has a newer password; or a wrong admin username or password.
    Unauthenticated,
    /// 无权限: the caller may not do this (a member calling an admin operation, an OPERATOR
    /// changing rules, the test clock in production).
    Forbidden,
    /// 不存在: the thing named does not exist (or is not the caller's).
    NotFound,
    /// 参数错误: bad input; `extensions.field` names the argument or input field.
    Validation,
    /// 冲突: taken (a phone number, a username), or an idempotency key replayed with other
    /// details.
    Conflict,
    /// 微信登录失败: WeChat's code2Session refused the login code.
    WechatLoginFailed,
    /// 今日已签到: the member already signed in this business day.
    AlreadySignedIn,
    /// 不可补签: this day cannot be made up (today, the future, another month, before joining,
    /// already signed, or this month's make-ups are used up).
    MakeupNotAllowed,
    /// 积分不足: not enough spendable points; `extensions.needed` and `extensions.available`.
    InsufficientPoints,
    /// 本月兑换已达上限: the monthly redemption cap (月峰值) is reached;
    /// `extensions.remaining`.
    MonthlyRedeemCapReached,
    /// 奖品不可兑换: the reward is retired or outside its window.
    RewardUnavailable,
    /// 等级不足: the reward or feature needs a higher tier; `extensions.requiredTier`.
    TierTooLow,
    /// 非会员日: this reward can only be redeemed on member day (会员日).
    NotMemberDay,
    /// 兑换次数已达上限: the member's monthly or lifetime limit for this reward is reached.
    RedemptionLimitReached,
    /// 库存不足: out of stock.
    OutOfStock,
    /// 券码无效: unknown, used, expired or another member's coupon.
    CouponInvalid,
    /// 不满足KOC申请条件: the member's tier is below the KOC threshold;
    /// `extensions.requiredTier`.
    KocNotEligible,
    /// 仅限KOC: for KOCs only.
    KocRequired,
    /// 任务不可用: the KOC task cannot be done now (level, window, limit, already pending).
    TaskUnavailable,
    /// 邀请无效: unknown code, yourself, already bound, too late, or a cycle.
    InviteInvalid,
    /// 任务奖励不可领取: the task's period is not complete, was claimed, or has ended.
    TaskNotClaimable,
    /// 今日次数已达上限: the event type's daily limit per member is reached.
    EventLimitReached,
    /// 抽奖不可用: the lottery is not live, or the member does not qualify (tier, segment).
    LotteryUnavailable,
    /// 抽奖次数已达上限: the member's draws per day or in total are used up.
    DrawLimitReached,
    /// 微信接口调用失败: a WeChat API call failed (binding a phone number);
    /// `extensions.errcode` is WeChat's errcode when it answered one.
    WechatApiFailed,
    /// 请求过于频繁: over a rate limit; `extensions.retryAfterSeconds`. A whole-request flood
    /// is HTTP 429.
    RateLimited,
    /// 服务暂不可用: the database did not answer in time; HTTP 503 with `Retry-After`.
    /// Nothing was changed: retry shortly.
    Unavailable,
    /// 内部错误: anything unexpected; `extensions.requestId` finds it in the logs.
    Internal,
}

#[cfg(test)]
mod tests {
    use async_graphql::resolver_utils::EnumType;

    use super::*;

    #[test]
    fn the_error_code_enum_lists_every_code_the_api_answers_with() {
        let samples = [
            AppError::Unauthenticated("x"),
            AppError::Forbidden("x"),
            AppError::NotFound("x"),
            AppError::validation("x", "y"),
            AppError::Conflict("x".into()),
            AppError::WechatLoginFailed("x".into()),
            AppError::AlreadySignedIn,
            AppError::MakeUpNotAllowed("x"),
            AppError::InsufficientPoints {
                needed: 1,
                available: 0,
            },
            AppError::MonthlyRedeemCapReached { remaining: 0 },
            AppError::RewardUnavailable,
            AppError::TierTooLow {
                required: "x".into(),
            },
            AppError::NotMemberDay,
            AppError::RedemptionLimitReached,
            AppError::OutOfStock,
            AppError::CouponInvalid,
            AppError::KocNotEligible {
                required: "x".into(),
            },
            AppError::KocRequired,
            AppError::TaskUnavailable("x"),
            AppError::InviteInvalid("x"),
            AppError::TaskNotClaimable,
            AppError::EventLimitReached,
            AppError::LotteryUnavailable,
            AppError::DrawLimitReached,
            AppError::WechatApiFailed {
                errcode: None,
                message: "x".into(),
            },
            AppError::RateLimited {
                retry_after_secs: 1,
            },
            AppError::Unavailable,
            AppError::internal(anyhow::anyhow!("x")),
        ];
        let documented: Vec<&str> = ErrorCode::items().iter().map(|item| item.name).collect();
        let answered: Vec<&str> = samples.iter().map(AppError::code).collect();
        assert_eq!(documented, answered);
    }
}
