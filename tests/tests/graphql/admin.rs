//! Admin login (Argon2id) and the guards that keep members out of admin operations.

use api::domain::auth::Role;
use serde_json::json;
use tests::{ADMIN_PASSWORD, spawn_app};

const ADMIN_LOGIN: &str = "mutation($u: String!, $p: String!) {
    adminLogin(username: $u, password: $p) { token expiresAt admin { id username role } }
}";
const MEMBER: &str = "query($id: ID!) { member(id: $id) { id inviteCode tier { code } } }";

#[tokio::test]
async fn an_admin_logs_in_with_the_right_password() {
    let app = spawn_app().await;
    app.services
        .auth
        .create_admin("boss", ADMIN_PASSWORD, Role::Admin)
        .await
        .unwrap();

    let res = app
        .gql(
            None,
            ADMIN_LOGIN,
            json!({ "u": "boss", "p": ADMIN_PASSWORD }),
        )
        .await;

    let login = &res.expect_ok()["adminLogin"];
    assert_eq!(login["admin"]["username"], "boss");
    assert_eq!(login["admin"]["role"], "ADMIN");
    assert!(login["token"].as_str().unwrap().len() > 20);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    app.services
        .auth
        .create_admin("boss", ADMIN_PASSWORD, Role::Admin)
        .await
        .unwrap();

    let wrong = app
        .gql(None, ADMIN_LOGIN, json!({ "u": "boss", "p": "guess" }))
        .await;
    let unknown = app
        .gql(None, ADMIN_LOGIN, json!({ "u": "nobody", "p": "guess" }))
        .await;

    wrong.expect_error("UNAUTHENTICATED");
    unknown.expect_error("UNAUTHENTICATED");
    assert_eq!(wrong.errors()[0]["message"], unknown.errors()[0]["message"]);
}

#[tokio::test]
async fn the_password_is_stored_as_an_argon2id_hash() {
    let app = spawn_app().await;
    app.services
        .auth
        .create_admin("boss", ADMIN_PASSWORD, Role::Admin)
        .await
        .unwrap();

    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT password_hash FROM admins WHERE username = 'boss'",
        ))
        .await
        .unwrap()
        .unwrap();
    let hash: String = row.try_get("", "password_hash").unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert!(!hash.contains(ADMIN_PASSWORD));
}

#[tokio::test]
async fn a_taken_username_is_a_conflict() {
    let app = spawn_app().await;
    let auth = &app.services.auth;
    auth.create_admin("boss", ADMIN_PASSWORD, Role::Admin)
        .await
        .unwrap();

    let again = auth
        .create_admin("boss", ADMIN_PASSWORD, Role::Operator)
        .await;

    assert_eq!(again.unwrap_err().code(), "CONFLICT");
}

#[tokio::test]
async fn admins_and_operators_look_up_members() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let operator = app.login_admin("helper", Role::Operator).await;

    for session in [&admin, &operator] {
        let res = app
            .gql(Some(session), MEMBER, json!({ "id": alice.id }))
            .await;
        assert_eq!(res.expect_ok()["member"]["id"], alice.id.as_str());
    }
}

#[tokio::test]
async fn a_member_token_never_reaches_admin_operations_or_other_members() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;

    let other = app.gql(Some(&alice), MEMBER, json!({ "id": bob.id })).await;
    let own = app
        .gql(Some(&alice), MEMBER, json!({ "id": alice.id }))
        .await;
    let clock = app
        .gql(
            Some(&alice),
            "mutation { advanceTestClock(seconds: 60) { serverTime { now } } }",
            json!({}),
        )
        .await;

    other.expect_error("FORBIDDEN");
    own.expect_error("FORBIDDEN");
    clock.expect_error("FORBIDDEN");
    assert!(
        other
            .data()
            .as_object()
            .is_some_and(|data| data.values().all(serde_json::Value::is_null)),
        "{}",
        other.body
    );
}

