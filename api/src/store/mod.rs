//! Database access with sea-orm, one module per aggregate. Functions take any
//! `ConnectionTrait`, so they run on the pool or inside a service's transaction.

pub mod admins;
pub mod koc;
pub mod leaderboards;
pub mod ledger;
pub mod member_days;
pub mod members;
pub mod notifications;
pub mod programme;
pub mod purchases;
pub mod referrals;
pub mod rewards;
pub mod signins;
pub mod stats;
pub mod tiers;

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

use crate::config::DatabaseSettings;

/// Opens the database named by `settings.url` (PostgreSQL or SQLite).
///
/// SQLite gets WAL, a busy timeout and a single connection: writers are serialized rather
/// than left to fail with "database is locked" under concurrency.
///
/// # Errors
/// When the database cannot be reached.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(settings.url.clone());
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10));
    if settings.url.starts_with("sqlite:") {
        options
            .max_connections(1)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
    } else {
        options.max_connections(settings.max_connections);
    }
    Database::connect(options).await
}

/// Answers when the database answers a trivial query.
///
/// # Errors
/// When the database does not answer.
pub async fn ping(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}
