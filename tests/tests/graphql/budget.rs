//! The programme's monthly points budget (最大可发放积分数, SPEC §16): set, shown against this
//! month's issue, removed.

use api::domain::auth::Role;
use serde_json::{Value, json};
use tests::spawn_app;

const UPDATE: &str = "mutation($p: Int) { updateProgrammeBudget(monthlyPoints: $p) { monthlyPoints issuedThisMonth remaining } }";
const STATS: &str = "{ programmeStats(from: \"2026-03-01\", to: \"2026-03-31\") { budget { monthlyPoints issuedThisMonth remaining } } }";

#[tokio::test]
async fn the_budget_shows_this_months_issue_and_can_be_removed() {
    let app = spawn_app().await;
    app.set_clock("2026-03-10T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let bob = app.login_member("bob").await;
    let none = app.gql(Some(&admin), STATS, json!({})).await;
    assert_eq!(none.expect_ok()["programmeStats"]["budget"], Value::Null);

    app.gql(Some(&ada), UPDATE, json!({ "p": 100 }))
        .await
        .expect_error("FORBIDDEN");
    let refused = app.gql(Some(&admin), UPDATE, json!({ "p": 0 })).await;
    refused.expect_error("VALIDATION");
    assert_eq!(refused.error_field(), Some("monthlyPoints"));

    let earned = app.sign_in(&ada).await["pointsGranted"].as_i64().unwrap()
        + app.sign_in(&bob).await["pointsGranted"].as_i64().unwrap();
    let set = app.gql(Some(&admin), UPDATE, json!({ "p": 100 })).await;
    assert_eq!(
        set.expect_ok()["updateProgrammeBudget"],
        json!({ "monthlyPoints": 100, "issuedThisMonth": earned, "remaining": 100 - earned })
    );
    let shown = app.gql(Some(&admin), STATS, json!({})).await;
    assert_eq!(
        shown.expect_ok()["programmeStats"]["budget"]["issuedThisMonth"],
        earned
    );
    let removed = app.gql(Some(&admin), UPDATE, json!({ "p": null })).await;
    assert_eq!(removed.expect_ok()["updateProgrammeBudget"], Value::Null);
}
