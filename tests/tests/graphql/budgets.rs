//! Hot-path budgets (README "Budgets"): the SQL statements each operation sends to PostgreSQL,
//! read off the wire by a logging relay, and the Redis round trips it makes. Counts, not
//! timings: a change that adds a statement fails here with the list of what ran. PostgreSQL +
//! Redis only (the budgets are written for the production backends).

use api::domain::auth::Role;
use serde_json::{Value, json};
use tests::{Session, StatementLog, TestApp, spawn_app_logging_statements};

/// What one request cost.
struct Cost {
    statements: Vec<String>,
    redis_round_trips: u64,
}

impl Cost {
    #[track_caller]
    fn within(&self, operation: &str, statements: usize, redis: u64) {
        let listing = self
            .statements
            .iter()
            .map(|sql| format!("  {}", sql.chars().take(160).collect::<String>()))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            self.statements.len() <= statements,
            "{operation}: {} SQL statements, budget {statements}:\n{listing}",
            self.statements.len()
        );
        assert!(
            self.redis_round_trips <= redis,
            "{operation}: {} Redis round trips, budget {redis}",
            self.redis_round_trips
        );
    }

    fn opens_a_transaction(&self) -> bool {
        self.statements
            .iter()
            .any(|sql| sql.starts_with("BEGIN") || sql.contains("FOR UPDATE"))
    }
}

async fn cost_of(
    app: &TestApp,
    log: &StatementLog,
    caller: &Session,
    query: &str,
    variables: Value,
) -> Cost {
    let round_trips = || app.services.health.redis_round_trips().unwrap_or(0);
    let before = round_trips();
    log.clear();
    app.gql(Some(caller), query, variables).await.expect_ok();
    Cost {
        statements: log.executed(),
        redis_round_trips: round_trips().saturating_sub(before),
    }
}

const BOARD: &str = "{ leaderboard(board: POINTS_MONTH, first: 100) { entries { rank displayName tier score } me { rank } } }";

/// A member who signed in yesterday and a programme whose rules and board are warm.
async fn warm_member(app: &TestApp) -> Session {
    let alice = app.login_member("alice").await;
    app.sign_in(&alice).await;
    app.gql(Some(&alice), BOARD, json!({})).await.expect_ok();
    app.advance_days(1);
    alice
}

#[tokio::test]
async fn a_sign_in_on_the_common_path_is_twelve_statements_and_two_redis_round_trips() {
    let Some((app, log)) = spawn_app_logging_statements(&[]).await else {
        return;
    };
    let alice = warm_member(&app).await;
    let cost = cost_of(
        &app,
        &log,
        &alice,
        "mutation { signIn { streak } }",
        json!({}),
    )
    .await;
    // Ten, and two for the SIGN_IN event's task progress (the seeded 坚持不懈 counts it).
    cost.within("signIn", 12, 2);
}

#[tokio::test]
async fn a_sign_in_that_reaches_out_adds_a_statement_per_channel() {
    let Some((app, log)) = spawn_app_logging_statements(&[]).await else {
        return;
    };
    let admin = app.login_admin("boss", Role::Admin).await;
    let template = json!([{
        "kind": "POINTS_EARNED",
        "templateId": "tpl-points",
        "fields": [{ "key": "thing1", "value": "{body}" }],
    }]);
    app.gql(
        Some(&admin),
        "mutation($t: [MessageTemplateInput!]!) { updateMessageTemplates(input: $t) { kind } }",
        json!({ "t": template }),
    )
    .await
    .expect_ok();
    let webhook = json!({
        "url": "https://crm.example.com/hooks",
        "secret": "whsec-0123456789abcdef",
        "events": ["POINTS_CHANGED"],
    });
    app.gql(
        Some(&admin),
        "mutation($w: CreateWebhookInput!) { createWebhook(input: $w) { id } }",
        json!({ "w": webhook }),
    )
    .await
    .expect_ok();
    let alice = warm_member(&app).await;
    for _ in 0..2 {
        app.gql(
            Some(&alice),
            "mutation { recordMessageSubscriptions(input: [{ templateId: \"tpl-points\", accepted: true }]) { remaining } }",
            json!({}),
        )
        .await
        .expect_ok();
    }
    let cost = cost_of(
        &app,
        &log,
        &alice,
        "mutation { signIn { streak } }",
        json!({}),
    )
    .await;
    // The common path, plus one statement that uses the consent and queues the subscribe
    // message, plus one that queues the webhook call.
    cost.within("signIn with a subscribe message and a webhook", 14, 2);
}

#[tokio::test]
async fn the_member_card_is_one_read_without_a_transaction_or_a_lock() {
    let Some((app, log)) = spawn_app_logging_statements(&[]).await else {
        return;
    };
    let alice = warm_member(&app).await;
    let me = "{ me { id points { balance pendingPoints } tier { current { code } } } }";
    let cost = cost_of(&app, &log, &alice, me, json!({})).await;
    cost.within("me", 1, 1);
    assert!(!cost.opens_a_transaction(), "{:?}", cost.statements);
}

#[tokio::test]
async fn a_board_page_with_the_callers_place_is_one_statement_and_two_redis_round_trips() {
    let Some((app, log)) = spawn_app_logging_statements(&[]).await else {
        return;
    };
    if app.services.health.redis_round_trips().is_none() {
        return;
    }
    let alice = warm_member(&app).await;
    let cost = cost_of(&app, &log, &alice, BOARD, json!({})).await;
    cost.within("leaderboard", 1, 2);
}

