//! `bindPhoneByWeChat`: the number WeChat verified, through the shared access token
//! (`stable_token`) and `getuserphonenumber` of the WeChat fake.

use serde_json::json;
use tests::{Session, TestApp, spawn_app, spawn_app_with};

const BIND: &str = "mutation($code: String!) {
    bindPhoneByWeChat(code: $code) { member { phone phoneVerified } }
}";
const TYPE_PHONE: &str = "mutation($phone: String!) {
    updateProfile(input: { phone: $phone }) { member { phone phoneVerified } }
}";

async fn bind(app: &TestApp, member: &Session, code: &str) -> tests::GqlResponse {
    app.gql(Some(member), BIND, json!({ "code": code })).await
}

async fn phone_of(app: &TestApp, member: &Session) -> serde_json::Value {
    let me = app
        .gql(Some(member), "{ me { phone phoneVerified } }", json!({}))
        .await;
    me.expect_ok()["me"].clone()
}

#[tokio::test]
async fn a_member_binds_the_number_wechat_verified_with_one_shared_token() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;

    let bound = bind(&app, &alice, "phone-code-86-13800138000").await;
    let member = &bound.expect_ok()["bindPhoneByWeChat"]["member"];
    assert_eq!(member["phone"], "13800138000");
    assert_eq!(member["phoneVerified"], true);
    bind(&app, &bob, "phone-code-1-4155550100")
        .await
        .expect_ok();

    assert_eq!(
        phone_of(&app, &bob).await,
        json!({ "phone": "+14155550100", "phoneVerified": true })
    );
    // One token for both calls: never a token request per call.
    assert_eq!(app.fake_wechat.token_requests(), [false]);
    assert_eq!(app.fake_wechat.phone_requests(), 2);
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_exchange_retried() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    bind(&app, &alice, "phone-code-86-13800138000")
        .await
        .expect_ok();

    // Another party refreshed the token: WeChat answers 40001 to the one membercard holds.
    app.fake_wechat.fail_next_phone_request(40001);
    bind(&app, &bob, "phone-code-86-13900139000")
        .await
        .expect_ok();

    assert_eq!(app.fake_wechat.token_requests(), [false, true]);
    assert_eq!(app.fake_wechat.phone_requests(), 3);
    assert_eq!(phone_of(&app, &bob).await["phone"], "13900139000");
}

#[tokio::test]
async fn a_code_wechat_refuses_is_wechat_api_failed_with_its_errcode_and_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;

    let refused = bind(&app, &alice, "not-a-code").await;
    refused.expect_error("WECHAT_API_FAILED");
    assert_eq!(refused.body["errors"][0]["extensions"]["errcode"], 40029);
    // A code WeChat refused is not sent again.
    assert_eq!(app.fake_wechat.phone_requests(), 1);

    app.fake_wechat.fail_next_phone_request(-1);
    let busy = bind(&app, &alice, "phone-code-86-13800138000").await;
    busy.expect_error("WECHAT_API_FAILED");
    assert_eq!(busy.body["errors"][0]["extensions"]["errcode"], -1);
    assert_eq!(
        phone_of(&app, &alice).await,
        json!({ "phone": null, "phoneVerified": false })
    );

    let empty = bind(&app, &alice, "  ").await;
    empty.expect_error("VALIDATION");
    assert_eq!(empty.error_field(), Some("code"));
}

