//! Rate limiting with GCRA. With Redis, one Lua script per check, so every instance shares the
//! limits; without it (or while it does not answer), `governor` in this process. Both read the service clock (the test clock
//! moves them), never Redis' or the OS's own time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota as GovernorQuota, RateLimiter as Governor};

use crate::domain::rate_limit::{self, Quota, RateLimitedAction, RateLimits};
use crate::error::AppError;
use crate::infra::clock::Clock;
use crate::infra::redis::Redis;

/// GCRA for several limits of one subject at once (one round trip): for each key, allow when
/// the theoretical arrival time stays within `burst` intervals of now. ARGV: now, then an
/// (interval, burst) pair per key. Returns, per key, 0 when allowed, else the seconds to wait.
/// Time comes from the caller.
const GCRA: &str = r"
local now = tonumber(ARGV[1])
local waits = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or '0')
  -- A stored time can never be more than a full burst ahead of now; if it is, the clock was
  -- moved back (the test clock), so start afresh.
  if tat < now or tat > now + interval * burst then tat = now end
  local allow_at = tat + interval - interval * burst
  if allow_at > now then
    waits[i] = math.ceil((allow_at - now) / 1000)
  else
    local new_tat = tat + interval
    redis.call('SET', key, new_tat, 'PX', math.max(1, new_tat - now))
    waits[i] = 0
  end
end
return waits
";

/// Counts failures in a window; at the limit, locks the subject for the window.
const LOCKOUT: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], window) end
if count >= limit then
  redis.call('SET', KEYS[2], now + window, 'PX', window)
end
return count
";

/// The service clock as `governor` sees it: time since the Unix epoch.
#[derive(Clone)]
struct ServiceClock(Arc<Clock>);

impl GovernorClock for ServiceClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        let millis = u64::try_from(self.0.now().timestamp_millis()).unwrap_or(0);
        Duration::from_millis(millis)
    }
}

type Keyed =
    Governor<String, DefaultKeyedStateStore<String>, ServiceClock, NoOpMiddleware<Duration>>;

/// Limits shared by every instance through Redis.
struct Shared {
    redis: Redis,
    gcra: redis::Script,
    lockout: redis::Script,
}

/// Limits counted in this process: the backend without Redis, and the fallback while Redis
/// does not answer (a Redis outage degrades limits to per-process; it never takes the API down).
struct Local {
    limiters: RwLock<HashMap<RateLimitedAction, Keyed>>,
    locks: Mutex<Locks>,
    /// The latest service time a check saw (ms since the epoch): a later check that sees an
    /// earlier time means the test clock moved back.
    latest_ms: AtomicU64,
}

/// username → (locked until ms since epoch, failures in the window, window start ms).
type Locks = HashMap<String, (u64, u32, u64)>;

/// Checks and records rate-limited actions.
pub struct RateLimiter {
    clock: Arc<Clock>,
    limits: RateLimits,
    shared: Option<Shared>,
    local: Local,
}

/// The breaker logs when Redis goes and comes back; each skipped check is only debug noise.
fn redis_trouble(error: &redis::RedisError) {
    tracing::debug!(%error, "Redis unavailable: rate limits counted in this process");
}

impl RateLimiter {
    pub fn new(clock: Arc<Clock>, limits: RateLimits, redis: Option<Redis>) -> Self {
        let shared = redis.map(|redis| Shared {
            redis,
            gcra: redis::Script::new(GCRA),
            lockout: redis::Script::new(LOCKOUT),
        });
        let local = Local {
            limiters: RwLock::new(local_limiters(&clock, &limits)),
            locks: Mutex::new(HashMap::new()),
            latest_ms: AtomicU64::new(0),
        };
        Self {
            clock,
            limits,
            shared,
            local,
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.now().timestamp_millis()).unwrap_or(0)
    }

