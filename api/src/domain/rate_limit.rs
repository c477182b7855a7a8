//! Rate limits (SPEC §10): which actions are limited, per whom, and how much.

use crate::error::AppError;

/// A limited action. Each is counted per subject (a member, an IP or a username).
/// Its name (`SIGN_IN` …) and the list of actions are derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::VariantArray, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum RateLimitedAction {
    /// `memberLogin`, per IP.
    MemberLogin,
    /// Failed `adminLogin`s, per username; reaching the limit locks the username for the window.
    #[strum(serialize = "ADMIN_LOGIN_FAILURES")]
    AdminLoginFailure,
    /// `signIn` and `makeUpSignIn`, per member.
    SignIn,
    /// `redeemReward`, per member.
    Redeem,
    /// `submitKocTask` and `resubmitKocTask`, per member.
    KocSubmission,
    /// Any other mutation, per member (or IP when anonymous).
    Mutation,
    /// Every request, per member or IP; over it the request gets HTTP 429.
    Request,
}

impl RateLimitedAction {
    pub const ALL: &'static [Self] = <Self as strum::VariantArray>::VARIANTS;

    /// The name used in keys and configuration (`MEMBERCARD_RATE_LIMIT_<NAME>`).
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// SPEC §10's defaults.
    pub fn default_quota(self) -> Quota {
        let (count, per_seconds) = match self {
            Self::MemberLogin => (10, 60),
            Self::AdminLoginFailure => (5, 900),
            Self::SignIn => (5, 60),
            Self::Redeem => (10, 60),
            Self::KocSubmission => (10, 3600),
            Self::Mutation => (60, 60),
            Self::Request => (600, 60),
        };
        Quota { count, per_seconds }
    }
}

/// At most `count` per `per_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub count: u32,
    pub per_seconds: u32,
}

impl Quota {
    /// Parses `N/S` (N actions per S seconds).
    ///
    /// # Errors
    /// `VALIDATION` for anything else or zeros.
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let invalid = || AppError::validation("rateLimit", "must be N/S, e.g. 5/60");
        let (count, seconds) = raw.trim().split_once('/').ok_or_else(invalid)?;
        let count: u32 = count.trim().parse().ok().ok_or_else(invalid)?;
        let per_seconds: u32 = seconds.trim().parse().ok().ok_or_else(invalid)?;
        if count == 0 || per_seconds == 0 {
            return Err(invalid());
        }
        Ok(Self { count, per_seconds })
    }

    /// Milliseconds between two actions at the steady rate (the GCRA emission interval).
    pub fn interval_ms(self) -> u64 {
        (u64::from(self.per_seconds) * 1000 / u64::from(self.count)).max(1)
    }
}

/// The quota of every action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits(Vec<(RateLimitedAction, Quota)>);

impl Default for RateLimits {
    fn default() -> Self {
        Self(
            RateLimitedAction::ALL
                .iter()
                .copied()
                .map(|action| (action, action.default_quota()))
                .collect(),
        )
    }
}

impl RateLimits {
    pub fn quota(&self, action: RateLimitedAction) -> Quota {
        self.0
            .iter()
            .find(|(a, _)| *a == action)
            .map_or_else(|| action.default_quota(), |(_, quota)| *quota)
    }

    pub fn set(&mut self, action: RateLimitedAction, quota: Quota) {
        self.0.retain(|(a, _)| *a != action);
        self.0.push((action, quota));
    }
}

/// The answer to a limit check that says how long to wait: allowed at 0.
///
/// # Errors
/// `RATE_LIMITED` with the seconds to wait, for a wait above 0.
pub fn verdict(wait_secs: u64) -> Result<(), AppError> {
    if wait_secs > 0 {
        Err(AppError::RateLimited {
            retry_after_secs: wait_secs,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_parse_and_default_to_the_spec() {
        assert_eq!(
            Quota::parse("5/60").unwrap(),
            Quota {
                count: 5,
                per_seconds: 60
            }
        );
        for bad in ["", "5", "0/60", "5/0", "x/60"] {
            assert!(Quota::parse(bad).is_err(), "{bad}");
        }
        let limits = RateLimits::default();
        assert_eq!(limits.quota(RateLimitedAction::Request).count, 600);
        assert_eq!(Quota::parse("5/60").unwrap().interval_ms(), 12_000);
    }
}
