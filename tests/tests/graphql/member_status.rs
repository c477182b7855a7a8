//! Member status (风控, SPEC §15): a frozen member reads but earns and spends nothing and is on
//! no board; unfrozen, they earn again. `marketingOptOut` is the member's own switch.

use api::domain::auth::Role;
use serde_json::{Value, json};
use tests::{Session, TestApp, spawn_app};

const FREEZE: &str = "mutation($id: ID!, $r: String!) { freezeMember(id: $id, reason: $r) { frozen frozenReason frozenAt } }";
const UNFREEZE: &str = "mutation($id: ID!) { unfreezeMember(id: $id) { frozen frozenReason } }";
const BOARD: &str =
    "{ leaderboard(board: POINTS_MONTH, first: 10) { entries { displayName score } } }";

async fn name(app: &TestApp, member: &Session, nickname: &str) {
    app.gql(
        Some(member),
        "mutation($n: String!) { updateProfile(input: { nickname: $n }) { member { nickname } } }",
        json!({ "n": nickname }),
    )
    .await
    .expect_ok();
}

async fn board_names(app: &TestApp, viewer: &Session) -> Vec<String> {
    let res = app.gql(Some(viewer), BOARD, json!({})).await;
    res.expect_ok()
        .pointer("/leaderboard/entries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry["displayName"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_frozen_member_reads_but_earns_and_spends_nothing_and_leaves_the_boards() {
    let app = spawn_app().await;
    app.set_clock("2026-03-10T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let bob = app.login_member("bob").await;
    name(&app, &ada, "Ada").await;
    name(&app, &bob, "Bob").await;
    app.sign_in(&ada).await;
    app.sign_in(&bob).await;
    assert_eq!(board_names(&app, &bob).await.len(), 2);
    let balance = app.balance(&ada).await;

    // Only an admin freezes, with a reason.
    app.gql(Some(&bob), FREEZE, json!({ "id": ada.id, "r": "刷单" }))
        .await
        .expect_error("FORBIDDEN");
    let empty = app
        .gql(Some(&admin), FREEZE, json!({ "id": ada.id, "r": " " }))
        .await;
    empty.expect_error("VALIDATION");
    assert_eq!(empty.error_field(), Some("reason"));
    let frozen = app
        .gql(Some(&admin), FREEZE, json!({ "id": ada.id, "r": "刷单" }))
        .await;
    let frozen = frozen.expect_ok()["freezeMember"].clone();
    assert_eq!(frozen["frozen"], true);
    assert_eq!(frozen["frozenReason"], "刷单");

    // She reads her card and sees why.
    let me = app
        .gql(
            Some(&ada),
            "{ me { frozen frozenReason points { balance } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        me.expect_ok()["me"],
        json!({ "frozen": true, "frozenReason": "刷单", "points": { "balance": balance } })
    );
    // Off the boards at once.
    assert_eq!(board_names(&app, &bob).await, vec!["Bob".to_owned()]);

    // Signing in and buying earn nothing; spending is refused.
    app.advance_days(1);
    let signed = app.sign_in(&ada).await;
    assert_eq!(signed["pointsGranted"], 0);
    assert_eq!(app.balance(&ada).await, balance);
    let purchase = app
        .gql(
            Some(&admin),
            "mutation($m: ID!) { recordPurchase(memberId: $m, orderId: \"F-1\", amountCents: 10000, occurredAt: \"2026-03-11T02:00:00Z\") { pointsGranted } }",
            json!({ "m": ada.id }),
        )
        .await;
    assert_eq!(purchase.expect_ok()["recordPurchase"]["pointsGranted"], 0);
    let reward = app
        .gql(
            Some(&admin),
            "mutation { createReward(input: { title: \"贴纸\", kind: VIRTUAL, pointsCost: 1 }) { id } }",
            json!({}),
        )
        .await;
    let reward = reward.expect_ok()["createReward"]["id"].clone();
    app.gql(
        Some(&ada),
        "mutation($r: ID!) { redeemReward(rewardId: $r, idempotencyKey: \"r1\") { balanceAfter } }",
        json!({ "r": reward }),
    )
    .await
    .expect_error("FORBIDDEN");
    assert_eq!(board_names(&app, &bob).await, vec!["Bob".to_owned()]);

    // Unfrozen, she earns from the next action on and is back on the board.
    let unfrozen = app
        .gql(Some(&admin), UNFREEZE, json!({ "id": ada.id }))
        .await;
    assert_eq!(
        unfrozen.expect_ok()["unfreezeMember"],
        json!({ "frozen": false, "frozenReason": Value::Null })
    );
    app.advance_days(1);
    let signed = app.sign_in(&ada).await;
    assert!(signed["pointsGranted"].as_i64().unwrap() > 0);
    assert_eq!(board_names(&app, &bob).await.len(), 2);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn marketing_opt_out_is_the_members_own_switch() {
    let app = spawn_app().await;
    let ada = app.login_member("ada").await;
    let read = app
        .gql(Some(&ada), "{ me { marketingOptOut } }", json!({}))
        .await;
    assert_eq!(read.expect_ok()["me"]["marketingOptOut"], false);
    let set = app
        .gql(
            Some(&ada),
            "mutation { updateProfile(input: { marketingOptOut: true }) { member { marketingOptOut } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        set.expect_ok()["updateProfile"]["member"]["marketingOptOut"],
        true
    );
}
