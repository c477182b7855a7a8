//! Rewards and redemption: every error code in the specified order, races for stock, replays,
//! coupons, physical fulfilment and cancellation, member-day prices, cycle-day rewards.

use api::domain::auth::Role;
use serde_json::{Value, json};
use tests::{GqlResponse, Session, TestApp, spawn_app};

const CREATE: &str = "mutation($i: RewardInput!) { createReward(input: $i) { id } }";
const REDEEM: &str = "mutation($r: ID!, $q: Int!, $k: String!) {
    redeemReward(rewardId: $r, quantity: $q, idempotencyKey: $k) {
        redemption { id status quantity unitPrice pointsTotal } coupons { code expiresAt } balanceAfter replayed
    }
}";

#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helper: a failed setup should fail the test"
)]
async fn reward(app: &TestApp, admin: &Session, input: Value) -> String {
    let mut full = json!({ "title": "礼品", "kind": "VIRTUAL", "pointsCost": 100 });
    if let (Some(full), Some(input)) = (full.as_object_mut(), input.as_object()) {
        full.extend(input.clone());
    }
    let res = app.gql(Some(admin), CREATE, json!({ "i": full })).await;
    res.expect_ok()["createReward"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn give(app: &TestApp, admin: &Session, member: &Session, amount: i64) {
    app.gql(
        Some(admin),
        "mutation($m: ID!, $a: Int!, $k: String!) { adjustPoints(memberId: $m, amount: $a, reason: \"seed\", idempotencyKey: $k) { balanceAfter } }",
        json!({ "m": member.id, "a": amount, "k": format!("seed-{}-{amount}", member.id) }),
    )
    .await
    .expect_ok();
}

async fn redeem(
    app: &TestApp,
    member: &Session,
    reward: &str,
    quantity: i64,
    key: &str,
) -> GqlResponse {
    app.gql(
        Some(member),
        REDEEM,
        json!({ "r": reward, "q": quantity, "k": key }),
    )
    .await
}

async fn setup() -> (TestApp, Session, Session) {
    let app = spawn_app().await;
    app.set_clock("2026-03-10T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    (app, admin, alice)
}

#[tokio::test]
async fn every_refusal_has_its_code_in_the_specified_order() {
    let (app, admin, alice) = setup().await;
    give(&app, &admin, &alice, 1_800).await;
    let inactive = reward(&app, &admin, json!({ "active": false, "minTier": "CORE" })).await;
    let core_only = reward(
        &app,
        &admin,
        json!({ "minTier": "CORE", "memberDayOnly": true }),
    )
    .await;
    let member_day_only = reward(
        &app,
        &admin,
        json!({ "memberDayOnly": true, "monthlyLimit": 1 }),
    )
    .await;
    let once_a_month = reward(&app, &admin, json!({ "monthlyLimit": 1, "pointsCost": 50 })).await;
    let pricey = reward(&app, &admin, json!({ "pointsCost": 1_500, "stock": 0 })).await;
    let sold_out = reward(&app, &admin, json!({ "stock": 0, "pointsCost": 10 })).await;
    let too_dear = reward(&app, &admin, json!({ "pointsCost": 1_900 })).await;
    redeem(&app, &alice, &once_a_month, 1, "first")
        .await
        .expect_ok();

    let cases = [
        (inactive.as_str(), "REWARD_UNAVAILABLE"),
        ("999999", "REWARD_UNAVAILABLE"),
        (core_only.as_str(), "TIER_TOO_LOW"),
        (member_day_only.as_str(), "NOT_MEMBER_DAY"),
        (once_a_month.as_str(), "REDEMPTION_LIMIT_REACHED"),
        (sold_out.as_str(), "OUT_OF_STOCK"),
    ];
    for (reward_id, code) in cases {
        redeem(&app, &alice, reward_id, 1, &format!("k-{reward_id}"))
            .await
            .expect_error(code);
    }
    // 2 × 1500 passes NEW's 2000 monthly redemption cap; the cap is checked before the (empty)
    // stock.
    let over_cap = redeem(&app, &alice, &pricey, 2, "cap").await;
    over_cap.expect_error("MONTHLY_REDEEM_CAP_REACHED");
    // 1900 fits the 1950 left of the cap, but not the balance of 1750.
    let short = redeem(&app, &alice, &too_dear, 1, "short").await;
    short.expect_error("INSUFFICIENT_POINTS");
    let tier = app
        .gql(
            Some(&alice),
            REDEEM,
            json!({ "r": core_only, "q": 1, "k": "t" }),
        )
        .await;
    assert_eq!(tier.errors()[0]["extensions"]["requiredTier"], "CORE");
    assert_eq!(app.balance(&alice).await, 1_750);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn fifty_members_race_for_ten_units_and_exactly_ten_win() {
    let (app, admin, _) = setup().await;
    let prize = reward(&app, &admin, json!({ "stock": 10, "pointsCost": 100 })).await;
    let mut members = Vec::new();
    for i in 0..50 {
        let member = app.login_member(&format!("racer{i}")).await;
        give(&app, &admin, &member, 150).await;
        members.push(member);
    }

    let races = members.iter().map(|m| redeem(&app, m, &prize, 1, "race"));
    let results = futures::future::join_all(races).await;

    let won = results.iter().filter(|r| r.errors().is_empty()).count();
    let sold_out = results
        .iter()
        .filter(|r| r.error_code() == Some("OUT_OF_STOCK"))
        .count();
    assert_eq!((won, sold_out), (10, 40));
    let catalogue = app
        .gql(
            Some(&admin),
            "{ rewards { edges { node { stock } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        catalogue.expect_ok()["rewards"]["edges"][0]["node"]["stock"],
        0
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn twenty_replays_of_one_key_charge_once() {
    let (app, admin, alice) = setup().await;
    give(&app, &admin, &alice, 1_000).await;
    let prize = reward(&app, &admin, json!({ "stock": 5 })).await;

    let replays = (0..20).map(|_| redeem(&app, &alice, &prize, 1, "same"));
    let results = futures::future::join_all(replays).await;

    assert!(results.iter().all(|r| r.errors().is_empty()));
    let fresh = results
        .iter()
        .filter(|r| r.data()["redeemReward"]["replayed"] == false)
        .count();
    assert_eq!(fresh, 1);
    assert_eq!(app.balance(&alice).await, 900);
    let other = redeem(&app, &alice, &prize, 2, "same").await;
    other.expect_error("CONFLICT");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn one_members_concurrent_redemptions_respect_balance_limits_and_the_cap() {
    let (app, admin, alice) = setup().await;
    give(&app, &admin, &alice, 1_000).await;
    let limited = reward(
        &app,
        &admin,
        json!({ "monthlyLimit": 3, "pointsCost": 100 }),
    )
    .await;
    let dear = reward(&app, &admin, json!({ "pointsCost": 300 })).await;

    let keys: Vec<String> = (0..10).map(|i| format!("b{i}")).collect();
    let burst = keys.iter().enumerate().map(|(i, key)| {
        let r = if i % 2 == 0 {
            limited.as_str()
        } else {
            dear.as_str()
        };
        redeem(&app, &alice, r, 1, key)
    });
    let results = futures::future::join_all(burst).await;

    let ok = results.iter().filter(|r| r.errors().is_empty()).count();
    assert!(ok >= 1);
    let balance = app.balance(&alice).await;
    assert!(balance >= 0);
    let mine = app
        .gql(
            Some(&alice),
            "{ myRedemptions(first: 50) { edges { node { rewardId pointsTotal } } } }",
            json!({}),
        )
        .await;
    let edges = mine.expect_ok()["myRedemptions"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    let limited_count = edges
        .iter()
        .filter(|e| e["node"]["rewardId"] == limited.as_str())
        .count();
    let spent: i64 = edges
        .iter()
        .map(|e| e["node"]["pointsTotal"].as_i64().unwrap())
        .sum();
    assert!(limited_count <= 3);
    assert_eq!(spent, 1_000 - balance);
    assert!(spent <= 1_000);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_coupon_is_written_off_once_and_not_after_it_expires() {
    let (app, admin, alice) = setup().await;
    let operator = app.login_admin("clerk", Role::Operator).await;
    give(&app, &admin, &alice, 500).await;
    let coupon = reward(&app, &admin, json!({ "kind": "COUPON", "pointsCost": 100 })).await;
    let res = redeem(&app, &alice, &coupon, 2, "c").await;
    let issued = res.expect_ok()["redeemReward"]["coupons"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(issued.len(), 2);
    let code = issued[0]["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 16);
    let write_off = "mutation($c: String!) { redeemCoupon(code: $c) { code usedAt } }";

    let first = app
        .gql(Some(&operator), write_off, json!({ "c": code }))
        .await;
    let second = app
        .gql(Some(&operator), write_off, json!({ "c": code }))
        .await;
    let by_member = app.gql(Some(&alice), write_off, json!({ "c": code })).await;
    app.advance_days(31);
    let expired = app
        .gql(
            Some(&operator),
            write_off,
            json!({ "c": issued[1]["code"] }),
        )
        .await;

    assert!(first.expect_ok()["redeemCoupon"]["usedAt"].is_string());
    second.expect_error("COUPON_INVALID");
    by_member.expect_error("FORBIDDEN");
    expired.expect_error("COUPON_INVALID");
    let mine = app
        .gql(Some(&alice), "{ myCoupons { code usedAt } }", json!({}))
        .await;
    assert_eq!(mine.expect_ok()["myCoupons"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_physical_redemption_is_fulfilled_or_cancelled_once_with_points_and_stock_back() {
    let (app, admin, alice) = setup().await;
    give(&app, &admin, &alice, 500).await;
    let mug = reward(
        &app,
        &admin,
        json!({ "kind": "PHYSICAL", "pointsCost": 200, "stock": 3 }),
    )
    .await;
    let first = redeem(&app, &alice, &mug, 1, "m1").await;
    let first_id = first.expect_ok()["redeemReward"]["redemption"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        first.data()["redeemReward"]["redemption"]["status"],
        "PENDING"
    );
    let second = redeem(&app, &alice, &mug, 1, "m2").await;
    let second_id = second.expect_ok()["redeemReward"]["redemption"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancel = "mutation($id: ID!) { cancelRedemption(id: $id) { status } }";
    let fulfil = "mutation($id: ID!) { fulfillRedemption(id: $id, trackingNumber: \"SF123\") { status trackingNumber } }";

    let shipped = app
        .gql(Some(&admin), fulfil, json!({ "id": first_id }))
        .await;
    let cancelled = app
        .gql(Some(&admin), cancel, json!({ "id": second_id }))
        .await;
    let again = app
        .gql(Some(&admin), cancel, json!({ "id": second_id }))
        .await;
    let cancel_shipped = app
        .gql(Some(&admin), cancel, json!({ "id": first_id }))
        .await;

    assert_eq!(
        shipped.expect_ok()["fulfillRedemption"],
        json!({ "status": "FULFILLED", "trackingNumber": "SF123" })
    );
    assert_eq!(
        cancelled.expect_ok()["cancelRedemption"]["status"],
        "CANCELLED"
    );
    again.expect_error("CONFLICT");
    cancel_shipped.expect_error("CONFLICT");
    assert_eq!(app.balance(&alice).await, 300);
    let stock = app
        .gql(
            Some(&admin),
            "{ rewards { edges { node { stock } } } }",
            json!({}),
        )
        .await;
    assert_eq!(stock.expect_ok()["rewards"]["edges"][0]["node"]["stock"], 2);
    let pending = app
        .gql(
            Some(&admin),
            "{ redemptions(status: PENDING) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(pending.expect_ok()["redemptions"]["edges"], json!([]));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn member_day_prices_add_the_tier_discount_and_the_catalogue_says_why_not() {
    let (app, admin, alice) = setup().await;
    give(&app, &admin, &alice, 1_000).await;
    let gift = reward(&app, &admin, json!({ "pointsCost": 99 })).await;
    reward(
        &app,
        &admin,
        json!({ "pointsCost": 50, "memberDayOnly": true }),
    )
    .await;
    let catalogue = "{ rewards { edges { node { id price eligible unavailableReason } } } }";

    let off_day = app.gql(Some(&alice), catalogue, json!({})).await;
    app.set_clock("2026-04-08T02:00:00Z");
    let on_day = app.gql(Some(&alice), catalogue, json!({})).await;
    let paid = redeem(&app, &alice, &gift, 1, "md").await;

    let off = off_day.expect_ok()["rewards"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(off[0]["node"]["unavailableReason"], "NOT_MEMBER_DAY");
    assert_eq!(off[0]["node"]["eligible"], false);
    assert_eq!(off[1]["node"]["price"], 99);
    let on = on_day.expect_ok()["rewards"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(on[0]["node"]["eligible"], true);
    assert_eq!(on[1]["node"]["price"], 80); // ceil(99 × 0.8)
    assert_eq!(
        paid.expect_ok()["redeemReward"]["redemption"]["unitPrice"],
        80
    );
}

#[tokio::test]
async fn a_cycle_day_can_grant_a_coupon_and_a_freeze_can_be_redeemed() {
    let (app, admin, alice) = setup().await;
    let coupon = reward(
        &app,
        &admin,
        json!({ "kind": "COUPON", "title": "签到券", "pointsCost": 0 }),
    )
    .await;
    let freeze = reward(
        &app,
        &admin,
        json!({ "kind": "STREAK_FREEZE", "pointsCost": 5 }),
    )
    .await;
    app.gql(
        Some(&admin),
        "mutation($r: ID!) { updateSignInRules(input: { cycleRewards: [{ day: 1, rewardId: $r }] }) { cycleRewards { day rewardId } } }",
        json!({ "r": coupon }),
    )
    .await
    .expect_ok();

    let signed = app
        .gql(
            Some(&alice),
            "mutation { signIn { grantedReward { title kind coupons { code } } } }",
            json!({}),
        )
        .await;
    let bought = redeem(&app, &alice, &freeze, 1, "f").await;
    let status = app
        .gql(
            Some(&alice),
            "{ signInStatus { streakFreezes } }",
            json!({}),
        )
        .await;

    let granted = &signed.expect_ok()["signIn"]["grantedReward"];
    assert_eq!(granted["title"], "签到券");
    assert_eq!(granted["kind"], "COUPON");
    assert_eq!(granted["coupons"].as_array().unwrap().len(), 1);
    assert_eq!(
        bought.expect_ok()["redeemReward"]["redemption"]["status"],
        "FULFILLED"
    );
    assert_eq!(status.expect_ok()["signInStatus"]["streakFreezes"], 1);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn admins_edit_and_delete_rewards_within_the_rules() {
    let (app, admin, alice) = setup().await;
    give(&app, &admin, &alice, 500).await;
    let used = reward(&app, &admin, json!({})).await;
    let unused = reward(&app, &admin, json!({})).await;
    redeem(&app, &alice, &used, 1, "u").await.expect_ok();
    let delete = "mutation($id: ID!) { deleteReward(id: $id) }";

    let by_member = app
        .gql(
            Some(&alice),
            CREATE,
            json!({ "i": { "title": "x", "kind": "VIRTUAL", "pointsCost": 1 } }),
        )
        .await;
    let bad = app
        .gql(
            Some(&admin),
            CREATE,
            json!({ "i": { "title": "", "kind": "VIRTUAL", "pointsCost": 1 } }),
        )
        .await;
    let edited = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { updateReward(id: $id, input: { title: \"新品\", kind: PHYSICAL, pointsCost: 300, stock: 7 }) { title kind pointsCost stock } }",
            json!({ "id": unused }),
        )
        .await;
    let with_history = app.gql(Some(&admin), delete, json!({ "id": used })).await;
    let gone = app.gql(Some(&admin), delete, json!({ "id": unused })).await;
    let again = app.gql(Some(&admin), delete, json!({ "id": unused })).await;

    by_member.expect_error("FORBIDDEN");
    bad.expect_error("VALIDATION");
    assert_eq!(
        edited.expect_ok()["updateReward"],
        json!({ "title": "新品", "kind": "PHYSICAL", "pointsCost": 300, "stock": 7 })
    );
    with_history.expect_error("CONFLICT");
    assert_eq!(gone.expect_ok()["deleteReward"], true);
    again.expect_error("NOT_FOUND");
}
