//! `recordMessageSubscriptions` and `me.messageConsents`: each accepted one-time template
//! allows one message.

use serde_json::json;
use tests::spawn_app;

const RECORD: &str = "mutation($input: [MessageSubscriptionInput!]!) {
    recordMessageSubscriptions(input: $input) { templateId remaining }
}";
const CONSENTS: &str = "{ me { messageConsents { templateId remaining } } }";

#[tokio::test]
async fn each_accepted_template_allows_one_more_message() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    let answers = json!([
        { "templateId": "points-tpl", "accepted": true },
        { "templateId": "member-day-tpl", "accepted": false },
    ]);

    let first = app
        .gql(Some(&alice), RECORD, json!({ "input": answers }))
        .await;
    assert_eq!(
        first.expect_ok()["recordMessageSubscriptions"],
        json!([{ "templateId": "points-tpl", "remaining": 1 }])
    );
    let answers = json!([
        { "templateId": " points-tpl ", "accepted": true },
        { "templateId": "member-day-tpl", "accepted": true },
    ]);
    app.gql(Some(&alice), RECORD, json!({ "input": answers }))
        .await
        .expect_ok();

    let consents = app.gql(Some(&alice), CONSENTS, json!({})).await;
    assert_eq!(
        consents.expect_ok()["me"]["messageConsents"],
        json!([
            { "templateId": "member-day-tpl", "remaining": 1 },
            { "templateId": "points-tpl", "remaining": 2 },
        ])
    );
    // Consents are each member's own.
    let none = app.gql(Some(&bob), CONSENTS, json!({})).await;
    assert_eq!(none.expect_ok()["me"]["messageConsents"], json!([]));
}

#[tokio::test]
async fn bad_answers_are_validation_errors_and_record_nothing() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    let bad_id = json!([
        { "templateId": "ok-tpl", "accepted": true },
        { "templateId": "not ok", "accepted": true },
    ]);
    let refused = app
        .gql(Some(&alice), RECORD, json!({ "input": bad_id }))
        .await;
    refused.expect_error("VALIDATION");
    assert_eq!(refused.error_field(), Some("templateId"));

    let empty = app.gql(Some(&alice), RECORD, json!({ "input": [] })).await;
    empty.expect_error("VALIDATION");
    assert_eq!(empty.error_field(), Some("input"));

    let too_many: Vec<_> = (0..21)
        .map(|n| json!({ "templateId": format!("t{n}"), "accepted": true }))
        .collect();
    app.gql(Some(&alice), RECORD, json!({ "input": too_many }))
        .await
        .expect_error("VALIDATION");

    let consents = app.gql(Some(&alice), CONSENTS, json!({})).await;
    assert_eq!(consents.expect_ok()["me"]["messageConsents"], json!([]));
    // Members only.
    app.gql(
        None,
        RECORD,
        json!({ "input": [{ "templateId": "t", "accepted": true }] }),
    )
    .await
    .expect_error("UNAUTHENTICATED");
}
