//! membercard's benchmark — a tool, not a test (CI does not run it).
//!
//! For each programme size it seeds members fast with one SQL statement per table, starts the
//! release server behind a relay that reads every SQL statement off the PostgreSQL wire, runs
//! each hot path a few times to count its statements and Redis round trips, then restarts the
//! server directly and loads each path with `wrk` (16 connections by default). On PostgreSQL it
//! also runs the anchors (`bench/anchors/run.sh`: pgbench and PostGraphile over the same
//! machine) in the same session and prints the ratios. On SQLite it prints membercard's figures
//! alone. Every figure is the median of the runs.
//!
//! `cargo build --release -p api -p bench && target/release/membercard-bench --help`

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool: what it prints is its result"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use api::domain::auth::{Role, Viewer};
use api::domain::ids::{AdminId, MemberId};
use api::domain::points::MonthKey;
use api::infra::token::TokenService;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde_json::Value;
use tests::TcpRelay;

const HELP: &str = "membercard-bench [--sqlite] [--members 10000,1000000] [--duration SECS] \
[--connections N] [--runs N] [--no-anchors] [--operations signIn,me]

  --sqlite        the embedded default (no Redis, no anchors); else PostgreSQL + Redis
  --members       programme sizes to seed, comma-separated (default 10000,1000000)
  --duration      seconds each wrk run lasts (default 15)
  --connections   wrk connections (default 16)
  --runs          runs per figure; the median is printed (default 3)
  --no-anchors    skip pgbench and PostGraphile
  --operations    load only these operations, comma-separated (default: all four)