    fn locks(&self) -> Result<std::sync::MutexGuard<'_, Locks>, AppError> {
        self.local
            .locks
            .lock()
            .map_err(|e| AppError::internal(anyhow::anyhow!("rate-limit lock poisoned: {e}")))
    }

    /// Counts one `action` by `subject`.
    ///
    /// # Errors
    /// `RATE_LIMITED` with the seconds to wait when over the limit.
    pub async fn check(&self, action: RateLimitedAction, subject: &str) -> Result<(), AppError> {
        let wait = self.check_all(subject, &[action]).await?;
        rate_limit::verdict(wait.first().copied().unwrap_or(0))
    }

    /// Counts one of each `actions` by `subject`, in one Redis round trip; each is allowed or
    /// refused on its own. Returns the seconds to wait per action, 0 when allowed.
    ///
    /// # Errors
    /// `INTERNAL` only when the in-process fallback's state is poisoned.
    pub async fn check_all(
        &self,
        subject: &str,
        actions: &[RateLimitedAction],
    ) -> Result<Vec<u64>, AppError> {
        if let Some(shared) = &self.shared {
            match self.check_shared(shared, actions, subject).await {
                Ok(waits) if waits.len() == actions.len() => return Ok(waits),
                Ok(_) => tracing::warn!("the rate-limit script answered the wrong count"),
                Err(error) => redis_trouble(&error),
            }
        }
        actions
            .iter()
            .map(|action| self.check_local(*action, subject))
            .collect()
    }

    /// Counts one action in this process; the seconds to wait, 0 when allowed.
    fn check_local(&self, action: RateLimitedAction, subject: &str) -> Result<u64, AppError> {
        self.forget_if_clock_moved_back()?;
        let limiters = self
            .local
            .limiters
            .read()
            .map_err(|e| AppError::internal(anyhow::anyhow!("rate limiters poisoned: {e}")))?;
        Ok(match limiters.get(&action) {
            Some(limiter) => match limiter.check_key(&subject.to_owned()) {
                Ok(()) => 0,
                Err(not_until) => {
                    let now = ServiceClock(Arc::clone(&self.clock)).now();
                    not_until.wait_time_from(now).as_secs().max(1)
                }
            },
            None => 0,
        })
    }

    /// A clock moved back (the test clock) starts the in-process limits and locks afresh, as the
    /// Redis scripts do: nobody is locked out for as long as the clock had jumped.
    fn forget_if_clock_moved_back(&self) -> Result<(), AppError> {
        let now = self.now_ms();
        let latest = self.local.latest_ms.fetch_max(now, Ordering::SeqCst);
        if now.saturating_add(CLOCK_SLACK_MS) < latest {
            self.local.latest_ms.store(now, Ordering::SeqCst);
            let fresh = local_limiters(&self.clock, &self.limits);
            *self.local.limiters.write().map_err(|e| {
                AppError::internal(anyhow::anyhow!("rate limiters poisoned: {e}"))
            })? = fresh;
            self.locks()?.clear();
            tracing::info!("the clock moved back: in-process rate limits start afresh");
        }
        Ok(())
    }

    async fn check_shared(
        &self,
        shared: &Shared,
        actions: &[RateLimitedAction],
        subject: &str,
    ) -> Result<Vec<u64>, redis::RedisError> {
        let mut invocation = shared.gcra.prepare_invoke();
        invocation.arg(self.now_ms());
        // One hash tag per subject: a request's limits share a slot on Redis Cluster.
        let tag = slot_tag(subject);
        for action in actions {
            let quota = self.limits.quota(*action);
            invocation
                .key(shared.redis.key(&["rate", &tag, action.name()]))
                .arg(quota.interval_ms())
                .arg(quota.count);
        }
        let mut connection = shared.redis.connection().await?;
        shared
            .redis
            .observe(invocation.invoke_async(&mut connection).await)
    }

    /// Refuses a locked subject (too many failed admin logins).
    ///
    /// # Errors
    /// `RATE_LIMITED` with the seconds until the lock ends.
    pub async fn ensure_unlocked(&self, subject: &str) -> Result<(), AppError> {
        self.forget_if_clock_moved_back()?;
        let now = self.now_ms();
        let shared_until = match &self.shared {
            Some(shared) => {
                let key = shared.redis.key(&[
                    "lock",
                    RateLimitedAction::AdminLoginFailure.name(),
                    &slot_tag(subject),
                ]);
                let until: Result<Option<u64>, _> = match shared.redis.connection().await {
                    Ok(mut connection) => shared.redis.observe(
                        redis::cmd("GET")
                            .arg(key)
                            .query_async(&mut connection)
                            .await,
                    ),
                    Err(skipped) => Err(skipped),
                };
                match until {
                    Ok(until) => Some(until.unwrap_or(0)),
                    Err(error) => {
                        redis_trouble(&error);
                        None
                    }
                }
            }
            None => None,
        };
        let until = match shared_until {
            Some(until) => until,
            None => self.locks()?.get(subject).map_or(0, |(until, _, _)| *until),
        };
        let window_ms = u64::from(
            self.limits
                .quota(RateLimitedAction::AdminLoginFailure)
                .per_seconds,
        ) * 1000;
        // A lock ends at most one window after it was set; a later end means the clock was
        // moved back (the test clock), and the lock no longer applies.
        if until > now && until <= now.saturating_add(window_ms) {
            Err(AppError::RateLimited {
                retry_after_secs: (until - now).div_ceil(1000),
            })
        } else {
            Ok(())
        }
    }

    /// Records a failure; reaching the limit within the window locks the subject for the window.
    ///
    /// # Errors
    /// `INTERNAL` when the in-process state is poisoned.
    pub async fn record_failure(&self, subject: &str) -> Result<(), AppError> {
        let quota = self.limits.quota(RateLimitedAction::AdminLoginFailure);
        let window_ms = u64::from(quota.per_seconds) * 1000;
        let now = self.now_ms();
        if let Some(shared) = &self.shared {
            let name = RateLimitedAction::AdminLoginFailure.name();
            let counted: Result<u64, _> = match shared.redis.connection().await {
                Ok(mut connection) => shared.redis.observe(
                    shared
                        .lockout
                        .key(shared.redis.key(&["failures", name, &slot_tag(subject)]))
                        .key(shared.redis.key(&["lock", name, &slot_tag(subject)]))
                        .arg(now)
                        .arg(window_ms)
                        .arg(quota.count)
                        .invoke_async(&mut connection)
                        .await,
                ),
                Err(skipped) => Err(skipped),
            };
            match counted {
                Ok(_) => return Ok(()),
                Err(error) => redis_trouble(&error),
            }
        }
        let mut locks = self.locks()?;
        let entry = locks.entry(subject.to_owned()).or_insert((0, 0, now));
        if now.saturating_sub(entry.2) >= window_ms {
            *entry = (entry.0, 0, now);
        }
        entry.1 = entry.1.saturating_add(1);
        if entry.1 >= quota.count {
            entry.0 = now.saturating_add(window_ms);
            entry.1 = 0;
            entry.2 = now;
        }
        Ok(())
    }
}

