//! Daily sign-in: the cycle, streaks, freezes, make-ups, milestones, the monthly cap, the
//! business-day boundary, and racing sign-ins.

use api::domain::auth::Role;
use serde_json::json;
use tests::{Session, TestApp, spawn_app, spawn_app_with};

const MAKE_UP: &str = "mutation($d: Date!) {
    makeUpSignIn(date: $d) { day cost streak totalSignIns balance milestoneBonuses { kind threshold points } }
}";

async fn update_rules(app: &TestApp, admin: &Session, input: serde_json::Value) {
    app.gql(
        Some(admin),
        "mutation($i: UpdateSignInRulesInput!) { updateSignInRules(input: $i) { cycle makeUpCost } }",
        json!({ "i": input }),
    )
    .await
    .expect_ok();
}

#[tokio::test]
async fn a_seven_day_cycle_pays_its_table_and_restarts() {
    // Without the monthly member day, which would double the 8th.
    let app = spawn_app_with(&[("MEMBERCARD_MEMBER_DAY", "0")]).await;
    app.set_clock("2026-03-01T02:00:00Z");
    let alice = app.login_member("alice").await;

    let mut paid = Vec::new();
    for day in 1..=8 {
        let result = app.sign_in(&alice).await;
        assert_eq!(result["streak"], day);
        assert_eq!(result["totalSignIns"], day);
        paid.push(result["pointsGranted"].as_i64().unwrap());
        if day == 7 {
            assert_eq!(result["tomorrowPoints"], 5);
        }
        app.advance_days(1);
    }

    assert_eq!(paid, vec![5, 5, 10, 10, 15, 15, 30, 5]);
    assert_eq!(app.balance(&alice).await, 95);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_missed_day_resets_the_streak() {
    let app = spawn_app().await;
    // A fixed day: no member day or month end inside the days it walks.
    app.set_clock("2026-03-02T02:00:00Z");
    let alice = app.login_member("alice").await;
    app.sign_in(&alice).await;
    app.advance_days(1);
    app.sign_in(&alice).await;

    app.advance_days(2);
    let status = app
        .gql(
            Some(&alice),
            "{ signInStatus { streak totalSignIns } }",
            json!({}),
        )
        .await;
    let result = app.sign_in(&alice).await;

    assert_eq!(
        status.expect_ok()["signInStatus"],
        json!({ "streak": 0, "totalSignIns": 2 })
    );
    assert_eq!(result["streak"], 1);
    assert_eq!(result["pointsGranted"], 5);
    assert_eq!(result["totalSignIns"], 3);
}

#[tokio::test]
async fn a_freeze_saves_exactly_one_missed_day() {
    let app = spawn_app().await;
    app.set_clock("2026-03-01T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    let grant = app
        .gql(
            Some(&admin),
            "mutation($m: ID!) { grantStreakFreezes(memberId: $m, count: 1) }",
            json!({ "m": alice.id }),
        )
        .await;
    assert_eq!(grant.expect_ok()["grantStreakFreezes"], 1);
    app.sign_in(&alice).await; // 1st
    app.advance_days(1);
    app.sign_in(&alice).await; // 2nd

    app.advance_days(2); // the 3rd is missed
    let saved = app.sign_in(&alice).await; // 4th
    app.advance_days(3); // the 5th and 6th are missed: no freeze left, and two days anyway
    let reset = app.sign_in(&alice).await; // 7th

    assert_eq!(saved["freezeUsed"], true);
    assert_eq!(saved["streak"], 3);
    assert_eq!(saved["pointsGranted"], 10);
    assert_eq!(reset["freezeUsed"], false);
    assert_eq!(reset["streak"], 1);
    let calendar = app
        .gql(
            Some(&alice),
            "{ signInCalendar(month: \"2026-03\") { date status points } }",
            json!({}),
        )
        .await;
    let days = calendar.expect_ok()["signInCalendar"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(days.len(), 31);
    let statuses: Vec<&str> = days
        .iter()
        .take(8)
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "SIGNED_IN",
            "SIGNED_IN",
            "FROZEN",
            "SIGNED_IN",
            "MISSED",
            "MISSED",
            "SIGNED_IN",
            "UPCOMING"
        ]
    );
    // Tomorrow, the 8th, would be day 2 of the new run, doubled by member day.
    assert_eq!(days[7]["points"], 10);
    assert_eq!(days[9]["points"], 10);
}

#[tokio::test]
async fn signing_in_twice_the_same_day_is_already_signed_in_and_pays_once() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    app.sign_in(&alice).await;

    let again = app
        .gql(Some(&alice), "mutation { signIn { streak } }", json!({}))
        .await;

    again.expect_error("ALREADY_SIGNED_IN");
    assert_eq!(app.balance(&alice).await, 5);
    assert_eq!(app.count("point_entries").await, 1);
}

