//! Leaderboards (SPEC §9): ranks and ties against a recomputation from the database, `me`
//! outside the top, hidden members, masked names, lost boards rebuilt, Redis and database
//! answering alike, and a Redis outage.

use std::sync::Arc;

use api::domain::auth::Role;
use api::domain::ids::MemberId;
use api::domain::leaderboard::Board;
use api::service::leaderboards::LeaderboardService;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tests::{RedisRelay, Session, TestApp, spawn_app, spawn_app_with};

const BOARD: &str = "query($b: LeaderboardKind!, $n: Int!) { leaderboard(board: $b, first: $n) {
    edition source entries { rank displayName tier score isMe } me { rank score isMe } } }";
const PROFILE: &str =
    "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { member { id } } }";
const RECORD: &str = "mutation($m: ID!, $o: String!, $c: Int!, $t: DateTime!) {
    recordPurchase(memberId: $m, orderId: $o, amountCents: $c, occurredAt: $t) { replayed } }";

async fn board(app: &TestApp, who: Option<&Session>, kind: &str, first: i64) -> Value {
    let res = app.gql(who, BOARD, json!({ "b": kind, "n": first })).await;
    res.expect_ok()["leaderboard"].clone()
}

async fn set_profile(app: &TestApp, member: &Session, input: Value) {
    app.gql(Some(member), PROFILE, json!({ "input": input }))
        .await
        .expect_ok();
}

async fn purchase(app: &TestApp, admin: &Session, member: &Session, order: &str, cents: i64) {
    app.gql(
        Some(admin),
        RECORD,
        json!({ "m": member.id, "o": order, "c": cents, "t": app.clock.now().to_rfc3339() }),
    )
    .await
    .expect_ok();
}

#[tokio::test]
async fn boards_rank_and_break_ties_like_a_recomputation_from_the_database() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut members = Vec::new();
    for i in 0..200 {
        let member = app.login_member(&format!("m{i}")).await;
        if rng.gen_bool(0.5) {
            set_profile(&app, &member, json!({ "nickname": format!("会员{i}") })).await;
        }
        members.push(member);
    }
    // Invites: a few inviters with random numbers of invitees.
    for (i, invitee) in members.iter().enumerate().skip(20) {
        if rng.gen_bool(0.4) {
            app.bind(invitee, &members[i % 7]).await;
        }
    }
    // Three days of random sign-ins (many ties: same streak, same points) and purchases.
    for day in 0..3 {
        for (i, member) in members.iter().enumerate() {
            if rng.gen_bool(0.6) {
                app.sign_in(member).await;
            }
            if rng.gen_bool(0.1) {
                let cents = rng.gen_range(100..50_000);
                purchase(&app, &admin, member, &format!("o-{day}-{i}"), cents).await;
            }
        }
        if day < 2 {
            app.advance_days(1);
        }
    }
    for member in members.iter().step_by(9) {
        set_profile(&app, member, json!({ "hideFromLeaderboards": true })).await;
    }

    let today = app.clock.today();
    let yesterday = (today - chrono::Days::new(1)).to_string();
    let database_only = LeaderboardService::new(app.db.clone(), Arc::clone(&app.clock), None);
    for (kind, domain_board) in [
        ("POINTS_MONTH", Board::PointsMonth),
        ("STREAK", Board::Streak),
        ("REFERRALS", Board::Referrals),
        ("POINTS_WEEK", Board::PointsWeek),
        ("SIGN_INS_WEEK", Board::SignInsWeek),
    ] {
        let period = domain_board.edition(today);
        let expected = app.board_from_tables(kind, &period, &yesterday).await;
        assert!(
            expected.len() > 5,
            "{kind} has too few rows to mean anything"
        );
        let shown = board(&app, None, kind, 100).await;
        let ranked: Vec<(i64, i64)> = shown["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["rank"].as_i64().unwrap(), e["score"].as_i64().unwrap()))
            .collect();
        let want: Vec<(i64, i64)> = expected
            .iter()
            .take(100)
            .zip(1..)
            .map(|((_, value), rank)| (rank, *value))
            .collect();
        assert_eq!(ranked, want, "{kind}");

        // Each member's own rank, from the caller's side, matches its place in the recomputation.
        for (place, (id, value)) in expected.iter().enumerate().step_by(13) {
            let session = members.iter().find(|m| m.id == id.to_string()).unwrap();
            let me = board(&app, Some(session), kind, 3).await["me"].clone();
            assert_eq!(
                me["rank"].as_u64(),
                Some(u64::try_from(place).unwrap() + 1),
                "{kind} member {id}"
            );
            assert_eq!(me["score"].as_i64(), Some(*value));
            assert_eq!(me["isMe"], true);
        }

        // The same answer with and without Redis, member for member.
        let viewer = MemberId::new(expected[expected.len() / 2].0);
        let from_app = app
            .services
            .leaderboards
            .board(domain_board, 100, Some(viewer))
            .await
            .unwrap();
        let from_db = database_only
            .board(domain_board, 100, Some(viewer))
            .await
            .unwrap();
        let key = |e: &api::service::leaderboards::Entry| {
            (e.rank, e.member, e.score, e.display_name.clone())
        };
        assert_eq!(
            from_app.entries.iter().map(key).collect::<Vec<_>>(),
            from_db.entries.iter().map(key).collect::<Vec<_>>(),
            "{kind}"
        );
        assert_eq!(from_app.me.as_ref().map(key), from_db.me.as_ref().map(key));
    }
    // Hidden members are on no board.
    for member in members.iter().step_by(9) {
        for kind in ["POINTS_MONTH", "STREAK", "REFERRALS"] {
            assert_eq!(board(&app, Some(member), kind, 1).await["me"], Value::Null);
        }
    }
}

