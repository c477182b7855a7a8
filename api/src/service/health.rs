//! Readiness: the database answers, and Redis answers when it is configured.

use std::time::Duration;

use sea_orm::{DatabaseBackend, DatabaseConnection};

use crate::infra::redis::{BreakerState, Redis};
use crate::store;

/// The state of one dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyState {
    Up,
    Down,
    /// Not configured (Redis on the embedded default).
    Disabled,
}

impl DependencyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
            Self::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Readiness {
    pub database: DependencyState,
    pub redis: DependencyState,
}

impl Readiness {
    pub fn is_ready(self) -> bool {
        self.database == DependencyState::Up && self.redis != DependencyState::Down
    }
}

/// The database pool as `/metrics` shows it.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    /// Connections open now, busy or idle.
    pub open: u32,
    pub idle: usize,
    pub max: u32,
}

pub struct HealthService {
    db: DatabaseConnection,
    redis: Option<Redis>,
    /// The longest a check may take: a stalled dependency is down, not a hung probe.
    timeout: Duration,
}

impl HealthService {
    pub fn new(db: DatabaseConnection, redis: Option<Redis>, timeout: Duration) -> Self {
        Self { db, redis, timeout }
    }

    /// The pool's connections (SQLite: its one connection).
    pub fn pool_stats(&self) -> PoolStats {
        match self.db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                PoolStats {
                    open: pool.size(),
                    idle: pool.num_idle(),
                    max: pool.options().get_max_connections(),
                }
            }
            _ => {
                let pool = self.db.get_sqlite_connection_pool();
                PoolStats {
                    open: pool.size(),
                    idle: pool.num_idle(),
                    max: pool.options().get_max_connections(),
                }
            }
        }
    }

    /// Whether Redis' circuit breaker is open (`None` without Redis).
    pub fn redis_breaker_open(&self) -> Option<bool> {
        self.redis
            .as_ref()
            .map(|redis| redis.breaker_state() == BreakerState::Open)
    }

    /// Round trips made to Redis since start (`None` without Redis).
    pub fn redis_round_trips(&self) -> Option<u64> {
        self.redis.as_ref().map(Redis::round_trips)
    }

    /// Both checks at once, each within the timeout.
    pub async fn readiness(&self) -> Readiness {
        let database = async {
            match tokio::time::timeout(self.timeout, store::ping(&self.db)).await {
                Ok(Ok(())) => DependencyState::Up,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "database is not ready");
                    DependencyState::Down
                }
                Err(_elapsed) => {
                    tracing::warn!("database did not answer the readiness check in time");
                    DependencyState::Down
                }
            }
        };
        let redis = async {
            match &self.redis {
                None => DependencyState::Disabled,
                Some(redis) => match tokio::time::timeout(self.timeout, redis.ping()).await {
                    Ok(Ok(())) => DependencyState::Up,
                    Ok(Err(e)) => {
                        tracing::warn!(error = ?e, "redis is not ready");
                        DependencyState::Down
                    }
                    Err(_elapsed) => {
                        tracing::warn!("redis did not answer the readiness check in time");
                        DependencyState::Down
                    }
                },
            }
        };
        let (database, redis) = tokio::join!(database, redis);
        Readiness { database, redis }
    }
}