Environment: BENCH_DATABASE_URL (PostgreSQL, default postgres://postgres@127.0.0.1:5432/postgres;
the bench creates and drops its own database), BENCH_REDIS_URL (default redis://127.0.0.1:6379),
BENCH_SERVER (default target/release/membercard).";

const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret";
/// Requests per operation when counting statements.
const SAMPLES: usize = 20;
/// Members whose tokens the load uses (the rest are there for the data's size).
const LOAD_MEMBERS: u64 = 60_000;

#[derive(Debug)]
struct Args {
    sqlite: bool,
    sizes: Vec<u64>,
    duration: u64,
    connections: u32,
    runs: usize,
    anchors: bool,
    /// The operations to load; `None` = all.
    operations: Option<Vec<String>>,
}

impl Args {
    fn loads(&self, operation: &str) -> bool {
        self.operations
            .as_ref()
            .is_none_or(|only| only.iter().any(|name| name == operation))
    }
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        sqlite: false,
        sizes: vec![10_000, 1_000_000],
        duration: 15,
        connections: 16,
        runs: 3,
        anchors: true,
        operations: None,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let mut value = || words.next().context("a value after the flag");
        match word.as_str() {
            "--sqlite" => parsed.sqlite = true,
            "--no-anchors" => parsed.anchors = false,
            "--members" => {
                parsed.sizes = value()?
                    .split(',')
                    .map(|n| n.trim().parse().context("--members takes numbers"))
                    .collect::<anyhow::Result<_>>()?;
            }
            "--duration" => parsed.duration = value()?.parse()?,
            "--connections" => parsed.connections = value()?.parse()?,
            "--runs" => parsed.runs = value()?.parse()?,
            "--operations" => {
                let names: Vec<String> = value()?.split(',').map(str::to_owned).collect();
                if let Some(unknown) = names
                    .iter()
                    .find(|name| !OPERATIONS.iter().any(|(known, _)| known == name))
                {
                    bail!("unknown operation {unknown}\n\n{HELP}");
                }
                parsed.operations = Some(names);
            }
            "--help" | "-h" => {
                println!("{HELP}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}\n\n{HELP}"),
        }
    }
    parsed.anchors &= !parsed.sqlite;
    Ok(parsed)
}

/// The operations loaded, with the GraphQL each request sends. `{key}` becomes a fresh
/// idempotency key per request.
const OPERATIONS: [(&str, &str); 4] = [
    ("signIn", "mutation { signIn { streak balance } }"),
    (
        "me",
        "{ me { id points { balance pendingPoints } tier { current { code } } } }",
    ),
    (
        "leaderboard",
        "{ leaderboard(board: POINTS_MONTH, first: 100) { entries { rank displayName score } me { rank } } }",
    ),
    (
        "redeemReward",
        "mutation { redeemReward(rewardId: \\\"{reward}\\\", idempotencyKey: \\\"{key}\\\") { balanceAfter } }",
    ),
];

/// One wrk run.
#[derive(Debug, Clone, Copy, Default)]
struct Load {
    requests: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

/// What one operation costs per request.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    statements: Option<f64>,
    redis: Option<f64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let root = workspace_root();
    let server = std::env::var_os("BENCH_SERVER")
        .map_or_else(|| root.join("target/release/membercard"), PathBuf::from);
    if !server.exists() {
        bail!(
            "{} is missing: run `cargo build --release -p api` first",
            server.display()
        );
    }
    let mut results: BTreeMap<(u64, &str), (Cost, Vec<Load>)> = BTreeMap::new();
    let mut segment_counts: Vec<(u64, SegmentTiming)> = Vec::new();
    for &size in &args.sizes {
        eprintln!("== {size} members: seeding and counting");
        let programme = Programme::create(&args, &server, size).await?;
        let costs = programme.count_costs(&server).await?;
        eprintln!("== {size} members: a segment count");
        segment_counts.push((size, programme.time_segment_count(&server).await?));
        eprintln!("== {size} members: load");
        let loads = programme.load(&server, &args).await?;
        for (name, _) in OPERATIONS.into_iter().filter(|(name, _)| args.loads(name)) {
            let cost = costs.get(name).copied().unwrap_or_default();
            let runs = loads.get(name).cloned().unwrap_or_default();
            results.insert((size, name), (cost, runs));
        }
        programme.drop_database().await?;
    }
    let anchors = if args.anchors {
        eprintln!("== anchors: pgbench and PostGraphile");
        Some(anchors(&root, &args)?)
    } else {
        None
    };
    print_table(&args, &results, anchors.as_ref());
    println!(
        "\n| segment count (previewSegment, one query) | members | matched | median ms | slowest ms |"
    );
    println!("|---|---|---|---|---|");
    for (size, timing) in &segment_counts {
        println!(
            "| tiers + RFM groups + anyOf(lifecycle, tag) | {size} | {} | {:.0} | {:.0} |",
            timing.matched, timing.median_ms, timing.slowest_ms
        );
    }
    Ok(())
}

/// How long a segment count took, over `SEGMENT_RUNS` requests.
struct SegmentTiming {
    matched: u64,
    median_ms: f64,
    slowest_ms: f64,
}

/// Requests timed for the segment count (after one to warm the caches).
const SEGMENT_RUNS: usize = 5;

/// A filter mixing every kind of condition: tiers, RFM groups, and an `anyOf` of a lifecycle
/// stage and a tag.
const SEGMENT_QUERY: &str = "{\"query\":\"{ previewSegment(filter: { tiers: [\\\"NEW\\\", \\\"REGULAR\\\"], rfmGroups: [IMPORTANT_VALUE, GENERAL_VALUE, IMPORTANT_KEEP], anyOf: [{ lifecycleStages: [AT_RISK, DORMANT] }, { tagIds: [\\\"1\\\"] }] }) { count } }\"}";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// A seeded programme in its own database.
struct Programme {
    size: u64,
    /// The database for the server (a file path for SQLite).
    database_url: String,
    /// PostgreSQL: the server database's parent, to drop it afterwards.
    admin_url: Option<String>,
    redis_url: Option<String>,
    tokens: Vec<String>,
    admin_token: String,
    reward_id: String,
}

impl Programme {
    async fn create(args: &Args, server: &Path, size: u64) -> anyhow::Result<Self> {
        let (database_url, admin_url) = if args.sqlite {
            let path = std::env::temp_dir().join(format!("membercard-bench-{size}.db"));
            let _ = std::fs::remove_file(&path);
            (format!("sqlite://{}?mode=rwc", path.display()), None)
        } else {
            let admin_url = std::env::var("BENCH_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
            let admin = Database::connect(&admin_url).await?;
            admin
                .execute_unprepared("DROP DATABASE IF EXISTS membercard_bench")
                .await?;
            admin
                .execute_unprepared("CREATE DATABASE membercard_bench")
                .await?;
            let mut url = url::Url::parse(&admin_url)?;
            url.set_path("membercard_bench");
            (url.to_string(), Some(admin_url))
        };
        let redis_url = (!args.sqlite).then(|| {
            std::env::var("BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
        });
        // The server migrates the empty database; then the seed goes in directly.
        drop(Server::start(server, &database_url, redis_url.as_deref()).await?);
        let db = Database::connect(&database_url).await?;
        seed(&db, size).await?;
        let tokens = TokenService::new(JWT_SECRET.as_bytes(), 86_400 * 30, 86_400 * 30);
        let now = chrono::Utc::now();
        let issued: anyhow::Result<Vec<String>> = (1..=size.min(LOAD_MEMBERS))
            .map(|id| {
                let id = i64::try_from(id)?;
                Ok(tokens.issue(Viewer::Member(MemberId::new(id)), now)?.token)
            })
            .collect();
        let admin_id = scalar(&db, "SELECT id FROM admins WHERE username = 'bench'").await?;
        let admin_token = tokens
            .issue(
                Viewer::Admin {
                    id: AdminId::new(admin_id),
                    role: Role::Admin,
                },
                now,
            )?
            .token;
        let reward_id = scalar(&db, "SELECT id FROM rewards WHERE title = 'Bench mug'").await?;
        Ok(Self {
            size,
            database_url,
            admin_url,
            redis_url,
            tokens: issued?,
            admin_token,
            reward_id: reward_id.to_string(),
        })
    }

    /// Spreads purchase facts, sign-ins, tiers and a tag over the members (one statement
    /// each), then times `previewSegment` end to end: the figure SPEC §15 sets a second for at
    /// 1M members.
    async fn time_segment_count(&self, server: &Path) -> anyhow::Result<SegmentTiming> {
        let db = Database::connect(&self.database_url).await?;
        let backend = db.get_database_backend();
        let now = chrono::Utc::now();
        let day = |sql: &str| Statement::from_sql_and_values(backend, sql, vec![now.into()]);
        // Purchases up to 400 days back (the SQLite spelling is only for a smoke run: its
        // stored instants are formatted differently, so its matched count is not meaningful).
        let (p1, interval) = match backend {
            DbBackend::Postgres => ("$1", "($1::timestamptz - ((id % 400) * INTERVAL '1 day'))"),
            _ => ("?1", "datetime(?1, '-' || (id % 400) || ' days')"),
        };
        db.execute_raw(day(&format!(
            "UPDATE members SET last_purchase_at = CASE WHEN id % 3 = 0 THEN NULL ELSE {interval} END, \
             purchases_12m = CASE WHEN id % 3 = 0 THEN 0 ELSE id % 7 END, \
             spend_12m_cents = CASE WHEN id % 3 = 0 THEN 0 ELSE (id * 7919) % 100000 END, \
             tier_code = CASE id % 4 WHEN 0 THEN 'NEW' WHEN 1 THEN 'REGULAR' WHEN 2 THEN 'CORE' ELSE 'SEED' END"
        )))
        .await?;
        db.execute_unprepared(
            "INSERT INTO tags (name, color, created_at) VALUES ('bench', '#999999', CURRENT_TIMESTAMP)",
        )
        .await?;
        db.execute_raw(day(&format!(
            "INSERT INTO member_tags (member_id, tag_id, created_at) \
             SELECT id, (SELECT MIN(id) FROM tags), {p1} FROM members WHERE id % 10 = 0"
        )))
        .await?;
        if backend == DbBackend::Postgres {
            db.execute_unprepared("ANALYZE").await?;
        }
        let running = Server::start(server, &self.database_url, self.redis_url.as_deref()).await?;
        let client = reqwest::Client::new();
        let mut millis = Vec::new();
        let mut matched = 0;
        for run in 0..=SEGMENT_RUNS {
            let started = std::time::Instant::now();
            let answer = running
                .ask(&client, &self.admin_token, SEGMENT_QUERY)
                .await?;
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            matched = answer
                .pointer("/data/previewSegment/count")
                .and_then(Value::as_u64)
                .with_context(|| format!("previewSegment answered {answer}"))?;
            if run > 0 {
                millis.push(elapsed);
            }
        }
        let slowest_ms = millis.iter().copied().fold(0.0, f64::max);
        Ok(SegmentTiming {
            matched,
            median_ms: median(millis),
            slowest_ms,
        })
    }

    /// Runs each operation `SAMPLES` times on a server whose SQL is read off the wire.
    async fn count_costs(&self, server: &Path) -> anyhow::Result<BTreeMap<&'static str, Cost>> {
        let (relay, log, url) = if self.admin_url.is_some() {
            let target = url::Url::parse(&self.database_url)?;
            let (relay, log) = TcpRelay::start_logging_statements(&target).await;
            let mut relayed = url::Url::parse(&relay.url_for(&target))?;
            relayed.query_pairs_mut().append_pair("sslmode", "disable");
            (Some(relay), Some(log), relayed.to_string())
        } else {
            (None, None, self.database_url.clone())
        };
        let running = Server::start(server, &url, self.redis_url.as_deref()).await?;
        let client = reqwest::Client::new();
        let mut costs = BTreeMap::new();
        for (index, (name, query)) in OPERATIONS.iter().enumerate() {
            // A first call warms the rules cache and builds the boards.
            let warm = self.tokens.get(SAMPLES * index).context("enough members")?;
            running.ask(&client, warm, &self.body(query, 0, 0)).await?;
            let redis_before = running.redis_round_trips(&client).await?;
            if let Some(log) = &log {
                log.clear();
            }
            for sample in 1..SAMPLES {
                let token = self
                    .tokens
                    .get(SAMPLES * index + sample)
                    .context("enough members")?;
                let body = self.body(query, 0, sample);
                let answer = running.ask(&client, token, &body).await?;
                if answer.get("errors").is_some() {
                    bail!("{name} answered {answer}");
                }
            }
            let samples = f64::from(u32::try_from(SAMPLES - 1)?);
            let statements = log.as_ref().map(|log| {
                f64::from(u32::try_from(log.executed().len()).unwrap_or(u32::MAX)) / samples
            });
            let redis = match (redis_before, running.redis_round_trips(&client).await?) {
                (Some(before), Some(after)) => Some(
                    f64::from(u32::try_from(after.saturating_sub(before)).unwrap_or(u32::MAX))
                        / samples,
                ),
                _ => None,
            };
            costs.insert(*name, Cost { statements, redis });
        }
        drop(running);
        drop(relay);
        Ok(costs)
    }

    /// Loads every operation `runs` times with wrk; each run starts on a new business day, so
    /// every member can sign in again.
    async fn load(
        &self,
        server: &Path,
        args: &Args,
    ) -> anyhow::Result<BTreeMap<&'static str, Vec<Load>>> {
        let running = Server::start(server, &self.database_url, self.redis_url.as_deref()).await?;
        let client = reqwest::Client::new();
        let dir = std::env::temp_dir().join(format!("membercard-bench-{}", self.size));
        std::fs::create_dir_all(&dir)?;
        let tokens = dir.join("tokens.txt");
        std::fs::write(&tokens, self.tokens.join("\n"))?;
        let mut loads: BTreeMap<&'static str, Vec<Load>> = BTreeMap::new();
        let next_day = "{\"query\":\"mutation { advanceTestClock(seconds: 86400) { serverTime { businessDate } } }\"}";
        for run in 1..=args.runs {
            for (name, query) in OPERATIONS.into_iter().filter(|(name, _)| args.loads(name)) {
                let script = dir.join(format!("{name}.lua"));
                // A member signs in once a business day: a short probe tells how long the
                // members last, and each sign-in run starts on a new day and ends before
                // they run out (the script also stops a thread whose members are used up).
                let once = name == "signIn";
                std::fs::write(&script, self.lua(&tokens, query, run, once))?;
                let mut seconds = args.duration;
                if once {
                    running.ask(&client, &self.admin_token, next_day).await?;
                    let probe = wrk(&running.graphql_url(), &script, 2, args.connections)?;
                    let per_second = (probe.requests / 2).max(1);
                    let members = u64::try_from(self.tokens.len())?;
                    seconds = seconds.min((members * 8 / 10 / per_second).max(1));
                    running.ask(&client, &self.admin_token, next_day).await?;
                }
                let load = wrk(&running.graphql_url(), &script, seconds, args.connections)?;
                eprintln!(
                    "   {name} run {run}: {:.0} rps, p50 {:.1} ms, p99 {:.1} ms, {} errors",
                    load.rps, load.p50_ms, load.p99_ms, load.errors
                );
                loads.entry(name).or_default().push(load);
            }
        }
        Ok(loads)
    }

    fn body(&self, query: &str, run: usize, n: usize) -> String {
        let query = query
            .replace("{reward}", &self.reward_id)
            .replace("{key}", &format!("bench-{run}-{n}"));
        format!("{{\"query\":\"{query}\"}}")
    }

    /// A wrk script: each thread walks the token list from its own offset, so no member is
    /// asked twice before every member was asked once; bodies with GraphQL errors are counted.
    fn lua(&self, tokens: &Path, query: &str, run: usize, once: bool) -> String {
        let query = query
            .replace("{reward}", &self.reward_id)
            .replace("{key}", &format!("r{run}-%d-%d"));
        let body = format!("{{\"query\":\"{query}\"}}")
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        format!(
            r#"local tokens = {{}}
for line in io.lines("{tokens}") do tokens[#tokens + 1] = line end
local threads = {{}}
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
local n = 0
errors = 0
function init(args)
  n = id
end
request = function()
  n = n + 2
  local token = tokens[(n % #tokens) + 1]
  local body = string.format("{body}", id, n)
  return wrk.format("POST", nil, {{ ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }}, body)
end
response = function(status, headers, body)
  if string.find(body, '"errors"', 1, true) then errors = errors + 1 end
  if {once} and n + 2 > #tokens then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("errors") end
  io.write(string.format("graphql errors: %d\n", total))
end
"#,
            tokens = tokens.display(),
        )
    }

    async fn drop_database(&self) -> anyhow::Result<()> {
        if let Some(admin_url) = &self.admin_url {
            let admin = Database::connect(admin_url).await?;
            admin
                .execute_unprepared("DROP DATABASE IF EXISTS membercard_bench WITH (FORCE)")
                .await?;
        }
        Ok(())
    }
}

/// The seed: members who signed in before (so a sign-in takes the common path) with points in
/// one lot each, this month's board, an admin and a reward.
async fn seed(db: &DatabaseConnection, size: u64) -> anyhow::Result<()> {
    let backend = db.get_database_backend();
    let now = chrono::Utc::now();
    let month = MonthKey::of(now, chrono_tz_shanghai()).as_str().to_owned();
    let p = |n: u8| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    };
    let run = |sql: String, values: Vec<sea_orm::Value>| {
        let statement = Statement::from_sql_and_values(backend, sql, values);
        async move { db.execute_raw(statement).await }
    };
    let started = std::time::Instant::now();
    run(
        format!(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {size}) \
             INSERT INTO members (openid, nickname, hide_from_leaderboards, invite_code, tier_code, \
             created_at, updated_at, points_balance, current_streak, total_sign_ins, \
             streak_freezes, growth_total, koc_score_total, successful_invites) \
             SELECT 'bench-' || n, 'Member ' || n, false, 'B' || n, 'NEW', {0}, {0}, \
             1000000, 0, 10, 0, 0, 0, 0 FROM g",
            p(1)
        ),
        vec![now.into()],
    )
    .await?;
    run(
        format!(
            "INSERT INTO point_entries (member_id, kind, amount, balance_after, requested, \
             idempotency_key, payload_hash, note, created_at) \
             SELECT id, 'ADMIN_ADJUST', 1000000, 1000000, 1000000, 'bench-seed', 'seed', \
             'bench', {0} FROM members",
            p(1)
        ),
        vec![now.into()],
    )
    .await?;
    run(
        format!(
            "INSERT INTO point_lots (member_id, entry_id, amount, remaining, available_at) \
             SELECT member_id, id, amount, amount, {0} FROM point_entries \
             WHERE idempotency_key = 'bench-seed'",
            p(1)
        ),
        vec![now.into()],
    )
    .await?;
    run(
        format!(
            "INSERT INTO member_months (member_id, month, earned, redeemed, cut_by_cap, growth, \
             earned_at, koc_score) SELECT id, {1}, (id * 7919) % 1000 + 1, 0, 0, 0, {0}, 0 \
             FROM members",
            p(1),
            p(2)
        ),
        vec![now.into(), month.into()],
    )
    .await?;
    run(
        format!(
            "INSERT INTO admins (username, password_hash, role, created_at) \
             VALUES ('bench', 'not a hash', 'ADMIN', {0})",
            p(1)
        ),
        vec![now.into()],
    )
    .await?;
    run(
        format!(
            "INSERT INTO rewards (title, description, kind, points_cost, member_day_only, \
             active, created_at) VALUES ('Bench mug', '', 'VIRTUAL', 1, false, true, {0})",
            p(1)
        ),
        vec![now.into()],
    )
    .await?;
    if backend == DbBackend::Postgres {
        db.execute_unprepared("ANALYZE").await?;
    }
    eprintln!(
        "   seeded {size} members in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn chrono_tz_shanghai() -> chrono_tz::Tz {
    chrono_tz::Asia::Shanghai
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .with_context(|| format!("no row for {sql}"))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// The release server as a child process; stopped when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    async fn start(binary: &Path, database_url: &str, redis: Option<&str>) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let address = format!("127.0.0.1:{port}");
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("DATABASE_URL", database_url)
            .env("MEMBERCARD_LISTEN", &address)
            .env("MEMBERCARD_JWT_SECRET", JWT_SECRET)
            .env("MEMBERCARD_MEMBER_TOKEN_TTL_SECONDS", "31536000")
            .env("MEMBERCARD_ADMIN_TOKEN_TTL_SECONDS", "31536000")
            .env("MEMBERCARD_JOBS_INTERVAL_SECONDS", "0")
            .env("MEMBERCARD_DATABASE_MAX_CONNECTIONS", "16")
            // No background pass may add statements while they are counted.
            .env("MEMBERCARD_LEADERBOARD_HEAL_MS", "86400000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for &action in api::domain::rate_limit::RateLimitedAction::ALL {
            command.env(
                format!("MEMBERCARD_RATE_LIMIT_{}", action.name()),
                "100000000/60",
            );
        }
        if let Some(redis) = redis {
            command
                .env("REDIS_URL", redis)
                .env("MEMBERCARD_REDIS_PREFIX", "bench:");
        }
        let server = Self {
            child: command.spawn().context("start the server")?,
            address,
        };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            let ready = client
                .get(format!("http://{}/readyz", server.address))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the server did not become ready")
    }

    fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.address)
    }

    async fn ask(
        &self,
        client: &reqwest::Client,
        token: &str,
        body: &str,
    ) -> anyhow::Result<Value> {
        Ok(client
            .post(self.graphql_url())
            .bearer_auth(token)
            .header("Content-Type", "application/json")
            .body(body.to_owned())
            .send()
            .await?
            .json()
            .await?)
    }

    /// `membercard_redis_round_trips_total` from `/metrics`; `None` without Redis.
    async fn redis_round_trips(&self, client: &reqwest::Client) -> anyhow::Result<Option<u64>> {
        let text = client
            .get(format!("http://{}/metrics", self.address))
            .send()
            .await?
            .text()
            .await?;
        Ok(text
            .lines()
            .find_map(|line| line.strip_prefix("membercard_redis_round_trips_total "))
            .and_then(|value| value.trim().parse().ok()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wrk(url: &str, script: &Path, seconds: u64, connections: u32) -> anyhow::Result<Load> {
    let output = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}")])
        .arg(format!("-d{seconds}s"))
        .arg("--latency")
        .arg("-s")
        .arg(script)
        .arg(url)
        .output()
        .context("run wrk (Debian: apt-get install wrk)")?;
    parse_wrk(&String::from_utf8_lossy(&output.stdout))
}

fn parse_wrk(text: &str) -> anyhow::Result<Load> {
    let mut load = Load::default();
    for line in text.lines().map(str::trim) {
        if let Some((requests, _)) = line.split_once(" requests in ") {
            load.requests = requests.trim().parse()?;
        } else if let Some(rps) = line.strip_prefix("Requests/sec:") {
            load.rps = rps.trim().parse()?;
        } else if let Some(p50) = line.strip_prefix("50%") {
            load.p50_ms = millis(p50.trim())?;
        } else if let Some(p99) = line.strip_prefix("99%") {
            load.p99_ms = millis(p99.trim())?;
        } else if let Some(errors) = line.strip_prefix("graphql errors:") {
            load.errors = errors.trim().parse()?;
        }
    }
    if load.rps == 0.0 {
        bail!("wrk printed no throughput:\n{text}");
    }
    Ok(load)
}

/// wrk's latencies ("812.00us", "5.12ms", "1.20s") in milliseconds.
fn millis(value: &str) -> anyhow::Result<f64> {
    let (number, scale) = if let Some(n) = value.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = value.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = value.strip_suffix('s') {
        (n, 1000.0)
    } else {
        bail!("unknown latency {value}")
    };
    Ok(number.parse::<f64>()? * scale)
}

/// The anchors' medians: pgbench tps (sign-in, point read), PostGraphile (rps, p50, p99).
#[derive(Debug, Default)]
struct Anchors {
    pgbench_sign_in: f64,
    pgbench_read: f64,
    peer_sign_in: Load,
    peer_read: Load,
}

fn anchors(root: &Path, args: &Args) -> anyhow::Result<Anchors> {
    let mut runs: Vec<Anchors> = Vec::new();
    for run in 1..=args.runs {
        let output = Command::new("bash")
            .arg(root.join("bench/anchors/run.sh"))
            .env("C", args.connections.to_string())
            .env("T", args.duration.to_string())
            .output()
            .context("run bench/anchors/run.sh")?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let mut anchor = Anchors::default();
        for (title, section) in sections(&text) {
            if title.contains("pgbench sign-in") {
                anchor.pgbench_sign_in = tps(&section)?;
            } else if title.contains("pgbench point read") {
                anchor.pgbench_read = tps(&section)?;
            } else if title.contains("checkIn") {
                anchor.peer_sign_in = parse_wrk(&section)?;
            } else if title.contains("memberById") {
                anchor.peer_read = parse_wrk(&section)?;
            }
        }
        eprintln!(
            "   anchors run {run}: pgbench {:.0} / {:.0} tps, PostGraphile {:.0} / {:.0} rps",
            anchor.pgbench_sign_in,
            anchor.pgbench_read,
            anchor.peer_sign_in.rps,
            anchor.peer_read.rps
        );
        runs.push(anchor);
    }
    let median_of = |pick: fn(&Anchors) -> f64| median(runs.iter().map(pick).collect());
    Ok(Anchors {
        pgbench_sign_in: median_of(|a| a.pgbench_sign_in),
        pgbench_read: median_of(|a| a.pgbench_read),
        peer_sign_in: Load {
            rps: median_of(|a| a.peer_sign_in.rps),
            p50_ms: median_of(|a| a.peer_sign_in.p50_ms),
            p99_ms: median_of(|a| a.peer_sign_in.p99_ms),
            ..Load::default()
        },
        peer_read: Load {
            rps: median_of(|a| a.peer_read.rps),
            p50_ms: median_of(|a| a.peer_read.p50_ms),
            p99_ms: median_of(|a| a.peer_read.p99_ms),
            ..Load::default()
        },
    })
}

/// The run script's output split at its "== title" lines.
fn sections(text: &str) -> Vec<(String, String)> {
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("== ") {
            sections.push((title.to_owned(), String::new()));
        } else if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    sections
}

fn tps(section: &str) -> anyhow::Result<f64> {
    section
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .context("pgbench printed no tps")?
        .parse()
        .context("pgbench's tps")
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn print_table(
    args: &Args,
    results: &BTreeMap<(u64, &str), (Cost, Vec<Load>)>,
    anchors: Option<&Anchors>,
) {
    let backend = if args.sqlite {
        "SQLite (embedded default)"
    } else {
        "PostgreSQL + Redis"
    };
    println!(
        "\nmembercard on {backend}: {} connections, {} s per run, median of {} runs\n",
        args.connections, args.duration, args.runs
    );
    if let Some(a) = anchors {
        println!("| anchor | sign-in | member read |");
        println!("|---|---|---|");
        println!(
            "| PostgreSQL limit (pgbench) | {:.0} tps | {:.0} tps |",
            a.pgbench_sign_in, a.pgbench_read
        );
        println!(
            "| PostGraphile | {:.0} rps (p50 {:.1} ms, p99 {:.1} ms) | {:.0} rps (p50 {:.1} ms, p99 {:.1} ms) |\n",
            a.peer_sign_in.rps,
            a.peer_sign_in.p50_ms,
            a.peer_sign_in.p99_ms,
            a.peer_read.rps,
            a.peer_read.p50_ms,
            a.peer_read.p99_ms
        );
    }
    println!(
        "| operation | members | rps | p50 ms | p99 ms | GraphQL errors | SQL / request | Redis / request | × PostGraphile | × pgbench |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for ((size, name), (cost, loads)) in results {
        let load = Load {
            rps: median(loads.iter().map(|l| l.rps).collect()),
            p50_ms: median(loads.iter().map(|l| l.p50_ms).collect()),
            p99_ms: median(loads.iter().map(|l| l.p99_ms).collect()),
            errors: loads.iter().map(|l| l.errors).sum(),
            ..Load::default()
        };
        let anchor = anchors.and_then(|a| match *name {
            "signIn" => Some((a.peer_sign_in.rps, a.pgbench_sign_in)),
            "me" => Some((a.peer_read.rps, a.pgbench_read)),
            _ => None,
        });
        let ratio =
            |of: Option<f64>| of.map_or_else(|| "–".to_owned(), |v| format!("{:.2}", load.rps / v));
        let count =
            |value: Option<f64>| value.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"));
        println!(
            "| {name} | {size} | {:.0} | {:.1} | {:.1} | {} | {} | {} | {} | {} |",
            load.rps,
            load.p50_ms,
            load.p99_ms,
            load.errors,
            count(cost.statements),
            count(cost.redis),
            ratio(anchor.map(|(peer, _)| peer)),
            ratio(anchor.map(|(_, limit)| limit)),
        );
    }
}
