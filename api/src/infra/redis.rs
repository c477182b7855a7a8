//! The one Redis connection of the process, and the only place keys are spelled out: every key
//! starts with the configured prefix, so deployments and tests can share a server.
//!
//! Redis holds derived state only, so it must never slow the API down: every command has a
//! short timeout, and a circuit breaker stops sending commands for a while after Redis fails
//! (callers then fall back at once: rate limits in process, boards from the database). After
//! the pause one caller probes; its success closes the breaker. The connection is made lazily,
//! so a Redis that is down at start-up does not stop the server.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::AppError;

/// How long the breaker stays open after a failure before one caller probes again.
const OPEN_FOR: Duration = Duration::from_secs(2);

/// The breaker's state, as `/metrics` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Commands go to Redis.
    Closed,
    /// Redis failed recently: commands are skipped until the pause ends.
    Open,
}

/// A shared, reconnecting Redis connection with a key prefix and a circuit breaker.
#[derive(Clone)]
pub struct Redis {
    connection: ConnectionManager,
    prefix: String,
    breaker: std::sync::Arc<Breaker>,
}

#[derive(Default)]
struct Breaker {
    /// While set and in the future, commands are skipped.
    open_until: Mutex<Option<Instant>>,
}

impl Breaker {
    /// Whether a command may go out now. When the pause has ended, the caller that asks first
    /// becomes the probe: the pause is extended for everyone else until it answers.
    fn admit(&self) -> bool {
        let Ok(mut open_until) = self.open_until.lock() else {
            return true;
        };
        match *open_until {
            None => true,
            Some(until) if Instant::now() < until => false,
            Some(_) => {
                *open_until = Some(Instant::now() + OPEN_FOR);
                true
            }
        }
    }

    fn record(&self, ok: bool) {
        if let Ok(mut open_until) = self.open_until.lock() {
            let was_open = open_until.is_some();
            *open_until = if ok {
                None
            } else {
                Some(Instant::now() + OPEN_FOR)
            };
            match (was_open, ok) {
                (true, true) => tracing::info!("Redis answers again: circuit closed"),
                (false, false) => tracing::warn!("Redis failed: circuit open, skipping it"),
                _ => {}
            }
        }
    }

    fn state(&self) -> BreakerState {
        match self.open_until.lock().map(|guard| *guard) {
            Ok(None) => BreakerState::Closed,
            _ => BreakerState::Open,
        }
    }
}

impl Redis {
    /// A client for `url` that connects on first use (so the server starts while Redis is
    /// down), with `timeout` on every connection attempt and command.
    ///
    /// # Errors
    /// An unusable URL.
    pub fn connect(url: &str, prefix: &str, timeout: Duration) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let connection = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
            breaker: std::sync::Arc::default(),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The one way to spell a key: the prefix, then the parts joined by ':'.
    pub fn key(&self, parts: &[&str]) -> String {
        format!("{}{}", self.prefix, parts.join(":"))
    }

    /// A handle for one command or pipeline; clones share one multiplexed connection. Report
    /// the command's result through `observe`.
    ///
    /// # Errors
    /// At once, without touching the network, while the breaker is open.
    pub fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
        if self.breaker.admit() {
            Ok(self.connection.clone())
        } else {
            Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "Redis skipped: circuit open after a recent failure",
            )))
        }
    }

    /// Passes a command's result through, teaching the breaker whether Redis answered.
    /// Errors Redis itself answered with (a wrong type, a script error) keep it closed.
    pub fn observe<T>(&self, result: Result<T, redis::RedisError>) -> Result<T, redis::RedisError> {
        match &result {
            Ok(_) => self.breaker.record(true),
            Err(error) if unreachable(error) => self.breaker.record(false),
            Err(_) => self.breaker.record(true),
        }
        result
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// Answers when Redis answers PING.
    ///
    /// # Errors
    /// `INTERNAL` when Redis does not answer.
    pub async fn ping(&self) -> Result<(), AppError> {
        let mut connection = self.connection.clone();
        let pong: Result<String, _> = redis::cmd("PING").query_async(&mut connection).await;
        self.observe(pong)?;
        Ok(())
    }
}

/// Whether `error` says Redis could not be reached or did not answer in time.
fn unreachable(error: &redis::RedisError) -> bool {
    error.is_timeout()
        || error.is_io_error()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_on_failure_and_one_probe_closes_it() {
        let breaker = Breaker::default();
        assert!(breaker.admit());
        breaker.record(false);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.admit(), "open: skipped at once");
        if let Ok(mut until) = breaker.open_until.lock() {
            *until = Some(Instant::now());
        }
        assert!(breaker.admit(), "the pause is over: this caller probes");
        assert!(!breaker.admit(), "everyone else waits for the probe");
        breaker.record(true);
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.admit());
    }
}
