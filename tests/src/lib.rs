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
use std::path::PathBuf;
use std::sync::Arc;

use api::config::Settings;
use api::domain::auth::Role;
use api::infra::clock::Clock;
use api::service::Services;
use api::startup::Application;
use rand::Rng;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

pub mod relay;
pub use relay::{RedisRelay, StatementLog, TcpRelay};

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
    /// The settings the app was built with (a sibling instance reuses them).
    settings: Settings,
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

/// A GraphQL answer with its HTTP status.
#[derive(Debug)]
pub struct GqlResponse {
    pub status: u16,
    pub body: Value,
}

impl GqlResponse {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn errors(&self) -> Vec<Value> {
        self.body["errors"].as_array().cloned().unwrap_or_default()
    }

    /// The code of the first error.
    pub fn error_code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    /// The `extensions.field` of the first error (what a `VALIDATION` names).
    pub fn error_field(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["field"].as_str()
    }

    /// The data, after asserting the request succeeded without errors.
    #[track_caller]
    pub fn expect_ok(&self) -> &Value {
        assert_eq!(self.status, 200, "unexpected status: {}", self.body);
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        self.data()
    }

    /// Asserts exactly one error with `code` and no data for the failing field.
    #[track_caller]
    pub fn expect_error(&self, code: &str) {
        assert_eq!(
            self.error_code(),
            Some(code),
            "unexpected answer: {}",
            self.body
        );
    }
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
    Mock::given(method("GET"))
        .and(path("/sns/jscode2session"))
        .respond_with(FakeCode2Session)
        .mount(&wechat)
        .await;

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
    for action in api::domain::rate_limit::RateLimitedAction::ALL {
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
        settings,
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
        // What a current GraphQL client sends; `application/json`-only clients get 200 for a
        // document that does not validate (tests of that send their own Accept).
        let mut request = self
            .client
            .post(self.graphql_url())
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

    /// Signs `member` in and returns the payload (asserting success).
    pub async fn sign_in(&self, member: &Session) -> Value {
        let res = self
            .gql(
                Some(member),
                "mutation { signIn { day basePoints multiplierPercent requestedPoints pointsGranted cutByCap capped streak totalSignIns freezeUsed birthdayPoints memberDayMultiplierPercent balance tomorrowPoints milestoneBonuses { kind threshold points cutByCap } } }",
                json!({}),
            )
            .await;
        res.expect_ok()["signIn"].clone()
    }

    /// The member's spendable balance, read over GraphQL.
    pub async fn balance(&self, member: &Session) -> i64 {
        let res = self
            .gql(Some(member), "{ me { points { balance } } }", json!({}))
            .await;
        res.expect_ok()["me"]["points"]["balance"]
            .as_i64()
            .expect("a balance")
    }

    /// The member's tier code, read over GraphQL.
    pub async fn tier_code(&self, member: &Session) -> String {
        let res = self
            .gql(Some(member), "{ me { tier { code } } }", json!({}))
            .await;
        res.expect_ok()["me"]["tier"]["code"]
            .as_str()
            .expect("a tier code")
            .to_owned()
    }

    /// The given fields of `me.points`.
    pub async fn points(&self, member: &Session, fields: &str) -> Value {
        let query = format!("{{ me {{ points {{ {fields} }} }} }}");
        let res = self.gql(Some(member), &query, json!({})).await;
        res.expect_ok()["me"]["points"].clone()
    }

    /// Sets the app's clock to an RFC 3339 instant.
    pub fn set_clock(&self, rfc3339: &str) {
        let at = chrono::DateTime::parse_from_rfc3339(rfc3339).expect("an RFC 3339 instant");
        self.clock
            .set(at.with_timezone(&chrono::Utc))
            .expect("the test clock moves");
    }

    /// Checks the ledger invariants for every member, after expiring what has lapsed:
    /// balance ≥ 0, balance = sum of entries = sum of spendable lots.
    pub async fn assert_ledger_invariants(&self) {
        self.services
            .points
            .run_expiry()
            .await
            .expect("expiry runs");
        let now = self.clock.now();
        let backend = self.db.get_database_backend();
        let rows = self
            .db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, points_balance FROM members ORDER BY id",
            ))
            .await
            .expect("members");
        for row in rows {
            let id: i64 = row.try_get("", "id").unwrap();
            let balance: i64 = row.try_get("", "points_balance").unwrap();
            assert!(balance >= 0, "member {id} has a negative balance {balance}");
            let entries = self
                .sum(&format!("SELECT CAST(SUM(amount) AS BIGINT) AS n FROM point_entries WHERE member_id = {id}"), vec![])
                .await;
            assert_eq!(balance, entries, "member {id}: balance vs sum of entries");
            let lots = self
                .sum(
                    &format!(
                        "SELECT CAST(SUM(remaining) AS BIGINT) AS n FROM point_lots WHERE member_id = {id} \
                         AND available_at <= $1 AND (expires_at IS NULL OR expires_at > $1)"
                    ),
                    vec![now.into()],
                )
                .await;
            assert_eq!(balance, lots, "member {id}: balance vs spendable lots");
            let negative_lots = self
                .sum(
                    &format!("SELECT COUNT(*) AS n FROM point_lots WHERE member_id = {id} AND remaining < 0"),
                    vec![],
                )
                .await;
            assert_eq!(negative_lots, 0, "member {id} has a lot below zero");
        }
    }

    async fn sum(&self, sql: &str, values: Vec<sea_orm::Value>) -> i64 {
        let backend = self.db.get_database_backend();
        let sql = if backend == sea_orm::DatabaseBackend::Sqlite {
            sql.replace("$1", "?")
        } else {
            sql.to_owned()
        };
        let values = if backend == sea_orm::DatabaseBackend::Sqlite {
            // SQLite binds each `?` separately.
            let count = sql.matches('?').count();
            values.into_iter().cycle().take(count).collect()
        } else {
            values
        };
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .expect("sum query")
            .expect("a row");
        row.try_get::<Option<i64>>("", "n")
            .expect("a number")
            .unwrap_or(0)
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

    /// How many rows `table` has.
    /// An operator's points adjustment for `member` (asserting success); `key` makes it once.
    pub async fn adjust_points(&self, admin: &Session, member: &Session, amount: i64, key: &str) {
        self.gql(
            Some(admin),
            "mutation($m: ID!, $a: Int!, $k: String!) { adjustPoints(memberId: $m, amount: $a, reason: \"test\", idempotencyKey: $k) { balanceAfter } }",
            json!({ "m": member.id, "a": amount, "k": key }),
        )
        .await
        .expect_ok();
    }

    /// The member's invite code, read over GraphQL.
    pub async fn invite_code(&self, member: &Session) -> String {
        let res = self
            .gql(Some(member), "{ me { inviteCode } }", json!({}))
            .await;
        res.expect_ok()["me"]["inviteCode"]
            .as_str()
            .expect("an invite code")
            .to_owned()
    }

    /// Names `inviter` as `invitee`'s inviter (asserting success).
    pub async fn bind(&self, invitee: &Session, inviter: &Session) {
        let code = self.invite_code(inviter).await;
        self.gql(
            Some(invitee),
            "mutation($c: String!) { bindInviter(inviteCode: $c) { status } }",
            json!({ "c": code }),
        )
        .await
        .expect_ok();
    }

    /// Moves a member to a tier directly (scenario set-up: earning a tier takes months).
    pub async fn set_tier(&self, member: &Session, code: &str) {
        self.execute(&format!(
            "UPDATE members SET tier_code = '{code}' WHERE id = {}",
            member.id
        ))
        .await;
    }

    /// Makes `member` a KOC the way a member does: applies, and an operator approves.
    pub async fn make_koc(&self, member: &Session, operator: &Session) {
        self.set_tier(member, "REGULAR").await;
        let applied = self
            .gql(
                Some(member),
                r#"mutation { applyKoc(platforms: [{platform: "小红书", handle: "me", followers: 1200}], reason: "我喜欢这个品牌") { id } }"#,
                json!({}),
            )
            .await;
        let id = applied.expect_ok()["applyKoc"]["id"].clone();
        self.gql(
            Some(operator),
            "mutation($id: ID!) { reviewKocApplication(id: $id, approve: true) { status } }",
            json!({ "id": id }),
        )
        .await
        .expect_ok();
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

    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count rows")
            .expect("a count row");
        row.try_get::<i64>("", "n").expect("the count")
    }
}

