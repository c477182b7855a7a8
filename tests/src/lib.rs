//! Integration-test harness: spawns the real membercard server on port 0 with its own
//! database (a SQLite file, or a fresh PostgreSQL database when `TEST_DATABASE_URL` is set),
//! its own Redis key prefix (when `TEST_REDIS_URL` is set), a clock the test moves, and a local
//! fake of WeChat's `code2Session`. Tests talk GraphQL over HTTP to it.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test support: a setup that fails should fail the test loudly"
)]

use std::collections::HashMap;
use std::sync::Arc;

use api::config::Settings;
use api::domain::auth::Role;
use api::infra::clock::Clock;
use api::service::Services;
use api::startup::Application;
use rand::Rng;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use wiremock::MockServer;

pub mod relay;
mod resources;
mod response;
mod scenarios;
mod wechat;

pub use relay::{RedisRelay, StatementLog, TcpRelay};
use resources::{Cleanup, redis_connection, test_database};
pub use response::GqlResponse;
pub use wechat::FakeWechat;

pub const WECHAT_APPID: &str = "wx-test-appid";
pub const WECHAT_SECRET: &str = "wx-test-secret";
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A running server and handles for direct assertions.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Arc<Clock>,
    pub services: Arc<Services>,
    /// A separate connection to the app's database.
    pub db: DatabaseConnection,
    pub redis_prefix: Option<String>,
    pub wechat: MockServer,
    /// What the WeChat fake received, and errcodes it is told to answer.
    pub fake_wechat: FakeWechat,
    /// The settings the app was built with (a sibling instance reuses them).
    settings: Settings,
    /// The environment those settings came from (a child process reuses it).
    pub env: HashMap<String, String>,
    /// A relay the app reaches its database through that the test does not hold itself (the
    /// statement log's); dropping a relay closes its connections.
    _database_relay: Option<TcpRelay>,
    /// Held for its `Drop`: removes the database and Redis keys when the test ends.
    _cleanup: Cleanup,
}

/// A logged-in caller.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub id: String,
}

/// Spawns an app with the test defaults.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Spawns an app with `vars` added to (or replacing) the test environment.
pub async fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    spawn(vars, DatabaseRoute::Direct).await.0
}

/// On PostgreSQL (`TEST_DATABASE_URL`), an app that reaches its database through a relay the
/// test can cut or stall; `None` on SQLite, whose file cannot go away.
pub async fn spawn_app_behind_database_relay(vars: &[(&str, &str)]) -> Option<(TestApp, TcpRelay)> {
    std::env::var_os("TEST_DATABASE_URL")?;
    let (app, relay, _) = spawn(vars, DatabaseRoute::Relay).await;
    Some((app, relay?))
}

/// On PostgreSQL, an app whose every SQL statement is logged on its way to the server, to
/// hold the statement budgets; `None` on SQLite. Background passes that would write into the
/// log (board healing) are switched off.
pub async fn spawn_app_logging_statements(
    vars: &[(&str, &str)],
) -> Option<(TestApp, Arc<StatementLog>)> {
    std::env::var_os("TEST_DATABASE_URL")?;
    let mut vars = vars.to_vec();
    vars.push(("MEMBERCARD_LEADERBOARD_HEAL_MS", "86400000"));
    vars.push(("MEMBERCARD_OUTBOX_POLL_MS", "0"));
    let (mut app, relay, log) = spawn(&vars, DatabaseRoute::LoggingRelay).await;
    app._database_relay = relay;
    Some((app, log?))
}

/// How the app under test reaches its database.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DatabaseRoute {
    Direct,
    Relay,
    LoggingRelay,
}