/// `subject` as a Redis Cluster hash tag: keys one script touches together (a request's
/// limits; a username's failure counter and lock) must share a slot.
fn slot_tag(subject: &str) -> String {
    format!("{{{subject}}}")
}

/// Wall-clock jitter below this is not a clock moved back.
const CLOCK_SLACK_MS: u64 = 1_000;

/// A fresh in-process limiter for every limited action.
fn local_limiters(clock: &Arc<Clock>, limits: &RateLimits) -> HashMap<RateLimitedAction, Keyed> {
    RateLimitedAction::ALL
        .iter()
        .copied()
        .filter_map(|action| {
            let quota = governor_quota(limits.quota(action))?;
            let limiter = Governor::new(
                quota,
                DefaultKeyedStateStore::default(),
                ServiceClock(Arc::clone(clock)),
            );
            Some((action, limiter))
        })
        .collect()
}

fn governor_quota(quota: Quota) -> Option<GovernorQuota> {
    let burst = std::num::NonZeroU32::new(quota.count)?;
    GovernorQuota::with_period(Duration::from_millis(quota.interval_ms()))
        .map(|q| q.allow_burst(burst))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rate_limit::Quota;

    #[tokio::test]
    async fn local_lockout_locks_after_the_limit() {
        let clock = Arc::new(Clock::new(chrono_tz::UTC, true));
        let mut limits = RateLimits::default();
        limits.set(
            RateLimitedAction::AdminLoginFailure,
            Quota {
                count: 3,
                per_seconds: 900,
            },
        );
        let limiter = RateLimiter::new(Arc::clone(&clock), limits, None);
        for _ in 0..3 {
            limiter.ensure_unlocked("boss").await.unwrap();
            limiter.record_failure("boss").await.unwrap();
        }
        assert_eq!(
            limiter.ensure_unlocked("boss").await.unwrap_err().code(),
            "RATE_LIMITED"
        );
        clock.advance(chrono::TimeDelta::seconds(901)).unwrap();
        assert!(limiter.ensure_unlocked("boss").await.is_ok());
    }

    #[tokio::test]
    async fn local_limits_follow_the_service_clock() {
        let clock = Arc::new(Clock::new(chrono_tz::UTC, true));
        let mut limits = RateLimits::default();
        limits.set(
            RateLimitedAction::SignIn,
            Quota {
                count: 2,
                per_seconds: 60,
            },
        );
        let limiter = RateLimiter::new(Arc::clone(&clock), limits, None);
        limiter.check(RateLimitedAction::SignIn, "m").await.unwrap();
        limiter.check(RateLimitedAction::SignIn, "m").await.unwrap();
        assert!(limiter.check(RateLimitedAction::SignIn, "m").await.is_err());
        clock.advance(chrono::TimeDelta::seconds(60)).unwrap();
        assert!(limiter.check(RateLimitedAction::SignIn, "m").await.is_ok());
    }

    #[tokio::test]
    async fn a_clock_moved_back_does_not_lock_anyone_out() {
        let clock = Arc::new(Clock::new(chrono_tz::UTC, true));
        let mut limits = RateLimits::default();
        limits.set(
            RateLimitedAction::SignIn,
            Quota {
                count: 1,
                per_seconds: 60,
            },
        );
        let limiter = RateLimiter::new(Arc::clone(&clock), limits, None);
        clock.advance(chrono::TimeDelta::days(365)).unwrap();
        limiter.check(RateLimitedAction::SignIn, "m").await.unwrap();
        assert!(limiter.check(RateLimitedAction::SignIn, "m").await.is_err());
        clock.reset().unwrap();
        assert!(limiter.check(RateLimitedAction::SignIn, "m").await.is_ok());
    }
}
