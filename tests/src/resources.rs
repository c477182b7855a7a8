//! What each test owns and gives back: its database (a PostgreSQL database or a SQLite file)
//! and its Redis keys.

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database};

/// A fresh database: a PostgreSQL database when `TEST_DATABASE_URL` is set, else a SQLite file.
pub(crate) async fn test_database(unique: &str) -> (String, DatabaseCleanup) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) => {
            let name = format!("membercard_test_{unique}");
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            let _ = admin.close().await;
            let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
            url.set_path(&name);
            (
                url.to_string(),
                DatabaseCleanup::Postgres { admin_url, name },
            )
        }
        Err(_) => {
            let path = std::env::temp_dir().join(format!("membercard-test-{unique}.db"));
            let url = format!("sqlite://{}?mode=rwc", path.display());
            (url, DatabaseCleanup::Sqlite(path))
        }
    }
}

pub(crate) enum DatabaseCleanup {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

/// Drops the test's database and Redis keys when the test ends.
pub(crate) struct Cleanup {
    pub(crate) database: DatabaseCleanup,
    pub(crate) redis: Option<(String, String)>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let DatabaseCleanup::Sqlite(path) = &self.database {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                let _ = std::fs::remove_file(file);
            }
        }
        let postgres = match &self.database {
            DatabaseCleanup::Postgres { admin_url, name } => {
                Some((admin_url.clone(), name.clone()))
            }
            DatabaseCleanup::Sqlite(_) => None,
        };
        let redis = self.redis.clone();
        if postgres.is_none() && redis.is_none() {
            return;
        }
        // Drop runs inside the test's runtime; do the async cleanup on a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            runtime.block_on(async move {
                if let Some((admin_url, name)) = postgres
                    && let Ok(admin) = Database::connect(&admin_url).await
                {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    let _ = admin.close().await;
                }
                if let Some((url, prefix)) = redis {
                    let _ = delete_redis_prefix(&url, &prefix).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// A connection to `url` (one Redis or a cluster's seed nodes), through the service's own client.
pub(crate) async fn redis_connection(
    url: &str,
) -> redis::RedisResult<api::infra::redis::Connection> {
    api::infra::redis::Redis::connect(url, "", std::time::Duration::from_secs(5))?
        .connection()
        .await
}

async fn delete_redis_prefix(url: &str, prefix: &str) -> redis::RedisResult<()> {
    let mut connection = redis_connection(url).await?;
    // On a cluster, KEYS asks every primary and the answers are combined.
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await?;
    // One key at a time: keys of several slots cannot go in one DEL on a cluster.
    for key in keys {
        let _: i64 = redis::cmd("DEL")
            .arg(key)
            .query_async(&mut connection)
            .await?;
    }
    Ok(())
}
