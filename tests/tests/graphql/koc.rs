//! The KOC programme (SPEC §7): applications, tasks, MANUAL review with resubmission, AUTO
//! tasks, score and levels.

use api::domain::auth::Role;
use serde_json::{Value, json};
use tests::{Session, TestApp, spawn_app, spawn_app_with};

const INBOX_KINDS: &str = "{ inbox(first: 50) { edges { node { kind body } } } }";

#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helper: a failed setup should fail the test"
)]
async fn inbox_kinds(app: &TestApp, member: &Session) -> Vec<(String, String)> {
    let res = app.gql(Some(member), INBOX_KINDS, json!({})).await;
    res.expect_ok()["inbox"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["kind"].as_str().unwrap().to_owned(),
                e["node"]["body"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helper: a failed setup should fail the test"
)]
async fn create_task(app: &TestApp, admin: &Session, input: Value) -> String {
    let res = app
        .gql(
            Some(admin),
            "mutation($input: KocTaskInput!) { createKocTask(input: $input) { id } }",
            json!({ "input": input }),
        )
        .await;
    res.expect_ok()["createKocTask"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helper: a failed setup should fail the test"
)]
async fn task_status(app: &TestApp, member: &Session, task_id: &str) -> Value {
    let res = app
        .gql(
            Some(member),
            "{ kocTasks { task { id } periodKey completed pending remaining progress available unavailableReason } }",
            json!({}),
        )
        .await;
    res.expect_ok()["kocTasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"]["id"] == task_id)
        .cloned()
        .unwrap_or(Value::Null)
}

#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helper: a failed setup should fail the test"
)]
async fn growth(app: &TestApp, member: &Session) -> i64 {
    let res = app
        .gql(
            Some(member),
            "{ me { tier { progress { growth } } } }",
            json!({}),
        )
        .await;
    res.expect_ok()["me"]["tier"]["progress"]["growth"]
        .as_i64()
        .unwrap()
}

const SUBMIT: &str = "mutation($t: ID!, $p: KocProofInput!) { submitKocTask(taskId: $t, proof: $p) { id status attempts taskTitle } }";
const REVIEW: &str = "mutation($id: ID!, $ok: Boolean!, $note: String) { reviewKocSubmission(id: $id, approve: $ok, note: $note) { submission { status note } pointsAwarded growthAwarded scoreAwarded } }";

