//! Purchases from the mall or POS: pending points, the return window, refunds, the earning cap,
//! and points as cash at checkout.

use api::domain::auth::Role;
use serde_json::{Value, json};
use tests::{GqlResponse, Session, TestApp, spawn_app};

const RECORD: &str = "mutation($m: ID!, $o: String!, $c: Int!, $t: DateTime!) {
    recordPurchase(memberId: $m, orderId: $o, amountCents: $c, occurredAt: $t) {
        orderId status pointsRequested pointsGranted capped growth availableAt replayed
    }
}";
const REFUND: &str = "mutation($o: String!) {
    refundPurchase(orderId: $o) { pointsCancelled pointsReversed shortfall pointsReturned alreadyRefunded }
}";
const DEDUCT: &str = "mutation($m: ID!, $o: String!, $c: Int!, $p: Int!) {
    deductPointsForOrder(memberId: $m, orderId: $o, amountCents: $c, points: $p) { points deductionCents balanceAfter replayed }
}";

async fn record(
    app: &TestApp,
    admin: &Session,
    member: &Session,
    order: &str,
    cents: i64,
    at: &str,
) -> GqlResponse {
    app.gql(
        Some(admin),
        RECORD,
        json!({ "m": member.id, "o": order, "c": cents, "t": at }),
    )
    .await
}

async fn points(app: &TestApp, member: &Session) -> Value {
    app.points(member, "balance pendingPoints monthEarned monthRedeemed")
        .await
}

async fn setup() -> (TestApp, Session, Session) {
    let app = spawn_app().await;
    app.set_clock("2026-03-01T02:00:00Z");
    let admin = app.login_admin("pos", Role::Admin).await;
    let alice = app.login_member("alice").await;
    (app, admin, alice)
}