#[tokio::test]
async fn twenty_concurrent_sign_ins_pay_exactly_once() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;

    let calls = (0..20).map(|_| app.gql(Some(&alice), "mutation { signIn { streak } }", json!({})));
    let results = futures::future::join_all(calls).await;

    let ok = results.iter().filter(|r| r.errors().is_empty()).count();
    let already = results
        .iter()
        .filter(|r| r.error_code() == Some("ALREADY_SIGNED_IN"))
        .count();
    assert_eq!((ok, already), (1, 19));
    assert_eq!(app.count("point_entries").await, 1);
    assert_eq!(app.count("sign_ins").await, 1);
    assert_eq!(app.balance(&alice).await, 5);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn the_business_day_turns_at_midnight_in_the_programme_zone() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    // 23:59 on March 1st in Shanghai; UTC says 15:59.
    app.set_clock("2026-03-01T15:59:00Z");
    let before = app.sign_in(&alice).await;

    // 00:01 on March 2nd in Shanghai; UTC still says March 1st.
    app.set_clock("2026-03-01T16:01:00Z");
    let after = app.sign_in(&alice).await;

    assert_eq!(before["day"], "2026-03-01");
    assert_eq!(after["day"], "2026-03-02");
    assert_eq!(after["streak"], 2);
}