#[tokio::test]
async fn redemptions_purchases_and_checkout_stay_within_their_budgets() {
    let Some((app, log)) = spawn_app_logging_statements(&[]).await else {
        return;
    };
    let admin = app.login_admin("boss", Role::Admin).await;
    // One lot of points: a debit consumes one lot (each further lot is one more statement).
    let alice = app.login_member("alice").await;
    app.adjust_points(&admin, &alice, 1_000, "seed").await;
    let reward = app
        .gql(
            Some(&admin),
            "mutation { createReward(input: { title: \"Mug\", kind: VIRTUAL, pointsCost: 10 }) { id } }",
            json!({}),
        )
        .await;
    let reward = reward.expect_ok()["createReward"]["id"].clone();

    let redeem = "mutation($r: ID!) { redeemReward(rewardId: $r, quantity: 1, idempotencyKey: \"k1\") { balanceAfter } }";
    let cost = cost_of(&app, &log, &alice, redeem, json!({ "r": reward })).await;
    cost.within("redeemReward", 14, 2);

    let purchase = "mutation($m: ID!) { recordPurchase(memberId: $m, orderId: \"O-1\", amountCents: 12300, occurredAt: \"2026-12-01T00:00:00Z\") { pointsGranted } }";
    let cost = cost_of(&app, &log, &admin, purchase, json!({ "m": alice.id })).await;
    cost.within("recordPurchase", 11, 2);

    let deduct = "mutation($m: ID!) { deductPointsForOrder(memberId: $m, orderId: \"O-2\", amountCents: 100000, points: 100) { balanceAfter } }";
    let cost = cost_of(&app, &log, &admin, deduct, json!({ "m": alice.id })).await;
    cost.within("deductPointsForOrder", 13, 2);
}

#[tokio::test]
async fn a_segment_count_is_one_query_after_the_admin_and_rules_checks() {
    let Some((app, log)) = spawn_app_logging_statements(&[]).await else {
        return;
    };
    let admin = app.login_admin("boss", Role::Admin).await;
    let preview = "{ previewSegment(filter: { tiers: [\"NEW\"], rfmGroups: [IMPORTANT_VALUE], anyOf: [{ lifecycleStages: [AT_RISK] }, { tagIds: [\"1\"] }] }) { count } }";
    // A first request warms the rules cache.
    app.gql(Some(&admin), preview, json!({})).await.expect_ok();
    let cost = cost_of(&app, &log, &admin, preview, json!({})).await;
    // The admin check, the rules' version (the thresholds are rules), the count itself.
    cost.within("previewSegment { count }", 3, 1);
    assert!(!cost.opens_a_transaction(), "a count takes no lock");
}

#[tokio::test]
async fn an_event_costs_the_same_statements_whatever_the_number_of_tasks() {
    let Some((app, log)) = spawn_app_logging_statements(&[]).await else {
        return;
    };
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    let record = "mutation($m: ID!, $k: String!) { recordMemberEvent(memberId: $m, type: \"ARTICLE_READ\", idempotencyKey: $k) { replayed } }";
    let add_task = |n: usize| {
        json!({ "i": {
            "title": format!("读文章 {n}"),
            "category": "ACHIEVEMENT",
            "eventType": "ARTICLE_READ",
            "target": 1000,
            "rewardPoints": 1,
        } })
    };
    let create = "mutation($i: TaskInput!) { createTask(input: $i) { id } }";
    app.gql(Some(&admin), create, add_task(0)).await.expect_ok();
    // Warm the rules cache with the task in it.
    app.gql(Some(&admin), record, json!({ "m": alice.id, "k": "warm" }))
        .await
        .expect_ok();
    let one = cost_of(
        &app,
        &log,
        &admin,
        record,
        json!({ "m": alice.id, "k": "one" }),
    )
    .await;
    for n in 1..6 {
        app.gql(Some(&admin), create, add_task(n)).await.expect_ok();
    }
    app.gql(
        Some(&admin),
        record,
        json!({ "m": alice.id, "k": "warm-again" }),
    )
    .await
    .expect_ok();
    let six = cost_of(
        &app,
        &log,
        &admin,
        record,
        json!({ "m": alice.id, "k": "six" }),
    )
    .await;
    // The admin check, BEGIN, the lock and the member, the key, the event, the progress
    // read and its write, COMMIT.
    one.within("recordMemberEvent, one task", 10, 1);
    six.within("recordMemberEvent, six tasks", 10, 1);
    assert_eq!(one.statements.len(), six.statements.len());
}

#[tokio::test]
async fn a_yearly_report_reads_five_statements_whatever_the_history() {
    let Some((app, log)) = spawn_app_logging_statements(&[]).await else {
        return;
    };
    let alice = warm_member(&app).await;
    let report = "query($p: ReportPeriod!, $at: Date!) { myReport(period: $p, at: $at) {
        pointsEarned pointsSpent signIns bestStreak redemptions tierAtStart tierAtEnd badges
        percentile comparedWith } }";
    let today = app.clock.now().date_naive().to_string();
    let cost = cost_of(
        &app,
        &log,
        &alice,
        report,
        json!({ "p": "YEAR", "at": today }),
    )
    .await;
    // The member, their month rows, their tier changes, their badges, and one aggregate for
    // the percentile: month rows, never the history.
    cost.within("myReport(period: YEAR)", 5, 1);
    assert!(!cost.opens_a_transaction(), "a report takes no lock");
}
