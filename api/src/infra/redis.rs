//! The one Redis connection of the process, and the only place keys are spelled out: every key
//! starts with the configured prefix, so deployments and tests can share a server.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::AppError;

/// A shared, reconnecting Redis connection with a key prefix.
#[derive(Clone)]
pub struct Redis {
    connection: ConnectionManager,
    prefix: String,
}

impl Redis {
    /// Connects to `url`, failing fast when Redis cannot be reached at start-up.
    ///
    /// # Errors
    /// The connection error.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        // Redis holds derived state only: when it stalls, callers fall back (rate limits in
        // process, boards from the database) after a second rather than hang.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The one way to spell a key: the prefix, then the parts joined by ':'.
    pub fn key(&self, parts: &[&str]) -> String {
        format!("{}{}", self.prefix, parts.join(":"))
    }

    /// A handle for commands; clones share one multiplexed connection.
    pub fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// Answers when Redis answers PING.
    ///
    /// # Errors
    /// `INTERNAL` when Redis does not answer.
    pub async fn ping(&self) -> Result<(), AppError> {
        let mut connection = self.connection();
        let _: String = redis::cmd("PING").query_async(&mut connection).await?;
        Ok(())
    }
}