#[tokio::test]
async fn the_monthly_cap_cuts_exactly_at_the_cap_and_resets_next_month() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    update_rules(&app, &admin, json!({ "cycle": [400] })).await;
    let alice = app.login_member("alice").await;
    app.set_clock("2026-03-29T02:00:00Z");

    let first = app.sign_in(&alice).await;
    app.advance_days(1);
    let second = app.sign_in(&alice).await;
    app.advance_days(1);
    let third = app.sign_in(&alice).await; // NEW tier: 1000 a month
    app.advance_days(1);
    let april = app.sign_in(&alice).await;

    assert_eq!(
        (first["pointsGranted"].as_i64(), first["capped"].as_bool()),
        (Some(400), Some(false))
    );
    assert_eq!(second["pointsGranted"], 400);
    assert_eq!(third["requestedPoints"], 400);
    assert_eq!(third["pointsGranted"], 200);
    assert_eq!(third["cutByCap"], 200);
    assert_eq!(third["capped"], true);
    assert_eq!(april["day"], "2026-04-01");
    assert_eq!(april["pointsGranted"], 400);
    assert_eq!(april["capped"], false);
    let points = app
        .gql(
            Some(&alice),
            "{ me { points { balance monthEarned monthEarnCap monthCutByCap } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        points.expect_ok()["me"]["points"],
        json!({ "balance": 1400, "monthEarned": 400, "monthEarnCap": 1000, "monthCutByCap": 0 })
    );
    let history = app
        .gql(
            Some(&alice),
            "{ pointsHistory(first: 4) { edges { node { amount requestedAmount } } } }",
            json!({}),
        )
        .await;
    let capped_entry = &history.expect_ok()["pointsHistory"]["edges"][1]["node"];
    assert_eq!(
        *capped_entry,
        json!({ "amount": 200, "requestedAmount": 400 })
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_streak_milestone_pays_once_per_run_and_a_total_milestone_once_ever() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    update_rules(
        &app,
        &admin,
        json!({ "milestones": [
            { "kind": "STREAK", "threshold": 3, "points": 100 },
            { "kind": "TOTAL", "threshold": 4, "points": 200 },
        ] }),
    )
    .await;
    let alice = app.login_member("alice").await;
    app.set_clock("2026-03-01T02:00:00Z");

    let mut bonuses = Vec::new();
    for gap in [1, 1, 1, 2, 1, 1, 1] {
        let result = app.sign_in(&alice).await;
        bonuses.push(result["milestoneBonuses"].clone());
        app.advance_days(gap);
    }

    assert_eq!(bonuses[0], json!([]));
    assert_eq!(
        bonuses[2],
        json!([{ "kind": "STREAK", "threshold": 3, "points": 100, "cutByCap": 0 }])
    );
    assert_eq!(
        bonuses[3],
        json!([{ "kind": "TOTAL", "threshold": 4, "points": 200, "cutByCap": 0 }])
    );
    // The streak broke after the 4th sign-in; the new run reaches 3 again on its third day.
    assert_eq!(bonuses[5], json!([]));
    assert_eq!(
        bonuses[6],
        json!([{ "kind": "STREAK", "threshold": 3, "points": 100, "cutByCap": 0 }])
    );
    let history = app
        .gql(Some(&alice), "{ pointsHistory(first: 50, kinds: [SIGN_IN_MILESTONE]) { edges { node { amount } } } }", json!({}))
        .await;
    assert_eq!(
        history.expect_ok()["pointsHistory"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_make_up_fills_a_gap_recomputes_the_streak_and_pays_a_reached_milestone() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    update_rules(
        &app,
        &admin,
        json!({ "milestones": [{ "kind": "STREAK", "threshold": 5, "points": 100 }] }),
    )
    .await;
    app.set_clock("2026-03-01T02:00:00Z");
    let alice = app.login_member("alice").await;
    for gap in [1, 1, 2, 1] {
        app.sign_in(&alice).await; // the 1st, 2nd, 3rd, then the 5th (the 4th is missed)
        app.advance_days(gap);
    }
    let sixth = app.sign_in(&alice).await;
    assert_eq!(sixth["streak"], 2);
    let before = app.balance(&alice).await;

    let res = app
        .gql(Some(&alice), MAKE_UP, json!({ "d": "2026-03-04" }))
        .await;

    let made_up = &res.expect_ok()["makeUpSignIn"];
    assert_eq!(made_up["cost"], 20);
    assert_eq!(made_up["streak"], 6);
    assert_eq!(made_up["totalSignIns"], 6);
    assert_eq!(
        made_up["milestoneBonuses"],
        json!([{ "kind": "STREAK", "threshold": 5, "points": 100 }])
    );
    assert_eq!(made_up["balance"], before - 20 + 100);
    let tomorrow = {
        app.advance_days(1);
        app.sign_in(&alice).await
    };
    assert_eq!(tomorrow["streak"], 7);
    assert_eq!(tomorrow["milestoneBonuses"], json!([]));
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn make_ups_are_refused_for_today_the_future_other_months_signed_days_and_over_quota() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    app.set_clock("2026-03-01T02:00:00Z"); // a member since the 1st
    let alice = app.login_member("alice").await;
    app.set_clock("2026-03-10T02:00:00Z");
    app.gql(
        Some(&admin),
        "mutation($m: ID!) { adjustPoints(memberId: $m, amount: 500, reason: \"test\", idempotencyKey: \"seed\") { balanceAfter } }",
        json!({ "m": alice.id }),
    )
    .await
    .expect_ok();
    app.sign_in(&alice).await;
    let refused = ["2026-03-10", "2026-03-11", "2026-02-27"];

    for day in refused {
        let res = app.gql(Some(&alice), MAKE_UP, json!({ "d": day })).await;
        res.expect_error("MAKEUP_NOT_ALLOWED");
    }
    app.gql(Some(&alice), MAKE_UP, json!({ "d": "2026-03-05" }))
        .await
        .expect_ok();
    // NEW allows one make-up a month.
    let over = app
        .gql(Some(&alice), MAKE_UP, json!({ "d": "2026-03-06" }))
        .await;
    let again = app
        .gql(Some(&alice), MAKE_UP, json!({ "d": "2026-03-05" }))
        .await;

    over.expect_error("MAKEUP_NOT_ALLOWED");
    again.expect_error("MAKEUP_NOT_ALLOWED");
    assert_eq!(app.balance(&alice).await, 500 + 5 - 20);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_day_before_the_member_registered_cannot_be_made_up() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    app.set_clock("2026-03-10T02:00:00Z");
    let newcomer = app.login_member("newcomer").await;
    app.adjust_points(&admin, &newcomer, 500, "seed").await;
    app.sign_in(&newcomer).await;
    let before = app.balance(&newcomer).await;

    let res = app
        .gql(Some(&newcomer), MAKE_UP, json!({ "d": "2026-03-09" }))
        .await;

    res.expect_error("MAKEUP_NOT_ALLOWED");
    assert!(
        res.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("before you became a member"),
        "{}",
        res.body
    );
    assert_eq!(app.balance(&newcomer).await, before);
}

#[tokio::test]
async fn a_make_up_without_enough_points_is_insufficient_points_and_changes_nothing() {
    let app = spawn_app().await;
    app.set_clock("2026-03-01T02:00:00Z"); // a member since the 1st
    let alice = app.login_member("alice").await;
    app.set_clock("2026-03-10T02:00:00Z");
    app.sign_in(&alice).await; // 5 points, the cost is 20

    let res = app
        .gql(Some(&alice), MAKE_UP, json!({ "d": "2026-03-09" }))
        .await;

    res.expect_error("INSUFFICIENT_POINTS");
    assert_eq!(res.errors()[0]["extensions"]["needed"], 20);
    assert_eq!(res.errors()[0]["extensions"]["available"], 5);
    assert_eq!(app.balance(&alice).await, 5);
    assert_eq!(app.count("sign_ins").await, 1);
}

#[tokio::test]
async fn sign_in_rules_are_public_and_only_admins_change_them() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    let operator = app.login_admin("helper", Role::Operator).await;

    let rules = app
        .gql(
            None,
            "{ signInRules { cycle makeUpCost milestones { kind threshold points } } }",
            json!({}),
        )
        .await;
    let by_member = app
        .gql(
            Some(&alice),
            "mutation { updateSignInRules(input: { makeUpCost: 1 }) { makeUpCost } }",
            json!({}),
        )
        .await;
    let by_operator = app
        .gql(
            Some(&operator),
            "mutation { updateSignInRules(input: { makeUpCost: 1 }) { makeUpCost } }",
            json!({}),
        )
        .await;
    let invalid = {
        let admin = app.login_admin("boss", Role::Admin).await;
        app.gql(
            Some(&admin),
            "mutation { updateSignInRules(input: { cycle: [] }) { cycle } }",
            json!({}),
        )
        .await
    };

    assert_eq!(
        rules.expect_ok()["signInRules"],
        json!({
            "cycle": [5, 5, 10, 10, 15, 15, 30],
            "makeUpCost": 20,
            "milestones": [
                { "kind": "STREAK", "threshold": 30, "points": 100 },
                { "kind": "TOTAL", "threshold": 100, "points": 200 },
            ],
        })
    );
    by_member.expect_error("FORBIDDEN");
    by_operator.expect_error("FORBIDDEN");
    invalid.expect_error("VALIDATION");
    assert_eq!(invalid.errors()[0]["extensions"]["field"], "cycle");
}

/// Asks the instance at `url` for `query` as `caller`.
#[expect(
    clippy::expect_used,
    reason = "test helper: an instance that does not answer should fail the test"
)]
async fn ask(app: &TestApp, url: &str, caller: &Session, query: &str) -> serde_json::Value {
    app.client
        .post(url)
        .bearer_auth(&caller.token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("the instance answers")
        .json()
        .await
        .expect("a JSON answer")
}

#[tokio::test]
async fn a_rule_change_on_one_instance_applies_at_the_next_action_on_another() {
    let app = spawn_app().await;
    if app.db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return; // several instances need the shared database
    }
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    let sibling = app.spawn_sibling().await;
    const SIGN_IN: &str = "mutation { signIn { basePoints } }";
    const TIER: &str = "{ me { tier { current { name } } } }";

    // The sibling reads the rules once and holds them.
    let first = ask(&app, &sibling, &bob, SIGN_IN).await;
    assert_eq!(first["data"]["signIn"]["basePoints"], 5, "{first}");
    let tier = ask(&app, &sibling, &bob, TIER).await;
    assert_eq!(tier["data"]["me"]["tier"]["current"]["name"], "新会员");

    // Rules change on the first instance...
    app.gql(
        Some(&admin),
        "mutation { updateSignInRules(input: { cycle: [50] }) { cycle } }",
        json!({}),
    )
    .await
    .expect_ok();
    app.gql(
        Some(&admin),
        "mutation { updateTier(code: \"NEW\", input: { name: \"新朋友\" }) { name } }",
        json!({}),
    )
    .await
    .expect_ok();

    // ...and the sibling applies them at its next action.
    let next = ask(&app, &sibling, &alice, SIGN_IN).await;
    assert_eq!(next["data"]["signIn"]["basePoints"], 50, "{next}");
    let tier = ask(&app, &sibling, &bob, TIER).await;
    assert_eq!(tier["data"]["me"]["tier"]["current"]["name"], "新朋友");
}
