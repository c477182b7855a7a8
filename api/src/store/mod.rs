//! Database access with sea-orm, one module per aggregate. Functions take any
//! `ConnectionTrait`, so they run on the pool or inside a service's transaction.

pub mod admins;
pub mod campaigns;
pub mod deliveries;
pub mod koc;
pub mod leaderboards;
pub mod ledger;
pub mod lottery;
pub mod member_days;
pub mod members;
pub mod message_consents;
pub mod notifications;
pub mod programme;
pub mod purchases;
pub mod reach;
pub mod referrals;
pub mod rewards;
pub mod seasons;
pub mod segments;
pub mod signins;
pub mod stats;
pub mod tags;
pub mod tasks;
pub mod tiers;
pub mod wechat;

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::DatabaseSettings;

/// Opens the database named by `settings.url` (PostgreSQL or SQLite), with every wait bounded:
/// a connection within `acquire_timeout`, a statement within `statement_timeout` (PostgreSQL's
/// `statement_timeout`; SQLite's busy timeout), so a stalled database fails requests fast.
///
/// SQLite gets WAL, the busy timeout and a single connection: writers are serialized rather
/// than left to fail with "database is locked" under concurrency.
///
/// # Errors
/// When the database cannot be reached.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    open(settings, Some(settings.statement_timeout)).await
}

/// One connection without a statement timeout, for migrations (an index on a large table may
/// take longer than any request should).
///
/// # Errors
/// When the database cannot be reached.
pub async fn connect_for_migrations(
    settings: &DatabaseSettings,
) -> Result<DatabaseConnection, DbErr> {
    open(
        &DatabaseSettings {
            max_connections: 1,
            ..settings.clone()
        },
        None,
    )
    .await
}

async fn open(
    settings: &DatabaseSettings,
    statement_timeout: Option<Duration>,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(settings.url.clone());
    options
        .sqlx_logging(false)
        .acquire_timeout(settings.acquire_timeout)
        .connect_timeout(settings.acquire_timeout);
    if settings.url.starts_with("sqlite:") {
        let busy = statement_timeout.unwrap_or(settings.statement_timeout);
        options
            .max_connections(1)
            .min_connections(1)
            .map_sqlx_sqlite_opts(move |opts| {
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(busy)
                    .foreign_keys(true)
            });
    } else {
        // A ping on every checkout is one more round trip per statement outside a
        // transaction; only a connection idle for a while can have been dropped under us.
        options
            .max_connections(settings.max_connections)
            .test_before_acquire_if_idle_for(Duration::from_secs(1));
        if let Some(timeout) = statement_timeout {
            let ms = timeout.as_millis().to_string();
            options.map_sqlx_postgres_opts(move |opts| {
                opts.options([("statement_timeout", ms.as_str())])
            });
        }
    }
    Database::connect(options).await
}

/// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`,
/// waiting up to the busy timeout): a transaction that read first and wrote later could not
/// wait for a writer in another process (the CLI) and would fail with "database is locked".
/// PostgreSQL begins as usual; its row locks serialize writers.
///
/// # Errors
/// When the database does not answer in time.
pub async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let sqlite_transaction_mode = (db.get_database_backend() == DatabaseBackend::Sqlite)
        .then_some(SqliteTransactionMode::Immediate);
    db.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode,
    })
    .await
}

/// Answers when the database answers a trivial query.
///
/// # Errors
/// When the database does not answer.
pub async fn ping(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}
