//! Growth and tiers: upgrades with gifts, privileges in the numbers, evaluation one level down
//! at a time, the tier table, and birthday points.

use api::domain::auth::Role;
use serde_json::{Value, json};
use tests::{Session, TestApp, spawn_app};

const TIER: &str = "{ me { tier { code current { code } next { code } progress { growth nextThreshold growthNeeded } privileges { pointsMultiplierPercent monthlyEarnCap badge } } } }";

/// Records a purchase that happened 10 days before the clock, so it is spendable at once.
async fn old_purchase(app: &TestApp, admin: &Session, member: &Session, order: &str, cents: i64) {
    let at = (app.clock.now() - chrono::TimeDelta::days(10)).to_rfc3339();
    app.gql(
        Some(admin),
        "mutation($m: ID!, $o: String!, $c: Int!, $t: DateTime!) { recordPurchase(memberId: $m, orderId: $o, amountCents: $c, occurredAt: $t) { status } }",
        json!({ "m": member.id, "o": order, "c": cents, "t": at }),
    )
    .await
    .expect_ok();
}

async fn setup() -> (TestApp, Session, Session) {
    let app = spawn_app().await;
    app.set_clock("2026-03-10T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    (app, admin, alice)
}

#[tokio::test]
async fn reaching_the_threshold_upgrades_at_once_with_the_gift_and_a_notice() {
    let (app, admin, alice) = setup().await;
    old_purchase(&app, &admin, &alice, "O-1", 49_900).await;
    let before = app.gql(Some(&alice), TIER, json!({})).await;
    assert_eq!(
        before.expect_ok()["me"]["tier"],
        json!({
            "code": "NEW", "current": { "code": "NEW" }, "next": { "code": "REGULAR" },
            "progress": { "growth": 499, "nextThreshold": 500, "growthNeeded": 1 },
            "privileges": { "pointsMultiplierPercent": 100, "monthlyEarnCap": 1000, "badge": "新会员" },
        })
    );

    app.sign_in(&alice).await; // +1 growth

    assert_eq!(app.tier_code(&alice).await, "REGULAR");
    let gifts = app
        .gql(
            Some(&alice),
            "{ pointsHistory(kinds: [TIER_UPGRADE_GIFT]) { edges { node { amount reference } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        gifts.expect_ok()["pointsHistory"]["edges"],
        json!([{ "node": { "amount": 50, "reference": "REGULAR" } }])
    );
    // The purchase, the sign-in, the gift, and the seeded 首次购物 task (+50, SPEC §13).
    assert_eq!(app.balance(&alice).await, 499 + 5 + 50 + 50);
    let inbox = app
        .gql(
            Some(&alice),
            "{ inbox(first: 5) { edges { node { kind body } } } }",
            json!({}),
        )
        .await;
    let kinds: Vec<String> = inbox.expect_ok()["inbox"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap().to_owned())
        .collect();
    assert!(kinds.contains(&"TIER_CHANGED".to_owned()), "{kinds:?}");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn core_members_earn_one_point_two_times_and_have_a_higher_cap() {
    let (app, admin, alice) = setup().await;
    old_purchase(&app, &admin, &alice, "O-1", 200_000).await; // 2000 growth: NEW → CORE

    let sign_in = app.sign_in(&alice).await;

    assert_eq!(app.tier_code(&alice).await, "CORE");
    assert_eq!(sign_in["multiplierPercent"], 120);
    assert_eq!(sign_in["requestedPoints"], 6);
    assert_eq!(sign_in["pointsGranted"], 6);
    let points = app.points(&alice, "monthEarnCap monthRedeemCap").await;
    assert_eq!(
        points,
        json!({ "monthEarnCap": 4000, "monthRedeemCap": 10000 })
    );
    // Both tiers passed paid their gift once.
    let gifts = app
        .gql(
            Some(&alice),
            "{ pointsHistory(kinds: [TIER_UPGRADE_GIFT]) { edges { node { amount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        gifts.expect_ok()["pointsHistory"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn evaluation_moves_members_down_one_level_at_a_time() {
    let (app, admin, alice) = setup().await;
    old_purchase(&app, &admin, &alice, "O-1", 1_000_000).await; // 10000 growth: SEED
    assert_eq!(app.tier_code(&alice).await, "SEED");
    let evaluate = "mutation { evaluateTiers { evaluated upgraded downgraded } }";

    let same_month = app.gql(Some(&admin), evaluate, json!({})).await;
    app.set_clock("2027-04-10T02:00:00Z"); // the growth has left the 12-month window
    // However often it runs, the evaluation moves a member down one level a business month.
    let mut april = Vec::new();
    for _ in 0..4 {
        let run = app.gql(Some(&admin), evaluate, json!({})).await;
        april.push(run.expect_ok()["evaluateTiers"]["downgraded"].clone());
    }
    let after_april = app.tier_code(&alice).await;
    let mut path = Vec::new();
    for month in [
        "2027-05-01T02:00:00Z",
        "2027-06-01T02:00:00Z",
        "2027-07-01T02:00:00Z",
    ] {
        app.set_clock(month);
        app.gql(Some(&admin), evaluate, json!({})).await.expect_ok();
        app.gql(Some(&admin), evaluate, json!({})).await.expect_ok();
        path.push(app.tier_code(&alice).await);
    }

    assert_eq!(
        same_month.expect_ok()["evaluateTiers"],
        json!({ "evaluated": 1, "upgraded": 0, "downgraded": 0 })
    );
    assert_eq!(april, [json!(1), json!(0), json!(0), json!(0)]);
    assert_eq!(after_april, "CORE");
    assert_eq!(path, ["REGULAR", "NEW", "NEW"]);
    let operator = app.login_admin("helper", Role::Operator).await;
    app.gql(Some(&operator), evaluate, json!({}))
        .await
        .expect_error("FORBIDDEN");
}

#[tokio::test]
async fn the_tier_table_is_public_and_admins_edit_it_within_its_rules() {
    let (app, admin, alice) = setup().await;
    let operator = app.login_admin("helper", Role::Operator).await;

    let tiers = app
        .gql(None, "{ tiers { code rank growthThreshold privileges { pointsMultiplierPercent monthlyRedeemCap memberDayDiscountPercent upgradeGiftPoints prioritySupport } } }", json!({}))
        .await;
    let by_operator = app
        .gql(Some(&operator), "mutation { updateTier(code: \"NEW\", input: { pointsMultiplierPercent: 200 }) { code } }", json!({}))
        .await;
    let below_lower = app
        .gql(
            Some(&admin),
            "mutation { updateTier(code: \"CORE\", input: { growthThreshold: 400 }) { code } }",
            json!({}),
        )
        .await;
    let unknown = app
        .gql(
            Some(&admin),
            "mutation { updateTier(code: \"GOLD\", input: { badge: \"x\" }) { code } }",
            json!({}),
        )
        .await;
    let doubled = app
        .gql(Some(&admin), "mutation { updateTier(code: \"NEW\", input: { pointsMultiplierPercent: 200 }) { privileges { pointsMultiplierPercent } } }", json!({}))
        .await;

    let tiers = tiers.expect_ok()["tiers"].as_array().unwrap().clone();
    assert_eq!(tiers.len(), 4);
    assert_eq!(
        tiers[2],
        json!({ "code": "CORE", "rank": 2, "growthThreshold": 2000, "privileges": {
            "pointsMultiplierPercent": 120, "monthlyRedeemCap": 10000, "memberDayDiscountPercent": 10,
            "upgradeGiftPoints": 200, "prioritySupport": true } })
    );
    by_operator.expect_error("FORBIDDEN");
    below_lower.expect_error("VALIDATION");
    assert_eq!(
        below_lower.errors()[0]["extensions"]["field"],
        "growthThreshold"
    );
    unknown.expect_error("NOT_FOUND");
    assert_eq!(
        doubled.expect_ok()["updateTier"]["privileges"]["pointsMultiplierPercent"],
        200
    );
    assert_eq!(app.sign_in(&alice).await["pointsGranted"], 10);
}

#[tokio::test]
async fn birthday_points_are_paid_once_a_year_at_the_first_login_or_sign_in() {
    let (app, _admin, alice) = setup().await;
    app.gql(
        Some(&alice),
        "mutation { updateProfile(input: { birthday: \"03-11\" }) { member { birthday } } }",
        json!({}),
    )
    .await
    .expect_ok();
    app.advance_days(1); // 2026-03-11

    app.login_member("alice").await; // the first login of the day pays
    let sign_in = app.sign_in(&alice).await; // not again the same day
    app.login_member("alice").await;
    app.set_clock("2027-03-11T02:00:00Z");
    let next_year = app.sign_in(&alice).await;

    assert_eq!(sign_in["birthdayPoints"], 0);
    assert_eq!(next_year["birthdayPoints"], 50);
    let inbox = app
        .gql(
            Some(&alice),
            "{ inbox(first: 50) { edges { node { kind body } } } }",
            json!({}),
        )
        .await;
    let greetings: Vec<Value> = inbox.expect_ok()["inbox"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .filter(|node| node["kind"] == "BIRTHDAY_GREETING")
        .collect();
    assert_eq!(greetings.len(), 2, "{}", inbox.body);
    assert!(greetings[0]["body"].as_str().unwrap().contains("+50"));
    assert!(
        inbox.body.to_string().matches("生日礼").count() == 2,
        "birthday points arrive only as greetings: {}",
        inbox.body
    );
    let birthdays = app
        .gql(
            Some(&alice),
            "{ pointsHistory(kinds: [BIRTHDAY]) { edges { node { amount reference } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        birthdays.expect_ok()["pointsHistory"]["edges"],
        json!([
            { "node": { "amount": 50, "reference": "2027-03-11" } },
            { "node": { "amount": 50, "reference": "2026-03-11" } },
        ])
    );
    app.assert_ledger_invariants().await;
}