#[tokio::test]
async fn a_kocs_whole_path_from_application_to_level_two() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let operator = app.login_admin("ops", Role::Operator).await;
    let alice = app.login_member("alice").await;
    let apply = r#"mutation { applyKoc(platforms: [{platform: "小红书", handle: "alice", followers: 3000}], reason: "分享真实体验") { id status platforms { platform followers } } }"#;

    // A new member is below the KOC tier.
    let refused = app.gql(Some(&alice), apply, json!({})).await;
    refused.expect_error("KOC_NOT_ELIGIBLE");
    assert_eq!(refused.errors()[0]["extensions"]["requiredTier"], "REGULAR");

    app.set_tier(&alice, "REGULAR").await;
    let applied = app.gql(Some(&alice), apply, json!({})).await;
    let application = applied.expect_ok()["applyKoc"].clone();
    assert_eq!(application["status"], "PENDING");
    assert_eq!(application["platforms"][0]["followers"], 3000);
    app.gql(Some(&alice), apply, json!({}))
        .await
        .expect_error("CONFLICT");

    let task = create_task(
        &app,
        &admin,
        json!({ "title": "写一篇测评", "kind": "REVIEW", "rewardPoints": 100, "rewardGrowth": 10,
                "rewardScore": 300, "period": "WEEKLY", "maxCompletions": 1 }),
    )
    .await;
    // Not a KOC yet.
    app.gql(
        Some(&alice),
        SUBMIT,
        json!({ "t": task, "p": { "url": "https://xhs.example/1" } }),
    )
    .await
    .expect_error("KOC_REQUIRED");
    assert_eq!(
        task_status(&app, &alice, &task).await["unavailableReason"],
        "NOT_KOC"
    );

    // The queue shows the application; an operator approves it.
    let queue = app
        .gql(
            Some(&operator),
            "{ kocApplications(status: PENDING) { edges { node { id memberId } } } }",
            json!({}),
        )
        .await;
    let queued = queue.expect_ok()["kocApplications"]["edges"].clone();
    assert_eq!(queued.as_array().unwrap().len(), 1);
    assert_eq!(queued[0]["node"]["memberId"], alice.id.as_str());
    let approved = app
        .gql(
            Some(&operator),
            "mutation($id: ID!) { reviewKocApplication(id: $id, approve: true, note: \"欢迎\") { status } }",
            json!({ "id": application["id"] }),
        )
        .await;
    assert_eq!(
        approved.expect_ok()["reviewKocApplication"]["status"],
        "APPROVED"
    );
    let koc = app
        .gql(
            Some(&alice),
            "{ myKoc { level levelName scoreTotal nextLevelScore } }",
            json!({}),
        )
        .await;
    assert_eq!(
        koc.expect_ok()["myKoc"],
        json!({ "level": 1, "levelName": "体验官", "scoreTotal": 0, "nextLevelScore": 300 })
    );
    assert!(
        inbox_kinds(&app, &alice)
            .await
            .iter()
            .any(|(kind, _)| kind == "KOC_APPLICATION_REVIEWED")
    );

    // MANUAL: proof is required; one completion this week, a pending one uses it.
    let status = task_status(&app, &alice, &task).await;
    assert_eq!(status["available"], true);
    assert_eq!(status["remaining"], 1);
    app.gql(Some(&alice), SUBMIT, json!({ "t": task, "p": {} }))
        .await
        .expect_error("VALIDATION");
    let submitted = app
        .gql(Some(&alice), SUBMIT, json!({ "t": task, "p": { "url": "https://xhs.example/1", "imageUrls": ["https://img.example/a.jpg"] } }))
        .await;
    let submission = submitted.expect_ok()["submitKocTask"].clone();
    assert_eq!(submission["status"], "PENDING");
    assert_eq!(submission["taskTitle"], "写一篇测评");
    app.gql(
        Some(&alice),
        SUBMIT,
        json!({ "t": task, "p": { "text": "again" } }),
    )
    .await
    .expect_error("TASK_UNAVAILABLE");
    let status = task_status(&app, &alice, &task).await;
    assert_eq!(
        (status["pending"].as_i64(), status["remaining"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(status["unavailableReason"], "LIMIT_REACHED");

    // Rejected with a note (a rejection needs one), resubmitted, approved.
    app.gql(
        Some(&operator),
        REVIEW,
        json!({ "id": submission["id"], "ok": false }),
    )
    .await
    .expect_error("VALIDATION");
    let rejected = app
        .gql(
            Some(&operator),
            REVIEW,
            json!({ "id": submission["id"], "ok": false, "note": "图片不清晰" }),
        )
        .await;
    assert_eq!(
        rejected.expect_ok()["reviewKocSubmission"]["submission"],
        json!({ "status": "REJECTED", "note": "图片不清晰" })
    );
    assert!(
        inbox_kinds(&app, &alice)
            .await
            .iter()
            .any(|(kind, body)| kind == "KOC_SUBMISSION_REVIEWED" && body.contains("图片不清晰"))
    );
    assert_eq!(task_status(&app, &alice, &task).await["remaining"], 1);
    let resubmitted = app
        .gql(
            Some(&alice),
            "mutation($id: ID!) { resubmitKocTask(submissionId: $id, proof: { url: \"https://xhs.example/2\" }) { status attempts } }",
            json!({ "id": submission["id"] }),
        )
        .await;
    assert_eq!(
        resubmitted.expect_ok()["resubmitKocTask"],
        json!({ "status": "PENDING", "attempts": 2 })
    );
    let growth_before = growth(&app, &alice).await;
    let approved = app
        .gql(
            Some(&operator),
            REVIEW,
            json!({ "id": submission["id"], "ok": true }),
        )
        .await;
    // Points as set (not multiplied); growth times the level-1 coefficient 1.2.
    assert_eq!(
        approved.expect_ok()["reviewKocSubmission"],
        json!({ "submission": { "status": "APPROVED", "note": null },
                "pointsAwarded": 100, "growthAwarded": 12, "scoreAwarded": 300 })
    );
    assert_eq!(growth(&app, &alice).await - growth_before, 12);
    assert_eq!(app.balance(&alice).await, 100);
    app.gql(
        Some(&operator),
        REVIEW,
        json!({ "id": submission["id"], "ok": true }),
    )
    .await
    .expect_error("CONFLICT");
    // 300 score reaches level 2, whose coefficient is 1.5.
    let koc = app
        .gql(
            Some(&alice),
            "{ me { koc { level levelName scoreTotal scoreThisMonth } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        koc.expect_ok()["me"]["koc"],
        json!({ "level": 2, "levelName": "测评官", "scoreTotal": 300, "scoreThisMonth": 300 })
    );
    let board = app
        .gql(
            Some(&alice),
            "{ leaderboard(board: KOC_MONTH) { me { rank score } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        board.expect_ok()["leaderboard"]["me"],
        json!({ "rank": 1, "score": 300 })
    );
    let history = app
        .gql(
            Some(&alice),
            "{ pointsHistory(first: 5) { edges { node { kind amount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        history.expect_ok()["pointsHistory"]["edges"][0]["node"],
        json!({ "kind": "KOC_TASK", "amount": 100 })
    );
    let before = growth(&app, &alice).await;
    app.sign_in(&alice).await;
    assert_eq!(growth(&app, &alice).await - before, 1, "floor(1 × 1.5)");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn tasks_above_the_level_closed_or_auto_cannot_be_submitted() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    app.make_koc(&alice, &admin).await;
    let now = app.clock.now();
    let senior = create_task(&app, &admin, json!({ "title": "产品共创", "kind": "CONTENT", "rewardPoints": 10, "period": "MONTHLY", "minKocLevel": 3 })).await;
    let ended = create_task(&app, &admin, json!({ "title": "双十一转发", "kind": "SHARE", "rewardPoints": 10, "period": "DAILY",
        "startsAt": (now - chrono::TimeDelta::days(10)).to_rfc3339(), "endsAt": (now - chrono::TimeDelta::days(1)).to_rfc3339() })).await;
    let auto = create_task(&app, &admin, json!({ "title": "拉新", "kind": "REFERRAL", "rewardPoints": 10, "period": "ONCE", "verification": "AUTO", "target": 2 })).await;
    let proof = json!({ "text": "done" });
    for (task, reason) in [
        (&senior, "LEVEL_TOO_LOW"),
        (&ended, "ENDED"),
        (&auto, "AUTO_VERIFIED"),
    ] {
        assert_eq!(
            task_status(&app, &alice, task).await["unavailableReason"],
            reason
        );
        app.gql(Some(&alice), SUBMIT, json!({ "t": task, "p": proof }))
            .await
            .expect_error("TASK_UNAVAILABLE");
    }
    // Bad task definitions are refused field by field.
    let bad = app
        .gql(
            Some(&admin),
            "mutation { createKocTask(input: { title: \"x\", kind: SHARE, rewardPoints: 1, period: DAILY, verification: AUTO, target: 3 }) { id } }",
            json!({}),
        )
        .await;
    bad.expect_error("VALIDATION");
    assert_eq!(bad.errors()[0]["extensions"]["field"], "verification");
    // Retiring hides a task from members; a task with work cannot be deleted, others can.
    app.gql(
        Some(&admin),
        "mutation($id: ID!) { updateKocTask(id: $id, input: { title: \"产品共创\", kind: CONTENT, rewardPoints: 10, period: MONTHLY, minKocLevel: 3, active: false }) { active } }",
        json!({ "id": senior }),
    )
    .await
    .expect_ok();
    assert_eq!(task_status(&app, &alice, &senior).await, Value::Null);
    app.gql(
        Some(&admin),
        "mutation($id: ID!) { deleteKocTask(id: $id) }",
        json!({ "id": senior }),
    )
    .await
    .expect_ok();
    // Members cannot review or define tasks.
    app.gql(Some(&alice), REVIEW, json!({ "id": "1", "ok": true }))
        .await
        .expect_error("FORBIDDEN");
}

#[tokio::test]
async fn the_seeded_tasks_come_in_rising_difficulty() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let res = app
        .gql(
            Some(&admin),
            "{ allKocTasks { kind verification target } }",
            json!({}),
        )
        .await;
    let kinds: Vec<String> = res.expect_ok()["allKocTasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "SHARE",
            "REVIEW",
            "COMMUNITY",
            "REFERRAL",
            "CONTENT",
            "SALES"
        ]
    );
}

