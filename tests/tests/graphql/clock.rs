//! `serverTime` and the admin test clock; production has no test clock.

use api::domain::auth::Role;
use serde_json::json;
use tests::{JWT_SECRET, spawn_app, spawn_app_with};

const SERVER_TIME: &str =
    "{ serverTime { now businessDate timeZone testClockEnabled testClockOffsetSeconds } }";

#[tokio::test]
async fn server_time_is_public_and_uses_the_business_zone() {
    let app = spawn_app().await;

    let res = app.gql(None, SERVER_TIME, json!({})).await;

    let time = &res.expect_ok()["serverTime"];
    assert_eq!(time["timeZone"], "Asia/Shanghai");
    assert_eq!(time["testClockEnabled"], true);
    assert_eq!(time["testClockOffsetSeconds"], 0);
}

#[tokio::test]
async fn an_admin_sets_advances_and_resets_the_test_clock() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;

    // 15:59 UTC is 23:59 in Shanghai: still the 1st there.
    let set = app
        .gql(
            Some(&admin),
            "mutation { setTestClock(now: \"2026-03-01T15:59:00Z\") { serverTime { businessDate } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        set.expect_ok()["setTestClock"]["serverTime"]["businessDate"],
        "2026-03-01"
    );

    // Two minutes later it is 00:01 on the 2nd in Shanghai while UTC still says the 1st.
    let advanced = app
        .gql(
            Some(&admin),
            "mutation { advanceTestClock(seconds: 120) { serverTime { now businessDate } } }",
            json!({}),
        )
        .await;
    let time = &advanced.expect_ok()["advanceTestClock"]["serverTime"];
    assert_eq!(time["businessDate"], "2026-03-02");
    assert!(
        time["now"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-01T16:01")
    );

    let reset = app
        .gql(
            Some(&admin),
            "mutation { resetTestClock { serverTime { testClockOffsetSeconds } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        reset.expect_ok()["resetTestClock"]["serverTime"]["testClockOffsetSeconds"],
        0
    );
}

#[tokio::test]
async fn advancing_by_a_non_positive_amount_is_a_validation_error() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;

    let res = app
        .gql(
            Some(&admin),
            "mutation { advanceTestClock(seconds: 0) { serverTime { now } } }",
            json!({}),
        )
        .await;

    res.expect_error("VALIDATION");
    assert_eq!(res.errors()[0]["extensions"]["field"], "seconds");
}

#[tokio::test]
async fn operators_cannot_move_the_clock() {
    let app = spawn_app().await;
    let operator = app.login_admin("helper", Role::Operator).await;

    app.gql(
        Some(&operator),
        "mutation { resetTestClock { serverTime { now } } }",
        json!({}),
    )
    .await
    .expect_error("FORBIDDEN");
}

#[tokio::test]
async fn the_test_clock_is_forbidden_in_production() {
    let app = spawn_app_with(&[
        ("MEMBERCARD_ENV", "production"),
        ("MEMBERCARD_JWT_SECRET", JWT_SECRET),
        ("MEMBERCARD_DEV_LOGIN", "false"),
    ])
    .await;
    let admin = app.login_admin("boss", Role::Admin).await;

    let res = app
        .gql(
            Some(&admin),
            "mutation { advanceTestClock(seconds: 60) { serverTime { now } } }",
            json!({}),
        )
        .await;

    res.expect_error("FORBIDDEN");
    let time = app.gql(None, SERVER_TIME, json!({})).await;
    assert_eq!(time.expect_ok()["serverTime"]["testClockEnabled"], false);
}

#[tokio::test]
async fn dev_codes_are_refused_in_production() {
    let app = spawn_app_with(&[
        ("MEMBERCARD_ENV", "production"),
        ("MEMBERCARD_DEV_LOGIN", "false"),
    ])
    .await;

    let dev = app
        .gql(
            None,
            "mutation { memberLogin(code: \"dev:alice\") { token } }",
            json!({}),
        )
        .await;
    let real = app
        .gql(
            None,
            "mutation { memberLogin(code: \"wx-code-alice\") { isNew } }",
            json!({}),
        )
        .await;

    dev.expect_error("WECHAT_LOGIN_FAILED");
    assert_eq!(real.expect_ok()["memberLogin"]["isNew"], true);
}
