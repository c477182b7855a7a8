//! Referrals (SPEC §8): binding rules, rewards at the invitee's first sign-in, the daily cap,
//! milestones, voiding, and concurrent first sign-ins.

use api::domain::auth::Role;
use serde_json::{Value, json};
use tests::{Session, TestApp, spawn_app};

const BIND: &str = "mutation($c: String!) { bindInviter(inviteCode: $c) { id status inviterId } }";
const MINE: &str = "{ myReferrals { inviteCode successfulInvites nextMilestone { invites bonusPoints } invitesToNextMilestone rewardedToday referrals(first: 50) { edges { node { id status rewarded inviterPoints inviteePoints } } } } }";

async fn mine(app: &TestApp, member: &Session) -> Value {
    app.gql(Some(member), MINE, json!({})).await.expect_ok()["myReferrals"].clone()
}

#[tokio::test]
async fn binding_refuses_oneself_cycles_late_binding_and_a_second_inviter() {
    let app = spawn_app().await;
    // A fixed day: no member day or month end inside the days it walks.
    app.set_clock("2026-03-02T02:00:00Z");
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    let carol = app.login_member("carol").await;
    let alice_code = app.invite_code(&alice).await;
    let bob_code = app.invite_code(&bob).await;

    for (member, code) in [
        (&alice, alice_code.clone()),
        (&alice, "NOPE2345".to_owned()),
    ] {
        app.gql(Some(member), BIND, json!({ "c": code }))
            .await
            .expect_error("INVITE_INVALID");
    }
    // Codes are read case-insensitively.
    let bound = app
        .gql(Some(&bob), BIND, json!({ "c": alice_code.to_lowercase() }))
        .await;
    assert_eq!(bound.expect_ok()["bindInviter"]["status"], "BOUND");
    assert_eq!(
        bound.expect_ok()["bindInviter"]["inviterId"],
        alice.id.as_str()
    );
    // Once only.
    app.gql(
        Some(&bob),
        BIND,
        json!({ "c": app.invite_code(&carol).await }),
    )
    .await
    .expect_error("INVITE_INVALID");
    // carol → bob → alice: alice naming carol would close a cycle, and so would naming bob.
    app.gql(Some(&carol), BIND, json!({ "c": bob_code }))
        .await
        .expect_ok();
    for code in [app.invite_code(&carol).await, bob_code.clone()] {
        app.gql(Some(&alice), BIND, json!({ "c": code }))
            .await
            .expect_error("INVITE_INVALID");
    }
    // Seven days after registering, it is too late.
    let dave = app.login_member("dave").await;
    app.advance_days(8);
    app.gql(Some(&dave), BIND, json!({ "c": bob_code }))
        .await
        .expect_error("INVITE_INVALID");
    let inviter = app
        .gql(Some(&bob), "{ myInviter { inviterId status } }", json!({}))
        .await;
    assert_eq!(
        inviter.expect_ok()["myInviter"]["inviterId"],
        alice.id.as_str()
    );
}

