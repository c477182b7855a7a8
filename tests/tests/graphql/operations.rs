//! Operators' views (SPEC §11): the member list with search and filters, and programme
//! statistics checked against the members' own ledgers.

use api::domain::auth::Role;
use serde_json::{Value, json};
use tests::{Session, TestApp, spawn_app};

const MEMBERS: &str = "query($s: String, $t: String, $k: Boolean, $f: Int!, $a: String) {
    members(search: $s, tier: $t, koc: $k, first: $f, after: $a) {
        edges { node { id nickname phone inviteCode tierCode pointsBalance kocLevel totalSignIns } }
        pageInfo { hasNextPage endCursor }
    }
}";

const STATS: &str = "query($from: Date!, $to: Date!) {
    programmeStats(from: $from, to: $to) {
        from to newMembers
        points { issued redeemed expired outstanding cutByCaps redemptionRate byKind { kind credited debited cutByCaps } }
        activity { signIns activeMembers dau wau mau }
        tiers { code members }
        koc { applied approved rejected pendingNow kocsNow submissions submissionsApproved }
    }
}";

#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helper: a failed query should fail the test"
)]
async fn member_ids(app: &TestApp, viewer: &Session, variables: Value) -> (Vec<String>, Value) {
    let mut variables = variables;
    if variables.get("f").is_none() {
        variables["f"] = json!(20);
    }
    let res = app.gql(Some(viewer), MEMBERS, variables).await;
    let members = res.expect_ok()["members"].clone();
    let ids = members["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, members["pageInfo"].clone())
}

async fn set_profile(app: &TestApp, member: &Session, input: Value) {
    app.gql(
        Some(member),
        "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { member { id } } }",
        json!({ "i": input }),
    )
    .await
    .expect_ok();
}

fn ids(sessions: &[&Session]) -> Vec<String> {
    sessions.iter().map(|s| s.id.clone()).collect()
}

#[tokio::test]
async fn operators_find_members_by_name_phone_code_tier_and_koc() {
    let app = spawn_app().await;
    let operator = app.login_admin("ops", Role::Operator).await;
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    let carol = app.login_member("carol").await;
    let dave = app.login_member("dave").await;
    set_profile(
        &app,
        &alice,
        json!({ "nickname": "Alice Wang", "phone": "13800138000" }),
    )
    .await;
    set_profile(&app, &bob, json!({ "nickname": "bob_50%" })).await;
    set_profile(&app, &carol, json!({ "nickname": "小红" })).await;
    app.make_koc(&bob, &operator).await;

    // Newest first, paged by cursor.
    let (page, info) = member_ids(&app, &operator, json!({ "f": 2 })).await;
    assert_eq!(page, ids(&[&dave, &carol]));
    assert_eq!(info["hasNextPage"], true);
    let (page, info) = member_ids(
        &app,
        &operator,
        json!({ "f": 2, "a": info["endCursor"].clone() }),
    )
    .await;
    assert_eq!(page, ids(&[&bob, &alice]));
    assert_eq!(info["hasNextPage"], false);

    // Part of a nickname, ignoring case; wildcards match only themselves.
    for (search, expected) in [
        ("alice", ids(&[&alice])),
        ("WANG", ids(&[&alice])),
        ("%", ids(&[&bob])),
        ("_5", ids(&[&bob])),
        ("红", ids(&[&carol])),
        ("nobody", vec![]),
    ] {
        let (found, _) = member_ids(&app, &operator, json!({ "s": search })).await;
        assert_eq!(found, expected, "search {search:?}");
    }
    // Part of a phone number, or a whole one in any accepted spelling.
    for search in ["0013", "+86 138-0013-8000"] {
        let (found, _) = member_ids(&app, &operator, json!({ "s": search })).await;
        assert_eq!(found, ids(&[&alice]), "search {search:?}");
    }
    // A whole invite code, typed in any case.
    let code = app.invite_code(&carol).await.to_lowercase();
    let (found, _) = member_ids(&app, &operator, json!({ "s": code })).await;
    assert_eq!(found, ids(&[&carol]));

    // Tier and KOC filters, alone and with a search.
    let (found, _) = member_ids(&app, &operator, json!({ "t": "regular" })).await;
    assert_eq!(found, ids(&[&bob]));
    let (found, _) = member_ids(&app, &operator, json!({ "k": true })).await;
    assert_eq!(found, ids(&[&bob]));
    let (found, _) = member_ids(&app, &operator, json!({ "k": false })).await;
    assert_eq!(found, ids(&[&dave, &carol, &alice]));
    let (found, _) = member_ids(&app, &operator, json!({ "k": false, "s": "b" })).await;
    assert!(found.is_empty());

    // A row carries what a member table shows.
    let res = app
        .gql(Some(&operator), MEMBERS, json!({ "s": "Alice", "f": 1 }))
        .await;
    assert_eq!(
        res.expect_ok()["members"]["edges"][0]["node"],
        json!({
            "id": alice.id, "nickname": "Alice Wang", "phone": "13800138000",
            "inviteCode": app.invite_code(&alice).await, "tierCode": "NEW",
            "pointsBalance": 0, "kocLevel": null, "totalSignIns": 0
        })
    );

    // Bad input and the wrong caller.
    for bad in [
        json!({ "s": "  " }),
        json!({ "t": "GOLDEN" }),
        json!({ "f": 0 }),
    ] {
        let mut variables = bad;
        if variables.get("f").is_none() {
            variables["f"] = json!(20);
        }
        app.gql(Some(&operator), MEMBERS, variables)
            .await
            .expect_error("VALIDATION");
    }
    app.gql(Some(&alice), MEMBERS, json!({ "f": 20 }))
        .await
        .expect_error("FORBIDDEN");
}

/// What the members' own ledgers say about entries made at or after `since` and before
/// `until`: (issued, redeemed, cut by caps).
#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helper: a failed query should fail the test"
)]
async fn ledger_totals(
    app: &TestApp,
    members: &[&Session],
    since: &str,
    until: &str,
) -> (i64, i64, i64) {
    let (mut issued, mut redeemed, mut cut) = (0, 0, 0);
    for member in members {
        let res = app
            .gql(
                Some(member),
                "{ pointsHistory(first: 100) { edges { node { kind amount requestedAmount createdAt } } } }",
                json!({}),
            )
            .await;
        for edge in res.expect_ok()["pointsHistory"]["edges"]
            .as_array()
            .unwrap()
        {
            let node = &edge["node"];
            let at = node["createdAt"].as_str().unwrap();
            let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
            let (since, until) = (
                chrono::DateTime::parse_from_rfc3339(since).unwrap(),
                chrono::DateTime::parse_from_rfc3339(until).unwrap(),
            );
            if at < since || at >= until {
                continue;
            }
            let (kind, amount, requested) = (
                node["kind"].as_str().unwrap(),
                node["amount"].as_i64().unwrap(),
                node["requestedAmount"].as_i64().unwrap(),
            );
            if amount > 0 && kind != "REDEMPTION_REFUND" {
                issued += amount;
            }
            if kind == "REDEMPTION" {
                redeemed -= amount;
            }
            if amount >= 0 && requested > amount {
                cut += requested - amount;
            }
        }
    }
    (issued, redeemed, cut)
}