/// Answers `code2Session` like WeChat: `wx-code-<name>` is a valid code for `openid-<name>`;
/// anything else is errcode 40029. The body is labelled text/plain, as WeChat does.
struct FakeCode2Session;

impl Respond for FakeCode2Session {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let params: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let credentials_ok = params.get("appid").map(String::as_str) == Some(WECHAT_APPID)
            && params.get("secret").map(String::as_str) == Some(WECHAT_SECRET)
            && params.get("grant_type").map(String::as_str) == Some("authorization_code");
        let body = match params
            .get("js_code")
            .and_then(|c| c.strip_prefix("wx-code-"))
        {
            _ if !credentials_ok => json!({ "errcode": 40125, "errmsg": "invalid appsecret" }),
            Some(name) if !name.is_empty() => json!({
                "openid": format!("openid-{name}"),
                "session_key": "c2Vzc2lvbi1rZXk=",
                "unionid": format!("unionid-{name}"),
            }),
            _ => json!({ "errcode": 40029, "errmsg": "invalid code" }),
        };
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/plain")
            .set_body_string(body.to_string())
    }
}

/// A fresh database: a PostgreSQL database when `TEST_DATABASE_URL` is set, else a SQLite file.
async fn test_database(unique: &str) -> (String, DatabaseCleanup) {
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

enum DatabaseCleanup {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

/// Drops the test's database and Redis keys when the test ends.
struct Cleanup {
    database: DatabaseCleanup,
    redis: Option<(String, String)>,
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
async fn redis_connection(url: &str) -> redis::RedisResult<api::infra::redis::Connection> {
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