async fn spawn(
    vars: &[(&str, &str)],
    route: DatabaseRoute,
) -> (TestApp, Option<TcpRelay>, Option<Arc<StatementLog>>) {
    if std::env::var_os("TEST_LOG").is_some() {
        api::telemetry::init("info", api::telemetry::LogFormat::Text);
    }
    let wechat = MockServer::start().await;
    let fake_wechat = FakeWechat::default();
    fake_wechat.mount(&wechat).await;

    let unique = format!("{:016x}", rand::thread_rng().r#gen::<u64>());
    let (database_url, cleanup_db) = test_database(&unique).await;
    let redis_url = std::env::var("TEST_REDIS_URL").ok();
    let redis_prefix = redis_url.as_ref().map(|_| format!("test:{unique}:"));

    let target = url::Url::parse(&database_url).expect("a database URL");
    let (relay, log) = match route {
        DatabaseRoute::Direct => (None, None),
        DatabaseRoute::Relay => (Some(TcpRelay::start(&target).await), None),
        DatabaseRoute::LoggingRelay => {
            let (relay, log) = TcpRelay::start_logging_statements(&target).await;
            (Some(relay), Some(log))
        }
    };
    let app_database_url = relay.as_ref().map_or_else(
        || database_url.clone(),
        |relay| {
            let mut url = url::Url::parse(&relay.url_for(&target)).expect("a relayed URL");
            if route == DatabaseRoute::LoggingRelay {
                // The log reads the protocol, so the connection must stay in the clear.
                url.query_pairs_mut().append_pair("sslmode", "disable");
            }
            url.to_string()
        },
    );
    let mut env: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), app_database_url),
        ("MEMBERCARD_LISTEN".into(), "127.0.0.1:0".into()),
        ("MEMBERCARD_JWT_SECRET".into(), JWT_SECRET.into()),
        ("MEMBERCARD_WECHAT_APPID".into(), WECHAT_APPID.into()),
        ("MEMBERCARD_WECHAT_SECRET".into(), WECHAT_SECRET.into()),
        ("MEMBERCARD_WECHAT_BASE_URL".into(), wechat.uri()),
        ("MEMBERCARD_DEV_LOGIN".into(), "true".into()),
        ("MEMBERCARD_DATABASE_MAX_CONNECTIONS".into(), "5".into()),
        // Scenarios run scheduled work themselves (runPointsExpiry, evaluateTiers), so a
        // background pass never changes state halfway through a test.
        ("MEMBERCARD_JOBS_INTERVAL_SECONDS".into(), "0".into()),
        // Deliveries leave within a moment, so tests wait briefly for them.
        ("MEMBERCARD_OUTBOX_POLL_MS".into(), "50".into()),
        // Scenarios walk the test clock through months; tokens should outlive them.
        (
            "MEMBERCARD_MEMBER_TOKEN_TTL_SECONDS".into(),
            "630720000".into(),
        ),
        (
            "MEMBERCARD_ADMIN_TOKEN_TTL_SECONDS".into(),
            "630720000".into(),
        ),
    ]);
    // Scenarios fire many requests quickly; rate limits get their own scenarios with low limits.
    for &action in api::domain::rate_limit::RateLimitedAction::ALL {
        env.insert(
            format!("MEMBERCARD_RATE_LIMIT_{}", action.name()),
            "1000000/60".into(),
        );
    }
    if let (Some(url), Some(prefix)) = (&redis_url, &redis_prefix) {
        env.insert("REDIS_URL".into(), url.clone());
        env.insert("MEMBERCARD_REDIS_PREFIX".into(), prefix.clone());
    }
    for (key, value) in vars {
        env.insert((*key).to_owned(), (*value).to_owned());
    }
    let settings = Settings::from_lookup(|key| env.get(key).cloned()).expect("test settings");

    let app = Application::build(settings.clone())
        .await
        .expect("build the app");
    let address = format!("http://{}", app.address());
    let clock = app.clock();
    let services = app.services();
    tokio::spawn(app.run_until_stopped());

    let db = Database::connect(&database_url)
        .await
        .expect("test db connection");
    let app = TestApp {
        address,
        client: reqwest::Client::new(),
        clock,
        services,
        db,
        redis_prefix: redis_prefix.clone(),
        wechat,
        fake_wechat,
        settings,
        env,
        _database_relay: None,
        _cleanup: Cleanup {
            database: cleanup_db,
            redis: redis_url.zip(redis_prefix),
        },
    };
    (app, relay, log)
}