async fn stats(app: &TestApp, viewer: &Session, from: &str, to: &str) -> Value {
    let res = app
        .gql(Some(viewer), STATS, json!({ "from": from, "to": to }))
        .await;
    res.expect_ok()["programmeStats"].clone()
}

#[tokio::test]
async fn programme_stats_agree_with_the_members_ledgers_and_sign_ins() {
    let app = spawn_app().await;
    // 10:00 in Shanghai on 2026-11-10.
    app.set_clock("2026-11-10T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let operator = app.login_admin("ops", Role::Operator).await;
    // A tight cap on the entry tier, so sign-ins get cut.
    app.gql(
        Some(&admin),
        "mutation { updateTier(code: \"NEW\", input: { monthlyEarnCap: 3 }) { code } }",
        json!({}),
    )
    .await
    .expect_ok();
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    let carol = app.login_member("carol").await;
    app.sign_in(&alice).await;
    app.sign_in(&bob).await;

    // Day two: alice signs in again, is given 500 and spends 100; dave joins; the KOC funnel
    // moves (bob approved, carol rejected, dave waiting; bob's submission approved).
    app.advance_days(1);
    let dave = app.login_member("dave").await;
    app.sign_in(&alice).await;
    app.adjust_points(&admin, &alice, 500, "gift").await;
    let reward = app
        .gql(
            Some(&admin),
            "mutation { createReward(input: { title: \"贴纸\", kind: VIRTUAL, pointsCost: 100 }) { id } }",
            json!({}),
        )
        .await;
    let reward = reward.expect_ok()["createReward"]["id"].clone();
    app.gql(
        Some(&alice),
        "mutation($r: ID!) { redeemReward(rewardId: $r, quantity: 1, idempotencyKey: \"r1\") { balanceAfter } }",
        json!({ "r": reward }),
    )
    .await
    .expect_ok();
    app.make_koc(&bob, &operator).await;
    for (member, approve) in [(&carol, Some(false)), (&dave, None)] {
        app.set_tier(member, "REGULAR").await;
        let applied = app
            .gql(
                Some(member),
                r#"mutation { applyKoc(platforms: [{platform: "抖音", handle: "x", followers: 10}], reason: "喜欢") { id } }"#,
                json!({}),
            )
            .await;
        let id = applied.expect_ok()["applyKoc"]["id"].clone();
        if let Some(approve) = approve {
            app.gql(
                Some(&operator),
                "mutation($id: ID!, $a: Boolean!) { reviewKocApplication(id: $id, approve: $a, note: \"not yet\") { status } }",
                json!({ "id": id, "a": approve }),
            )
            .await
            .expect_ok();
        }
    }
    let tasks = app
        .gql(
            Some(&bob),
            "{ kocTasks { task { id verification } available } }",
            json!({}),
        )
        .await;
    let task = tasks.expect_ok()["kocTasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["available"] == true && t["task"]["verification"] == "MANUAL")
        .map(|t| t["task"]["id"].clone())
        .unwrap();
    let submitted = app
        .gql(
            Some(&bob),
            "mutation($t: ID!) { submitKocTask(taskId: $t, proof: { url: \"https://xhs.example/1\" }) { id } }",
            json!({ "t": task }),
        )
        .await;
    let submission = submitted.expect_ok()["submitKocTask"]["id"].clone();
    app.gql(
        Some(&operator),
        "mutation($id: ID!) { reviewKocSubmission(id: $id, approve: true) { pointsAwarded } }",
        json!({ "id": submission }),
    )
    .await
    .expect_ok();
    app.advance_days(1);

    let everyone = [&alice, &bob, &carol, &dave];
    let mut outstanding = 0;
    let mut tiers = std::collections::BTreeMap::new();
    for member in everyone {
        outstanding += app.balance(member).await;
        *tiers.entry(app.tier_code(member).await).or_insert(0_i64) += 1;
    }

    // Both days. Business days start at 16:00 UTC the day before.
    let both = stats(&app, &operator, "2026-11-10", "2026-11-11").await;
    let (issued, redeemed, cut) = ledger_totals(
        &app,
        &everyone,
        "2026-11-09T16:00:00Z",
        "2026-11-11T16:00:00Z",
    )
    .await;
    assert!(cut > 0, "the scenario cuts sign-ins at the cap");
    assert_eq!(redeemed, 100);
    let points = &both["points"];
    assert_eq!(
        (
            points["issued"].as_i64(),
            points["redeemed"].as_i64(),
            points["expired"].as_i64(),
            points["outstanding"].as_i64(),
            points["cutByCaps"].as_i64(),
        ),
        (
            Some(issued),
            Some(redeemed),
            Some(0),
            Some(outstanding),
            Some(cut)
        )
    );
    let rate = points["redemptionRate"].as_f64().unwrap();
    let basis_points = (redeemed * 10_000 + issued / 2) / issued;
    let expected_rate = f64::from(i32::try_from(basis_points).unwrap()) / 10_000.0;
    assert!(
        (rate - expected_rate).abs() < 1e-9,
        "{rate} vs {expected_rate}"
    );
    let by_kind = points["byKind"].as_array().unwrap();
    let kind = |k: &str| by_kind.iter().find(|e| e["kind"] == k).cloned();
    assert_eq!(kind("ADMIN_ADJUST").unwrap()["credited"], 500);
    assert_eq!(kind("REDEMPTION").unwrap()["debited"], 100);
    assert_eq!(
        both["activity"],
        json!({ "signIns": 3, "activeMembers": 2, "dau": 1, "wau": 2, "mau": 2 })
    );
    assert_eq!(both["newMembers"], 4);
    let tier_counts: std::collections::BTreeMap<String, i64> = both["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["members"].as_i64() != Some(0))
        .map(|t| {
            (
                t["code"].as_str().unwrap().to_owned(),
                t["members"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(tier_counts, tiers);
    assert_eq!(both["tiers"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        both["koc"],
        json!({
            "applied": 3, "approved": 1, "rejected": 1, "pendingNow": 1, "kocsNow": 1,
            "submissions": 1, "submissionsApproved": 1
        })
    );

    // Day two alone: only what happened then.
    let second = stats(&app, &operator, "2026-11-11", "2026-11-11").await;
    let (issued, redeemed, cut) = ledger_totals(
        &app,
        &everyone,
        "2026-11-10T16:00:00Z",
        "2026-11-11T16:00:00Z",
    )
    .await;
    assert_eq!(
        (
            second["points"]["issued"].as_i64(),
            second["points"]["redeemed"].as_i64(),
            second["points"]["cutByCaps"].as_i64(),
        ),
        (Some(issued), Some(redeemed), Some(cut))
    );
    assert_eq!(
        second["activity"],
        json!({ "signIns": 1, "activeMembers": 1, "dau": 1, "wau": 2, "mau": 2 })
    );
    assert_eq!(second["newMembers"], 1);

    // A quiet day: nothing issued, no rate; the windows still look back.
    let quiet = stats(&app, &operator, "2026-11-12", "2026-11-12").await;
    assert_eq!(quiet["points"]["issued"], 0);
    assert_eq!(quiet["points"]["redemptionRate"], Value::Null);
    assert_eq!(
        quiet["activity"],
        json!({ "signIns": 0, "activeMembers": 0, "dau": 0, "wau": 2, "mau": 2 })
    );

    // Bad periods and the wrong caller.
    for (from, to) in [("2026-11-12", "2026-11-11"), ("2025-01-01", "2026-11-11")] {
        let res = app
            .gql(Some(&operator), STATS, json!({ "from": from, "to": to }))
            .await;
        res.expect_error("VALIDATION");
        assert_eq!(res.errors()[0]["extensions"]["field"], "to");
    }
    app.gql(
        Some(&alice),
        STATS,
        json!({ "from": "2026-11-10", "to": "2026-11-11" }),
    )
    .await
    .expect_error("FORBIDDEN");
}

#[tokio::test]
async fn the_member_list_shows_the_streak_the_member_sees() {
    let app = spawn_app().await;
    // A fixed day: no member day or month end inside the days it walks.
    app.set_clock("2026-03-02T02:00:00Z");
    let operator = app.login_admin("ops", Role::Operator).await;
    let alice = app.login_member("alice").await;
    const STREAK: &str = "{ members(first: 1) { edges { node { currentStreak lastSignInDay } } } }";
    let listed = async |app: &TestApp| {
        let res = app.gql(Some(&operator), STREAK, json!({})).await;
        res.expect_ok()["members"]["edges"][0]["node"].clone()
    };

    app.sign_in(&alice).await;
    app.advance_days(1);
    app.sign_in(&alice).await;
    let day = listed(&app).await["lastSignInDay"].clone();
    assert_eq!(listed(&app).await["currentStreak"], 2);
    // Yesterday still counts; a missed day ends the run, here as in `signInStatus`.
    app.advance_days(1);
    assert_eq!(listed(&app).await["currentStreak"], 2);
    app.advance_days(1);
    let status = app
        .gql(Some(&alice), "{ signInStatus { streak } }", json!({}))
        .await;
    assert_eq!(status.expect_ok()["signInStatus"]["streak"], 0);
    assert_eq!(
        listed(&app).await,
        json!({ "currentStreak": 0, "lastSignInDay": day })
    );
}
