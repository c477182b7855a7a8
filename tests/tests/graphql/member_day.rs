//! Member day: 2× points on the 8th in the business zone, events that do not compound, the
//! `memberDay` query, and the notice the day before.

use api::domain::auth::Role;
use serde_json::json;
use tests::{Session, TestApp, spawn_app};

const CREATE_EVENT: &str =
    "mutation($i: CreateMemberDayEventInput!) { createMemberDayEvent(input: $i) { id minTier } }";
const MEMBER_DAY: &str = "{ memberDay { active title startsAt endsAt multiplierPercent discountPercent yourDiscountPercent } }";

async fn event(app: &TestApp, admin: &Session, input: serde_json::Value) -> tests::GqlResponse {
    app.gql(Some(admin), CREATE_EVENT, json!({ "i": input }))
        .await
}

#[tokio::test]
async fn the_8th_pays_double_in_the_business_zone_and_the_7th_and_9th_do_not() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    app.set_clock("2026-03-07T15:59:00Z"); // 23:59 on the 7th in Shanghai
    let seventh = app.sign_in(&alice).await;
    app.set_clock("2026-03-07T16:01:00Z"); // 00:01 on the 8th in Shanghai; UTC says the 7th
    let eighth = app.sign_in(&alice).await;
    app.set_clock("2026-03-08T16:01:00Z"); // the 9th
    let ninth = app.sign_in(&alice).await;

    assert_eq!(
        (
            seventh["memberDayMultiplierPercent"].as_i64(),
            seventh["pointsGranted"].as_i64()
        ),
        (Some(100), Some(5))
    );
    assert_eq!(eighth["day"], "2026-03-08");
    assert_eq!(
        (
            eighth["memberDayMultiplierPercent"].as_i64(),
            eighth["pointsGranted"].as_i64()
        ),
        (Some(200), Some(10))
    );
    assert_eq!(
        (
            ninth["memberDayMultiplierPercent"].as_i64(),
            ninth["pointsGranted"].as_i64()
        ),
        (Some(100), Some(10))
    );
    assert_eq!(seventh["tomorrowPoints"], 10);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_purchase_made_on_member_day_earns_double() {
    let app = spawn_app().await;
    let admin = app.login_admin("pos", Role::Admin).await;
    let alice = app.login_member("alice").await;
    app.set_clock("2026-03-20T02:00:00Z");

    let record = "mutation($m: ID!, $o: String!, $t: DateTime!) { recordPurchase(memberId: $m, orderId: $o, amountCents: 10000, occurredAt: $t) { pointsRequested growth } }";
    let on_day = app
        .gql(
            Some(&admin),
            record,
            json!({ "m": alice.id, "o": "A", "t": "2026-03-08T04:00:00Z" }),
        )
        .await;
    let off_day = app
        .gql(
            Some(&admin),
            record,
            json!({ "m": alice.id, "o": "B", "t": "2026-03-09T04:00:00Z" }),
        )
        .await;

    assert_eq!(
        on_day.expect_ok()["recordPurchase"],
        json!({ "pointsRequested": 200, "growth": 100 })
    );
    assert_eq!(
        off_day.expect_ok()["recordPurchase"],
        json!({ "pointsRequested": 100, "growth": 100 })
    );
}