impl TestApp {
    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.address)
    }

    /// Sends one GraphQL request as JSON, with the caller's token when given.
    pub async fn gql(&self, auth: Option<&Session>, query: &str, variables: Value) -> GqlResponse {
        self.gql_with_headers(auth, query, variables, &[]).await
    }

    /// `gql` with extra request headers (what a proxy adds, say).
    pub async fn gql_with_headers(
        &self,
        auth: Option<&Session>,
        query: &str,
        variables: Value,
        headers: &[(&str, &str)],
    ) -> GqlResponse {
        self.gql_at(&self.graphql_url(), auth, query, variables, headers)
            .await
    }

    /// `gql_with_headers` sent to another instance's GraphQL `url` (a sibling's).
    pub async fn gql_at(
        &self,
        url: &str,
        auth: Option<&Session>,
        query: &str,
        variables: Value,
        headers: &[(&str, &str)],
    ) -> GqlResponse {
        // What a current GraphQL client sends; `application/json`-only clients get 200 for a
        // document that does not validate (tests of that send their own Accept).
        let mut request = self
            .client
            .post(url)
            .json(&json!({ "query": query, "variables": variables }));
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("accept"))
        {
            request = request.header(
                "accept",
                "application/graphql-response+json, application/json;q=0.9",
            );
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(session) = auth {
            request = request.bearer_auth(&session.token);
        }
        let response = request.send().await.expect("send GraphQL request");
        let status = response.status().as_u16();
        let body = response.json().await.expect("GraphQL response is JSON");
        GqlResponse { status, body }
    }

    /// Starts a second instance on the same database and Redis prefix (another replica behind
    /// the load balancer) and returns its GraphQL URL. It has its own clock, set to this one's.
    pub async fn spawn_sibling(&self) -> String {
        let sibling = Application::build(self.settings.clone())
            .await
            .expect("build the sibling");
        sibling
            .clock()
            .set(self.clock.now())
            .expect("the sibling's test clock moves");
        let url = format!("http://{}/graphql", sibling.address());
        tokio::spawn(sibling.run_until_stopped());
        url
    }

    /// Posts `body` as-is with `content_type`, for requests `gql` would never send.
    pub async fn post_raw(&self, content_type: &str, body: &str) -> (u16, Value) {
        self.post_raw_accepting(content_type, None, body).await
    }

    /// `post_raw` with an `Accept` header.
    pub async fn post_raw_accepting(
        &self,
        content_type: &str,
        accept: Option<&str>,
        body: &str,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(self.graphql_url())
            .header("content-type", content_type);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request
            .body(body.to_owned())
            .send()
            .await
            .expect("send raw request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("the answer is JSON"))
    }

    /// Logs a member in through the fake WeChat (the code `wx-code-<name>` maps to the openid
    /// `openid-<name>`).
    pub async fn login_member(&self, name: &str) -> Session {
        let res = self
            .gql(
                None,
                "mutation($code: String!) { memberLogin(code: $code) { token member { id } } }",
                json!({ "code": format!("wx-code-{name}") }),
            )
            .await;
        let data = res.expect_ok();
        Session {
            token: data["memberLogin"]["token"].as_str().unwrap().to_owned(),
            id: data["memberLogin"]["member"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        }
    }

    /// Creates an operator account with `role` and logs it in over GraphQL.
    pub async fn login_admin(&self, username: &str, role: Role) -> Session {
        self.services
            .auth
            .create_admin(username, ADMIN_PASSWORD, role)
            .await
            .expect("create admin");
        let res = self
            .gql(
                None,
                "mutation($u: String!, $p: String!) { adminLogin(username: $u, password: $p) { token admin { id } } }",
                json!({ "u": username, "p": ADMIN_PASSWORD }),
            )
            .await;
        let data = res.expect_ok();
        Session {
            token: data["adminLogin"]["token"].as_str().unwrap().to_owned(),
            id: data["adminLogin"]["admin"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        }
    }

    /// Moves the app's clock forward by whole days.
    pub fn advance_days(&self, days: i64) {
        self.clock
            .advance(chrono::TimeDelta::days(days))
            .expect("the test clock moves");
    }

    /// Runs a statement directly on the app's database.
    pub async fn execute(&self, sql: &str) {
        self.db.execute_unprepared(sql).await.expect("direct SQL");
    }

    /// `GET /readyz`: the status and the JSON body.
    pub async fn readyz(&self) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}/readyz", self.address))
            .send()
            .await
            .expect("readyz answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("readyz is JSON"))
    }

    /// Takes SQLite's write lock from another connection, as a second process (the CLI) does,
    /// until the transaction ends. On PostgreSQL it holds nothing.
    pub async fn hold_write_lock(&self) -> sea_orm::DatabaseTransaction {
        use sea_orm::TransactionTrait;
        self.db
            .begin_with_options(sea_orm::TransactionOptions {
                isolation_level: None,
                access_mode: None,
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            })
            .await
            .expect("take the write lock")
    }

    /// Deletes a Redis key under this app's prefix (a lost board); false without Redis.
    pub async fn redis_del(&self, key: &str) -> bool {
        let (Ok(url), Some(prefix)) = (std::env::var("TEST_REDIS_URL"), &self.redis_prefix) else {
            return false;
        };
        let mut connection = redis_connection(&url).await.expect("connect to Redis");
        let deleted: i64 = redis::cmd("DEL")
            .arg(format!("{prefix}{key}"))
            .query_async(&mut connection)
            .await
            .expect("DEL");
        deleted == 1
    }

    /// How many rows `table` has.
    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .await
    }

    /// The number a query answers in its column `n`.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .expect("run the query")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("a number in `n`")
    }
}