#[tokio::test]
async fn the_first_sign_in_pays_both_sides_once() {
    let app = spawn_app().await;
    // A fixed day: no member day or month end inside the days it walks.
    app.set_clock("2026-03-02T02:00:00Z");
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    app.bind(&bob, &alice).await;
    assert_eq!(
        mine(&app, &alice).await["referrals"]["edges"][0]["node"]["status"],
        "BOUND"
    );

    let signed = app.sign_in(&bob).await;
    let sign_in_points = signed["pointsGranted"].as_i64().unwrap();
    assert_eq!(app.balance(&bob).await, sign_in_points + 20);
    assert_eq!(app.balance(&alice).await, 50);
    let summary = mine(&app, &alice).await;
    assert_eq!(summary["successfulInvites"], 1);
    assert_eq!(
        summary["nextMilestone"],
        json!({ "invites": 10, "bonusPoints": 100 })
    );
    assert_eq!(summary["invitesToNextMilestone"], 9);
    assert_eq!(
        summary["referrals"]["edges"][0]["node"]["status"],
        "COMPLETED"
    );
    let inbox = app
        .gql(
            Some(&alice),
            "{ inbox { edges { node { kind } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        inbox.expect_ok()["inbox"]["edges"][0]["node"]["kind"],
        "REFERRAL_REWARDED"
    );

    // Later sign-ins pay nothing more.
    app.advance_days(1);
    app.sign_in(&bob).await;
    assert_eq!(app.balance(&alice).await, 50);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn five_invites_a_day_are_paid_and_milestones_count_them_all() {
    let app = spawn_app().await;
    // A fixed day: no member day or month end inside the days it walks.
    app.set_clock("2026-03-02T02:00:00Z");
    let alice = app.login_member("alice").await;
    let mut invitees = Vec::new();
    for i in 0..10 {
        let invitee = app.login_member(&format!("friend{i}")).await;
        app.bind(&invitee, &alice).await;
        invitees.push(invitee);
    }
    for invitee in &invitees[..7] {
        app.sign_in(invitee).await;
    }
    let summary = mine(&app, &alice).await;
    assert_eq!(summary["successfulInvites"], 7);
    assert_eq!(summary["rewardedToday"], 5);
    let unpaid = summary["referrals"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["rewarded"] == false && e["node"]["status"] == "COMPLETED")
        .count();
    assert_eq!(unpaid, 2);
    assert_eq!(app.balance(&alice).await, 250);

    // The next day three more: paid, and the tenth crosses the first milestone (+100).
    app.advance_days(1);
    for invitee in &invitees[7..] {
        app.sign_in(invitee).await;
    }
    let summary = mine(&app, &alice).await;
    assert_eq!(summary["successfulInvites"], 10);
    assert_eq!(
        summary["nextMilestone"],
        json!({ "invites": 20, "bonusPoints": 200 })
    );
    assert_eq!(app.balance(&alice).await, 250 + 150 + 100);
    app.assert_ledger_invariants().await;

    // The invites page on their own field: 4 + 4 + 2, newest first, each once.
    const PAGE: &str = "query($after: String) { myReferrals { successfulInvites referrals(first: 4, after: $after) { edges { cursor node { inviteeId } } pageInfo { hasNextPage } } } }";
    let mut after = Value::Null;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = app
            .gql(Some(&alice), PAGE, json!({ "after": after }))
            .await
            .expect_ok()["myReferrals"]
            .clone();
        assert_eq!(page["successfulInvites"], 10);
        let edges = page["referrals"]["edges"].as_array().unwrap().clone();
        seen.extend(edges.iter().map(|e| e["node"]["inviteeId"].clone()));
        pages += 1;
        if page["referrals"]["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = edges.last().unwrap()["cursor"].clone();
    }
    let newest_first: Vec<Value> = invitees.iter().rev().map(|i| json!(i.id)).collect();
    assert_eq!((pages, seen), (3, newest_first));
}

#[tokio::test]
async fn voiding_takes_the_rewards_back_once_and_never_below_zero() {
    let app = spawn_app().await;
    let operator = app.login_admin("ops", Role::Operator).await;
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    app.bind(&bob, &alice).await;
    let bob_points = app.sign_in(&bob).await["pointsGranted"].as_i64().unwrap();
    assert_eq!(app.balance(&alice).await, 50);
    // Alice has lost 30 of it since: the void takes back what is left, down to zero.
    let admin = app.login_admin("boss", Role::Admin).await;
    app.gql(
        Some(&admin),
        "mutation($m: ID!) { adjustPoints(memberId: $m, amount: -30, reason: \"test\", idempotencyKey: \"k1\") { balanceAfter } }",
        json!({ "m": alice.id }),
    )
    .await
    .expect_ok();
    let id = mine(&app, &alice).await["referrals"]["edges"][0]["node"]["id"].clone();
    let void = "mutation($id: ID!) { voidReferral(id: $id) { status voidedAt } }";
    app.gql(Some(&bob), void, json!({ "id": id }))
        .await
        .expect_error("FORBIDDEN");
    let voided = app.gql(Some(&operator), void, json!({ "id": id })).await;
    assert_eq!(voided.expect_ok()["voidReferral"]["status"], "VOID");
    assert_eq!(app.balance(&alice).await, 0);
    assert_eq!(app.balance(&bob).await, bob_points);
    assert_eq!(mine(&app, &alice).await["successfulInvites"], 0);
    // Voiding twice changes nothing.
    app.gql(Some(&operator), void, json!({ "id": id }))
        .await
        .expect_ok();
    assert_eq!(app.balance(&bob).await, bob_points);
    let history = app
        .gql(
            Some(&alice),
            "{ pointsHistory(first: 5) { edges { node { kind amount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        history.expect_ok()["pointsHistory"]["edges"][0]["node"],
        json!({ "kind": "REFERRAL", "amount": -20 })
    );
    app.gql(Some(&operator), void, json!({ "id": "999999" }))
        .await
        .expect_error("NOT_FOUND");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn concurrent_first_sign_ins_never_double_reward_the_inviter() {
    let app = spawn_app().await;
    let alice = app.login_member("alice").await;
    let mut invitees = Vec::new();
    for i in 0..12 {
        let invitee = app.login_member(&format!("rush{i}")).await;
        app.bind(&invitee, &alice).await;
        invitees.push(invitee);
    }
    let sign_ins = invitees
        .iter()
        .map(|invitee| app.gql(Some(invitee), "mutation { signIn { streak } }", json!({})));
    for res in futures::future::join_all(sign_ins).await {
        res.expect_ok();
    }
    let summary = mine(&app, &alice).await;
    assert_eq!(summary["successfulInvites"], 12);
    assert_eq!(summary["rewardedToday"], 5);
    // 5 paid invites and the 10-invite milestone, each exactly once.
    assert_eq!(app.balance(&alice).await, 5 * 50 + 100);
    assert_eq!(app.count("referrals WHERE status = 'COMPLETED'").await, 12);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn two_members_naming_each_other_at_once_form_no_cycle() {
    let app = spawn_app().await;
    for round in 0..5 {
        let alice = app.login_member(&format!("a{round}")).await;
        let bob = app.login_member(&format!("b{round}")).await;
        let (alice_code, bob_code) = (app.invite_code(&alice).await, app.invite_code(&bob).await);
        let (first, second) = futures::join!(
            app.gql(Some(&alice), BIND, json!({ "c": bob_code })),
            app.gql(Some(&bob), BIND, json!({ "c": alice_code })),
        );
        let refused = [first.error_code(), second.error_code()];
        assert_eq!(
            refused
                .iter()
                .filter(|c| **c == Some("INVITE_INVALID"))
                .count(),
            1,
            "{refused:?}"
        );
    }
}
