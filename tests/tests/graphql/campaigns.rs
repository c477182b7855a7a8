//! Campaigns (SPEC §16), the part built so far: a ONCE campaign to a segment grants each
//! member once — also when passes run at the same time and on several instances — and never
//! past its budget.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failed setup should fail the test loudly"
)]

use api::domain::auth::Role;
use serde_json::{Value, json};
use tests::{Session, TestApp, spawn_app};

const CREATE: &str = "mutation($i: CampaignInput!) { createCampaign(input: $i) { id status } }";
const JOBS: &str = "mutation { runScheduledJobs { campaignGrants } }";
const STATS: &str =
    "query($id: ID!) { campaignStats(id: $id) { reached heldOut skipped costPoints } }";

async fn create(app: &TestApp, admin: &Session, input: Value) -> String {
    let res = app.gql(Some(admin), CREATE, json!({ "i": input })).await;
    let created = res.expect_ok()["createCampaign"].clone();
    assert_eq!(created["status"], "DRAFT");
    created["id"].as_str().unwrap().to_owned()
}

async fn activate(app: &TestApp, admin: &Session, id: &str) {
    app.gql(
        Some(admin),
        "mutation($id: ID!) { activateCampaign(id: $id) { status } }",
        json!({ "id": id }),
    )
    .await
    .expect_ok();
}