#[tokio::test]
async fn the_earlier_arrival_wins_a_tie_and_me_shows_outside_the_top() {
    let app = spawn_app().await;
    let names = ["a", "b", "c", "d", "e"];
    let mut members = Vec::new();
    for name in names {
        let member = app.login_member(name).await;
        app.sign_in(&member).await;
        app.clock.advance(chrono::TimeDelta::seconds(5)).unwrap();
        members.push(member);
    }
    set_profile(&app, &members[0], json!({ "nickname": "阿甲" })).await;
    // Everyone earned the same; the first to sign in ranks first.
    let top = board(&app, Some(&members[3]), "POINTS_MONTH", 2).await;
    let entries = top["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["displayName"], "阿甲");
    // Without a nickname, a masked stand-in.
    let masked = entries[1]["displayName"].as_str().unwrap();
    assert!(
        masked.starts_with("会员") && masked.ends_with("******"),
        "{masked}"
    );
    assert_eq!(top["me"]["rank"], 4);
    assert_eq!(top["me"]["isMe"], true);
    assert_eq!(entries[0]["tier"], "NEW");

    // Hiding takes a member off (everyone behind moves up); showing puts them back.
    set_profile(&app, &members[0], json!({ "hideFromLeaderboards": true })).await;
    assert_eq!(
        board(&app, Some(&members[3]), "POINTS_MONTH", 2).await["me"]["rank"],
        3
    );
    assert_eq!(
        board(&app, Some(&members[0]), "POINTS_MONTH", 2).await["me"],
        Value::Null
    );
    set_profile(&app, &members[0], json!({ "hideFromLeaderboards": false })).await;
    assert_eq!(
        board(&app, Some(&members[0]), "POINTS_MONTH", 2).await["me"]["rank"],
        1
    );

    // A streak outlives one day without a sign-in, not two.
    app.advance_days(1);
    app.sign_in(&members[4]).await;
    let streaks = board(&app, Some(&members[0]), "STREAK", 10).await;
    assert_eq!(streaks["entries"].as_array().unwrap().len(), 5);
    assert_eq!(streaks["entries"][0]["score"], 2);
    app.advance_days(1);
    let streaks = board(&app, Some(&members[0]), "STREAK", 10).await;
    assert_eq!(streaks["entries"].as_array().unwrap().len(), 1);
    assert_eq!(streaks["me"], Value::Null);
}

#[tokio::test]
async fn a_lost_board_is_rebuilt_from_the_database_and_equal() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let mut members = Vec::new();
    for i in 0..12 {
        let member = app.login_member(&format!("m{i}")).await;
        app.sign_in(&member).await;
        purchase(&app, &admin, &member, &format!("o-{i}"), 1000 * (i + 1)).await;
        members.push(member);
    }
    let before = board(&app, Some(&members[0]), "POINTS_MONTH", 10).await;
    let edition = before["edition"].as_str().unwrap().to_owned();
    let redis = app
        .redis_del(&format!("{{lb}}:board:POINTS_MONTH:{edition}"))
        .await;
    assert_eq!(before["source"], if redis { "REDIS" } else { "DATABASE" });
    // Read after the loss: rebuilt on the spot, same answer.
    assert_eq!(
        board(&app, Some(&members[0]), "POINTS_MONTH", 10).await,
        before
    );

    // An operator rebuild, and a new instance starting with boards missing, change nothing.
    let rebuilt = app
        .gql(Some(&admin), "mutation { rebuildLeaderboards }", json!({}))
        .await;
    assert_eq!(
        rebuilt.expect_ok()["rebuildLeaderboards"],
        if redis { 6 } else { 0 }
    );
    assert_eq!(
        board(&app, Some(&members[0]), "POINTS_MONTH", 10).await,
        before
    );
    app.redis_del(&format!("{{lb}}:board:POINTS_MONTH:{edition}"))
        .await;
    let sibling = app.spawn_sibling().await;
    let res = app
        .client
        .post(sibling)
        .bearer_auth(&members[0].token)
        .json(&json!({ "query": BOARD, "variables": { "b": "POINTS_MONTH", "n": 10 } }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(res["data"]["leaderboard"], before);
    // Operators only.
    app.gql(
        Some(&members[0]),
        "mutation { rebuildLeaderboards }",
        json!({}),
    )
    .await
    .expect_error("FORBIDDEN");
}

#[tokio::test]
async fn a_redis_outage_loses_no_points_and_boards_fall_back_to_the_database() {
    let Some(relay) = RedisRelay::start().await else {
        // Without TEST_REDIS_URL there is no Redis to lose; the embedded default always
        // answers from the database (the other scenarios cover it).
        return;
    };
    let app = spawn_app_with(&[
        ("REDIS_URL", relay.url.as_str()),
        ("MEMBERCARD_RATE_LIMIT_SIGN_IN", "5/60"),
    ])
    .await;
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    app.sign_in(&alice).await;
    assert_eq!(
        board(&app, Some(&alice), "POINTS_MONTH", 10).await["source"],
        "REDIS"
    );

    relay.cut();
    // Writes go on: points land in the database, the board update is skipped.
    let signed = app.sign_in(&bob).await;
    assert_eq!(app.balance(&bob).await, signed["balance"].as_i64().unwrap());
    let shown = board(&app, Some(&bob), "POINTS_MONTH", 10).await;
    assert_eq!(shown["source"], "DATABASE");
    assert_eq!(shown["entries"].as_array().unwrap().len(), 2);
    assert_eq!(shown["me"]["rank"], 2);
    // Rate limits fall back to this process instead of failing requests.
    let mut limited = false;
    for _ in 0..6 {
        let res = app
            .gql(Some(&bob), "mutation { signIn { streak } }", json!({}))
            .await;
        limited |= res.error_code() == Some("RATE_LIMITED");
    }
    assert!(limited);
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    app.assert_ledger_invariants().await;
}
