//! Webhooks for the brand's other systems (SPEC §17): each event once, signed with the
//! documented recipe, through the outbox; receivers checked at registration.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failed setup or a missed deadline should fail the test loudly"
)]

use std::collections::HashSet;
use std::time::Duration;

use api::domain::auth::Role;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tests::{Session, TestApp, spawn_app, spawn_app_with};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::outbox::eventually;

const SECRET: &str = "whsec-0123456789abcdef";
const CREATE: &str = "mutation($input: CreateWebhookInput!) {
    createWebhook(input: $input) { id url events createdAt }
}";

/// The README's recipe: HMAC-SHA256 over `timestamp.body` with the secret, hex, after
/// `sha256=`; compared in constant time.
fn verifies(secret: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex_digest) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    server
}

async fn create(app: &TestApp, admin: &Session, url: &str, events: Value) -> String {
    let input = json!({ "url": url, "secret": SECRET, "events": events });
    let res = app
        .gql(Some(admin), CREATE, json!({ "input": input }))
        .await;
    res.expect_ok()["createWebhook"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn received(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

#[tokio::test]
async fn a_receiver_gets_each_event_once_signed_as_documented() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let server = receiver().await;
    let url = format!("{}/hooks", server.uri());
    let all = json!([
        "MEMBER_REGISTERED",
        "POINTS_CHANGED",
        "REDEMPTION_CREATED",
        "REDEMPTION_UPDATED",
        "COUPON_WRITTEN_OFF",
        "TIER_CHANGED",
    ]);
    create(&app, &admin, &url, all).await;

    // MEMBER_REGISTERED, then POINTS_CHANGED for the adjustment and for the redemption's
    // debit, REDEMPTION_CREATED, COUPON_WRITTEN_OFF.
    let ada = app.login_member("ada").await;
    app.adjust_points(&admin, &ada, 50, "seed").await;
    let reward = app.coupon_reward(&admin, "咖啡券", 20).await;
    let redeemed = app
        .gql(
            Some(&ada),
            "mutation($r: ID!) { redeemReward(rewardId: $r, quantity: 1, idempotencyKey: \"k1\") { coupons { code } } }",
            json!({ "r": reward }),
        )
        .await;
    let code = redeemed.expect_ok()["redeemReward"]["coupons"][0]["code"].clone();
    app.gql(
        Some(&admin),
        "mutation($c: String!) { redeemCoupon(code: $c) { code } }",
        json!({ "c": code }),
    )
    .await
    .expect_ok();

    eventually("five events arrived", || async {
        received(&server).await.len() >= 5
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let requests = received(&server).await;
    assert_eq!(requests.len(), 5, "each event once");

    let mut ids = HashSet::new();
    let mut events = Vec::new();
    for request in &requests {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let timestamp = header("x-membercard-timestamp");
        let signature = header("x-membercard-signature");
        assert!(verifies(SECRET, &timestamp, &request.body, &signature));
        assert!(
            !verifies(
                "another-secret-0123456",
                &timestamp,
                &request.body,
                &signature
            ),
            "a wrong secret does not verify"
        );
        let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
        assert!((0..60).contains(&age), "a fresh unix timestamp");
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(
            header("x-membercard-event-id"),
            body["id"].as_str().unwrap()
        );
        assert!(body["occurredAt"].is_string());
        assert!(
            ids.insert(body["id"].as_str().unwrap().to_owned()),
            "distinct event ids"
        );
        events.push((
            body["event"].as_str().unwrap().to_owned(),
            body["data"].clone(),
        ));
    }
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| **n == "POINTS_CHANGED").count(),
        2,
        "{names:?}"
    );
    for expected in [
        "MEMBER_REGISTERED",
        "REDEMPTION_CREATED",
        "COUPON_WRITTEN_OFF",
    ] {
        assert_eq!(
            names.iter().filter(|n| **n == expected).count(),
            1,
            "{names:?}"
        );
    }
    let mut changes: Vec<&Value> = events
        .iter()
        .filter(|(name, _)| name == "POINTS_CHANGED")
        .map(|(_, data)| data)
        .collect();
    changes.sort_by_key(|data| data["entryId"].as_str().unwrap().parse::<i64>().unwrap());
    assert_eq!(changes[0]["memberId"], ada.id.as_str());
    assert_eq!(changes[0]["kind"], "ADMIN_ADJUST");
    assert_eq!(changes[0]["amount"], 50);
    assert_eq!(changes[0]["balanceAfter"], 50);
    assert_eq!(changes[1]["kind"], "REDEMPTION");
    assert_eq!(changes[1]["amount"], -20);
    assert_eq!(changes[1]["balanceAfter"], 30);

    // The delivery log shows them sent.
    let log = app
        .gql(
            Some(&admin),
            "{ deliveries(status: SENT, first: 20) { edges { node { channel webhookId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        log.expect_ok()["deliveries"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn a_failing_receiver_is_retried_and_a_deleted_one_gets_nothing_more() {
    let app = spawn_app_with(&[("MEMBERCARD_OUTBOX_RETRY_BASE_MS", "30")]).await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let server = MockServer::start().await;
    // Two 502s (a receiver being redeployed), then it takes the call.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let id = create(
        &app,
        &admin,
        &format!("{}/hooks", server.uri()),
        json!(["MEMBER_REGISTERED"]),
    )
    .await;
    let listed = app
        .gql(Some(&admin), "{ webhooks { id url events } }", json!({}))
        .await;
    assert_eq!(
        listed.expect_ok()["webhooks"],
        json!([{ "id": id, "url": format!("{}/hooks", server.uri()), "events": ["MEMBER_REGISTERED"] }])
    );

    app.login_member("ada").await;
    eventually("the third attempt got through", || async {
        received(&server).await.len() >= 3
    })
    .await;
    let bodies: HashSet<Vec<u8>> = received(&server)
        .await
        .into_iter()
        .map(|request| request.body)
        .collect();
    assert_eq!(bodies.len(), 1, "the same event each time");

    app.gql(
        Some(&admin),
        "mutation($id: ID!) { deleteWebhook(id: $id) }",
        json!({ "id": id }),
    )
    .await
    .expect_ok();
    app.login_member("bob").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        received(&server).await.len(),
        3,
        "nothing for a deleted webhook"
    );
    let again = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { deleteWebhook(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    again.expect_error("NOT_FOUND");
}

#[tokio::test]
async fn webhook_input_is_checked_by_field_and_admin_only() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let good = json!({ "url": "https://crm.example.com/hooks", "secret": SECRET, "events": ["POINTS_CHANGED"] });
    app.gql(Some(&ada), CREATE, json!({ "input": good }))
        .await
        .expect_error("FORBIDDEN");
    let cases = [
        (
            json!({ "url": "ftp://crm.example.com/", "secret": SECRET, "events": ["POINTS_CHANGED"] }),
            "url",
        ),
        (
            json!({ "url": "not a url", "secret": SECRET, "events": ["POINTS_CHANGED"] }),
            "url",
        ),
        (
            json!({ "url": "https://crm.example.com/", "secret": "short", "events": ["POINTS_CHANGED"] }),
            "secret",
        ),
        (
            json!({ "url": "https://crm.example.com/", "secret": SECRET, "events": [] }),
            "events",
        ),
    ];
    for (input, field) in cases {
        let res = app
            .gql(Some(&admin), CREATE, json!({ "input": input }))
            .await;
        res.expect_error("VALIDATION");
        assert_eq!(res.error_field(), Some(field));
    }
    let none = app
        .gql(Some(&admin), "{ webhooks { id } }", json!({}))
        .await;
    assert_eq!(none.expect_ok()["webhooks"], json!([]));
}

#[tokio::test]
async fn production_refuses_loopback_and_private_receivers() {
    let app = spawn_app_with(&[
        ("MEMBERCARD_ENV", "production"),
        ("MEMBERCARD_DEV_LOGIN", "false"),
        ("MEMBERCARD_TEST_CLOCK", "false"),
    ])
    .await;
    let admin = app.login_admin("boss", Role::Admin).await;
    for url in [
        "http://127.0.0.1:9000/hooks",
        "http://localhost/hooks",
        "http://10.0.0.8/hooks",
        "http://[::1]/hooks",
    ] {
        let input = json!({ "url": url, "secret": SECRET, "events": ["POINTS_CHANGED"] });
        let res = app
            .gql(Some(&admin), CREATE, json!({ "input": input }))
            .await;
        res.expect_error("VALIDATION");
        assert_eq!(res.error_field(), Some("url"), "{url}");
    }
    let public = json!({ "url": "https://crm.example.com/hooks", "secret": SECRET, "events": ["POINTS_CHANGED"] });
    app.gql(Some(&admin), CREATE, json!({ "input": public }))
        .await
        .expect_ok();
}
