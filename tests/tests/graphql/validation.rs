//! Every malformed value is `VALIDATION` with its field, on both backends, and changes nothing
//! (SPEC §12): impossible dates, timestamps without a zone, NUL characters, over-long strings,
//! numbers beyond GraphQL's Int, instants outside the programme's years, hostile nicknames.

use api::domain::auth::Role;
use serde_json::{Value, json};
use tests::{GqlResponse, TestApp, spawn_app};

/// `VALIDATION` naming `field`: HTTP 400 for a value no request may carry (refused before
/// anything runs), 200 for one a field's type refuses.
#[track_caller]
fn assert_invalid(res: &GqlResponse, field: &str) {
    assert!([200, 400].contains(&res.status), "{}", res.body);
    res.expect_error("VALIDATION");
    assert_eq!(res.error_field(), Some(field), "{}", res.body);
}

async fn admin_and_member(app: &TestApp) -> (tests::Session, tests::Session) {
    app.set_clock("2026-03-10T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    (admin, alice)
}

#[tokio::test]
async fn impossible_dates_and_zoneless_timestamps_name_their_argument() {
    let app = spawn_app().await;
    let (admin, alice) = admin_and_member(&app).await;
    let make_up = "mutation($d: Date!) { makeUpSignIn(date: $d) { cost } }";
    let set_clock = "mutation($t: DateTime!) { setTestClock(now: $t) { serverTime { now } } }";

    let literal = app
        .gql(
            Some(&alice),
            "mutation { makeUpSignIn(date: \"2026-02-30\") { cost } }",
            json!({}),
        )
        .await;
    let variable = app
        .gql(Some(&alice), make_up, json!({ "d": "2026-02-30" }))
        .await;
    // `Date` is strictly `YYYY-MM-DD`: no missing zero-padding, no time part.
    let loose = app
        .gql(Some(&alice), make_up, json!({ "d": "2026-3-1" }))
        .await;
    let with_time = app
        .gql(
            Some(&alice),
            make_up,
            json!({ "d": "2026-03-01T00:00:00Z" }),
        )
        .await;
    let no_zone = app
        .gql(
            Some(&admin),
            set_clock,
            json!({ "t": "2026-03-01T00:00:00" }),
        )
        .await;
    let bad_offset = app
        .gql(
            Some(&admin),
            set_clock,
            json!({ "t": "2026-03-01T00:00:00+24:00" }),
        )
        .await;
    let year_9999 = app
        .gql(
            Some(&admin),
            set_clock,
            json!({ "t": "9999-12-31T00:00:00Z" }),
        )
        .await;

    assert_invalid(&literal, "date");
    assert_invalid(&variable, "date");
    assert_invalid(&loose, "date");
    assert_invalid(&with_time, "date");
    assert_invalid(&no_zone, "now");
    assert_invalid(&bad_offset, "now");
    assert_invalid(&year_9999, "now");
    // The clock stayed where it was, and later requests still work.
    let now = app
        .gql(None, "{ serverTime { businessDate } }", json!({}))
        .await;
    assert_eq!(now.expect_ok()["serverTime"]["businessDate"], "2026-03-10");
}

#[tokio::test]
async fn nul_characters_and_over_long_strings_are_refused_before_the_database() {
    let app = spawn_app().await;
    let (admin, alice) = admin_and_member(&app).await;
    let login =
        "mutation($u: String!, $p: String!) { adminLogin(username: $u, password: $p) { token } }";

    let nul_username = app
        .gql(
            None,
            login,
            json!({ "u": "bo\u{0}ss", "p": "whatever-password" }),
        )
        .await;
    let nul_literal = app
        .gql(
            Some(&alice),
            "mutation { updateProfile(input: { nickname: \"a\\u0000b\" }) { member { id } } }",
            json!({}),
        )
        .await;
    let long_username = app
        .gql(
            None,
            login,
            json!({ "u": "u".repeat(65), "p": "whatever-password" }),
        )
        .await;
    let long_key = app
        .gql(
            Some(&alice),
            "mutation($k: String!) { redeemReward(rewardId: \"1\", quantity: 1, idempotencyKey: $k) { balanceAfter } }",
            json!({ "k": "k".repeat(192) }),
        )
        .await;
    let long_badge = app
        .gql(
            Some(&admin),
            "mutation($b: String!) { updateTier(code: \"NEW\", input: { badge: $b }) { privileges { badge } } }",
            json!({ "b": "徽".repeat(65) }),
        )
        .await;
    let huge_text = app
        .gql(
            Some(&alice),
            "mutation($n: String!) { updateProfile(input: { nickname: $n }) { member { id } } }",
            json!({ "n": "x".repeat(10_000) }),
        )
        .await;

    assert_invalid(&nul_username, "username");
    assert_invalid(&nul_literal, "input");
    assert_invalid(&long_username, "username");
    assert_invalid(&long_key, "idempotencyKey");
    assert_invalid(&long_badge, "input");
    assert_invalid(&huge_text, "input");
    let badge = app
        .gql(None, "{ tiers { code privileges { badge } } }", json!({}))
        .await;
    assert!(!badge.body.to_string().contains("徽徽"), "{}", badge.body);
}

const RECORD: &str = "mutation($m: ID!, $o: String!, $c: Int!, $t: DateTime!) {
    recordPurchase(memberId: $m, orderId: $o, amountCents: $c, occurredAt: $t) { pointsRequested replayed }
}";

