//! The ledger through the API: adjustments and idempotency, history, FIFO spending and expiry.

use api::domain::auth::Role;
use serde_json::json;
use tests::{Session, TestApp, spawn_app};

const ADJUST: &str = "mutation($m: ID!, $a: Int!, $r: String!, $k: String!) {
    adjustPoints(memberId: $m, amount: $a, reason: $r, idempotencyKey: $k) { amount balanceAfter replayed }
}";

async fn adjust(
    app: &TestApp,
    admin: &Session,
    member: &Session,
    amount: i64,
    key: &str,
) -> tests::GqlResponse {
    app.gql(
        Some(admin),
        ADJUST,
        json!({ "m": member.id, "a": amount, "r": "goodwill", "k": key }),
    )
    .await
}

#[tokio::test]
async fn an_adjustment_replays_and_a_reused_key_with_another_amount_conflicts() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;

    let first = adjust(&app, &admin, &alice, 300, "k1").await;
    let replay = adjust(&app, &admin, &alice, 300, "k1").await;
    let conflict = adjust(&app, &admin, &alice, 301, "k1").await;

    assert_eq!(
        first.expect_ok()["adjustPoints"],
        json!({ "amount": 300, "balanceAfter": 300, "replayed": false })
    );
    assert_eq!(
        replay.expect_ok()["adjustPoints"],
        json!({ "amount": 300, "balanceAfter": 300, "replayed": true })
    );
    conflict.expect_error("CONFLICT");
    assert_eq!(app.balance(&alice).await, 300);
    assert_eq!(app.count("point_entries").await, 1);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_debit_never_takes_the_balance_below_zero() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    adjust(&app, &admin, &alice, 100, "in").await.expect_ok();

    let res = adjust(&app, &admin, &alice, -101, "out").await;

    res.expect_error("INSUFFICIENT_POINTS");
    assert_eq!(res.errors()[0]["extensions"]["available"], 100);
    assert_eq!(app.balance(&alice).await, 100);
    adjust(&app, &admin, &alice, -100, "out").await.expect_ok();
    assert_eq!(app.balance(&alice).await, 0);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn concurrent_debits_never_overdraw() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    adjust(&app, &admin, &alice, 100, "in").await.expect_ok();

    let debits = (0..10).map(|i| {
        let key = format!("out-{i}");
        let admin = admin.clone();
        let alice = alice.clone();
        let app = &app;
        async move { adjust(app, &admin, &alice, -30, &key).await }
    });
    let results = futures::future::join_all(debits).await;

    let ok = results.iter().filter(|r| r.errors().is_empty()).count();
    let short = results
        .iter()
        .filter(|r| r.error_code() == Some("INSUFFICIENT_POINTS"))
        .count();
    assert_eq!((ok, short), (3, 7));
    assert_eq!(app.balance(&alice).await, 10);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn only_admins_adjust_points_and_input_is_validated() {
    let app = spawn_app().await;
    let operator = app.login_admin("helper", Role::Operator).await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;

    adjust(&app, &alice, &alice, 10, "k")
        .await
        .expect_error("FORBIDDEN");
    adjust(&app, &operator, &alice, 10, "k")
        .await
        .expect_error("FORBIDDEN");
    let zero = adjust(&app, &admin, &alice, 0, "k").await;
    zero.expect_error("VALIDATION");
    assert_eq!(zero.errors()[0]["extensions"]["field"], "amount");
    let nobody = app
        .gql(
            Some(&admin),
            ADJUST,
            json!({ "m": "999999", "a": 5, "r": "x", "k": "k" }),
        )
        .await;
    nobody.expect_error("NOT_FOUND");
    assert_eq!(app.balance(&alice).await, 0);
}

