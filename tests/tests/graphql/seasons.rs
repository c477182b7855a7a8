//! Weekly stars, season rewards and personal reports (SPEC §18): a week walked through its
//! close and its return window, paid exactly once (twice run, run concurrently, on two
//! instances, after a Redis outage), ties and hidden members at the paid boundary, the archive
//! against the board recomputed from the tables, and `myReport` against each member's own
//! history.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed setup should fail the test loudly"
)]

use std::collections::HashMap;

use api::domain::auth::Role;
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tests::{RedisRelay, Session, TestApp, spawn_app, spawn_app_with};

const JOBS: &str = "mutation { runScheduledJobs { boardsSettled seasonRewardsPaid } }";
const SET: &str = "mutation($b: LeaderboardKind!, $r: [BoardRewardInput!]!) {
    setBoardRewards(board: $b, rewards: $r) { fromRank toRank points rewardId badgeCode } }";
const ARCHIVE: &str = "query($b: LeaderboardKind!, $p: String!, $n: Int!) {
    boardArchive(board: $b, period: $p, first: $n) {
        period entries { rank score points rewardId badgeCode paid isMe displayName } } }";
const RECORD: &str = "mutation($m: ID!, $o: String!, $c: Int!, $t: DateTime!) {
    recordPurchase(memberId: $m, orderId: $o, amountCents: $c, occurredAt: $t) { replayed } }";
const BOARD: &str = "query($b: LeaderboardKind!) { leaderboard(board: $b, first: 20) {
    edition entries { rank score } } }";
const REPORT: &str = "query($p: ReportPeriod!, $at: Date!) { myReport(period: $p, at: $at) {
    label pointsEarned pointsSpent signIns bestStreak redemptions tierAtStart tierAtEnd badges
    percentile comparedWith percentiles { board score percentile comparedWith } } }";

/// Monday 2026-03-02 10:00 in Shanghai: the first day of 2026-W10.
const WEEK_10_MONDAY: &str = "2026-03-02T02:00:00Z";
/// 2026-W10 closes Sunday 24:00 Shanghai (16:00 UTC); its return window 7 days later.
const WEEK_10_SETTLES: &str = "2026-03-15T16:00:00Z";

async fn purchase(app: &TestApp, admin: &Session, member: &Session, order: &str, cents: i64) {
    let at = app.clock.now().to_rfc3339();
    let res = app
        .gql(
            Some(admin),
            RECORD,
            json!({ "m": member.id, "o": order, "c": cents, "t": at }),
        )
        .await;
    res.expect_ok();
}

async fn refund(app: &TestApp, admin: &Session, order: &str) {
    app.gql(
        Some(admin),
        "mutation($o: String!) { refundPurchase(orderId: $o) { orderId } }",
        json!({ "o": order }),
    )
    .await
    .expect_ok();
}

async fn pass(app: &TestApp, admin: &Session) -> (i64, i64) {
    let res = app.gql(Some(admin), JOBS, json!({})).await;
    let run = &res.expect_ok()["runScheduledJobs"];
    (
        run["boardsSettled"].as_i64().unwrap(),
        run["seasonRewardsPaid"].as_i64().unwrap(),
    )
}

async fn archive(app: &TestApp, who: Option<&Session>, board: &str, period: &str) -> Value {
    let vars = json!({ "b": board, "p": period, "n": 100 });
    app.gql(who, ARCHIVE, vars).await.expect_ok()["boardArchive"].clone()
}

async fn season_entries(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) AS n FROM point_entries WHERE kind = 'SEASON_REWARD'")
        .await
}