#[tokio::test]
async fn an_admin_token_is_not_a_member() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;

    app.gql(Some(&admin), "{ me { id } }", json!({}))
        .await
        .expect_error("FORBIDDEN");
}

#[tokio::test]
async fn looking_up_a_missing_or_malformed_member_id() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;

    let missing = app
        .gql(Some(&admin), MEMBER, json!({ "id": "999999" }))
        .await;
    let malformed = app.gql(Some(&admin), MEMBER, json!({ "id": "abc" })).await;

    missing.expect_error("NOT_FOUND");
    malformed.expect_error("VALIDATION");
    assert_eq!(malformed.errors()[0]["extensions"]["field"], "id");
}

const WHO_AM_I: &str = "{ members(first: 1) { edges { cursor } } }";

#[tokio::test]
async fn a_disabled_admin_is_refused_at_once_and_can_be_enabled_again() {
    let app = spawn_app().await;
    let boss = app.login_admin("boss", Role::Admin).await;
    app.gql(Some(&boss), WHO_AM_I, json!({})).await.expect_ok();

    // What `membercard admin disable --username boss` does.
    app.services
        .auth
        .set_admin_disabled("boss", true)
        .await
        .unwrap();
    let with_token = app.gql(Some(&boss), WHO_AM_I, json!({})).await;
    let login = app
        .gql(
            None,
            "mutation($p: String!) { adminLogin(username: \"boss\", password: $p) { token } }",
            json!({ "p": ADMIN_PASSWORD }),
        )
        .await;
    app.services
        .auth
        .set_admin_disabled("boss", false)
        .await
        .unwrap();
    let enabled = app.gql(Some(&boss), WHO_AM_I, json!({})).await;

    with_token.expect_error("UNAUTHENTICATED");
    assert_eq!(
        with_token.errors()[0]["message"],
        "the admin account is disabled"
    );
    login.expect_error("UNAUTHENTICATED");
    assert_eq!(login.errors()[0]["message"], "invalid username or password");
    enabled.expect_ok();
    assert_eq!(
        app.services
            .auth
            .set_admin_disabled("nobody", true)
            .await
            .unwrap_err()
            .code(),
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn a_deleted_admins_token_is_refused() {
    let app = spawn_app().await;
    let boss = app.login_admin("boss", Role::Admin).await;

    app.execute("DELETE FROM admins WHERE username = 'boss'")
        .await;
    let res = app.gql(Some(&boss), WHO_AM_I, json!({})).await;

    res.expect_error("UNAUTHENTICATED");
    assert_eq!(
        res.errors()[0]["message"],
        "the admin account no longer exists"
    );
}

#[tokio::test]
async fn a_new_password_revokes_earlier_tokens() {
    let app = spawn_app().await;
    let boss = app.login_admin("boss", Role::Admin).await;
    app.clock.advance(chrono::TimeDelta::seconds(5)).unwrap();

    // What `echo … | membercard admin set-password --username boss` does.
    let short = app.services.auth.set_admin_password("boss", "short").await;
    app.services
        .auth
        .set_admin_password("boss", "a much longer new password")
        .await
        .unwrap();
    let old_token = app.gql(Some(&boss), WHO_AM_I, json!({})).await;
    let login = |password: &'static str| {
        app.gql(
            None,
            "mutation($p: String!) { adminLogin(username: \"boss\", password: $p) { token } }",
            json!({ "p": password }),
        )
    };
    let old_password = login(ADMIN_PASSWORD).await;
    let new_password = login("a much longer new password").await;

    assert_eq!(short.unwrap_err().code(), "VALIDATION");
    old_token.expect_error("UNAUTHENTICATED");
    old_password.expect_error("UNAUTHENTICATED");
    let token = new_password.expect_ok()["adminLogin"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let fresh = tests::Session {
        token,
        id: boss.id.clone(),
    };
    app.gql(Some(&fresh), WHO_AM_I, json!({})).await.expect_ok();
}
