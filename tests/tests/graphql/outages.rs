//! Failing dependencies get a fast, clear answer and heal by themselves (SPEC §11, §12): a
//! database that is gone answers `UNAVAILABLE` (HTTP 503, `Retry-After`) within its bound; a
//! stalled Redis costs at most its timeout and is then skipped; a Redis that is down at
//! start-up does not stop the server; a board that missed writes during an outage is rebuilt
//! without an operator.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::{RedisRelay, Session, TestApp, spawn_app_behind_database_relay, spawn_app_with};

const BOARD: &str =
    "{ leaderboard(board: POINTS_MONTH, first: 10) { source entries { displayName } } }";
const SIGN_IN: &str = "mutation { signIn { balance } }";
/// The bounds these scenarios configure, and what a request may take on top (a busy machine).
const DATABASE_TIMEOUT: &str = "500";
const REDIS_TIMEOUT: &str = "300";
const SLACK: Duration = Duration::from_millis(2_500);

async fn board(app: &TestApp, who: &Session) -> Value {
    app.gql(Some(who), BOARD, json!({})).await.expect_ok()["leaderboard"].clone()
}

/// Asks `check` every 100 ms for up to 15 s; whether it said yes.
async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn a_database_that_cannot_be_reached_answers_503_within_its_bound() {
    let vars = [
        ("MEMBERCARD_DATABASE_TIMEOUT_MS", DATABASE_TIMEOUT),
        ("MEMBERCARD_DATABASE_STATEMENT_TIMEOUT_MS", DATABASE_TIMEOUT),
    ];
    let Some((app, relay)) = spawn_app_behind_database_relay(&vars).await else {
        return; // SQLite: see the next scenario
    };
    let alice = app.login_member("alice").await;

    relay.cut();
    let started = Instant::now();
    let res = app.gql(Some(&alice), SIGN_IN, json!({})).await;
    let answered_in = started.elapsed();
    let started = Instant::now();
    let (ready, _) = app.readyz().await;
    let ready_in = started.elapsed();
    relay.restore().await;
    let recovered =
        eventually(|| async { app.gql(Some(&alice), SIGN_IN, json!({})).await.status == 200 })
            .await;

    assert_eq!(res.status, 503, "{}", res.body);
    res.expect_error("UNAVAILABLE");
    assert!(answered_in < SLACK, "the request took {answered_in:?}");
    assert_eq!(ready, 503);
    assert!(ready_in < SLACK, "/readyz took {ready_in:?}");
    assert!(recovered, "requests work again once the database is back");
    app.assert_ledger_invariants().await;
}

/// SQLite cannot go away; a writer in another process (the CLI) holding the write lock past
/// the busy timeout is its outage.
#[tokio::test]
async fn a_locked_sqlite_database_answers_503_within_its_bound() {
    let app = spawn_app_with(&[
        ("MEMBERCARD_DATABASE_TIMEOUT_MS", DATABASE_TIMEOUT),
        ("MEMBERCARD_DATABASE_STATEMENT_TIMEOUT_MS", DATABASE_TIMEOUT),
    ])
    .await;
    if app.db.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
        return; // PostgreSQL: see the previous scenario
    }
    let alice = app.login_member("alice").await;
    let lock = app.hold_write_lock().await;

    let started = Instant::now();
    let res = app.gql(Some(&alice), SIGN_IN, json!({})).await;
    let answered_in = started.elapsed();
    drop(lock); // released
    let after = app.gql(Some(&alice), SIGN_IN, json!({})).await;

    assert_eq!(res.status, 503, "{}", res.body);
    res.expect_error("UNAVAILABLE");
    assert!(answered_in < SLACK, "the request took {answered_in:?}");
    after.expect_ok();
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_writer_in_another_process_waits_for_the_lock_instead_of_failing() {
    // `membercard admin create` while the server runs: both write; neither fails.
    let app = spawn_app_with(&[]).await;
    if app.db.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
        return; // PostgreSQL has no database-wide write lock
    }
    let alice = app.login_member("alice").await;
    let lock = app.hold_write_lock().await;
    let sign_in = app.gql(Some(&alice), SIGN_IN, json!({}));
    let release = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(lock); // released
    };

    let (res, ()) = tokio::join!(sign_in, release);

    res.expect_ok();
}

