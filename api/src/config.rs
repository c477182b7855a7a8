//! Typed settings, read once from the environment (`.env` may supply it) and passed down.
//! No globals: tests build the same `Settings` through `from_lookup` and override what they need.

use std::fmt;
use std::str::FromStr;

use anyhow::{Context, bail};
use chrono_tz::Tz;

/// `development` (default) or `production`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

impl Environment {
    pub fn is_production(self) -> bool {
        self == Self::Production
    }
}

/// A secret whose `Debug` never prints it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub auth: AuthSettings,
    pub wechat: WechatSettings,
    pub business: BusinessSettings,
    pub outbox: OutboxSettings,
    pub rate_limits: crate::domain::rate_limit::RateLimits,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `host:port`; port 0 picks a free port (tests).
    pub listen: String,
    /// Serve GraphiQL on `GET /graphql`.
    pub playground: bool,
    pub introspection: bool,
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_body_bytes: usize,
    /// Serve Prometheus metrics on `GET /metrics`.
    pub metrics: bool,
    /// How often subscriptions look for new notices.
    pub subscription_poll: std::time::Duration,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` name the client (empty: none).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// After SIGTERM: how long requests are still served while `/readyz` says 503.
    pub shutdown_drain: std::time::Duration,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: String,
    /// Pool size for PostgreSQL; SQLite always uses one connection (one writer).
    pub max_connections: u32,
    /// How long a request waits for a connection (and a new connection for the server)
    /// before it answers `UNAVAILABLE`.
    pub acquire_timeout: std::time::Duration,
    /// The longest a statement may run (PostgreSQL `statement_timeout`) or wait for SQLite's
    /// write lock (its busy timeout).
    pub statement_timeout: std::time::Duration,
}

#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: Option<String>,
    /// Prepended to every key, so several deployments (or tests) can share one Redis.
    pub key_prefix: String,
    /// The longest a connection attempt or command may take before Redis counts as failing.
    pub timeout: std::time::Duration,
    /// How often an instance looks for boards that missed writes and rebuilds them.
    pub heal_interval: std::time::Duration,
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `None` outside production means "generate a random secret for this process".
    pub jwt_secret: Option<Secret>,
    pub member_token_ttl_seconds: i64,
    pub admin_token_ttl_seconds: i64,
    /// Accept `dev:<openid>` login codes (never in production).
    pub dev_login: bool,
}

#[derive(Debug, Clone)]
pub struct WechatSettings {
    pub appid: Option<String>,
    pub secret: Option<Secret>,
    pub base_url: String,
    /// The longest a WeChat call may take before it fails.
    pub timeout: std::time::Duration,
}

impl WechatSettings {
    pub fn credentials(&self) -> Option<(&str, &Secret)> {
        Some((self.appid.as_deref()?, self.secret.as_ref()?))
    }
}

/// The outbox's dispatcher (SPEC §17).
#[derive(Debug, Clone)]
pub struct OutboxSettings {
    /// How often the dispatcher looks for due deliveries; `None` runs no dispatcher on this
    /// instance.
    pub poll: Option<std::time::Duration>,
    /// The wait before the first retry; each next one waits twice as long.
    pub retry_base: std::time::Duration,
    /// Attempts before a delivery is `DEAD`.
    pub max_attempts: u32,
    /// The longest a webhook call may take.
    pub webhook_timeout: std::time::Duration,
    /// Webhooks may call loopback and private addresses (never in production).
    pub allow_private_webhooks: bool,
    /// `formal`, `trial` or `developer`: which version of the mini-program a message opens.
    pub miniprogram_state: String,
}

#[derive(Debug, Clone)]
pub struct BusinessSettings {
    pub timezone: Tz,
    /// The admin test clock of SPEC §0 (never in production).
    pub test_clock: bool,
    /// Points lapse at the end of the business month this many months after they were earned;
    /// 0 = never.
    pub points_expiry_months: u32,
    /// How often the background job expires points; 0 turns it off (admins can still run it).
    pub jobs_interval_seconds: u64,
    /// The return window: purchase points stay pending this many days.
    pub purchase_pending_days: u32,
    /// The monthly member day (1-31); 0 turns it off.
    pub member_day: u32,
    /// The lowest tier (code) that may apply to be a KOC.
    pub koc_min_tier: String,
    /// Campaign subscribe messages a member may get per business day (营销频次), 0–10.
    pub marketing_messages_per_day: u32,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads settings through `lookup` (a variable name to its value), applying defaults and the
    /// production rules: a JWT secret is required, dev logins and the test clock are off.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let var = |key: &str| lookup(key).filter(|value| !value.trim().is_empty());
        let environment = match var("MEMBERCARD_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => bail!("MEMBERCARD_ENV must be development or production, not {other}"),
        };
        let production = environment.is_production();
        let parsed = |key: &str| -> anyhow::Result<Option<i64>> {
            var(key)
                .map(|raw| {
                    raw.parse::<i64>()
                        .with_context(|| format!("{key} must be an integer"))
                })
                .transpose()
        };
        let flag = |key: &str, default: bool| -> anyhow::Result<bool> {
            match var(key).as_deref() {
                None => Ok(default),
                Some("1" | "true" | "yes" | "on") => Ok(true),
                Some("0" | "false" | "no" | "off") => Ok(false),
                Some(other) => bail!("{key} must be true or false, not {other}"),
            }
        };
        let size = |key: &str, default: usize| -> anyhow::Result<usize> {
            var(key).map_or(Ok(default), |raw| {
                raw.parse::<usize>()
                    .with_context(|| format!("{key} must be a positive integer"))
            })
        };

        let millis = |key: &str, default: usize| -> anyhow::Result<std::time::Duration> {
            let ms = u64::try_from(size(key, default)?)
                .with_context(|| format!("{key} is too large"))?;
            if ms == 0 {
                bail!("{key} must be at least 1");
            }
            Ok(std::time::Duration::from_millis(ms))
        };

        let wechat = WechatSettings {
            appid: var("MEMBERCARD_WECHAT_APPID"),
            secret: var("MEMBERCARD_WECHAT_SECRET").map(Secret),
            base_url: var("MEMBERCARD_WECHAT_BASE_URL")
                .unwrap_or_else(|| "https://api.weixin.qq.com".to_owned()),
            timeout: millis("MEMBERCARD_WECHAT_TIMEOUT_MS", 5_000)?,
        };
        let dev_login = flag(
            "MEMBERCARD_DEV_LOGIN",
            !production && wechat.credentials().is_none(),
        )?;
        let test_clock = flag("MEMBERCARD_TEST_CLOCK", !production)?;
        let jwt_secret = var("MEMBERCARD_JWT_SECRET").map(Secret);
        if production {
            if jwt_secret.is_none() {
                bail!("MEMBERCARD_JWT_SECRET is required when MEMBERCARD_ENV=production");
            }
            if dev_login {
                bail!("MEMBERCARD_DEV_LOGIN cannot be on when MEMBERCARD_ENV=production");
            }
            if test_clock {
                bail!("MEMBERCARD_TEST_CLOCK cannot be on when MEMBERCARD_ENV=production");
            }
        }
        if jwt_secret.as_ref().is_some_and(|s| s.expose().len() < 32) {
            bail!("MEMBERCARD_JWT_SECRET must be at least 32 characters");
        }
        let timezone = var("MEMBERCARD_TIMEZONE").unwrap_or_else(|| "Asia/Shanghai".to_owned());
        let timezone = Tz::from_str(&timezone)
            .map_err(|e| anyhow::anyhow!("MEMBERCARD_TIMEZONE is not a known time zone: {e}"))?;
        let positive_ttl = |key: &str, default: i64| -> anyhow::Result<i64> {
            match parsed(key)?.unwrap_or(default) {
                ttl if ttl > 0 => Ok(ttl),
                _ => bail!("{key} must be positive"),
            }
        };

        let mut rate_limits = crate::domain::rate_limit::RateLimits::default();
        for &action in crate::domain::rate_limit::RateLimitedAction::ALL {
            let key = format!("MEMBERCARD_RATE_LIMIT_{}", action.name());
            if let Some(raw) = var(&key) {
                let quota = crate::domain::rate_limit::Quota::parse(&raw)
                    .map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
                rate_limits.set(action, quota);
            }
        }

        Ok(Self {
            rate_limits,
            environment,
            server: ServerSettings {
                listen: var("MEMBERCARD_LISTEN").unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
                playground: flag("MEMBERCARD_PLAYGROUND", !production)?,
                introspection: flag("MEMBERCARD_INTROSPECTION", !production)?,
                max_depth: size("MEMBERCARD_GRAPHQL_MAX_DEPTH", 12)?,
                max_complexity: size("MEMBERCARD_GRAPHQL_MAX_COMPLEXITY", 5_000)?,
                max_body_bytes: size("MEMBERCARD_MAX_BODY_BYTES", 64 * 1024)?,
                metrics: flag("MEMBERCARD_METRICS", true)?,
                subscription_poll: std::time::Duration::from_millis(
                    u64::try_from(size("MEMBERCARD_SUBSCRIPTION_POLL_MS", 500)?)
                        .context("MEMBERCARD_SUBSCRIPTION_POLL_MS is too large")?
                        .max(10),
                ),
                trusted_proxies: var("MEMBERCARD_TRUSTED_PROXIES")
                    .map_or_else(|| Ok(Vec::new()), |raw| parse_networks(&raw))
                    .context("MEMBERCARD_TRUSTED_PROXIES")?,
                shutdown_drain: std::time::Duration::from_millis(
                    u64::try_from(size("MEMBERCARD_SHUTDOWN_DRAIN_MS", 5_000)?)
                        .context("MEMBERCARD_SHUTDOWN_DRAIN_MS is too large")?,
                ),
            },
            database: DatabaseSettings {
                url: var("DATABASE_URL")
                    .unwrap_or_else(|| "sqlite://membercard.db?mode=rwc".to_owned()),
                max_connections: u32::try_from(size("MEMBERCARD_DATABASE_MAX_CONNECTIONS", 10)?)
                    .context("MEMBERCARD_DATABASE_MAX_CONNECTIONS is too large")?,
                acquire_timeout: millis("MEMBERCARD_DATABASE_TIMEOUT_MS", 2_000)?,
                statement_timeout: millis("MEMBERCARD_DATABASE_STATEMENT_TIMEOUT_MS", 5_000)?,
            },
            redis: RedisSettings {
                url: var("REDIS_URL"),
                key_prefix: var("MEMBERCARD_REDIS_PREFIX")
                    .unwrap_or_else(|| "membercard:".to_owned()),
                timeout: millis("MEMBERCARD_REDIS_TIMEOUT_MS", 500)?,
                heal_interval: millis("MEMBERCARD_LEADERBOARD_HEAL_MS", 5_000)?,
            },
            auth: AuthSettings {
                jwt_secret,
                member_token_ttl_seconds: positive_ttl(
                    "MEMBERCARD_MEMBER_TOKEN_TTL_SECONDS",
                    24 * 3600,
                )?,
                admin_token_ttl_seconds: positive_ttl(
                    "MEMBERCARD_ADMIN_TOKEN_TTL_SECONDS",
                    8 * 3600,
                )?,
                dev_login,
            },
            outbox: OutboxSettings {
                poll: match size("MEMBERCARD_OUTBOX_POLL_MS", 1_000)? {
                    0 => None,
                    ms => Some(std::time::Duration::from_millis(
                        u64::try_from(ms).context("MEMBERCARD_OUTBOX_POLL_MS is too large")?,
                    )),
                },
                retry_base: millis("MEMBERCARD_OUTBOX_RETRY_BASE_MS", 1_000)?,
                max_attempts: match size("MEMBERCARD_OUTBOX_MAX_ATTEMPTS", 8)? {
                    n @ 1..=50 => u32::try_from(n).unwrap_or(8),
                    _ => bail!("MEMBERCARD_OUTBOX_MAX_ATTEMPTS must be 1 to 50"),
                },
                webhook_timeout: millis("MEMBERCARD_WEBHOOK_TIMEOUT_MS", 5_000)?,
                allow_private_webhooks: !production,
                miniprogram_state: match var("MEMBERCARD_WECHAT_MINIPROGRAM_STATE").as_deref() {
                    None => "formal".to_owned(),
                    Some(state @ ("formal" | "trial" | "developer")) => state.to_owned(),
                    Some(other) => bail!(
                        "MEMBERCARD_WECHAT_MINIPROGRAM_STATE must be formal, trial or developer, not {other}"
                    ),
                },
            },
            wechat,
            business: BusinessSettings {
                timezone,
                test_clock,
                points_expiry_months: u32::try_from(size("MEMBERCARD_POINTS_EXPIRY_MONTHS", 12)?)
                    .context("MEMBERCARD_POINTS_EXPIRY_MONTHS is too large")?,
                jobs_interval_seconds: u64::try_from(size("MEMBERCARD_JOBS_INTERVAL_SECONDS", 60)?)
                    .context("MEMBERCARD_JOBS_INTERVAL_SECONDS is too large")?,
                purchase_pending_days: u32::try_from(size("MEMBERCARD_PURCHASE_PENDING_DAYS", 7)?)
                    .context("MEMBERCARD_PURCHASE_PENDING_DAYS is too large")?,
                member_day: match size("MEMBERCARD_MEMBER_DAY", 8)? {
                    day @ 0..=31 => u32::try_from(day).unwrap_or(8),
                    _ => bail!("MEMBERCARD_MEMBER_DAY must be a day of the month (1-31) or 0"),
                },
                koc_min_tier: var("MEMBERCARD_KOC_MIN_TIER")
                    .map(|t| t.trim().to_ascii_uppercase())
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "REGULAR".to_owned()),
                marketing_messages_per_day: match size("MEMBERCARD_MARKETING_MESSAGES_PER_DAY", 1)?
                {
                    n @ 0..=10 => u32::try_from(n).unwrap_or(1),
                    _ => bail!("MEMBERCARD_MARKETING_MESSAGES_PER_DAY must be 0 to 10"),
                },
            },
        })
    }
}

/// CIDRs separated by commas or spaces; a bare address is a network of one.
fn parse_networks(raw: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    raw.split([',', ' '])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .with_context(|| format!("{item} is not a CIDR such as 10.0.0.0/8"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|key| vars.get(key).cloned())
    }

    #[test]
    fn nothing_configured_means_embedded_development_defaults() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.environment, Environment::Development);
        assert_eq!(s.database.url, "sqlite://membercard.db?mode=rwc");
        assert!(s.redis.url.is_none());
        assert_eq!(s.server.listen, "127.0.0.1:8080");
        assert_eq!(s.business.timezone, chrono_tz::Asia::Shanghai);
        assert!(s.auth.dev_login && s.business.test_clock && s.server.playground);
    }

    #[test]
    fn production_refuses_to_start_without_a_jwt_secret() {
        assert!(settings(&[("MEMBERCARD_ENV", "production")]).is_err());
        let secret = "0123456789abcdef0123456789abcdef";
        let s = settings(&[
            ("MEMBERCARD_ENV", "production"),
            ("MEMBERCARD_JWT_SECRET", secret),
        ])
        .unwrap();
        assert!(!s.auth.dev_login && !s.business.test_clock && !s.server.playground);
        assert!(!s.server.introspection);
    }

    #[test]
    fn production_refuses_dev_logins_and_the_test_clock() {
        let secret = ("MEMBERCARD_JWT_SECRET", "0123456789abcdef0123456789abcdef");
        let prod = ("MEMBERCARD_ENV", "production");
        assert!(settings(&[prod, secret, ("MEMBERCARD_DEV_LOGIN", "true")]).is_err());
        assert!(settings(&[prod, secret, ("MEMBERCARD_TEST_CLOCK", "true")]).is_err());
    }

    #[test]
    fn wechat_credentials_turn_dev_logins_off_by_default() {
        let s = settings(&[
            ("MEMBERCARD_WECHAT_APPID", "wx1"),
            ("MEMBERCARD_WECHAT_SECRET", "s"),
        ])
        .unwrap();
        assert!(!s.auth.dev_login);
    }

    #[test]
    fn bad_values_are_reported() {
        assert!(settings(&[("MEMBERCARD_ENV", "staging")]).is_err());
        assert!(settings(&[("MEMBERCARD_TIMEZONE", "Mars/Olympus")]).is_err());
        assert!(settings(&[("MEMBERCARD_JWT_SECRET", "short")]).is_err());
        assert!(settings(&[("MEMBERCARD_MEMBER_TOKEN_TTL_SECONDS", "0")]).is_err());
        assert!(settings(&[("MEMBERCARD_TRUSTED_PROXIES", "10.0.0.0/33")]).is_err());
    }

    #[test]
    fn trusted_proxies_take_cidrs_and_bare_addresses() {
        let s = settings(&[("MEMBERCARD_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1 ::1")]).unwrap();
        let shown: Vec<String> = s
            .server
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]);
        assert!(settings(&[]).unwrap().server.trusted_proxies.is_empty());
    }

    #[test]
    fn secrets_never_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "***");
    }
}
