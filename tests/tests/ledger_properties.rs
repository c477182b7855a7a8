//! Property test: random sequences of earning, spending, sign-ins, purchases and refunds, clock
//! moves and expiry,
//! driven through the service layer against a real database, keep the ledger invariants after
//! every step (balance ≥ 0; balance = sum of entries = sum of spendable lots), and a debit
//! succeeds exactly when the spendable balance covers it.

use chrono::TimeDelta;
use proptest::collection::vec;
use proptest::prelude::*;
use tests::spawn_app;

#[derive(Debug, Clone)]
enum Op {
    Earn(i64),
    Spend(i64),
    SignIn,
    /// A purchase of this many cents, reported now.
    Purchase(i64),
    /// Refund the n-th purchase made so far (modulo their number).
    Refund(usize),
    AdvanceDays(i64),
    Expire,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1_i64..500).prop_map(Op::Earn),
        (1_i64..400).prop_map(Op::Spend),
        Just(Op::SignIn),
        (100_i64..100_000).prop_map(Op::Purchase),
        (0_usize..8).prop_map(Op::Refund),
        (1_i64..200).prop_map(Op::AdvanceDays),
        Just(Op::Expire),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn ledger_invariants_hold_over_random_sequences(ops in vec(op(), 1..25)) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = spawn_app().await;
            app.set_clock("2026-01-10T02:00:00Z");
            let services = &app.services;
            let (member, _) = services.auth.ensure_member("property", None).await.unwrap();
            let mut orders: Vec<String> = Vec::new();
            for (step, op) in ops.iter().enumerate() {
                match op {
                    Op::Earn(amount) => {
                        services
                            .points
                            .adjust(member.id, *amount, "property", &format!("earn-{step}"))
                            .await
                            .unwrap();
                    }
                    Op::Spend(amount) => {
                        let before = services.points.glance(member.id).await.unwrap().balance;
                        let result = services
                            .points
                            .adjust(member.id, -amount, "property", &format!("spend-{step}"))
                            .await;
                        let after = services.points.glance(member.id).await.unwrap().balance;
                        if *amount > before {
                            assert_eq!(result.unwrap_err().code(), "INSUFFICIENT_POINTS");
                            assert_eq!(after, before);
                        } else {
                            assert_eq!(result.unwrap().balance_after, before - amount);
                            assert_eq!(after, before - amount);
                        }
                    }
                    Op::SignIn => {
                        if let Err(e) = services.signin.sign_in(member.id).await {
                            assert_eq!(e.code(), "ALREADY_SIGNED_IN");
                        }
                    }
                    Op::Purchase(cents) => {
                        let order = format!("order-{step}");
                        services
                            .purchases
                            .record(member.id, &order, *cents, app.clock.now())
                            .await
                            .unwrap();
                        orders.push(order);
                    }
                    Op::Refund(n) => {
                        if !orders.is_empty() {
                            let order = &orders[n % orders.len()];
                            let before = services.points.glance(member.id).await.unwrap().balance;
                            let refund = services.purchases.refund(order).await.unwrap();
                            let after = services.points.glance(member.id).await.unwrap().balance;
                            assert_eq!(after, before - refund.points_reversed * i64::from(!refund.already_refunded));
                        }
                    }
                    Op::AdvanceDays(days) => app.clock.advance(TimeDelta::days(*days)).unwrap(),
                    Op::Expire => {
                        services.points.run_expiry().await.unwrap();
                    }
                }
                app.assert_ledger_invariants().await;
            }
        });
    }
}
