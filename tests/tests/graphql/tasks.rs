//! Member events, the task centre and badges (SPEC §13): the seeded newbie, daily and
//! achievement tasks paid exactly once through events, replays, daily limits, concurrent
//! events, consecutive days, claims that lapse, and badges.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failed setup should fail the test loudly"
)]

use api::domain::auth::Role;
use serde_json::{Value, json};
use tests::{GqlResponse, Session, TestApp, spawn_app};

const RECORD: &str = "mutation($m: ID!, $t: String!, $v: Int, $k: String!, $at: DateTime) {
    recordMemberEvent(memberId: $m, type: $t, value: $v, idempotencyKey: $k, occurredAt: $at) {
        replayed completedTasks { taskId periodKey paid }
    }
}";
const REPORT: &str = "mutation($t: String!, $k: String!) {
    reportEvent(type: $t, idempotencyKey: $k) { replayed completedTasks { periodKey paid } }
}";
const TASKS: &str = "{ tasks { task { id title } periodKey progress target status periodEndsAt } }";

async fn record(
    app: &TestApp,
    admin: &Session,
    member: &Session,
    kind: &str,
    key: &str,
) -> GqlResponse {
    app.gql(
        Some(admin),
        RECORD,
        json!({ "m": member.id, "t": kind, "v": 1, "k": key }),
    )
    .await
}

async fn report(app: &TestApp, member: &Session, kind: &str, key: &str) -> GqlResponse {
    app.gql(Some(member), REPORT, json!({ "t": kind, "k": key }))
        .await
}

/// The member's row in the task centre for the task titled `title`.
async fn task_row(app: &TestApp, member: &Session, title: &str) -> Value {
    let res = app.gql(Some(member), TASKS, json!({})).await;
    res.expect_ok()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"]["title"] == title)
        .cloned()
        .unwrap_or(Value::Null)
}

