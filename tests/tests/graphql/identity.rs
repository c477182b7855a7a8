//! Member login through WeChat's code2Session (faked locally), dev codes, tokens and `me`.

use serde_json::json;
use tests::{Session, spawn_app, spawn_app_with};

const LOGIN: &str = "mutation($code: String!) {
    memberLogin(code: $code) { token isNew expiresAt member { id inviteCode tier { code name } } }
}";
const ME: &str = "{ me { id nickname inviteCode hideFromLeaderboards tier { code rank badge } } }";

#[tokio::test]
async fn first_login_creates_the_member_and_the_second_finds_it() {
    let app = spawn_app().await;

    let first = app
        .gql(None, LOGIN, json!({ "code": "wx-code-alice" }))
        .await;
    let second = app
        .gql(None, LOGIN, json!({ "code": "wx-code-alice" }))
        .await;

    let first = &first.expect_ok()["memberLogin"];
    let second = &second.expect_ok()["memberLogin"];
    assert_eq!(first["isNew"], true);
    assert_eq!(second["isNew"], false);
    assert_eq!(first["member"]["id"], second["member"]["id"]);
    assert_eq!(first["member"]["tier"]["code"], "NEW");
    let invite = first["member"]["inviteCode"].as_str().unwrap();
    assert_eq!(invite.len(), 8);
    assert!(
        invite
            .chars()
            .all(|c| "23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(c))
    );
    assert_eq!(
        first["member"]["inviteCode"],
        second["member"]["inviteCode"]
    );
}

#[tokio::test]
async fn the_token_from_login_reads_me() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;

    let res = app.gql(Some(&alice), ME, json!({})).await;

    let me = &res.expect_ok()["me"];
    assert_eq!(me["id"], alice.id.as_str());
    assert_eq!(me["tier"]["code"], "NEW");
    assert_eq!(me["tier"]["rank"], 0);
    assert_eq!(me["hideFromLeaderboards"], false);
    assert!(me["nickname"].is_null());
}

#[tokio::test]
async fn a_rejected_wechat_code_is_wechat_login_failed_and_creates_nobody() {
    let app = spawn_app().await;

    let res = app
        .gql(None, LOGIN, json!({ "code": "expired-code" }))
        .await;

    assert_eq!(res.status, 200);
    res.expect_error("WECHAT_LOGIN_FAILED");
    assert!(res.data()["memberLogin"].is_null(), "{}", res.body);
    assert!(
        res.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("40029")
    );
    assert_eq!(app.count("members").await, 0);
}

#[tokio::test]
async fn an_unreachable_wechat_is_wechat_login_failed() {
    let app = spawn_app_with(&[("MEMBERCARD_WECHAT_BASE_URL", "http://127.0.0.1:9")]).await;

    let res = app
        .gql(None, LOGIN, json!({ "code": "wx-code-alice" }))
        .await;

    res.expect_error("WECHAT_LOGIN_FAILED");
}

#[tokio::test]
async fn dev_codes_log_in_directly_outside_production() {
    let app = spawn_app().await;

    let res = app
        .gql(None, LOGIN, json!({ "code": "dev:playground-user" }))
        .await;

    assert_eq!(res.expect_ok()["memberLogin"]["isNew"], true);
}

#[tokio::test]
async fn dev_codes_go_to_wechat_when_dev_login_is_off() {
    let app = spawn_app_with(&[("MEMBERCARD_DEV_LOGIN", "false")]).await;

    let res = app.gql(None, LOGIN, json!({ "code": "dev:someone" })).await;

    res.expect_error("WECHAT_LOGIN_FAILED");
}

#[tokio::test]
async fn an_empty_code_is_a_validation_error_on_code() {
    let app = spawn_app().await;

    let res = app.gql(None, LOGIN, json!({ "code": "  " })).await;

    res.expect_error("VALIDATION");
    assert_eq!(res.errors()[0]["extensions"]["field"], "code");
}

#[tokio::test]
async fn concurrent_first_logins_create_exactly_one_member() {
    let app = spawn_app().await;

    let logins = (0..10).map(|_| app.gql(None, LOGIN, json!({ "code": "wx-code-racer" })));
    let results = futures::future::join_all(logins).await;

    let new_count = results
        .iter()
        .filter(|r| r.expect_ok()["memberLogin"]["isNew"] == true)
        .count();
    assert_eq!(new_count, 1);
    let ids: std::collections::HashSet<String> = results
        .iter()
        .map(|r| {
            r.data()["memberLogin"]["member"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.count("members").await, 1);
}

#[tokio::test]
async fn me_without_a_token_is_unauthenticated() {
    let app = spawn_app().await;

    let res = app.gql(None, ME, json!({})).await;

    assert_eq!(res.status, 200);
    res.expect_error("UNAUTHENTICATED");
}

#[tokio::test]
async fn a_forged_token_is_unauthenticated() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    let forged = Session {
        token: format!("{}x", alice.token),
        id: alice.id,
    };

    app.gql(Some(&forged), ME, json!({}))
        .await
        .expect_error("UNAUTHENTICATED");
}

#[tokio::test]
async fn a_token_expires_after_its_lifetime_on_the_service_clock() {
    let app = spawn_app_with(&[("MEMBERCARD_MEMBER_TOKEN_TTL_SECONDS", "3600")]).await;
    let alice = app.login_member("alice").await;
    app.gql(Some(&alice), ME, json!({})).await.expect_ok();

    app.clock.advance(chrono::TimeDelta::minutes(61)).unwrap();

    let res = app.gql(Some(&alice), ME, json!({})).await;
    res.expect_error("UNAUTHENTICATED");
    assert!(
        res.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn public_fields_still_answer_with_an_expired_token() {
    let app = spawn_app_with(&[("MEMBERCARD_MEMBER_TOKEN_TTL_SECONDS", "60")]).await;
    let alice = app.login_member("alice").await;
    app.advance_days(1);

    let res = app
        .gql(Some(&alice), "{ serverTime { timeZone } }", json!({}))
        .await;

    assert_eq!(res.expect_ok()["serverTime"]["timeZone"], "Asia/Shanghai");
}

#[tokio::test]
async fn login_keeps_the_unionid_up_to_date_and_finds_the_member_by_it() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    let unionid_of_alice = format!(
        "SELECT COUNT(*) AS n FROM members WHERE id = {} AND unionid = 'unionid-alice'",
        alice.id
    );
    app.execute(&format!(
        "UPDATE members SET unionid = NULL WHERE id = {}",
        alice.id
    ))
    .await;

    // The next login writes the unionid WeChat gives back.
    app.login_member("alice").await;
    assert_eq!(app.scalar(&unionid_of_alice).await, 1);

    // The same WeChat user in another of the brand's apps (another openid) is the same member.
    let elsewhere = app.login_member("alice@mall").await;
    assert_eq!(elsewhere.id, alice.id);
    assert_eq!(app.count("members").await, 1);
}