#[tokio::test]
async fn overlapping_events_take_the_highest_multiplier_and_discount_not_their_product() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    app.set_clock("2026-03-08T02:00:00Z"); // the monthly day: 200 % and 20 %
    event(&app, &admin, json!({ "title": "春季狂欢", "startsAt": "2026-03-07T00:00:00Z", "endsAt": "2026-03-09T00:00:00Z", "multiplierPercent": 300, "discountPercent": 10 })).await.expect_ok();
    event(&app, &admin, json!({ "title": "周末", "startsAt": "2026-03-07T00:00:00Z", "endsAt": "2026-03-09T00:00:00Z", "multiplierPercent": 150, "discountPercent": 30 })).await.expect_ok();
    event(&app, &admin, json!({ "title": "种子专享", "startsAt": "2026-03-07T00:00:00Z", "endsAt": "2026-03-09T00:00:00Z", "multiplierPercent": 500, "discountPercent": 45, "minTier": "SEED" })).await.expect_ok();

    let day = app.gql(Some(&alice), MEMBER_DAY, json!({})).await;
    let sign_in = app.sign_in(&alice).await;

    let day = &day.expect_ok()["memberDay"];
    assert_eq!(day["active"], true);
    assert_eq!(day["title"], "春季狂欢");
    assert_eq!(day["multiplierPercent"], 300);
    assert_eq!(day["discountPercent"], 30);
    assert_eq!(day["yourDiscountPercent"], 30); // NEW adds 0
    assert_eq!(sign_in["memberDayMultiplierPercent"], 300);
    assert_eq!(sign_in["pointsGranted"], 15);
}

#[tokio::test]
async fn member_day_shows_the_next_one_and_members_hear_the_day_before() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    app.set_clock("2026-03-07T02:00:00Z");

    let next = app.gql(None, MEMBER_DAY, json!({})).await;
    let jobs = "mutation { runScheduledJobs { memberDayNotices } }";
    let first = app.gql(Some(&admin), jobs, json!({})).await;
    let again = app.gql(Some(&admin), jobs, json!({})).await;

    assert_eq!(
        next.expect_ok()["memberDay"],
        json!({
            "active": false, "title": "会员日", "startsAt": "2026-03-07T16:00:00+00:00",
            "endsAt": "2026-03-08T16:00:00+00:00", "multiplierPercent": 200, "discountPercent": 20,
            "yourDiscountPercent": null,
        })
    );
    assert_eq!(first.expect_ok()["runScheduledJobs"]["memberDayNotices"], 2);
    assert_eq!(again.expect_ok()["runScheduledJobs"]["memberDayNotices"], 0);
    for member in [&alice, &bob] {
        let inbox = app
            .gql(
                Some(member),
                "{ inbox(first: 1) { edges { node { kind body } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            inbox.expect_ok()["inbox"]["edges"][0]["node"],
            json!({ "kind": "MEMBER_DAY_TOMORROW", "body": "明天是会员日：签到和消费积分 2.00 倍，兑换立减 20%" })
        );
    }
}

#[tokio::test]
async fn events_are_validated_and_only_admins_manage_them() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    let good = json!({ "title": "x", "startsAt": "2026-03-07T00:00:00Z", "endsAt": "2026-03-08T00:00:00Z", "multiplierPercent": 200, "discountPercent": 10 });
    let backwards = json!({ "title": "x", "startsAt": "2026-03-08T00:00:00Z", "endsAt": "2026-03-07T00:00:00Z", "multiplierPercent": 200, "discountPercent": 10 });
    let unknown_tier = json!({ "title": "x", "startsAt": "2026-03-07T00:00:00Z", "endsAt": "2026-03-08T00:00:00Z", "multiplierPercent": 200, "discountPercent": 10, "minTier": "GOLD" });

    event(&app, &alice, good.clone())
        .await
        .expect_error("FORBIDDEN");
    let res = event(&app, &admin, backwards).await;
    res.expect_error("VALIDATION");
    assert_eq!(res.errors()[0]["extensions"]["field"], "endsAt");
    event(&app, &admin, unknown_tier)
        .await
        .expect_error("VALIDATION");
    app.set_clock("2026-03-01T00:00:00Z");
    let created = event(&app, &admin, good).await;
    let id = created.expect_ok()["createMemberDayEvent"]["id"].clone();
    let listed = app
        .gql(Some(&admin), "{ memberDayEvents { id title } }", json!({}))
        .await;
    assert_eq!(
        listed.expect_ok()["memberDayEvents"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let deleted = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { deleteMemberDayEvent(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(deleted.expect_ok()["deleteMemberDayEvent"], true);
    let again = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { deleteMemberDayEvent(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    again.expect_error("NOT_FOUND");
}