#[tokio::test]
async fn a_verified_binding_takes_a_typed_number_but_not_a_verified_one() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    let carol = app.login_member("carol").await;

    // Alice typed Bob's number; Bob's verified binding takes it from her.
    app.gql(Some(&alice), TYPE_PHONE, json!({ "phone": "13800138000" }))
        .await
        .expect_ok();
    bind(&app, &bob, "phone-code-86-13800138000")
        .await
        .expect_ok();
    assert_eq!(
        phone_of(&app, &alice).await,
        json!({ "phone": null, "phoneVerified": false })
    );
    assert_eq!(phone_of(&app, &bob).await["phoneVerified"], true);

    // Nobody takes a verified number: not by WeChat, not by typing it.
    bind(&app, &carol, "phone-code-86-13800138000-again")
        .await
        .expect_error("CONFLICT");
    app.gql(Some(&carol), TYPE_PHONE, json!({ "phone": "13800138000" }))
        .await
        .expect_error("CONFLICT");

    // Typing another number ends the verification; typing the same one keeps it.
    let same = app
        .gql(Some(&bob), TYPE_PHONE, json!({ "phone": "138 0013 8000" }))
        .await;
    assert_eq!(
        same.expect_ok()["updateProfile"]["member"]["phoneVerified"],
        true
    );
    let other = app
        .gql(Some(&bob), TYPE_PHONE, json!({ "phone": "13700137000" }))
        .await;
    assert_eq!(
        other.expect_ok()["updateProfile"]["member"],
        json!({ "phone": "13700137000", "phoneVerified": false })
    );
}

#[tokio::test]
async fn instances_share_one_token_and_fetch_it_once_under_concurrent_calls() {
    let app = spawn_app().await;
    if app.db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return; // several instances need PostgreSQL
    }
    let sibling = app.spawn_sibling().await;
    let mut members = Vec::new();
    for n in 0..6 {
        members.push(app.login_member(&format!("m{n}")).await);
    }

    // No token yet: six bindings at once, half on each instance.
    let app = &app;
    let calls = members.iter().enumerate().map(|(n, member)| {
        let url = if n % 2 == 0 {
            app.graphql_url()
        } else {
            sibling.clone()
        };
        let code = format!("phone-code-86-1380013800{n}");
        async move {
            app.client
                .post(url)
                .bearer_auth(&member.token)
                .json(&json!({ "query": BIND, "variables": { "code": code } }))
                .send()
                .await
                .expect("the instance answers")
                .json::<serde_json::Value>()
                .await
                .expect("a JSON answer")
        }
    });
    for answer in futures::future::join_all(calls).await {
        assert_eq!(
            answer["data"]["bindPhoneByWeChat"]["member"]["phoneVerified"], true,
            "{answer}"
        );
    }
    assert_eq!(app.fake_wechat.token_requests(), [false]);
}

#[tokio::test]
async fn a_silent_wechat_fails_fast_and_the_code_is_not_sent_again() {
    let app = spawn_app_with(&[("MEMBERCARD_WECHAT_TIMEOUT_MS", "300")]).await;
    let alice = app.login_member("alice").await;
    app.fake_wechat
        .stall_next_phone_request(std::time::Duration::from_secs(10));

    let started = std::time::Instant::now();
    let stalled = bind(&app, &alice, "phone-code-86-13800138000").await;
    stalled.expect_error("WECHAT_API_FAILED");
    assert!(stalled.body["errors"][0]["extensions"]["errcode"].is_null());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the answer took {:?}",
        started.elapsed()
    );
    // WeChat may have accepted the code: it is not sent again.
    assert_eq!(app.fake_wechat.phone_requests(), 1);
    assert_eq!(phone_of(&app, &alice).await["phoneVerified"], false);
}

#[tokio::test]
async fn an_instance_without_the_token_in_memory_takes_it_from_redis() {
    let app = spawn_app().await;
    if app.db.get_database_backend() != sea_orm::DatabaseBackend::Postgres
        || app.redis_prefix.is_none()
    {
        return; // several instances and Redis
    }
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    bind(&app, &alice, "phone-code-86-13800138000")
        .await
        .expect_ok();
    // With the database's copy gone, a new instance can only have it from Redis.
    app.execute("DELETE FROM wechat_access_tokens").await;
    let sibling = app.spawn_sibling().await;

    let answer: serde_json::Value = app
        .client
        .post(&sibling)
        .bearer_auth(&bob.token)
        .json(&json!({ "query": BIND, "variables": { "code": "phone-code-86-13900139000" } }))
        .send()
        .await
        .expect("the sibling answers")
        .json()
        .await
        .expect("a JSON answer");

    assert_eq!(
        answer["data"]["bindPhoneByWeChat"]["member"]["phoneVerified"], true,
        "{answer}"
    );
    assert_eq!(app.fake_wechat.token_requests(), [false]);
}