#[tokio::test]
async fn purchases_take_32_bit_amounts_real_years_and_replay_at_any_precision() {
    let app = spawn_app().await;
    let (admin, alice) = admin_and_member(&app).await;
    let record = |order: &'static str, cents: Value, at: &'static str| {
        app.gql(
            Some(&admin),
            RECORD,
            json!({ "m": alice.id, "o": order, "c": cents, "t": at }),
        )
    };

    let too_big = record("O-1", json!(3_000_000_000_i64), "2026-03-01T01:00:00Z").await;
    let year_zero = record("O-2", json!(100), "0000-03-01T01:00:00Z").await;
    let first = record("O-3", json!(10_000), "2026-03-01T01:00:00.123456789Z").await;
    let replay = record("O-3", json!(10_000), "2026-03-01T01:00:00.123456789Z").await;
    let same_micros = record("O-3", json!(10_000), "2026-03-01T09:00:00.123456+08:00").await;

    assert_invalid(&too_big, "amountCents");
    assert_invalid(&year_zero, "occurredAt");
    assert_eq!(first.expect_ok()["recordPurchase"]["replayed"], false);
    assert_eq!(replay.expect_ok()["recordPurchase"]["replayed"], true);
    assert_eq!(same_micros.expect_ok()["recordPurchase"]["replayed"], true);
    assert_eq!(app.count("purchases").await, 1);
}

#[tokio::test]
async fn nicknames_that_reorder_or_hide_text_never_reach_the_boards() {
    let app = spawn_app().await;
    let (_admin, alice) = admin_and_member(&app).await;
    let update =
        "mutation($n: String!) { updateProfile(input: { nickname: $n }) { member { nickname } } }";

    let right_to_left = app
        .gql(Some(&alice), update, json!({ "n": "evil\u{202e}nimda" }))
        .await;
    let zero_width = app
        .gql(Some(&alice), update, json!({ "n": "ad\u{200b}min" }))
        .await;
    let emoji = app
        .gql(
            Some(&alice),
            update,
            json!({ "n": "小明 👨\u{200d}👩\u{200d}👧" }),
        )
        .await;

    assert_invalid(&right_to_left, "nickname");
    assert_invalid(&zero_width, "nickname");
    assert_eq!(
        emoji.expect_ok()["updateProfile"]["member"]["nickname"],
        "小明 👨\u{200d}👩\u{200d}👧"
    );
}

#[tokio::test]
async fn operator_settings_out_of_range_name_the_input_field() {
    let app = spawn_app().await;
    let (admin, _) = admin_and_member(&app).await;
    let update_tier =
        "mutation($i: UpdateTierInput!) { updateTier(code: \"NEW\", input: $i) { code } }";
    let create_reward = "mutation($i: RewardInput!) { createReward(input: $i) { id } }";
    let update_rules =
        "mutation($i: UpdateSignInRulesInput!) { updateSignInRules(input: $i) { cycle } }";
    let reward = |extra: Value| {
        let mut input = json!({ "title": "Mug", "kind": "VIRTUAL", "pointsCost": 100 });
        if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
            input.extend(extra.clone());
        }
        json!({ "i": input })
    };

    for (field, input) in [
        ("monthlyEarnCap", json!({ "monthlyEarnCap": -1 })),
        ("makeUpsPerMonth", json!({ "makeUpsPerMonth": -1 })),
        (
            "upgradeGiftPoints",
            json!({ "upgradeGiftPoints": 10_000_001 }),
        ),
    ] {
        let res = app
            .gql(Some(&admin), update_tier, json!({ "i": input }))
            .await;
        assert_invalid(&res, field);
    }
    for (field, extra) in [
        ("monthlyLimit", json!({ "monthlyLimit": 0 })),
        ("lifetimeLimit", json!({ "lifetimeLimit": -2 })),
    ] {
        let res = app.gql(Some(&admin), create_reward, reward(extra)).await;
        assert_invalid(&res, field);
    }
    let res = app
        .gql(Some(&admin), update_rules, json!({ "i": { "cycle": [] } }))
        .await;
    assert_invalid(&res, "cycle");

    // Nothing changed.
    let tiers = app
        .gql(
            None,
            "{ tiers { code privileges { monthlyEarnCap } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        tiers.expect_ok()["tiers"][0]["privileges"]["monthlyEarnCap"],
        1000
    );
    let rewards = app
        .gql(Some(&admin), "{ rewards { edges { cursor } } }", json!({}))
        .await;
    assert_eq!(rewards.expect_ok()["rewards"]["edges"], json!([]));
}