#[tokio::test]
async fn history_pages_newest_first_and_filters_by_kind() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    for (i, amount) in [10, 20, 30].into_iter().enumerate() {
        adjust(&app, &admin, &alice, amount, &format!("k{i}"))
            .await
            .expect_ok();
    }
    app.sign_in(&alice).await;
    let page = "query($after: String) { pointsHistory(first: 2, after: $after) {
        edges { cursor node { kind amount balanceAfter note } }
        pageInfo { hasNextPage hasPreviousPage }
    } }";

    let first = app.gql(Some(&alice), page, json!({})).await;
    let first = &first.expect_ok()["pointsHistory"];
    let cursor = first["edges"][1]["cursor"].as_str().unwrap().to_owned();
    let second = app
        .gql(Some(&alice), page, json!({ "after": cursor }))
        .await;
    let second = &second.expect_ok()["pointsHistory"];
    let adjustments = app
        .gql(
            Some(&alice),
            "{ pointsHistory(kinds: [ADMIN_ADJUST]) { edges { node { amount } } } }",
            json!({}),
        )
        .await;

    assert_eq!(first["edges"][0]["node"]["kind"], "SIGN_IN");
    assert_eq!(first["edges"][0]["node"]["balanceAfter"], 65);
    assert_eq!(
        first["edges"][1]["node"],
        json!({ "kind": "ADMIN_ADJUST", "amount": 30, "balanceAfter": 60, "note": "goodwill" })
    );
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(second["edges"].as_array().unwrap().len(), 2);
    assert_eq!(
        second["pageInfo"],
        json!({ "hasNextPage": false, "hasPreviousPage": true })
    );
    assert_eq!(
        adjustments.expect_ok()["pointsHistory"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let too_many = app
        .gql(
            Some(&alice),
            "{ pointsHistory(first: 101) { edges { cursor } } }",
            json!({}),
        )
        .await;
    too_many.expect_error("VALIDATION");
}

#[tokio::test]
async fn spending_takes_the_oldest_lots_first_and_expiry_removes_only_what_remains() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    app.set_clock("2026-01-15T02:00:00Z");
    adjust(&app, &admin, &alice, 100, "jan").await.expect_ok(); // lapses at the end of Jan 2027
    app.set_clock("2026-02-15T02:00:00Z");
    adjust(&app, &admin, &alice, 50, "feb").await.expect_ok(); // lapses at the end of Feb 2027
    adjust(&app, &admin, &alice, -120, "spend")
        .await
        .expect_ok(); // all of January, 20 of February

    app.set_clock("2027-01-20T02:00:00Z");
    let soon = app
        .gql(
            Some(&alice),
            "{ me { points { balance expiringSoon(days: 60) } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        soon.expect_ok()["me"]["points"],
        json!({ "balance": 30, "expiringSoon": 30 })
    );

    app.set_clock("2027-02-10T02:00:00Z");
    let run = app
        .gql(
            Some(&admin),
            "mutation { runPointsExpiry { members points } }",
            json!({}),
        )
        .await;
    assert_eq!(
        run.expect_ok()["runPointsExpiry"],
        json!({ "members": 0, "points": 0 })
    );
    assert_eq!(app.balance(&alice).await, 30);

    app.set_clock("2027-03-01T02:00:00Z");
    let run = app
        .gql(
            Some(&admin),
            "mutation { runPointsExpiry { members points } }",
            json!({}),
        )
        .await;
    let again = app
        .gql(
            Some(&admin),
            "mutation { runPointsExpiry { members points } }",
            json!({}),
        )
        .await;
    assert_eq!(
        run.expect_ok()["runPointsExpiry"],
        json!({ "members": 1, "points": 30 })
    );
    assert_eq!(
        again.expect_ok()["runPointsExpiry"],
        json!({ "members": 0, "points": 0 })
    );
    assert_eq!(app.balance(&alice).await, 0);
    let expiry = app
        .gql(
            Some(&alice),
            "{ pointsHistory(kinds: [EXPIRY]) { edges { node { amount balanceAfter } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        expiry.expect_ok()["pointsHistory"]["edges"],
        json!([{ "node": { "amount": -30, "balanceAfter": 0 } }])
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn admins_read_a_members_points_but_members_cannot_run_expiry() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    app.sign_in(&alice).await;

    let read = app
        .gql(
            Some(&admin),
            "query($id: ID!) { member(id: $id) { points { balance } } }",
            json!({ "id": alice.id }),
        )
        .await;
    let run = app
        .gql(
            Some(&alice),
            "mutation { runPointsExpiry { points } }",
            json!({}),
        )
        .await;

    assert_eq!(read.expect_ok()["member"]["points"]["balance"], 5);
    run.expect_error("FORBIDDEN");
}

#[tokio::test]
async fn concurrent_expiry_runs_expire_each_lot_once() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let mut members = Vec::new();
    for i in 0..5 {
        members.push(app.login_member(&format!("m{i}")).await);
    }
    app.set_clock("2026-01-15T02:00:00Z");
    for (i, member) in members.iter().enumerate() {
        adjust(&app, &admin, member, 40, &format!("seed-{i}"))
            .await
            .expect_ok();
    }
    app.set_clock("2027-03-01T02:00:00Z");

    let runs = (0..4).map(|_| {
        app.gql(
            Some(&admin),
            "mutation { runPointsExpiry { points } }",
            json!({}),
        )
    });
    let results = futures::future::join_all(runs).await;

    let expired: i64 = results
        .iter()
        .map(|r| r.expect_ok()["runPointsExpiry"]["points"].as_i64().unwrap())
        .sum();
    assert_eq!(expired, 200);
    assert_eq!(app.count("point_entries").await, 10);
    app.assert_ledger_invariants().await;
}
