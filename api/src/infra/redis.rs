//! The one Redis connection of the process, and the only place keys are spelled out: every key
//! starts with the configured prefix, so deployments and tests can share a server.
//!
//! Redis holds derived state only, so it must never slow the API down: every command has a
//! short timeout, and a circuit breaker stops sending commands for a while after Redis fails
//! (callers then fall back at once: rate limits in process, boards from the database). After
//! the pause one caller probes; its success closes the breaker. The connection is made lazily,
//! so a Redis that is down at start-up does not stop the server.
//!
//! `REDIS_URL` may name a Redis Cluster by listing seed nodes separated by commas
//! (`redis://10.0.0.1:6379,redis://10.0.0.2:6379`); the cluster client then routes every
//! command by its key. Keys a script touches together share a hash tag, so they live in one
//! slot.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;

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
    backend: Backend,
    prefix: String,
    breaker: std::sync::Arc<Breaker>,
    round_trips: Arc<AtomicU64>,
}

#[derive(Clone)]
enum Backend {
    Single(ConnectionManager),
    Cluster(std::sync::Arc<LazyCluster>),
}

/// A cluster connection made on first use (it cannot be made lazily by the client itself).
struct LazyCluster {
    client: ClusterClient,
    connection: tokio::sync::OnceCell<ClusterConnection>,
    timeout: Duration,
}

/// A handle for commands on one Redis or a cluster; clones share the connection. It counts
/// round trips (a command, a pipeline or a script call each), for the hot-path budgets.
#[derive(Clone)]
pub struct Connection {
    link: Link,
    round_trips: Arc<AtomicU64>,
}

#[derive(Clone)]
enum Link {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        match &mut self.link {
            Link::Single(connection) => connection.req_packed_command(cmd),
            Link::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        match &mut self.link {
            Link::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Link::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match &self.link {
            Link::Single(connection) => connection.get_db(),
            Link::Cluster(connection) => connection.get_db(),
        }
    }
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
    /// A client for `url` (one Redis, or a cluster's seed nodes separated by commas) that
    /// connects on first use, so the server starts while Redis is down, with `timeout` on
    /// every connection attempt and command.
    ///
    /// # Errors
    /// An unusable URL.
    pub fn connect(url: &str, prefix: &str, timeout: Duration) -> Result<Self, redis::RedisError> {
        let nodes: Vec<&str> = url
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        let backend = if nodes.len() > 1 {
            let client = ClusterClient::builder(nodes)
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .retries(1)
                .build()?;
            Backend::Cluster(std::sync::Arc::new(LazyCluster {
                client,
                connection: tokio::sync::OnceCell::new(),
                timeout,
            }))
        } else {
            let client = redis::Client::open(url)?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(200));
            Backend::Single(ConnectionManager::new_lazy_with_config(client, config)?)
        };
        Ok(Self {
            backend,
            prefix: prefix.to_owned(),
            breaker: std::sync::Arc::default(),
            round_trips: Arc::default(),
        })
    }

    /// Whether this is a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.backend, Backend::Cluster(_))
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
    /// At once, without touching the network, while the breaker is open; a cluster that
    /// cannot be reached the first time.
    pub async fn connection(&self) -> Result<Connection, redis::RedisError> {
        if !self.breaker.admit() {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "Redis skipped: circuit open after a recent failure",
            )));
        }
        let connection = self.raw_connection().await;
        if connection.is_err() {
            self.breaker.record(false);
        }
        connection
    }

    async fn raw_connection(&self) -> Result<Connection, redis::RedisError> {
        match &self.backend {
            Backend::Single(connection) => Ok(Connection {
                link: Link::Single(connection.clone()),
                round_trips: Arc::clone(&self.round_trips),
            }),
            Backend::Cluster(cluster) => {
                let connection = cluster
                    .connection
                    .get_or_try_init(|| async {
                        tokio::time::timeout(cluster.timeout, cluster.client.get_async_connection())
                            .await
                            .map_err(|_elapsed| {
                                redis::RedisError::from((
                                    redis::ErrorKind::Io,
                                    "Redis Cluster did not answer in time",
                                ))
                            })?
                    })
                    .await?;
                Ok(Connection {
                    link: Link::Cluster(connection.clone()),
                    round_trips: Arc::clone(&self.round_trips),
                })
            }
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

    /// Round trips to Redis since start (commands, pipelines and script calls).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// Answers when Redis answers PING.
    ///
    /// # Errors
    /// `INTERNAL` when Redis does not answer.
    pub async fn ping(&self) -> Result<(), AppError> {
        // Past the breaker: the readiness check is how an open breaker learns Redis is back.
        let pong: Result<String, _> = match self.raw_connection().await {
            Ok(mut connection) => redis::cmd("PING").query_async(&mut connection).await,
            Err(error) => Err(error),
        };
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