/// The member's TASK entries, newest first.
async fn task_entries(app: &TestApp, member: &Session) -> Vec<i64> {
    let res = app
        .gql(
            Some(member),
            "{ pointsHistory(first: 50) { edges { node { kind amount } } } }",
            json!({}),
        )
        .await;
    res.expect_ok()["pointsHistory"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["kind"] == "TASK")
        .map(|e| e["node"]["amount"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn following_the_official_account_pays_the_newbie_task_once() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let before = task_row(&app, &ada, "关注公众号").await;
    assert_eq!(
        (
            before["status"].clone(),
            before["progress"].clone(),
            before["target"].clone()
        ),
        (json!("IN_PROGRESS"), json!(0), json!(1))
    );
    let first = record(&app, &admin, &ada, "FOLLOW_OFFICIAL_ACCOUNT", "wx-follow-1").await;
    let first = first.expect_ok()["recordMemberEvent"].clone();
    assert_eq!(first["replayed"], false);
    assert_eq!(first["completedTasks"][0]["paid"], true);
    assert_eq!(first["completedTasks"][0]["periodKey"], "ONCE");
    let replay = record(&app, &admin, &ada, "FOLLOW_OFFICIAL_ACCOUNT", "wx-follow-1").await;
    assert_eq!(replay.expect_ok()["recordMemberEvent"]["replayed"], true);
    let second = record(&app, &admin, &ada, "FOLLOW_OFFICIAL_ACCOUNT", "wx-follow-2").await;
    assert_eq!(
        second.expect_ok()["recordMemberEvent"]["completedTasks"],
        json!([])
    );
    assert_eq!(task_entries(&app, &ada).await, [20]);
    assert_eq!(task_row(&app, &ada, "关注公众号").await["status"], "DONE");

    // What integrations may not record, and what they may not date ahead.
    let built_in = record(&app, &admin, &ada, "SIGN_IN", "x").await;
    built_in.expect_error("VALIDATION");
    assert_eq!(built_in.error_field(), Some("type"));
    let ahead = app
        .gql(
            Some(&admin),
            RECORD,
            json!({ "m": ada.id, "t": "ARTICLE_READ", "k": "y", "at": "2026-03-02T03:00:00Z" }),
        )
        .await;
    ahead.expect_error("VALIDATION");
    assert_eq!(ahead.error_field(), Some("occurredAt"));
    record(&app, &ada, &ada, "ARTICLE_READ", "z")
        .await
        .expect_error("FORBIDDEN");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_share_pays_once_a_day_and_the_second_is_refused() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let ada = app.login_member("ada").await;
    let first = report(&app, &ada, "SHARE", "share-1").await;
    assert_eq!(
        first.expect_ok()["reportEvent"]["completedTasks"],
        json!([{ "periodKey": "2026-03-02", "paid": true }])
    );
    let replay = report(&app, &ada, "SHARE", "share-1").await;
    assert_eq!(replay.expect_ok()["reportEvent"]["replayed"], true);
    report(&app, &ada, "SHARE", "share-2")
        .await
        .expect_error("EVENT_LIMIT_REACHED");
    report(&app, &ada, "FOLLOW_OFFICIAL_ACCOUNT", "follow")
        .await
        .expect_error("FORBIDDEN");
    app.set_clock("2026-03-03T02:00:00Z");
    report(&app, &ada, "SHARE", "share-3").await.expect_ok();
    assert_eq!(task_entries(&app, &ada).await, [5, 5]);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn seven_consecutive_sign_ins_earn_the_badge_and_a_gap_starts_again() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    // Five days, a gap, then seven in a row.
    let mut days = Vec::new();
    days.extend(1..=5);
    days.extend(7..=13);
    for (n, day) in days.iter().enumerate() {
        app.set_clock(&format!("2026-03-{day:02}T02:00:00Z"));
        app.sign_in(&ada).await;
        let row = task_row(&app, &ada, "坚持不懈").await;
        let badges = app
            .gql(
                Some(&ada),
                "{ me { badges { badge { code } } } }",
                json!({}),
            )
            .await;
        let held = badges.expect_ok()["me"]["badges"].as_array().unwrap().len();
        if n + 1 < days.len() {
            assert_eq!(row["status"], "IN_PROGRESS", "day {day}");
            assert_eq!(held, 0, "day {day}");
        } else {
            assert_eq!(row["status"], "DONE", "day {day}");
            assert_eq!(row["progress"], 7);
            assert_eq!(held, 1);
        }
    }
    assert_eq!(task_row(&app, &ada, "坚持不懈").await["target"], 7);
    // The member shows the badge; one they do not hold is refused.
    let set = "mutation($c: String) { setDisplayedBadge(code: $c) }";
    app.gql(Some(&ada), set, json!({ "c": "PERSEVERANCE" }))
        .await
        .expect_ok();
    let shown = app
        .gql(Some(&ada), "{ me { displayedBadge } }", json!({}))
        .await;
    assert_eq!(shown.expect_ok()["me"]["displayedBadge"], "PERSEVERANCE");
    // Beside the member's name on the boards.
    let board = app
        .gql(
            Some(&ada),
            "{ leaderboard(board: STREAK, first: 10) { entries { badge isMe } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        board.expect_ok()["leaderboard"]["entries"],
        json!([{ "badge": "PERSEVERANCE", "isMe": true }])
    );
    let res = app.gql(Some(&ada), set, json!({ "c": "NOPE" })).await;
    res.expect_error("VALIDATION");
    assert_eq!(res.error_field(), Some("code"));
    drop(admin);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_claim_task_is_claimable_once_and_lapses_at_the_end_of_its_period() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let created = app
        .gql(
            Some(&admin),
            "mutation($i: TaskInput!) { createTask(input: $i) { id claimMode } }",
            json!({ "i": {
                "title": "看视频30分钟",
                "category": "DAILY",
                "eventType": "WATCH_MINUTES",
                "goal": "SUM",
                "target": 30,
                "rewardPoints": 15,
                "claimMode": "CLAIM",
            } }),
        )
        .await;
    let task = created.expect_ok()["createTask"]["id"].clone();
    let watch = |minutes: i64, key: &str| json!({ "m": ada.id, "t": "WATCH_MINUTES", "v": minutes, "k": key });
    app.gql(Some(&admin), RECORD, watch(20, "w1"))
        .await
        .expect_ok();
    let claim =
        "mutation($t: ID!, $p: String!) { claimTaskReward(taskId: $t, periodKey: $p) { id } }";
    let today = json!({ "t": task, "p": "2026-03-02" });
    app.gql(Some(&ada), claim, today.clone())
        .await
        .expect_error("TASK_NOT_CLAIMABLE");
    let done = app.gql(Some(&admin), RECORD, watch(15, "w2")).await;
    assert_eq!(
        done.expect_ok()["recordMemberEvent"]["completedTasks"],
        json!([{ "taskId": task, "periodKey": "2026-03-02", "paid": false }])
    );
    let row = task_row(&app, &ada, "看视频30分钟").await;
    assert_eq!(
        (row["status"].clone(), row["progress"].clone()),
        (json!("CLAIMABLE"), json!(30))
    );
    // Two claims at once: one pays.
    let (a, b) = tokio::join!(
        app.gql(Some(&ada), claim, today.clone()),
        app.gql(Some(&ada), claim, today.clone())
    );
    assert_eq!(
        [a.error_code(), b.error_code()]
            .iter()
            .filter(|c| c.is_none())
            .count(),
        1
    );
    assert_eq!(task_entries(&app, &ada).await, [15]);

    // The next day's completion is not claimed before the day ends: it lapses.
    app.set_clock("2026-03-03T02:00:00Z");
    app.gql(Some(&admin), RECORD, watch(40, "w3"))
        .await
        .expect_ok();
    app.set_clock("2026-03-04T02:00:00Z");
    app.gql(Some(&ada), claim, json!({ "t": task, "p": "2026-03-03" }))
        .await
        .expect_error("TASK_NOT_CLAIMABLE");
    assert_eq!(task_entries(&app, &ada).await, [15]);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn concurrent_events_reaching_a_target_pay_once() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    app.gql(
        Some(&admin),
        "mutation($i: TaskInput!) { createTask(input: $i) { id } }",
        json!({ "i": {
            "title": "读完五篇",
            "category": "ACHIEVEMENT",
            "eventType": "ARTICLE_READ",
            "target": 5,
            "rewardPoints": 40,
            "rewardGrowth": 10,
        } }),
    )
    .await
    .expect_ok();
    let keys: Vec<String> = (0..12).map(|n| format!("read-{n}")).collect();
    let reads = keys
        .iter()
        .map(|key| record(&app, &admin, &ada, "ARTICLE_READ", key));
    let results = futures::future::join_all(reads).await;
    let completions: usize = results
        .iter()
        .map(|r| {
            r.expect_ok()["recordMemberEvent"]["completedTasks"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(completions, 1);
    assert_eq!(task_entries(&app, &ada).await, [40]);
    let row = task_row(&app, &ada, "读完五篇").await;
    assert_eq!(
        (row["status"].clone(), row["progress"].clone()),
        (json!("DONE"), json!(5))
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn completing_the_profile_and_the_first_purchase_pay_their_newbie_tasks() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let update =
        "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { member { nickname } } }";
    app.gql(Some(&ada), update, json!({ "i": { "nickname": "Ada" } }))
        .await
        .expect_ok();
    assert_eq!(task_entries(&app, &ada).await, Vec::<i64>::new());
    app.gql(
        Some(&ada),
        update,
        json!({ "i": { "avatarUrl": "https://img.example.com/a.png", "birthday": "05-01" } }),
    )
    .await
    .expect_ok();
    assert_eq!(task_entries(&app, &ada).await, [20], "完善资料");
    app.gql(Some(&ada), update, json!({ "i": { "nickname": "Ada L" } }))
        .await
        .expect_ok();
    assert_eq!(task_entries(&app, &ada).await, [20], "once");

    // The first purchase counts when its points become available (7 days later).
    app.gql(
        Some(&admin),
        "mutation($m: ID!) { recordPurchase(memberId: $m, orderId: \"o1\", amountCents: 12000, occurredAt: \"2026-03-02T01:00:00Z\") { orderId } }",
        json!({ "m": ada.id }),
    )
    .await
    .expect_ok();
    assert_eq!(task_entries(&app, &ada).await, [20]);
    app.set_clock("2026-03-10T02:00:00Z");
    app.gql(
        Some(&admin),
        "mutation { runScheduledJobs { pointsExpired } }",
        json!({}),
    )
    .await
    .expect_ok();
    assert_eq!(task_entries(&app, &ada).await, [50, 20], "首次购物");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn badges_are_created_granted_for_their_days_and_listed() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let create = "mutation($i: BadgeInput!) { createBadge(input: $i) { code validDays } }";
    let star = json!({ "i": { "code": "WEEKLY_STAR", "name": "每周之星", "validDays": 7 } });
    app.gql(Some(&admin), create, star.clone())
        .await
        .expect_ok();
    app.gql(Some(&admin), create, star)
        .await
        .expect_error("CONFLICT");
    let bad = app
        .gql(
            Some(&admin),
            create,
            json!({ "i": { "code": "x", "name": "x" } }),
        )
        .await;
    bad.expect_error("VALIDATION");
    assert_eq!(bad.error_field(), Some("code"));
    let grant = "mutation($m: ID!, $c: String!) { grantBadge(memberId: $m, code: $c) }";
    app.gql(
        Some(&ada),
        grant,
        json!({ "m": ada.id, "c": "WEEKLY_STAR" }),
    )
    .await
    .expect_error("FORBIDDEN");
    app.gql(
        Some(&admin),
        grant,
        json!({ "m": ada.id, "c": "WEEKLY_STAR" }),
    )
    .await
    .expect_ok();
    let mine = "{ me { badges { badge { code } expiresAt } } }";
    let held = app.gql(Some(&ada), mine, json!({})).await;
    let held = held.expect_ok()["me"]["badges"].clone();
    assert_eq!(held[0]["badge"]["code"], "WEEKLY_STAR");
    let expires: chrono::DateTime<chrono::Utc> =
        held[0]["expiresAt"].as_str().unwrap().parse().unwrap();
    let week_on: chrono::DateTime<chrono::Utc> = "2026-03-09T02:00:00Z".parse().unwrap();
    assert!((expires - week_on).num_seconds().abs() < 60, "{expires}");
    app.set_clock("2026-03-10T02:00:00Z");
    let lapsed = app.gql(Some(&ada), mine, json!({})).await;
    assert_eq!(lapsed.expect_ok()["me"]["badges"], json!([]));
}

#[tokio::test]
async fn a_task_for_a_segment_pays_its_reward_unit_and_growth_only_to_its_members() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let bob = app.login_member("bob").await;
    let tag = app
        .gql(
            Some(&admin),
            "mutation { createTag(input: { name: \"读书会\" }) { id } }",
            json!({}),
        )
        .await;
    let tag = tag.expect_ok()["createTag"]["id"].clone();
    app.gql(
        Some(&admin),
        "mutation($t: ID!, $m: [ID!]!) { tagMembers(tagId: $t, memberIds: $m) }",
        json!({ "t": tag, "m": [ada.id] }),
    )
    .await
    .expect_ok();
    let segment = app
        .gql(
            Some(&admin),
            "mutation($t: ID!) { createSegment(input: { name: \"读书会成员\", filter: { tagIds: [$t] } }) { id } }",
            json!({ "t": tag }),
        )
        .await;
    let segment = segment.expect_ok()["createSegment"]["id"].clone();
    let book = app
        .gql(
            Some(&admin),
            "mutation { createReward(input: { title: \"电子书\", kind: VIRTUAL, pointsCost: 100 }) { id } }",
            json!({}),
        )
        .await;
    let book = book.expect_ok()["createReward"]["id"].clone();
    app.gql(
        Some(&admin),
        "mutation($i: TaskInput!) { createTask(input: $i) { id } }",
        json!({ "i": {
            "title": "读书会打卡",
            "category": "ACHIEVEMENT",
            "eventType": "ARTICLE_READ",
            "target": 1,
            "segmentId": segment,
            "rewardId": book,
            "rewardGrowth": 10,
        } }),
    )
    .await
    .expect_ok();
    assert!(
        task_row(&app, &bob, "读书会打卡").await.is_null(),
        "not in the segment"
    );
    assert_eq!(
        task_row(&app, &ada, "读书会打卡").await["status"],
        "IN_PROGRESS"
    );
    let growth = |member: &Session| {
        let member = member.clone();
        let app = &app;
        async move {
            let res = app
                .gql(
                    Some(&member),
                    "{ me { tier { progress { growth } } } }",
                    json!({}),
                )
                .await;
            res.expect_ok()["me"]["tier"]["progress"]["growth"].clone()
        }
    };
    for (member, key) in [(&ada, "a1"), (&bob, "b1")] {
        record(&app, &admin, member, "ARTICLE_READ", key)
            .await
            .expect_ok();
    }
    assert_eq!(growth(&ada).await, 10);
    assert_eq!(growth(&bob).await, 0);
    let books = "{ myRedemptions(first: 5) { edges { node { rewardId pointsTotal } } } }";
    let ada_books = app.gql(Some(&ada), books, json!({})).await;
    assert_eq!(
        ada_books.expect_ok()["myRedemptions"]["edges"],
        json!([{ "node": { "rewardId": book, "pointsTotal": 0 } }])
    );
    let bob_books = app.gql(Some(&bob), books, json!({})).await;
    assert_eq!(bob_books.expect_ok()["myRedemptions"]["edges"], json!([]));

    // Binding a verified phone pays the seeded 绑定手机 once.
    let bind = "mutation($c: String!) { bindPhoneByWeChat(code: $c) { member { phoneVerified } } }";
    app.gql(
        Some(&ada),
        bind,
        json!({ "c": "phone-code-86-13800138000" }),
    )
    .await
    .expect_ok();
    app.gql(
        Some(&ada),
        bind,
        json!({ "c": "phone-code-86-13900139000" }),
    )
    .await
    .expect_ok();
    assert_eq!(task_entries(&app, &ada).await, [30]);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn an_invitees_purchase_is_an_event_for_the_inviter() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let bob = app.login_member("bob").await;
    app.bind(&bob, &ada).await;
    for (title, event) in [
        ("邀请好友", "REFERRAL_COMPLETED"),
        ("好友下单", "INVITEE_PURCHASE"),
    ] {
        app.gql(
            Some(&admin),
            "mutation($i: TaskInput!) { createTask(input: $i) { id } }",
            json!({ "i": {
                "title": title,
                "category": "ACHIEVEMENT",
                "eventType": event,
                "target": 1,
                "rewardPoints": 30,
            } }),
        )
        .await
        .expect_ok();
    }
    // Bob's first sign-in completes the invite; his purchase is Ada's event too.
    app.sign_in(&bob).await;
    app.gql(
        Some(&admin),
        "mutation($m: ID!) { recordPurchase(memberId: $m, orderId: \"b1\", amountCents: 5000, occurredAt: \"2026-03-02T01:00:00Z\") { orderId } }",
        json!({ "m": bob.id }),
    )
    .await
    .expect_ok();
    assert_eq!(task_entries(&app, &ada).await, [30, 30]);
    assert_eq!(task_row(&app, &ada, "好友下单").await["status"], "DONE");
    assert_eq!(task_row(&app, &ada, "邀请好友").await["status"], "DONE");
    app.assert_ledger_invariants().await;
}
