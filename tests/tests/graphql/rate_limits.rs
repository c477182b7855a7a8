//! Rate limits (SPEC §10): per member, per IP and per username, on the service clock, with
//! `RATE_LIMITED` and `retryAfterSeconds`, and HTTP 429 for a request flood. With
//! TEST_REDIS_URL they are counted in Redis.

use api::domain::auth::Role;
use serde_json::json;
use tests::{ADMIN_PASSWORD, spawn_app_with};

#[tokio::test]
async fn sign_ins_are_limited_per_member_and_the_window_follows_the_clock() {
    let app = spawn_app_with(&[("MEMBERCARD_RATE_LIMIT_SIGN_IN", "2/60")]).await;
    // Forward (the limiter follows the clock forward only) to a mid-morning in Shanghai, so the
    // minute the test moves the clock stays in one business day: on the wall clock, a run just
    // before midnight signed in again on the next day.
    app.set_clock("2036-06-15T02:00:00Z");
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    let sign_in = "mutation { signIn { streak } }";

    app.gql(Some(&alice), sign_in, json!({})).await.expect_ok();
    app.gql(Some(&alice), sign_in, json!({}))
        .await
        .expect_error("ALREADY_SIGNED_IN");
    let limited = app.gql(Some(&alice), sign_in, json!({})).await;
    let other_member = app.gql(Some(&bob), sign_in, json!({})).await;
    app.clock.advance(chrono::TimeDelta::seconds(60)).unwrap();
    let later = app.gql(Some(&alice), sign_in, json!({})).await;

    limited.expect_error("RATE_LIMITED");
    let wait = limited.errors()[0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    other_member.expect_ok();
    later.expect_error("ALREADY_SIGNED_IN");
    // Make-ups count toward the same limit.
    let make_up = app
        .gql(
            Some(&alice),
            "mutation { makeUpSignIn(date: \"2020-01-01\") { cost } }",
            json!({}),
        )
        .await;
    make_up.expect_error("MAKEUP_NOT_ALLOWED");
    let limited_make_up = app
        .gql(
            Some(&alice),
            "mutation { makeUpSignIn(date: \"2020-01-01\") { cost } }",
            json!({}),
        )
        .await;
    limited_make_up.expect_error("RATE_LIMITED");
}

#[tokio::test]
async fn member_logins_are_limited_per_ip() {
    let app = spawn_app_with(&[("MEMBERCARD_RATE_LIMIT_MEMBER_LOGIN", "3/60")]).await;
    let login = "mutation($c: String!) { memberLogin(code: $c) { isNew } }";

    for i in 0..3 {
        app.gql(None, login, json!({ "c": format!("wx-code-m{i}") }))
            .await
            .expect_ok();
    }
    let fourth = app.gql(None, login, json!({ "c": "wx-code-m9" })).await;

    fourth.expect_error("RATE_LIMITED");
    assert_eq!(app.count("members").await, 3);
}

#[tokio::test]
async fn failed_admin_logins_lock_the_username_for_the_window() {
    let app = spawn_app_with(&[("MEMBERCARD_RATE_LIMIT_ADMIN_LOGIN_FAILURES", "3/900")]).await;
    app.services
        .auth
        .create_admin("boss", ADMIN_PASSWORD, Role::Admin)
        .await
        .unwrap();
    let login = "mutation($p: String!) { adminLogin(username: \"boss\", password: $p) { token } }";

    for _ in 0..3 {
        app.gql(None, login, json!({ "p": "wrong" }))
            .await
            .expect_error("UNAUTHENTICATED");
    }
    let locked = app.gql(None, login, json!({ "p": ADMIN_PASSWORD })).await;
    app.clock.advance(chrono::TimeDelta::seconds(901)).unwrap();
    let after = app.gql(None, login, json!({ "p": ADMIN_PASSWORD })).await;

    locked.expect_error("RATE_LIMITED");
    assert!(
        locked.errors()[0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap()
            > 800
    );
    after.expect_ok();
}

#[tokio::test]
async fn a_request_flood_gets_http_429_with_retry_after() {
    let app = spawn_app_with(&[("MEMBERCARD_RATE_LIMIT_REQUEST", "5/60")]).await;

    for _ in 0..5 {
        app.gql(None, "{ serverTime { now } }", json!({}))
            .await
            .expect_ok();
    }
    let response = app
        .client
        .post(app.graphql_url())
        .json(&json!({ "query": "{ serverTime { now } }" }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
}

#[tokio::test]
async fn other_mutations_share_a_general_limit_and_redemptions_have_their_own() {
    let app = spawn_app_with(&[
        ("MEMBERCARD_RATE_LIMIT_MUTATION", "2/60"),
        ("MEMBERCARD_RATE_LIMIT_REDEEM", "1/60"),
    ])
    .await;
    let alice = app.login_member("alice").await;
    let update =
        "mutation { updateProfile(input: { hideFromLeaderboards: true }) { member { id } } }";
    let redeem = "mutation($k: String!) { redeemReward(rewardId: \"999\", idempotencyKey: $k) { replayed } }";

    app.gql(Some(&alice), update, json!({})).await.expect_ok();
    app.gql(Some(&alice), update, json!({})).await.expect_ok();
    let third = app.gql(Some(&alice), update, json!({})).await;
    // signIn has its own limit, so the general one does not stop it.
    app.sign_in(&alice).await;
    let first_redeem = app.gql(Some(&alice), redeem, json!({ "k": "a" })).await;
    let second_redeem = app.gql(Some(&alice), redeem, json!({ "k": "b" })).await;

    assert_eq!(third.status, 200);
    third.expect_error("RATE_LIMITED");
    first_redeem.expect_error("REWARD_UNAVAILABLE");
    second_redeem.expect_error("RATE_LIMITED");
}

#[tokio::test]
async fn with_redis_the_limits_hold_across_instances_and_without_it_per_process() {
    let app = spawn_app_with(&[("MEMBERCARD_RATE_LIMIT_REQUEST", "3/60")]).await;
    let sibling = app.spawn_sibling().await;
    let query = json!({ "query": "{ serverTime { now } }" });

    for _ in 0..3 {
        app.gql(None, "{ serverTime { now } }", json!({}))
            .await
            .expect_ok();
    }
    let on_sibling = app.client.post(&sibling).json(&query).send().await.unwrap();

    // With Redis the first instance's three requests count on the second; without it each
    // process counts its own.
    let expected = if app.redis_prefix.is_some() { 429 } else { 200 };
    assert_eq!(on_sibling.status(), expected);
}

#[tokio::test]
async fn moving_the_test_clock_back_does_not_lock_anyone_out() {
    let app = spawn_app_with(&[
        ("MEMBERCARD_RATE_LIMIT_REQUEST", "100/60"),
        ("MEMBERCARD_RATE_LIMIT_ADMIN_LOGIN_FAILURES", "1/900"),
    ])
    .await;
    app.services
        .auth
        .create_admin("boss", ADMIN_PASSWORD, Role::Admin)
        .await
        .unwrap();
    app.gql(None, "{ serverTime { now } }", json!({}))
        .await
        .expect_ok();
    let login = "mutation($p: String!) { adminLogin(username: \"boss\", password: $p) { token } }";
    app.gql(None, login, json!({ "p": "wrong" }))
        .await
        .expect_error("UNAUTHENTICATED");

    app.set_clock("2020-01-01T00:00:00Z");

    app.gql(None, "{ serverTime { now } }", json!({}))
        .await
        .expect_ok();
    app.gql(None, login, json!({ "p": ADMIN_PASSWORD }))
        .await
        .expect_ok();
}

const LOGIN: &str = "mutation($c: String!) { memberLogin(code: $c) { isNew } }";

#[tokio::test]
async fn members_behind_a_trusted_proxy_are_limited_each_by_their_own_address() {
    // The test client connects from 127.0.0.1: here that is the TLS proxy.
    let app = spawn_app_with(&[
        ("MEMBERCARD_RATE_LIMIT_MEMBER_LOGIN", "10/60"),
        ("MEMBERCARD_TRUSTED_PROXIES", "127.0.0.0/8, ::1"),
    ])
    .await;

    for i in 0..12 {
        // Half the proxies speak X-Forwarded-For, half RFC 7239 Forwarded.
        let (name, value) = if i % 2 == 0 {
            ("x-forwarded-for", format!("203.0.113.{i}"))
        } else {
            ("forwarded", format!("for=203.0.113.{i};proto=https"))
        };
        app.gql_with_headers(
            None,
            LOGIN,
            json!({ "c": format!("wx-code-p{i}") }),
            &[(name, &value)],
        )
        .await
        .expect_ok();
    }
    assert_eq!(app.count("members").await, 12);

    // One member's own address is still limited, and a lie prepended to the chain is ignored.
    for i in 0..10 {
        let chain = format!("6.6.6.{i}, 198.51.100.1");
        app.gql_with_headers(
            None,
            LOGIN,
            json!({ "c": format!("wx-code-q{i}") }),
            &[("x-forwarded-for", &chain)],
        )
        .await
        .expect_ok();
    }
    app.gql_with_headers(
        None,
        LOGIN,
        json!({ "c": "wx-code-q10" }),
        &[("x-forwarded-for", "198.51.100.1")],
    )
    .await
    .expect_error("RATE_LIMITED");
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_change_nothing() {
    let app = spawn_app_with(&[("MEMBERCARD_RATE_LIMIT_MEMBER_LOGIN", "3/60")]).await;

    for i in 0..3 {
        let claimed = format!("203.0.113.{i}");
        app.gql_with_headers(
            None,
            LOGIN,
            json!({ "c": format!("wx-code-s{i}") }),
            &[("x-forwarded-for", &claimed)],
        )
        .await
        .expect_ok();
    }
    let spoofed = app
        .gql_with_headers(
            None,
            LOGIN,
            json!({ "c": "wx-code-s9" }),
            &[
                ("x-forwarded-for", "203.0.113.99"),
                ("forwarded", "for=203.0.113.98"),
            ],
        )
        .await;

    spoofed.expect_error("RATE_LIMITED");
    assert_eq!(app.count("members").await, 3);
}

#[tokio::test]
async fn aliases_of_a_mutation_count_one_each_against_the_limit() {
    let app = spawn_app_with(&[("MEMBERCARD_RATE_LIMIT_MUTATION", "5/60")]).await;
    let alice = app.login_member("alice").await;
    // Enumerating phone numbers with aliases: each alias is a mutation of its own.
    let aliases: String = (0..10)
        .map(|i| {
            format!(
                "p{i}: updateProfile(input: {{ phone: \"1380000{i:04}\" }}) {{ member {{ id }} }} "
            )
        })
        .collect();

    let res = app
        .gql(
            Some(&alice),
            &format!("mutation {{ {aliases} }}"),
            json!({}),
        )
        .await;

    assert_eq!(res.status, 200, "{}", res.body);
    let errors = res.errors();
    assert_eq!(errors.len(), 5, "{}", res.body);
    for (i, error) in errors.iter().enumerate() {
        assert_eq!(error["extensions"]["code"], "RATE_LIMITED");
        assert_eq!(error["path"][0], format!("p{}", i + 5));
    }
    for i in 0..5 {
        assert!(
            res.data()[format!("p{i}")]["member"]["id"].is_string(),
            "{}",
            res.body
        );
    }
    for i in 5..10 {
        assert!(res.data()[format!("p{i}")].is_null(), "{}", res.body);
    }
    // The limit is spent: the next request's one mutation is refused too.
    app.gql(
        Some(&alice),
        "mutation { updateProfile(input: { nickname: \"A\" }) { member { id } } }",
        json!({}),
    )
    .await
    .expect_error("RATE_LIMITED");
}
