//! `updateProfile`: validated fields, a unique phone, a birthday set once.

use serde_json::json;
use tests::spawn_app;

const UPDATE: &str = "mutation($input: UpdateProfileInput!) {
    updateProfile(input: $input) {
        member { nickname avatarUrl phone birthday hideFromLeaderboards }
    }
}";

#[tokio::test]
async fn a_member_updates_their_profile() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    let input = json!({
        "nickname": "  小红 ",
        "avatarUrl": "https://cdn.example.com/a.png",
        "phone": "+86 138-0013-8000",
        "birthday": "02-29",
        "hideFromLeaderboards": true,
    });

    let res = app
        .gql(Some(&alice), UPDATE, json!({ "input": input }))
        .await;

    let member = &res.expect_ok()["updateProfile"]["member"];
    assert_eq!(member["nickname"], "小红");
    assert_eq!(member["avatarUrl"], "https://cdn.example.com/a.png");
    assert_eq!(member["phone"], "13800138000");
    assert_eq!(member["birthday"], "02-29");
    assert_eq!(member["hideFromLeaderboards"], true);
    let me = app
        .gql(Some(&alice), "{ me { nickname phone } }", json!({}))
        .await;
    assert_eq!(me.expect_ok()["me"]["phone"], "13800138000");
}

#[tokio::test]
async fn omitted_fields_are_left_alone() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    app.gql(
        Some(&alice),
        UPDATE,
        json!({ "input": { "nickname": "Alice", "phone": "13800138000" } }),
    )
    .await
    .expect_ok();

    let res = app
        .gql(
            Some(&alice),
            UPDATE,
            json!({ "input": { "hideFromLeaderboards": true } }),
        )
        .await;

    let member = &res.expect_ok()["updateProfile"]["member"];
    assert_eq!(member["nickname"], "Alice");
    assert_eq!(member["phone"], "13800138000");
}

#[tokio::test]
async fn invalid_values_are_validation_errors_naming_the_field_and_change_nothing() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    app.gql(
        Some(&alice),
        UPDATE,
        json!({ "input": { "nickname": "Alice" } }),
    )
    .await
    .expect_ok();
    let cases = [
        (json!({ "nickname": "Bob", "phone": "12345" }), "phone"),
        (
            json!({ "nickname": "", "hideFromLeaderboards": true }),
            "nickname",
        ),
        (
            json!({ "nickname": "Bob", "avatarUrl": "javascript:alert(1)" }),
            "avatarUrl",
        ),
        (
            json!({ "nickname": "Bob", "birthday": "02-30" }),
            "birthday",
        ),
    ];

    for (input, field) in cases {
        let res = app
            .gql(Some(&alice), UPDATE, json!({ "input": input }))
            .await;
        res.expect_error("VALIDATION");
        assert_eq!(
            res.errors()[0]["extensions"]["field"],
            field,
            "{}",
            res.body
        );
    }
    let me = app
        .gql(Some(&alice), "{ me { nickname } }", json!({}))
        .await;
    assert_eq!(me.expect_ok()["me"]["nickname"], "Alice");
}

#[tokio::test]
async fn a_phone_number_belongs_to_one_member_only() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    app.gql(
        Some(&alice),
        UPDATE,
        json!({ "input": { "phone": "13800138000" } }),
    )
    .await
    .expect_ok();

    let res = app
        .gql(
            Some(&bob),
            UPDATE,
            json!({ "input": { "nickname": "Bob", "phone": "+8613800138000" } }),
        )
        .await;

    res.expect_error("CONFLICT");
    assert!(!res.body.to_string().contains("uq_members_phone"));
    let me = app
        .gql(Some(&bob), "{ me { nickname phone } }", json!({}))
        .await;
    assert_eq!(
        me.expect_ok()["me"],
        json!({ "nickname": null, "phone": null })
    );
}

#[tokio::test]
async fn a_birthday_is_set_once() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    app.gql(
        Some(&alice),
        UPDATE,
        json!({ "input": { "birthday": "05-20" } }),
    )
    .await
    .expect_ok();

    let same = app
        .gql(
            Some(&alice),
            UPDATE,
            json!({ "input": { "birthday": "05-20" } }),
        )
        .await;
    let changed = app
        .gql(
            Some(&alice),
            UPDATE,
            json!({ "input": { "birthday": "06-01" } }),
        )
        .await;

    assert_eq!(
        same.expect_ok()["updateProfile"]["member"]["birthday"],
        "05-20"
    );
    changed.expect_error("VALIDATION");
    assert_eq!(changed.errors()[0]["extensions"]["field"], "birthday");
    let me = app
        .gql(Some(&alice), "{ me { birthday } }", json!({}))
        .await;
    assert_eq!(me.expect_ok()["me"]["birthday"], "05-20");
}

#[tokio::test]
async fn update_profile_needs_a_member_token() {
    let app = spawn_app().await;

    let anonymous = app
        .gql(None, UPDATE, json!({ "input": { "nickname": "x" } }))
        .await;
    let admin = app.login_admin("ops", api::domain::auth::Role::Admin).await;
    let as_admin = app
        .gql(
            Some(&admin),
            UPDATE,
            json!({ "input": { "nickname": "x" } }),
        )
        .await;

    anonymous.expect_error("UNAUTHENTICATED");
    as_admin.expect_error("FORBIDDEN");
}