#[tokio::test]
async fn an_auto_referral_task_completes_when_the_third_invitee_signs_in() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    // Only this scenario's task runs (the seeded ones are retired).
    app.execute("UPDATE koc_tasks SET active = false").await;
    let alice = app.login_member("alice").await;
    app.make_koc(&alice, &admin).await;
    let task = create_task(
        &app,
        &admin,
        json!({ "title": "推荐 3 位好友", "kind": "REFERRAL", "rewardPoints": 60,
        "rewardScore": 40, "period": "ONCE", "verification": "AUTO", "target": 3 }),
    )
    .await;

    let mut friends = Vec::new();
    for name in ["f1", "f2", "f3"] {
        let friend = app.login_member(name).await;
        app.bind(&friend, &alice).await;
        friends.push(friend);
    }
    for friend in &friends[..2] {
        app.sign_in(friend).await;
    }
    let status = task_status(&app, &alice, &task).await;
    assert_eq!(
        (status["progress"].as_i64(), status["completed"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(app.balance(&alice).await, 100);

    app.sign_in(&friends[2]).await;
    let status = task_status(&app, &alice, &task).await;
    assert_eq!(
        (status["progress"].as_i64(), status["completed"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(status["unavailableReason"], "LIMIT_REACHED");
    // 3 invites × 50, plus the task's 60.
    assert_eq!(app.balance(&alice).await, 210);
    let koc = app
        .gql(Some(&alice), "{ myKoc { scoreTotal } }", json!({}))
        .await;
    assert_eq!(koc.expect_ok()["myKoc"]["scoreTotal"], 40);
    let mine = app
        .gql(
            Some(&alice),
            "{ myKocSubmissions { edges { node { auto status taskTitle } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine.expect_ok()["myKocSubmissions"]["edges"][0]["node"],
        json!({ "auto": true, "status": "APPROVED", "taskTitle": "推荐 3 位好友" })
    );
    // A fourth invitee pays no second completion of a ONCE task.
    let f4 = app.login_member("f4").await;
    app.bind(&f4, &alice).await;
    app.sign_in(&f4).await;
    assert_eq!(task_status(&app, &alice, &task).await["completed"], 1);
    assert_eq!(app.balance(&alice).await, 260);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn an_auto_sales_task_counts_purchases_by_invitees() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    app.execute("UPDATE koc_tasks SET active = false").await;
    let alice = app.login_member("alice").await;
    app.make_koc(&alice, &admin).await;
    let task = create_task(
        &app,
        &admin,
        json!({ "title": "好友下单 2 笔", "kind": "SALES", "rewardPoints": 30,
        "period": "MONTHLY", "verification": "AUTO", "target": 2, "maxCompletions": 2 }),
    )
    .await;
    let bob = app.login_member("bob").await;
    app.bind(&bob, &alice).await;
    let record = "mutation($m: ID!, $o: String!, $at: DateTime!) { recordPurchase(memberId: $m, orderId: $o, amountCents: 1000, occurredAt: $at) { replayed } }";
    for order in ["o-1", "o-2", "o-3"] {
        app.gql(
            Some(&admin),
            record,
            json!({ "m": bob.id, "o": order, "at": app.clock.now().to_rfc3339() }),
        )
        .await
        .expect_ok();
    }
    let status = task_status(&app, &alice, &task).await;
    assert_eq!(
        (status["progress"].as_i64(), status["completed"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(app.balance(&alice).await, 30);
}

#[tokio::test]
async fn koc_submissions_are_rate_limited_per_member() {
    let app = spawn_app_with(&[("MEMBERCARD_RATE_LIMIT_KOC_SUBMISSION", "2/3600")]).await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    app.make_koc(&alice, &admin).await;
    let task = create_task(&app, &admin, json!({ "title": "转发", "kind": "SHARE", "rewardPoints": 1, "period": "DAILY", "maxCompletions": 10 })).await;
    let proof = json!({ "t": task, "p": { "text": "ok" } });
    app.gql(Some(&alice), SUBMIT, proof.clone())
        .await
        .expect_ok();
    app.gql(Some(&alice), SUBMIT, proof.clone())
        .await
        .expect_ok();
    let limited = app.gql(Some(&alice), SUBMIT, proof).await;
    limited.expect_error("RATE_LIMITED");
    let wait = limited.errors()[0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
}

#[tokio::test]
async fn concurrent_approvals_for_one_member_never_pay_past_the_monthly_cap() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let operator = app.login_admin("ops", Role::Operator).await;
    let kim = app.login_member("kim").await;
    app.make_koc(&kim, &operator).await;
    // A cap of 100 a month, and ten completions of 30 points each waiting for review.
    let tier = app.tier_code(&kim).await;
    app.gql(
        Some(&admin),
        "mutation($c: String!) { updateTier(code: $c, input: { monthlyEarnCap: 100 }) { code } }",
        json!({ "c": tier }),
    )
    .await
    .expect_ok();
    let task = create_task(
        &app,
        &admin,
        json!({ "title": "Share", "kind": "SHARE", "rewardPoints": 30, "period": "ONCE", "maxCompletions": 10 }),
    )
    .await;
    let mut submissions = Vec::new();
    for n in 0..10 {
        let res = app
            .gql(
                Some(&kim),
                SUBMIT,
                json!({ "t": task, "p": { "text": format!("post {n}") } }),
            )
            .await;
        submissions.push(res.expect_ok()["submitKocTask"]["id"].clone());
    }

    let approvals = submissions
        .iter()
        .map(|id| app.gql(Some(&operator), REVIEW, json!({ "id": id, "ok": true })));
    let paid: i64 = futures::future::join_all(approvals)
        .await
        .iter()
        .map(|res| {
            res.expect_ok()["reviewKocSubmission"]["pointsAwarded"]
                .as_i64()
                .unwrap_or_default()
        })
        .sum();

    let month = app
        .points(&kim, "monthEarned monthCutByCap monthEarnCap")
        .await;
    assert_eq!(paid, 100, "{month}");
    assert_eq!(app.balance(&kim).await, 100);
    assert_eq!(
        month,
        json!({ "monthEarned": 100, "monthCutByCap": 200, "monthEarnCap": 100 })
    );
    app.assert_ledger_invariants().await;
}
