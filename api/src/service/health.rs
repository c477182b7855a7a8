//! Readiness: the database answers, and Redis answers when it is configured.

use sea_orm::DatabaseConnection;

use crate::infra::redis::Redis;
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

pub struct HealthService {
    db: DatabaseConnection,
    redis: Option<Redis>,
}

impl HealthService {
    pub fn new(db: DatabaseConnection, redis: Option<Redis>) -> Self {
        Self { db, redis }
    }

    pub async fn readiness(&self) -> Readiness {
        let database = match store::ping(&self.db).await {
            Ok(()) => DependencyState::Up,
            Err(e) => {
                tracing::warn!(error = %e, "database is not ready");
                DependencyState::Down
            }
        };
        let redis = match &self.redis {
            None => DependencyState::Disabled,
            Some(redis) => match redis.ping().await {
                Ok(()) => DependencyState::Up,
                Err(e) => {
                    tracing::warn!(error = ?e, "redis is not ready");
                    DependencyState::Down
                }
            },
        };
        Readiness { database, redis }
    }
}