async fn pass(app: &TestApp, admin: &Session) -> i64 {
    let res = app.gql(Some(admin), JOBS, json!({})).await;
    res.expect_ok()["runScheduledJobs"]["campaignGrants"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_once_campaign_grants_each_member_of_its_segment_once() {
    let app = spawn_app().await;
    app.set_clock("2026-03-10T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let mut members = Vec::new();
    for n in 0..12 {
        members.push(app.login_member(&format!("m{n}")).await);
    }
    // The segment: the first eight, by tag.
    let tag = app
        .gql(
            Some(&admin),
            "mutation { createTag(input: { name: \"召回\" }) { id } }",
            json!({}),
        )
        .await;
    let tag = tag.expect_ok()["createTag"]["id"].clone();
    let ids: Vec<&str> = members.iter().take(8).map(|m| m.id.as_str()).collect();
    app.gql(
        Some(&admin),
        "mutation($t: ID!, $m: [ID!]!) { tagMembers(tagId: $t, memberIds: $m) }",
        json!({ "t": tag, "m": ids }),
    )
    .await
    .expect_ok();
    let segment = app
        .gql(
            Some(&admin),
            "mutation($t: ID!) { createSegment(input: { name: \"召回人群\", filter: { tagIds: [$t] } }) { id } }",
            json!({ "t": tag }),
        )
        .await;
    let segment = segment.expect_ok()["createSegment"]["id"].clone();
    // One of them is frozen: skipped.
    app.gql(
        Some(&admin),
        "mutation($id: ID!) { freezeMember(id: $id, reason: \"风控\") { frozen } }",
        json!({ "id": members[7].id }),
    )
    .await
    .expect_ok();
    let campaign = create(
        &app,
        &admin,
        json!({
            "name": "流失召回",
            "segmentId": segment,
            "trigger": { "kind": "ONCE", "at": "2026-03-10T01:00:00Z" },
            "actions": [
                { "kind": "GRANT_POINTS", "points": 50, "pointsExpireInDays": 14 },
                { "kind": "NOTIFY", "title": "回来看看", "body": "送你 50 积分，14 天内有效" },
            ],
        }),
    )
    .await;
    // A draft does not run.
    assert_eq!(pass(&app, &admin).await, 0);
    activate(&app, &admin, &campaign).await;

    // Three passes at once, and again: seven grants in all.
    let (a, b, c) = tokio::join!(pass(&app, &admin), pass(&app, &admin), pass(&app, &admin));
    assert_eq!(a + b + c, 7);
    assert_eq!(pass(&app, &admin).await, 0);
    // Its whole audience served, a ONCE campaign is over.
    let ended = app
        .gql(
            Some(&admin),
            "{ campaigns(status: ENDED) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(ended.expect_ok()["campaigns"], json!([{ "id": campaign }]));
    for (n, member) in members.iter().enumerate() {
        let expected = if n < 7 { 50 } else { 0 };
        assert_eq!(app.balance(member).await, expected, "member {n}");
    }
    let stats = app
        .gql(Some(&admin), STATS, json!({ "id": campaign }))
        .await;
    assert_eq!(
        stats.expect_ok()["campaignStats"],
        json!({ "reached": 7, "heldOut": 0, "skipped": 1, "costPoints": 350 })
    );
    // The entry is a CAMPAIGN credit, lapsing in 14 days; the notice is in the inbox.
    let entries = app
        .gql(
            Some(&members[0]),
            "{ pointsHistory(first: 5) { edges { node { kind amount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        entries.expect_ok()["pointsHistory"]["edges"][0]["node"],
        json!({ "kind": "CAMPAIGN", "amount": 50 })
    );
    let inbox = app
        .gql(
            Some(&members[0]),
            "{ inbox(first: 5) { edges { node { kind title } } } }",
            json!({}),
        )
        .await;
    let kinds: Vec<Value> = inbox.expect_ok()["inbox"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].clone())
        .collect();
    assert!(kinds.contains(&json!("CAMPAIGN")), "{kinds:?}");
    app.set_clock("2026-03-25T02:00:00Z");
    app.gql(
        Some(&admin),
        "mutation { runScheduledJobs { pointsExpired } }",
        json!({}),
    )
    .await
    .expect_ok();
    assert_eq!(app.balance(&members[0]).await, 0, "lapsed after 14 days");
    app.assert_ledger_invariants().await;

    // Several instances (PostgreSQL): a second campaign run from two at once.
    if app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        let second = create(
            &app,
            &admin,
            json!({
                "name": "全员红包",
                "trigger": { "kind": "ONCE", "at": "2026-03-25T01:00:00Z" },
                "actions": [{ "kind": "GRANT_POINTS", "points": 5 }],
            }),
        )
        .await;
        activate(&app, &admin, &second).await;
        let sibling = app.spawn_sibling().await;
        let on_sibling = async {
            let res = app
                .gql_at(&sibling, Some(&admin), JOBS, json!({}), &[])
                .await;
            res.expect_ok()["runScheduledJobs"]["campaignGrants"]
                .as_i64()
                .unwrap()
        };
        let (here, there) = tokio::join!(pass(&app, &admin), on_sibling);
        assert_eq!(here + there, 11, "every member but the frozen one, once");
        let stats = app.gql(Some(&admin), STATS, json!({ "id": second })).await;
        assert_eq!(stats.expect_ok()["campaignStats"]["costPoints"], 55);
    }
}

#[tokio::test]
async fn a_budget_of_n_points_stops_the_campaign_after_n_never_over() {
    let app = spawn_app().await;
    app.set_clock("2026-03-10T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    for n in 0..6 {
        app.login_member(&format!("m{n}")).await;
    }
    let campaign = create(
        &app,
        &admin,
        json!({
            "name": "限量红包",
            "trigger": { "kind": "ONCE", "at": "2026-03-10T01:00:00Z" },
            "actions": [{ "kind": "GRANT_POINTS", "points": 30 }],
            "budgetPoints": 100,
        }),
    )
    .await;
    activate(&app, &admin, &campaign).await;
    let (a, b) = tokio::join!(pass(&app, &admin), pass(&app, &admin));
    assert_eq!(a + b, 3, "three grants of 30 fit in 100");
    let listed = app
        .gql(
            Some(&admin),
            "{ campaigns { id spentPoints budgetPoints budgetExhausted } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed.expect_ok()["campaigns"][0],
        json!({ "id": campaign, "spentPoints": 90, "budgetPoints": 100, "budgetExhausted": true })
    );
    assert_eq!(
        pass(&app, &admin).await,
        0,
        "an exhausted campaign grants nothing more"
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn campaigns_are_checked_and_move_only_as_their_states_allow() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let good = json!({
        "name": "x",
        "trigger": { "kind": "ONCE", "at": "2026-03-10T01:00:00Z" },
        "actions": [{ "kind": "GRANT_POINTS", "points": 5 }],
    });
    app.gql(Some(&ada), CREATE, json!({ "i": good }))
        .await
        .expect_error("FORBIDDEN");
    let mut no_at = good.clone();
    no_at["trigger"] = json!({ "kind": "ONCE" });
    let mut no_points = good.clone();
    no_points["actions"] = json!([{ "kind": "GRANT_POINTS", "points": 0 }]);
    let mut bad_budget = good.clone();
    bad_budget["budgetPoints"] = json!(0);
    let mut bad_holdout = good.clone();
    bad_holdout["holdoutPercent"] = json!(80);
    for (input, field) in [
        (no_at, "trigger.at"),
        (no_points, "actions.points"),
        (bad_budget, "budgetPoints"),
        (bad_holdout, "holdoutPercent"),
    ] {
        let res = app.gql(Some(&admin), CREATE, json!({ "i": input })).await;
        res.expect_error("VALIDATION");
        assert_eq!(res.error_field(), Some(field));
    }
    let id = create(&app, &admin, good).await;
    let pause = "mutation($id: ID!) { pauseCampaign(id: $id) { status } }";
    app.gql(Some(&admin), pause, json!({ "id": id }))
        .await
        .expect_error("CONFLICT");
    activate(&app, &admin, &id).await;
    let paused = app.gql(Some(&admin), pause, json!({ "id": id })).await;
    assert_eq!(paused.expect_ok()["pauseCampaign"]["status"], "PAUSED");
    let ended = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { endCampaign(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(ended.expect_ok()["endCampaign"]["status"], "ENDED");
    app.gql(
        Some(&admin),
        "mutation($id: ID!) { activateCampaign(id: $id) { status } }",
        json!({ "id": id }),
    )
    .await
    .expect_error("CONFLICT");
}