/// One field of every archived entry, as a JSON array.
fn column(archive: &Value, field: &str) -> Value {
    archive["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[field].clone())
        .collect()
}

async fn freeze(app: &TestApp, admin: &Session, member: &Session) {
    app.gql(
        Some(admin),
        "mutation($id: ID!) { freezeMember(id: $id, reason: \"刷单\") { frozen } }",
        json!({ "id": member.id }),
    )
    .await
    .expect_ok();
}

/// The archive's (member id, score) rows: display names are unique nicknames here.
fn archived_scores(archive: &Value, ids: &HashMap<String, i64>) -> Vec<(i64, i64)> {
    archive["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                ids[e["displayName"].as_str().unwrap()],
                e["score"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn named_members(app: &TestApp, names: &[&str]) -> (Vec<Session>, HashMap<String, i64>) {
    let mut members = Vec::new();
    let mut ids = HashMap::new();
    for name in names {
        let member = app.login_member(name).await;
        app.gql(
            Some(&member),
            "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { member { id } } }",
            json!({ "i": { "nickname": name } }),
        )
        .await
        .expect_ok();
        ids.insert((*name).to_owned(), member.id.parse::<i64>().unwrap());
        members.push(member);
    }
    (members, ids)
}

/// Six members buy in 2026-W10: `ada` 300, `bo` 200, `cy` 150, `dan` and `eve` 100 each
/// (`dan` five seconds first), and `fay` the most, refunded inside the return window.
async fn week_of_purchases(app: &TestApp, admin: &Session, members: &[Session]) {
    let [ada, bo, cy, dan, eve, fay] = members else {
        unreachable!("six members")
    };
    app.set_clock(WEEK_10_MONDAY);
    purchase(app, admin, ada, "w10-ada", 30_000).await;
    purchase(app, admin, fay, "w10-fay", 90_000).await;
    app.set_clock("2026-03-03T02:00:00Z");
    purchase(app, admin, bo, "w10-bo", 20_000).await;
    purchase(app, admin, cy, "w10-cy", 15_000).await;
    purchase(app, admin, dan, "w10-dan", 10_000).await;
    app.set_clock("2026-03-03T02:00:05Z");
    purchase(app, admin, eve, "w10-eve", 10_000).await;
    // Refunded in the next week, inside the return window: it no longer counts.
    app.set_clock("2026-03-10T02:00:00Z");
    refund(app, admin, "w10-fay").await;
}

const NAMES: [&str; 6] = ["ada", "bo", "cy", "dan", "eve", "fay"];

#[tokio::test]
async fn a_week_is_settled_once_from_the_database_after_its_return_window() {
    let app = spawn_app().await;
    let admin = app.login_admin("ops", Role::Admin).await;
    app.set_clock("2026-03-01T02:00:00Z");
    let (members, ids) = named_members(&app, &NAMES).await;
    let coupon = app.coupon_reward(&admin, "周冠军券", 100).await;
    // Set on W10's Monday: W10 is the first week settled.
    app.set_clock("2026-03-02T01:00:00Z");
    let rewards = json!([
        { "fromRank": 1, "toRank": 1, "points": 500, "rewardId": coupon, "badgeCode": "PERSEVERANCE" },
        { "fromRank": 2, "toRank": 3, "points": 200 },
    ]);
    let set = app
        .gql(
            Some(&admin),
            SET,
            json!({ "b": "POINTS_WEEK", "r": rewards }),
        )
        .await;
    assert_eq!(
        set.expect_ok()["setBoardRewards"].as_array().unwrap().len(),
        2
    );
    let shown = app
        .gql(
            None,
            "{ boardRewards(board: POINTS_WEEK) { fromRank points } }",
            json!({}),
        )
        .await;
    assert_eq!(shown.expect_ok()["boardRewards"][0]["points"], 500);

    // Winners hear of it by subscribe message too, where they allowed one: bo did, cy did not.
    app.gql(
        Some(&admin),
        "mutation($input: [MessageTemplateInput!]!) { updateMessageTemplates(input: $input) { kind } }",
        json!({ "input": [{
            "kind": "SEASON_REWARD",
            "templateId": "tpl-season",
            "page": "pages/boards/index",
            "fields": [{ "key": "thing1", "value": "{title}" }, { "key": "number2", "value": "{points}" }],
        }] }),
    )
    .await
    .expect_ok();
    app.gql(
        Some(&members[1]),
        "mutation { recordMessageSubscriptions(input: [{ templateId: \"tpl-season\", accepted: true }]) { remaining } }",
        json!({}),
    )
    .await
    .expect_ok();
    week_of_purchases(&app, &admin, &members).await;
    // The live weekly board already leaves the refund out.
    app.set_clock("2026-03-05T02:00:00Z");
    let live = app.gql(None, BOARD, json!({ "b": "POINTS_WEEK" })).await;
    let live = &live.expect_ok()["leaderboard"];
    assert_eq!(live["edition"], "2026-W10");

    // `ada` hides from the boards before the close: skipped, and the next ranks move up.
    app.gql(
        Some(&members[0]),
        "mutation { updateProfile(input: { hideFromLeaderboards: true }) { member { id } } }",
        json!({}),
    )
    .await
    .expect_ok();

    // The week is over, its return window not yet: nothing is settled.
    app.set_clock("2026-03-15T15:59:00Z");
    assert_eq!(pass(&app, &admin).await, (0, 0));
    assert!(
        archive(&app, None, "POINTS_WEEK", "2026-W10")
            .await
            .is_null()
    );

    app.set_clock(WEEK_10_SETTLES);
    assert_eq!(
        pass(&app, &admin).await,
        (1, 3),
        "W10 settled, three ranks paid"
    );
    assert_eq!(
        pass(&app, &admin).await,
        (0, 0),
        "a second pass pays nothing"
    );
    assert_eq!(season_entries(&app).await, 3);

    let settled = archive(&app, Some(&members[1]), "POINTS_WEEK", "2026-W10").await;
    let expected = app.board_from_tables("POINTS_WEEK", "2026-W10", "").await;
    assert_eq!(archived_scores(&settled, &ids), expected);
    // ada hid and fay refunded in time, so dan moves up to the last paid rank; eve, level
    // with dan at the paid boundary, reached 100 five seconds later and wins nothing.
    assert_eq!(
        column(&settled, "displayName"),
        json!(["bo", "cy", "dan", "eve"])
    );
    assert_eq!(column(&settled, "score"), json!([200, 150, 100, 100]));
    let entries = settled["entries"].as_array().unwrap();
    assert_eq!(entries[0]["points"], 500);
    assert_eq!(entries[0]["paid"], true);
    assert_eq!(entries[0]["isMe"], true);
    assert_eq!(entries[0]["badgeCode"], "PERSEVERANCE");
    assert_eq!(entries[2]["points"], 200);
    assert_eq!(entries[2]["paid"], true);
    assert_eq!(entries[3]["points"], 0);
    assert_eq!(entries[3]["paid"], false);

    // The winner got the points, the coupon, the badge and a SEASON_REWARD notice.
    let bo = &members[1];
    let me = app
        .gql(
            Some(bo),
            "{ me { badges { badge { code } } } myCoupons { rewardId }
               inbox(first: 20) { edges { node { kind title } } }
               pointsHistory(kinds: [SEASON_REWARD]) { edges { node { amount } } } }",
            json!({}),
        )
        .await;
    let me = me.expect_ok();
    assert_eq!(me["me"]["badges"][0]["badge"]["code"], "PERSEVERANCE");
    assert_eq!(me["myCoupons"][0]["rewardId"], coupon);
    let notices: Vec<&Value> = me["inbox"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["kind"] == "SEASON_REWARD")
        .collect();
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0]["node"]["title"]
            .as_str()
            .unwrap()
            .contains("2026-W10"),
        "{notices:?}"
    );
    let queued = app
        .scalar("SELECT COUNT(*) AS n FROM deliveries WHERE event = 'SEASON_REWARD'")
        .await;
    assert_eq!(queued, 1, "one subscribe message: bo's");
    assert_eq!(
        me["pointsHistory"]["edges"],
        json!([{ "node": { "amount": 500 } }])
    );
    // Season points are never counted on a board: nothing for bo in the week they were paid.
    let week_paid_in = app.board_from_tables("POINTS_WEEK", "2026-W12", "").await;
    assert!(
        week_paid_in.iter().all(|(id, _)| *id != ids["bo"]),
        "{week_paid_in:?}"
    );
    assert_eq!(
        archive(&app, None, "SIGN_INS_WEEK", "2026-W10").await,
        Value::Null
    );
    app.assert_ledger_invariants().await;
}

/// Sets POINTS_WEEK to pay the top three and walks the six members' week to its settlement.
async fn settle_ready(app: &TestApp) -> (Session, Vec<Session>) {
    let admin = app.login_admin("ops", Role::Admin).await;
    app.set_clock("2026-03-01T02:00:00Z");
    let (members, _) = named_members(app, &NAMES).await;
    let coupon = app.coupon_reward(&admin, "周冠军券", 100).await;
    app.set_clock("2026-03-02T01:00:00Z");
    let rewards = json!([
        { "fromRank": 1, "toRank": 1, "points": 300, "rewardId": coupon },
        { "fromRank": 2, "toRank": 3, "points": 300 },
    ]);
    app.gql(
        Some(&admin),
        SET,
        json!({ "b": "POINTS_WEEK", "r": rewards }),
    )
    .await
    .expect_ok();
    week_of_purchases(app, &admin, &members).await;
    app.set_clock(WEEK_10_SETTLES);
    (admin, members)
}

#[tokio::test]
async fn passes_run_at_once_settle_and_pay_once() {
    let app = spawn_app().await;
    let (admin, _) = settle_ready(&app).await;
    // Several instances on PostgreSQL; on SQLite (one instance) two passes at once.
    let other = if app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        app.spawn_sibling().await
    } else {
        app.graphql_url()
    };
    let on_other = async {
        let res = app.gql_at(&other, Some(&admin), JOBS, json!({}), &[]).await;
        let run = &res.expect_ok()["runScheduledJobs"];
        (
            run["boardsSettled"].as_i64().unwrap(),
            run["seasonRewardsPaid"].as_i64().unwrap(),
        )
    };
    let (here, there) = tokio::join!(pass(&app, &admin), on_other);
    assert_eq!(here.0 + there.0, 1, "one settlement: {here:?} {there:?}");
    assert_eq!(
        here.1 + there.1,
        3,
        "three ranks paid once: {here:?} {there:?}"
    );
    assert_eq!(pass(&app, &admin).await, (0, 0));
    assert_eq!(season_entries(&app).await, 3);
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM board_archive WHERE payout = 'PAID'")
            .await,
        3
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_rank_marked_due_again_is_not_paid_twice() {
    let app = spawn_app().await;
    let (admin, members) = settle_ready(&app).await;
    assert_eq!(pass(&app, &admin).await, (1, 3));
    let balance = app.balance(&members[1]).await;
    // As if a payout's mark were lost: the ranks are due again. The pass takes them, and
    // the ledger's key for (board, period) replays the first credit instead of paying twice.
    app.execute("UPDATE board_archive SET payout = 'DUE' WHERE payout = 'PAID'")
        .await;
    assert_eq!(pass(&app, &admin).await, (0, 3));
    assert_eq!(season_entries(&app).await, 3);
    assert_eq!(app.balance(&members[1]).await, balance);
    assert_eq!(app.count("redemptions").await, 1, "rank 1's coupon, once");
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM notifications WHERE kind = 'SEASON_REWARD'")
            .await,
        3,
        "one notice each"
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_frozen_member_is_neither_ranked_nor_paid_and_the_clock_going_back_settles_nothing() {
    let app = spawn_app().await;
    let (admin, members) = settle_ready(&app).await;
    freeze(&app, &admin, &members[1]).await;
    assert_eq!(pass(&app, &admin).await, (1, 3));
    let settled = archive(&app, None, "POINTS_WEEK", "2026-W10").await;
    assert_eq!(
        column(&settled, "displayName"),
        json!(["ada", "cy", "dan", "eve"]),
        "bo is frozen: dan is paid"
    );
    assert_eq!(column(&settled, "paid"), json!([true, true, true, false]));
    // Back to the week itself, and forward again: W10 stays settled once.
    app.set_clock("2026-03-04T02:00:00Z");
    assert_eq!(pass(&app, &admin).await, (0, 0));
    app.set_clock(WEEK_10_SETTLES);
    assert_eq!(pass(&app, &admin).await, (0, 0));
    assert_eq!(season_entries(&app).await, 3);

    // A winner frozen between the settlement and the payout (as if the payout had not run
    // yet): the prize is withheld, not paid.
    app.execute("UPDATE board_archive SET payout = 'DUE' WHERE rank = 2")
        .await;
    freeze(&app, &admin, &members[2]).await;
    assert_eq!(pass(&app, &admin).await, (0, 0));
    assert_eq!(season_entries(&app).await, 3);
    let settled = archive(&app, None, "POINTS_WEEK", "2026-W10").await;
    assert_eq!(settled["entries"][1]["paid"], false);
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM board_archive WHERE payout = 'WITHHELD'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_redis_outage_during_the_week_changes_nothing_at_the_settlement() {
    let Some(relay) = RedisRelay::start().await else {
        // Without TEST_REDIS_URL the boards are the database's already.
        return;
    };
    let app = spawn_app_with(&[("REDIS_URL", relay.url.as_str())]).await;
    let admin = app.login_admin("ops", Role::Admin).await;
    app.set_clock("2026-03-01T02:00:00Z");
    let (members, ids) = named_members(&app, &NAMES).await;
    app.set_clock("2026-03-02T01:00:00Z");
    let rewards = json!([{ "fromRank": 1, "toRank": 2, "points": 100 }]);
    app.gql(
        Some(&admin),
        SET,
        json!({ "b": "POINTS_WEEK", "r": rewards }),
    )
    .await
    .expect_ok();
    app.set_clock(WEEK_10_MONDAY);
    purchase(&app, &admin, &members[0], "r-ada", 10_000).await;
    purchase(&app, &admin, &members[1], "r-bo", 20_000).await;
    // Redis is lost while eve buys the most: the Redis set never hears of it.
    relay.cut();
    app.set_clock("2026-03-03T02:00:00Z");
    purchase(&app, &admin, &members[4], "r-eve", 50_000).await;
    relay.restore().await;
    app.set_clock(WEEK_10_SETTLES);
    assert_eq!(pass(&app, &admin).await, (1, 2));
    let settled = archive(&app, None, "POINTS_WEEK", "2026-W10").await;
    assert_eq!(
        archived_scores(&settled, &ids),
        app.board_from_tables("POINTS_WEEK", "2026-W10", "").await
    );
    assert_eq!(settled["entries"][0]["displayName"], "eve");
    assert_eq!(settled["entries"][1]["displayName"], "bo");
}

#[tokio::test]
async fn board_rewards_are_checked_and_for_admins_only() {
    let app = spawn_app().await;
    let admin = app.login_admin("ops", Role::Admin).await;
    let member = app.login_member("mo").await;
    let set = |board: &str, rewards: Value| json!({ "b": board, "r": rewards });
    // Ranks out of order or range, nothing won, negative points, overlaps, an unknown badge
    // or reward: VALIDATION on `rewards`; a board that never ends: on `board`.
    let mut cases = vec![(
        "STREAK",
        r#"[{"fromRank": 1, "toRank": 1, "points": 5}]"#,
        "board",
    )];
    for rewards in [
        r#"[{"fromRank": 0, "toRank": 1, "points": 5}]"#,
        r#"[{"fromRank": 3, "toRank": 2, "points": 5}]"#,
        r#"[{"fromRank": 1, "toRank": 1001, "points": 5}]"#,
        r#"[{"fromRank": 1, "toRank": 1}]"#,
        r#"[{"fromRank": 1, "toRank": 1, "points": -5}]"#,
        r#"[{"fromRank": 1, "toRank": 1, "badgeCode": "NOPE"}]"#,
        r#"[{"fromRank": 1, "toRank": 1, "rewardId": "999999"}]"#,
        r#"[{"fromRank": 1, "toRank": 2, "points": 5}, {"fromRank": 2, "toRank": 3, "points": 5}]"#,
    ] {
        cases.push(("POINTS_WEEK", rewards, "rewards"));
    }
    for (board, rewards, field) in cases {
        let rewards: Value = serde_json::from_str(rewards).unwrap();
        let res = app
            .gql(Some(&admin), SET, set(board, rewards.clone()))
            .await;
        res.expect_error("VALIDATION");
        assert_eq!(res.error_field(), Some(field), "{board} {rewards}");
    }
    let ok = json!([{ "fromRank": 1, "toRank": 1, "points": 5 }]);
    app.gql(Some(&member), SET, set("POINTS_WEEK", ok.clone()))
        .await
        .expect_error("FORBIDDEN");
    app.gql(Some(&admin), SET, set("SIGN_INS_WEEK", ok))
        .await
        .expect_ok();
    // An empty list stops paying.
    app.gql(Some(&admin), SET, set("SIGN_INS_WEEK", json!([])))
        .await
        .expect_ok();
    assert_eq!(app.count("board_seasons").await, 0);
    for period in ["2026-03", "2026-W54", "W10", "2026-W1"] {
        let res = app
            .gql(
                None,
                ARCHIVE,
                json!({ "b": "POINTS_WEEK", "p": period, "n": 5 }),
            )
            .await;
        res.expect_error("VALIDATION");
        assert_eq!(res.error_field(), Some("period"));
    }
    let res = app
        .gql(
            None,
            ARCHIVE,
            json!({ "b": "STREAK", "p": "2026-03-01", "n": 5 }),
        )
        .await;
    res.expect_error("VALIDATION");
}

/// Rows of a query as (i64 columns…, an instant) tuples, for the recomputations.
async fn rows(app: &TestApp, sql: &str) -> Vec<sea_orm::QueryResult> {
    app.db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
}

fn business_month(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&chrono_tz::Asia::Shanghai);
    format!("{:04}-{:02}", local.year(), local.month())
}

/// One member's figures for a set of months, recomputed from their history: ledger entries,
/// purchases, sign-ins, redemptions, badges and tier-change notices.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Figures {
    earned: i64,
    spent: i64,
    sign_ins: i64,
    best_streak: i64,
    redemptions: i64,
    badges: Vec<String>,
}

/// Sums the first column of `sql`'s rows whose instant (the second column) falls in `months`.
async fn sum_within(app: &TestApp, sql: &str, months: &[String]) -> i64 {
    let mut sum = 0;
    for row in rows(app, sql).await {
        let at: DateTime<Utc> = row.try_get_by_index(1).unwrap();
        if months.contains(&business_month(at)) {
            sum += row.try_get_by_index::<i64>(0).unwrap();
        }
    }
    sum
}

async fn history_figures(app: &TestApp, member: i64, months: &[String]) -> Figures {
    let mut figures = Figures::default();
    // Earned: credits that count toward the cap when they were made (purchases when recorded,
    // not when they mature), refunded purchases left out.
    let credits = format!(
        "SELECT amount, created_at FROM point_entries WHERE member_id = {member} AND amount > 0
         AND kind IN ('SIGN_IN', 'SIGN_IN_MILESTONE', 'KOC_TASK', 'REFERRAL', 'BIRTHDAY',
                      'TIER_UPGRADE_GIFT', 'TASK')"
    );
    let purchases = format!(
        "SELECT points_granted, created_at FROM purchases WHERE member_id = {member}
         AND status <> 'REFUNDED'"
    );
    figures.earned =
        sum_within(app, &credits, months).await + sum_within(app, &purchases, months).await;
    let spent = format!(
        "SELECT amount, created_at FROM point_entries WHERE member_id = {member}
         AND kind IN ('REDEMPTION', 'LOTTERY')"
    );
    figures.spent = -sum_within(app, &spent, months).await;
    let signed = format!("SELECT day, streak FROM sign_ins WHERE member_id = {member}");
    for row in rows(app, &signed).await {
        let day: NaiveDate = row.try_get_by_index(0).unwrap();
        if months.contains(&format!("{:04}-{:02}", day.year(), day.month())) {
            figures.sign_ins += 1;
            let streak: i32 = row.try_get_by_index(1).unwrap();
            figures.best_streak = figures.best_streak.max(i64::from(streak));
        }
    }
    let redeemed = format!("SELECT month FROM redemptions WHERE member_id = {member}");
    for row in rows(app, &redeemed).await {
        let month: String = row.try_get_by_index(0).unwrap();
        figures.redemptions += i64::from(months.contains(&month));
    }
    let badges = format!(
        "SELECT badge_code, granted_at FROM member_badges WHERE member_id = {member}
         ORDER BY granted_at"
    );
    for row in rows(app, &badges).await {
        let at: DateTime<Utc> = row.try_get_by_index(1).unwrap();
        if months.contains(&business_month(at)) {
            figures.badges.push(row.try_get_by_index(0).unwrap());
        }
    }
    figures
}

/// The tier a member held at the end of `month`: the target of the last TIER_CHANGED notice
/// before its end, else `base`.
async fn history_tier(app: &TestApp, member: i64, month: &str, base: &str) -> String {
    let mut tier = base.to_owned();
    for row in rows(
        app,
        &format!(
            "SELECT reference, created_at FROM notifications WHERE member_id = {member}
             AND kind = 'TIER_CHANGED' ORDER BY created_at, id"
        ),
    )
    .await
    {
        let at: DateTime<Utc> = row.try_get_by_index(1).unwrap();
        if business_month(at).as_str() <= month {
            tier = row.try_get_by_index(0).unwrap();
        }
    }
    tier
}

/// The share of members (0–100) the member earned as much as or more than.
fn expected_percentile(mine: i64, everyone: &[i64]) -> Value {
    if mine <= 0 {
        return Value::Null;
    }
    let on_board: Vec<i64> = everyone.iter().copied().filter(|p| *p > 0).collect();
    let total = i64::try_from(on_board.len()).unwrap();
    let ahead = i64::try_from(on_board.iter().filter(|p| **p > mine).count()).unwrap();
    json!((total - ahead) * 100 / total)
}

#[tokio::test]
async fn my_report_matches_each_members_own_history() {
    let app = spawn_app().await;
    let admin = app.login_admin("ops", Role::Admin).await;
    app.set_clock("2026-01-04T02:00:00Z");
    let names = ["ann", "ben", "cat", "deb"];
    let (members, ids) = named_members(&app, &names).await;
    let coupon = app.coupon_reward(&admin, "十元券", 10).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(18);
    let mut orders: Vec<Vec<String>> = vec![Vec::new(); members.len()];
    let first_day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
    for offset in 0..75 {
        let day = first_day + TimeDelta::days(offset);
        let at = day
            .and_hms_opt(1, rng.gen_range(0..59), 0)
            .unwrap()
            .and_utc();
        app.clock.set(at).unwrap();
        for (index, member) in members.iter().enumerate() {
            if rng.gen_bool(0.7) {
                app.sign_in(member).await;
            }
            if rng.gen_bool(0.15) {
                let order = format!("o-{index}-{offset}");
                purchase(&app, &admin, member, &order, rng.gen_range(2_000..30_000)).await;
                orders[index].push(order);
            }
            if rng.gen_bool(0.1) && app.balance(member).await >= 10 {
                app.gql(
                    Some(member),
                    "mutation($r: ID!, $k: String!) { redeemReward(rewardId: $r, quantity: 1, idempotencyKey: $k) { balanceAfter } }",
                    json!({ "r": coupon, "k": format!("k-{offset}") }),
                )
                .await
                .expect_ok();
            }
            if rng.gen_bool(0.05)
                && let Some(order) = orders[index].pop()
            {
                refund(&app, &admin, &order).await;
            }
        }
    }
    app.set_clock("2026-03-25T04:00:00Z");
    let tiers = app.gql(None, "{ tiers { code rank } }", json!({})).await;
    let base = tiers.expect_ok()["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .min_by_key(|t| t["rank"].as_i64().unwrap())
        .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let month_sets: Vec<(String, &str, Vec<String>, String)> = vec![
        (
            "MONTH".into(),
            "2026-01-15",
            vec!["2026-01".into()],
            "2025-12".into(),
        ),
        (
            "MONTH".into(),
            "2026-02-01",
            vec!["2026-02".into()],
            "2026-01".into(),
        ),
        (
            "MONTH".into(),
            "2026-03-31",
            vec!["2026-03".into()],
            "2026-02".into(),
        ),
        (
            "YEAR".into(),
            "2026-07-01",
            ["2026-01", "2026-02", "2026-03"].map(String::from).to_vec(),
            "2025-12".into(),
        ),
    ];
    // What the walk must have covered for the comparison to mean something.
    let (mut tier_moved, mut badged, mut behind, mut refunded) = (false, false, false, false);
    for (period, at, months, before) in &month_sets {
        let mut everyone = Vec::new();
        for name in &names {
            everyone.push(history_figures(&app, ids[*name], months).await.earned);
        }
        for (member, name) in members.iter().zip(names) {
            let id = ids[name];
            let want = history_figures(&app, id, months).await;
            let res = app
                .gql(Some(member), REPORT, json!({ "p": period, "at": at }))
                .await;
            let got = &res.expect_ok()["myReport"];
            let context = format!("{name} {period} {at}: {got}");
            assert_eq!(got["pointsEarned"], want.earned, "{context}");
            assert_eq!(got["pointsSpent"], want.spent, "{context}");
            assert_eq!(got["signIns"], want.sign_ins, "{context}");
            assert_eq!(got["bestStreak"], want.best_streak, "{context}");
            assert_eq!(got["redemptions"], want.redemptions, "{context}");
            assert_eq!(got["badges"], json!(want.badges), "{context}");
            assert_eq!(
                got["percentile"],
                expected_percentile(want.earned, &everyone),
                "{context}"
            );
            assert_eq!(got["percentiles"][0]["board"], "POINTS_MONTH");
            assert_eq!(got["percentiles"][0]["percentile"], got["percentile"]);
            assert_eq!(got["percentiles"][0]["score"], want.earned);
            assert_eq!(
                got["percentiles"][1],
                json!({ "board": "KOC_MONTH", "score": 0, "percentile": null, "comparedWith": 0 }),
                "nobody is a KOC here"
            );
            tier_moved |= got["tierAtStart"] != got["tierAtEnd"];
            badged |= !want.badges.is_empty();
            behind |= got["percentile"].as_i64().is_some_and(|p| p < 100);
            let last = months.last().unwrap();
            assert_eq!(
                got["tierAtEnd"],
                history_tier(&app, id, last, &base).await,
                "{context}"
            );
            assert_eq!(
                got["tierAtStart"],
                history_tier(&app, id, before, &base).await,
                "{context}"
            );
        }
    }
    refunded |= app
        .scalar("SELECT COUNT(*) AS n FROM purchases WHERE status = 'REFUNDED'")
        .await
        > 0;
    assert!(
        tier_moved && badged && behind && refunded,
        "tiers {tier_moved}, badges {badged}, percentiles {behind}, refunds {refunded}"
    );
    // Everyone did something in the walk; the figures are not all zero.
    let ann = app
        .gql(
            Some(&members[0]),
            REPORT,
            json!({ "p": "YEAR", "at": "2026-03-25" }),
        )
        .await;
    let ann = &ann.expect_ok()["myReport"];
    assert_eq!(ann["label"], "2026");
    assert!(ann["signIns"].as_i64().unwrap() > 20, "{ann}");
    assert!(ann["pointsEarned"].as_i64().unwrap() > 0, "{ann}");
    // KOC scores compare the same way (set here by hand: this walk has no KOC).
    app.execute(&format!(
        "UPDATE member_months SET koc_score = 10 * member_id WHERE month = '2026-03' AND member_id IN ({}, {})",
        ids["ann"], ids["ben"]
    ))
    .await;
    let koc = |res: &tests::GqlResponse| res.expect_ok()["myReport"]["percentiles"][1].clone();
    let ann = app
        .gql(
            Some(&members[0]),
            REPORT,
            json!({ "p": "MONTH", "at": "2026-03-02" }),
        )
        .await;
    assert_eq!(
        koc(&ann),
        json!({ "board": "KOC_MONTH", "score": 10 * ids["ann"], "percentile": 50, "comparedWith": 2 })
    );
    let ben = app
        .gql(
            Some(&members[1]),
            REPORT,
            json!({ "p": "YEAR", "at": "2026-03-02" }),
        )
        .await;
    assert_eq!(koc(&ben)["percentile"], 100);
    // Admins have no report.
    app.gql(
        Some(&admin),
        REPORT,
        json!({ "p": "MONTH", "at": "2026-03-01" }),
    )
    .await
    .expect_error("FORBIDDEN");
}

#[tokio::test]
async fn past_months_are_backfilled_from_the_history() {
    use migration::{Migrator, MigratorTrait};
    let app = spawn_app().await;
    let admin = app.login_admin("ops", Role::Admin).await;
    app.set_clock("2026-01-20T02:00:00Z");
    let (members, _) = named_members(&app, &["gus", "hal"]).await;
    let coupon = app.coupon_reward(&admin, "五元券", 5).await;
    for offset in 0..20_usize {
        app.clock
            .set(
                "2026-01-20T02:00:00Z".parse::<DateTime<Utc>>().unwrap()
                    + TimeDelta::days(i64::try_from(offset).unwrap()),
            )
            .unwrap();
        for (index, member) in members.iter().enumerate() {
            if offset % (index + 2) != 1 {
                app.sign_in(member).await;
            }
            if offset % 5 == 4 {
                app.gql(
                    Some(member),
                    "mutation($r: ID!, $k: String!) { redeemReward(rewardId: $r, quantity: 1, idempotencyKey: $k) { balanceAfter } }",
                    json!({ "r": coupon, "k": format!("b-{offset}") }),
                )
                .await
                .expect_ok();
            }
        }
    }
    let figures = |res: &Value| {
        let r = &res["myReport"];
        (
            r["signIns"].clone(),
            r["bestStreak"].clone(),
            r["redemptions"].clone(),
        )
    };
    let mut before = Vec::new();
    for member in &members {
        for at in ["2026-01-31", "2026-02-08"] {
            let res = app
                .gql(Some(member), REPORT, json!({ "p": "MONTH", "at": at }))
                .await;
            before.push(figures(res.expect_ok()));
        }
    }
    assert!(
        before
            .iter()
            .all(|(s, b, r)| s.as_i64() > Some(0) && b.as_i64() > Some(0) && r.as_i64() > Some(0)),
        "{before:?}"
    );
    // As if the history predated the month counters: the migration that adds them again
    // fills past months from sign-ins and redemptions.
    Migrator::down(&app.db, Some(1)).await.unwrap();
    Migrator::up(&app.db, None).await.unwrap();
    let mut after = Vec::new();
    for member in &members {
        for at in ["2026-01-31", "2026-02-08"] {
            let res = app
                .gql(Some(member), REPORT, json!({ "p": "MONTH", "at": at }))
                .await;
            after.push(figures(res.expect_ok()));
        }
    }
    assert_eq!(after, before);
}
