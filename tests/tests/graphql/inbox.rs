//! The inbox: notices for points earned, redeemed, expiring and expired; unread count; read.

use api::domain::auth::Role;
use serde_json::json;
use tests::spawn_app;

const INBOX: &str =
    "{ inbox(first: 20) { edges { node { id kind title body read } } } unreadNotificationCount }";

#[tokio::test]
async fn points_movements_land_in_the_inbox_and_can_be_marked_read() {
    let app = spawn_app().await;
    app.set_clock("2026-03-01T02:00:00Z"); // members since the 1st
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    let admin = app.login_admin("boss", Role::Admin).await;
    app.set_clock("2026-03-10T02:00:00Z");
    app.gql(
        Some(&admin),
        "mutation($m: ID!) { adjustPoints(memberId: $m, amount: 100, reason: \"gift\", idempotencyKey: \"g\") { balanceAfter } }",
        json!({ "m": alice.id }),
    )
    .await
    .expect_ok();
    app.sign_in(&alice).await;
    app.gql(
        Some(&alice),
        "mutation { makeUpSignIn(date: \"2026-03-09\") { cost } }",
        json!({}),
    )
    .await
    .expect_ok();

    let inbox = app.gql(Some(&alice), INBOX, json!({})).await;
    let data = inbox.expect_ok();
    let kinds: Vec<&str> = data["inbox"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["POINTS_REDEEMED", "POINTS_EARNED", "POINTS_EARNED"]);
    assert_eq!(
        data["inbox"]["edges"][1]["node"]["body"],
        "每日签到 +5 积分，当前余额 105 积分"
    );
    assert_eq!(data["unreadNotificationCount"], 3);

    let newest = data["inbox"]["edges"][0]["node"]["id"].clone();
    let by_bob = app
        .gql(
            Some(&bob),
            "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { unreadCount } }",
            json!({ "ids": [newest] }),
        )
        .await;
    assert_eq!(
        by_bob.expect_ok()["markNotificationsRead"]["unreadCount"],
        0
    );
    let one = app
        .gql(
            Some(&alice),
            "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { unreadCount } }",
            json!({ "ids": [newest] }),
        )
        .await;
    assert_eq!(one.expect_ok()["markNotificationsRead"]["unreadCount"], 2);
    let unread = app
        .gql(
            Some(&alice),
            "{ inbox(unreadOnly: true) { edges { node { kind } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        unread.expect_ok()["inbox"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let all = app
        .gql(
            Some(&alice),
            "mutation { markAllNotificationsRead { unreadCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        all.expect_ok()["markAllNotificationsRead"]["unreadCount"],
        0
    );
    app.gql(None, INBOX, json!({}))
        .await
        .expect_error("UNAUTHENTICATED");
}

#[tokio::test]
async fn members_hear_once_that_points_will_lapse_and_again_when_they_do() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    let admin = app.login_admin("boss", Role::Admin).await;
    app.set_clock("2026-01-15T02:00:00Z");
    app.gql(
        Some(&admin),
        "mutation($m: ID!) { adjustPoints(memberId: $m, amount: 100, reason: \"gift\", idempotencyKey: \"g\") { balanceAfter } }",
        json!({ "m": alice.id }),
    )
    .await
    .expect_ok();

    app.set_clock("2027-01-05T02:00:00Z");
    for _ in 0..2 {
        app.gql(
            Some(&admin),
            "mutation { runPointsExpiry { points } }",
            json!({}),
        )
        .await
        .expect_ok();
    }
    let expiring = app
        .gql(
            Some(&alice),
            "{ inbox { edges { node { kind body } } } }",
            json!({}),
        )
        .await;
    let edges = expiring.expect_ok()["inbox"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        edges.len(),
        2,
        "one earned and one expiring notice: {edges:?}"
    );
    assert_eq!(edges[0]["node"]["kind"], "POINTS_EXPIRING");
    assert_eq!(
        edges[0]["node"]["body"],
        "100 积分将于 2027-01-31 过期，记得使用哦"
    );

    app.set_clock("2027-02-01T02:00:00Z");
    app.gql(
        Some(&admin),
        "mutation { runPointsExpiry { points } }",
        json!({}),
    )
    .await
    .expect_ok();
    let expired = app
        .gql(
            Some(&alice),
            "{ inbox(first: 1) { edges { node { kind body } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        expired.expect_ok()["inbox"]["edges"][0]["node"],
        json!({ "kind": "POINTS_EXPIRED", "body": "100 积分已过期，当前余额 0 积分" })
    );
}