#[tokio::test]
async fn purchase_points_stay_pending_through_the_window_then_become_spendable() {
    let (app, admin, alice) = setup().await;

    let res = record(&app, &admin, &alice, "O-1", 12_345, "2026-03-01T01:00:00Z").await;

    assert_eq!(
        res.expect_ok()["recordPurchase"],
        json!({
            "orderId": "O-1", "status": "PENDING", "pointsRequested": 123, "pointsGranted": 123,
            "capped": false, "growth": 123, "availableAt": "2026-03-08T01:00:00+00:00", "replayed": false,
        })
    );
    assert_eq!(
        points(&app, &alice).await,
        json!({ "balance": 0, "pendingPoints": 123, "monthEarned": 123, "monthRedeemed": 0 })
    );
    let spend = app
        .gql(
            Some(&admin),
            DEDUCT,
            json!({ "m": alice.id, "o": "C-1", "c": 100_000, "p": 100 }),
        )
        .await;
    spend.expect_error("INSUFFICIENT_POINTS");

    app.set_clock("2026-03-08T01:00:01Z");

    // A read shows the matured points as spendable without writing anything...
    assert_eq!(points(&app, &alice).await["balance"], 123);
    assert_eq!(points(&app, &alice).await["pendingPoints"], 0);
    // ...and the next write (here the scheduled run) books them.
    let run = app
        .gql(
            Some(&admin),
            "mutation { runPointsExpiry { maturedPoints } }",
            json!({}),
        )
        .await;
    assert_eq!(run.expect_ok()["runPointsExpiry"]["maturedPoints"], 123);
    let history = app
        .gql(
            Some(&alice),
            "{ pointsHistory(kinds: [PURCHASE]) { edges { node { amount reference } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        history.expect_ok()["pointsHistory"]["edges"],
        json!([{ "node": { "amount": 123, "reference": "O-1" } }])
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn the_scheduled_run_makes_due_purchases_available() {
    let (app, admin, alice) = setup().await;
    record(&app, &admin, &alice, "O-1", 5_000, "2026-03-01T01:00:00Z")
        .await
        .expect_ok();
    app.advance_days(8);

    let run = app
        .gql(
            Some(&admin),
            "mutation { runPointsExpiry { maturedPoints } }",
            json!({}),
        )
        .await;

    assert_eq!(run.expect_ok()["runPointsExpiry"]["maturedPoints"], 50);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_refund_inside_the_window_cancels_the_pending_points_and_twice_is_a_no_op() {
    let (app, admin, alice) = setup().await;
    record(&app, &admin, &alice, "O-1", 12_345, "2026-03-01T01:00:00Z")
        .await
        .expect_ok();

    let first = app.gql(Some(&admin), REFUND, json!({ "o": "O-1" })).await;
    let second = app.gql(Some(&admin), REFUND, json!({ "o": "O-1" })).await;
    app.advance_days(10);

    assert_eq!(
        first.expect_ok()["refundPurchase"],
        json!({ "pointsCancelled": 123, "pointsReversed": 0, "shortfall": 0, "pointsReturned": 0, "alreadyRefunded": false })
    );
    assert_eq!(
        second.expect_ok()["refundPurchase"]["alreadyRefunded"],
        true
    );
    assert_eq!(points(&app, &alice).await["balance"], 0);
    assert_eq!(points(&app, &alice).await["pendingPoints"], 0);
    let growth = app.count("growth_entries").await;
    assert_eq!(growth, 0, "cancelled growth is never recorded");
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_refund_after_the_window_claws_back_down_to_zero_and_records_the_shortfall() {
    let (app, admin, alice) = setup().await;
    record(&app, &admin, &alice, "O-1", 20_000, "2026-03-01T01:00:00Z")
        .await
        .expect_ok();
    app.advance_days(8);
    // 200 for the purchase and 50 for the seeded 首次购物 task: 100 are left after spending.
    app.gql(
        Some(&admin),
        "mutation($m: ID!) { adjustPoints(memberId: $m, amount: -200, reason: \"spent\", idempotencyKey: \"s\") { balanceAfter } }",
        json!({ "m": alice.id }),
    )
    .await
    .expect_ok();

    let refund = app.gql(Some(&admin), REFUND, json!({ "o": "O-1" })).await;
    let again = app.gql(Some(&admin), REFUND, json!({ "o": "O-1" })).await;

    assert_eq!(
        refund.expect_ok()["refundPurchase"],
        json!({ "pointsCancelled": 0, "pointsReversed": 50, "shortfall": 150, "pointsReturned": 0, "alreadyRefunded": false })
    );
    assert_eq!(
        again.expect_ok()["refundPurchase"],
        json!({ "pointsCancelled": 0, "pointsReversed": 50, "shortfall": 150, "pointsReturned": 0, "alreadyRefunded": true })
    );
    assert_eq!(points(&app, &alice).await["balance"], 0);
    let history = app
        .gql(
            Some(&alice),
            "{ pointsHistory(kinds: [PURCHASE_REFUND]) { edges { node { amount note } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        history.expect_ok()["pointsHistory"]["edges"],
        json!([{ "node": { "amount": -50, "note": "shortfall 150" } }])
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn recording_is_idempotent_by_order_and_validated() {
    let (app, admin, alice) = setup().await;
    let first = record(&app, &admin, &alice, "O-1", 10_000, "2026-03-01T01:00:00Z").await;
    first.expect_ok();

    let replay = record(&app, &admin, &alice, "O-1", 10_000, "2026-03-01T01:00:00Z").await;
    let other = record(&app, &admin, &alice, "O-1", 10_001, "2026-03-01T01:00:00Z").await;
    let zero = record(&app, &admin, &alice, "O-2", 0, "2026-03-01T01:00:00Z").await;
    let future = record(&app, &admin, &alice, "O-3", 100, "2026-03-02T01:00:00Z").await;
    let by_member = record(&app, &alice, &alice, "O-4", 100, "2026-03-01T01:00:00Z").await;
    let operator = app.login_admin("helper", Role::Operator).await;
    let by_operator = record(&app, &operator, &alice, "O-5", 100, "2026-03-01T01:00:00Z").await;
    let unknown = app.gql(Some(&admin), REFUND, json!({ "o": "NOPE" })).await;

    assert_eq!(replay.expect_ok()["recordPurchase"]["replayed"], true);
    other.expect_error("CONFLICT");
    zero.expect_error("VALIDATION");
    assert_eq!(zero.errors()[0]["extensions"]["field"], "amountCents");
    future.expect_error("VALIDATION");
    by_member.expect_error("FORBIDDEN");
    by_operator.expect_error("FORBIDDEN");
    unknown.expect_error("NOT_FOUND");
    assert_eq!(points(&app, &alice).await["pendingPoints"], 100);
}

#[tokio::test]
async fn purchase_points_count_toward_the_monthly_cap() {
    let (app, admin, alice) = setup().await;

    let res = record(&app, &admin, &alice, "O-1", 150_000, "2026-03-01T01:00:00Z").await;

    let recorded = &res.expect_ok()["recordPurchase"];
    assert_eq!(recorded["pointsRequested"], 1500);
    assert_eq!(recorded["pointsGranted"], 1000);
    assert_eq!(recorded["capped"], true);
    let sign_in = app.sign_in(&alice).await;
    assert_eq!(sign_in["pointsGranted"], 0);
    assert_eq!(sign_in["capped"], true);
}

#[tokio::test]
async fn checkout_pays_within_the_order_share_the_redeem_cap_and_the_balance() {
    let (app, admin, alice) = setup().await;
    app.gql(
        Some(&admin),
        "mutation($m: ID!) { adjustPoints(memberId: $m, amount: 10000, reason: \"seed\", idempotencyKey: \"seed\") { balanceAfter } }",
        json!({ "m": alice.id }),
    )
    .await
    .expect_ok();

    let quote = app
        .gql(
            Some(&admin),
            "query($m: ID!) { quotePointsDeduction(memberId: $m, amountCents: 10000) { maxPoints maxDeductionCents balance rules { pointsPerYuan unit maxPercent } } }",
            json!({ "m": alice.id }),
        )
        .await;
    // A ¥100 order may take ¥50 = 5000 points, but NEW members redeem at most 2000 a month.
    assert_eq!(
        quote.expect_ok()["quotePointsDeduction"],
        json!({ "maxPoints": 2000, "maxDeductionCents": 2000, "balance": 10000, "rules": { "pointsPerYuan": 100, "unit": 100, "maxPercent": 50 } })
    );
    let over_share = app
        .gql(
            Some(&admin),
            DEDUCT,
            json!({ "m": alice.id, "o": "C-1", "c": 10_000, "p": 5_100 }),
        )
        .await;
    let over_cap = app
        .gql(
            Some(&admin),
            DEDUCT,
            json!({ "m": alice.id, "o": "C-1", "c": 10_000, "p": 3_000 }),
        )
        .await;
    let odd = app
        .gql(
            Some(&admin),
            DEDUCT,
            json!({ "m": alice.id, "o": "C-1", "c": 10_000, "p": 150 }),
        )
        .await;
    let paid = app
        .gql(
            Some(&admin),
            DEDUCT,
            json!({ "m": alice.id, "o": "C-1", "c": 10_000, "p": 2_000 }),
        )
        .await;
    let replay = app
        .gql(
            Some(&admin),
            DEDUCT,
            json!({ "m": alice.id, "o": "C-1", "c": 10_000, "p": 2_000 }),
        )
        .await;
    let capped = app
        .gql(
            Some(&admin),
            DEDUCT,
            json!({ "m": alice.id, "o": "C-2", "c": 10_000, "p": 100 }),
        )
        .await;

    over_share.expect_error("VALIDATION");
    over_cap.expect_error("MONTHLY_REDEEM_CAP_REACHED");
    assert_eq!(over_cap.errors()[0]["extensions"]["remaining"], 2000);
    odd.expect_error("VALIDATION");
    assert_eq!(
        paid.expect_ok()["deductPointsForOrder"],
        json!({ "points": 2000, "deductionCents": 2000, "balanceAfter": 8000, "replayed": false })
    );
    assert_eq!(replay.expect_ok()["deductPointsForOrder"]["replayed"], true);
    capped.expect_error("MONTHLY_REDEEM_CAP_REACHED");
    assert_eq!(points(&app, &alice).await["monthRedeemed"], 2000);

    let refund = app.gql(Some(&admin), REFUND, json!({ "o": "C-1" })).await;
    assert_eq!(refund.expect_ok()["refundPurchase"]["pointsReturned"], 2000);
    assert_eq!(points(&app, &alice).await["balance"], 10000);
    app.assert_ledger_invariants().await;
}