#[tokio::test]
async fn a_stalled_redis_costs_at_most_its_timeout_then_is_skipped() {
    let Some(relay) = RedisRelay::start().await else {
        return; // nothing to stall without Redis
    };
    let app = spawn_app_with(&[
        ("REDIS_URL", relay.url.as_str()),
        ("MEMBERCARD_REDIS_TIMEOUT_MS", REDIS_TIMEOUT),
    ])
    .await;
    let mut members = Vec::new();
    for i in 0..8 {
        members.push(app.login_member(&format!("m{i}")).await);
    }
    assert_eq!(board(&app, &members[0]).await["source"], "REDIS");

    relay.stall();
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for member in &members {
        let one = Instant::now();
        let res = app.gql(Some(member), SIGN_IN, json!({})).await;
        slowest = slowest.max(one.elapsed());
        res.expect_ok();
    }
    let all = started.elapsed();
    let shown = board(&app, &members[0]).await;

    // Without the breaker every request would wait for Redis (rate limit, board) each time.
    assert!(slowest < SLACK, "the slowest request took {slowest:?}");
    assert!(all < SLACK * 2, "8 sign-ins took {all:?}");
    assert_eq!(shown["source"], "DATABASE");
    assert_eq!(shown["entries"].as_array().map(Vec::len), Some(8));
    relay.restore().await;
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn the_server_starts_with_redis_down_and_uses_it_once_it_answers() {
    let Some(relay) = RedisRelay::start_cut().await else {
        return;
    };
    let app = spawn_app_with(&[
        ("REDIS_URL", relay.url.as_str()),
        ("MEMBERCARD_REDIS_TIMEOUT_MS", REDIS_TIMEOUT),
    ])
    .await;
    let alice = app.login_member("alice").await;
    app.sign_in(&alice).await;
    let (degraded, body) = app.readyz().await;
    let during = board(&app, &alice).await;

    relay.restore().await;
    let ready = eventually(|| async { app.readyz().await.0 == 200 }).await;
    let from_redis = eventually(|| async {
        let shown = board(&app, &alice).await;
        shown["source"] == "REDIS" && shown["entries"].as_array().map(Vec::len) == Some(1)
    })
    .await;

    assert_eq!(degraded, 503);
    assert_eq!(body["redis"], "down");
    assert_eq!(body["database"], "up");
    assert_eq!(during["source"], "DATABASE");
    assert!(ready, "/readyz turns 200 once Redis answers");
    assert!(from_redis, "boards come from Redis once it answers");
}

#[tokio::test]
async fn a_board_that_missed_writes_during_an_outage_heals_without_an_operator() {
    let Some(relay) = RedisRelay::start().await else {
        return;
    };
    let app = spawn_app_with(&[
        ("REDIS_URL", relay.url.as_str()),
        ("MEMBERCARD_REDIS_TIMEOUT_MS", REDIS_TIMEOUT),
        ("MEMBERCARD_LEADERBOARD_HEAL_MS", "200"),
    ])
    .await;
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    app.sign_in(&alice).await;
    let before = board(&app, &alice).await;

    relay.cut();
    app.sign_in(&bob).await; // its board update cannot reach Redis
    relay.restore().await;
    let healed = eventually(|| async {
        let shown = board(&app, &alice).await;
        shown["source"] == "REDIS" && shown["entries"].as_array().map(Vec::len) == Some(2)
    })
    .await;

    assert_eq!(before["source"], "REDIS");
    assert_eq!(before["entries"].as_array().map(Vec::len), Some(1));
    assert!(
        healed,
        "the board shows bob again without rebuildLeaderboards"
    );
}
