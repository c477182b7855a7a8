//! The points lottery (SPEC §14): stock and budgets that never oversell under concurrent
//! draws, pity, tier boosts measured over a few thousand draws, replays, the redemption cap
//! and the balance under concurrency, free draws from tasks and campaigns, and the checks.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failed setup should fail the test loudly"
)]

use api::domain::auth::Role;
use serde_json::{Value, json};
use tests::{GqlResponse, Session, TestApp, spawn_app};

const CREATE: &str = "mutation($i: LotteryInput!) { createLottery(input: $i) { id prizes { id kind probability } } }";
const DRAW: &str = "mutation($l: ID!, $k: String!) {
    drawLottery(lotteryId: $l, idempotencyKey: $k) {
        replayed draw { id won free costPoints prize { kind points } }
    }
}";

fn lottery(prizes: Value, extra: Value) -> Value {
    let mut input = json!({
        "title": "幸运大转盘",
        "startsAt": "2026-03-01T00:00:00Z",
        "endsAt": "2026-04-01T00:00:00Z",
        "prizes": prizes,
    });
    for (key, value) in extra.as_object().unwrap() {
        input[key] = value.clone();
    }
    input
}

async fn create(app: &TestApp, admin: &Session, input: Value) -> String {
    let res = app.gql(Some(admin), CREATE, json!({ "i": input })).await;
    res.expect_ok()["createLottery"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn draw(app: &TestApp, member: &Session, lottery: &str, key: &str) -> GqlResponse {
    app.gql(Some(member), DRAW, json!({ "l": lottery, "k": key }))
        .await
}

fn won(res: &GqlResponse) -> bool {
    res.expect_ok()["drawLottery"]["draw"]["won"]
        .as_bool()
        .unwrap()
}

async fn setup() -> (TestApp, Session) {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    (app, admin)
}

#[tokio::test]
async fn a_prize_of_stock_one_is_paid_once_among_thirty_concurrent_draws() {
    let (app, admin) = setup().await;
    let id = create(
        &app,
        &admin,
        lottery(
            json!([
                { "kind": "POINTS", "points": 500, "weight": 1, "stock": 1 },
                { "kind": "NONE", "weight": 0 },
            ]),
            json!({}),
        ),
    )
    .await;
    let mut members = Vec::new();
    for n in 0..10 {
        members.push(app.login_member(&format!("m{n}")).await);
    }
    let keys: Vec<(usize, String)> = (0..30).map(|n| (n % 10, format!("d{n}"))).collect();
    let draws = keys
        .iter()
        .map(|(m, key)| draw(&app, &members[*m], &id, key));
    let results = futures::future::join_all(draws).await;
    let wins = results.iter().filter(|r| won(r)).count();
    assert_eq!(wins, 1, "one unit of stock, one prize");
    let stats = app
        .gql(
            Some(&admin),
            "query($id: ID!) { lotteryStats(id: $id) { draws pointsPrizes observedWinRate } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        stats.expect_ok()["lotteryStats"],
        json!({ "draws": 30, "pointsPrizes": 1, "observedWinRate": 0.0333 })
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_budget_of_n_pays_at_most_n_and_replays_return_the_first_result() {
    let (app, admin) = setup().await;
    let id = create(
        &app,
        &admin,
        lottery(
            json!([{ "kind": "POINTS", "points": 10, "weight": 1 }]),
            json!({ "budgetPoints": 35 }),
        ),
    )
    .await;
    let ada = app.login_member("ada").await;
    let bob = app.login_member("bob").await;
    let keys: Vec<String> = (0..6).map(|n| format!("k{n}")).collect();
    let draws = keys
        .iter()
        .flat_map(|key| [draw(&app, &ada, &id, key), draw(&app, &bob, &id, key)]);
    let results = futures::future::join_all(draws).await;
    let wins = results.iter().filter(|r| won(r)).count();
    assert_eq!(wins, 3, "three prizes of 10 fit in 35");
    let first = draw(&app, &ada, &id, "k0").await;
    let again = draw(&app, &ada, &id, "k0").await;
    let (first, again) = (
        first.expect_ok()["drawLottery"].clone(),
        again.expect_ok()["drawLottery"].clone(),
    );
    assert_eq!(first["replayed"], true);
    assert_eq!(first["draw"], again["draw"]);
    let spent = app
        .gql(Some(&admin), "{ lotteries { spentPoints } }", json!({}))
        .await;
    assert_eq!(spent.expect_ok()["lotteries"][0]["spentPoints"], 30);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn pity_wins_the_draw_after_k_misses() {
    let (app, admin) = setup().await;
    let id = create(
        &app,
        &admin,
        lottery(
            json!([
                { "kind": "POINTS", "points": 5, "weight": 1 },
                { "kind": "NONE", "weight": 1_000_000 },
            ]),
            json!({ "pityAfter": 3 }),
        ),
    )
    .await;
    let ada = app.login_member("ada").await;
    let mut outcomes = Vec::new();
    for n in 0..12 {
        outcomes.push(won(&draw(&app, &ada, &id, &format!("p{n}")).await));
    }
    // Misses in a row never pass 3: every 4th draw wins (a natural win, one in a million,
    // only starts the count again).
    let mut run = 0;
    for outcome in &outcomes {
        run = if *outcome { 0 } else { run + 1 };
        assert!(run <= 3, "{outcomes:?}");
    }
    assert!(
        outcomes[3] || outcomes[..3].iter().any(|w| *w),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn a_tier_boost_raises_the_observed_win_rate() {
    let (app, admin) = setup().await;
    let id = create(
        &app,
        &admin,
        lottery(
            json!([
                { "kind": "POINTS", "points": 1, "weight": 20 },
                { "kind": "NONE", "weight": 80 },
            ]),
            json!({ "tierBoosts": [{ "tierCode": "SEED", "percent": 100 }] }),
        ),
    )
    .await;
    let mut plain = Vec::new();
    let mut boosted = Vec::new();
    for n in 0..4 {
        plain.push(app.login_member(&format!("new{n}")).await);
        let seed = app.login_member(&format!("seed{n}")).await;
        app.set_tier(&seed, "SEED").await;
        boosted.push(seed);
    }
    // Published odds: 20/100 for NEW, 40/120 for SEED.
    let odds = app
        .gql(
            Some(&boosted[0]),
            "{ lotteries { prizes { kind probability } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        odds.expect_ok()["lotteries"][0]["prizes"],
        json!([{ "kind": "POINTS", "probability": 0.3333 }, { "kind": "NONE", "probability": 0.6667 }])
    );
    let rate = |members: &[Session]| {
        let app = &app;
        let id = &id;
        let members = members.to_vec();
        async move {
            let per_member = members.iter().map(|member| async move {
                let mut wins = 0_u32;
                for n in 0..400 {
                    if won(&draw(app, member, id, &format!("t{n}")).await) {
                        wins += 1;
                    }
                }
                wins
            });
            let wins: u32 = futures::future::join_all(per_member)
                .await
                .into_iter()
                .sum();
            f64::from(wins) / 1600.0
        }
    };
    let (plain_rate, boosted_rate) = tokio::join!(rate(&plain), rate(&boosted));
    // 1,600 draws each: a standard deviation of about 0.01; these bounds are 4 of them.
    assert!((0.16..=0.24).contains(&plain_rate), "NEW {plain_rate}");
    assert!((0.29..=0.38).contains(&boosted_rate), "SEED {boosted_rate}");
}

/// A lottery whose draws cost `cost` and pay nothing.
async fn paid_lottery(app: &TestApp, admin: &Session, cost: i64) -> String {
    let prizes = json!([{ "kind": "NONE", "weight": 1 }]);
    create(app, admin, lottery(prizes, json!({ "costPoints": cost }))).await
}

/// Ten draws at once by `member`: how many were paid, and the codes of the others.
async fn ten_at_once(app: &TestApp, member: &Session, id: &str) -> (usize, Vec<String>) {
    let keys: Vec<String> = (0..10).map(|n| format!("{id}-{n}")).collect();
    let results =
        futures::future::join_all(keys.iter().map(|key| draw(app, member, id, key))).await;
    let refused: Vec<String> = results
        .iter()
        .filter_map(GqlResponse::error_code)
        .map(str::to_owned)
        .collect();
    (results.len() - refused.len(), refused)
}

#[tokio::test]
async fn paid_draws_hold_the_balance_and_the_monthly_redemption_cap_under_concurrency() {
    let (app, admin) = setup().await;
    let cheap = paid_lottery(&app, &admin, 100).await;
    let ada = app.login_member("ada").await;
    app.adjust_points(&admin, &ada, 250, "seed").await;
    let (paid, refused) = ten_at_once(&app, &ada, &cheap).await;
    assert_eq!(paid, 2);
    assert!(
        refused.iter().all(|code| code == "INSUFFICIENT_POINTS"),
        "{refused:?}"
    );
    assert_eq!(app.balance(&ada).await, 50);

    // The NEW tier may redeem 2,000 points a month: six draws of 300, not seven.
    let dear = paid_lottery(&app, &admin, 300).await;
    let bob = app.login_member("bob").await;
    app.adjust_points(&admin, &bob, 5_000, "seed").await;
    let (paid, refused) = ten_at_once(&app, &bob, &dear).await;
    assert_eq!(paid, 6);
    assert!(
        refused
            .iter()
            .all(|code| code == "MONTHLY_REDEEM_CAP_REACHED"),
        "{refused:?}"
    );
    assert_eq!(app.balance(&bob).await, 5_000 - 1_800);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn free_draws_come_from_tasks_and_campaigns_and_are_used_first() {
    let (app, admin) = setup().await;
    let id = create(
        &app,
        &admin,
        lottery(
            json!([{ "kind": "POINTS", "points": 7, "weight": 1 }]),
            json!({ "costPoints": 50 }),
        ),
    )
    .await;
    let ada = app.login_member("ada").await;
    app.gql(
        Some(&admin),
        "mutation($i: TaskInput!) { createTask(input: $i) { id rewardDraws { draws } } }",
        json!({ "i": {
            "title": "下载APP抽奖",
            "category": "NEWBIE",
            "eventType": "APP_DOWNLOADED",
            "target": 1,
            "rewardDraws": { "lotteryId": id, "draws": 2 },
        } }),
    )
    .await
    .expect_ok();
    app.gql(
        Some(&admin),
        "mutation($m: ID!) { recordMemberEvent(memberId: $m, type: \"APP_DOWNLOADED\", idempotencyKey: \"app\") { replayed } }",
        json!({ "m": ada.id }),
    )
    .await
    .expect_ok();
    let campaign = app
        .gql(
            Some(&admin),
            "mutation($i: CampaignInput!) { createCampaign(input: $i) { id } }",
            json!({ "i": {
                "name": "抽奖机会",
                "trigger": { "kind": "ONCE", "at": "2026-03-02T01:00:00Z" },
                "actions": [{ "kind": "GRANT_DRAWS", "lotteryId": id, "draws": 1 }],
            } }),
        )
        .await;
    let campaign = campaign.expect_ok()["createCampaign"]["id"].clone();
    app.gql(
        Some(&admin),
        "mutation($id: ID!) { activateCampaign(id: $id) { status } }",
        json!({ "id": campaign }),
    )
    .await
    .expect_ok();
    app.gql(
        Some(&admin),
        "mutation { runScheduledJobs { campaignGrants } }",
        json!({}),
    )
    .await
    .expect_ok();
    // The first day of the sign-in cycle gives one more.
    let rules = app
        .gql(
            Some(&admin),
            "mutation($l: ID!) { updateSignInRules(input: { cycleRewards: [{ day: 1, draws: { lotteryId: $l, draws: 1 } }] }) { cycleRewards { day rewardId draws { draws } } } }",
            json!({ "l": id }),
        )
        .await;
    assert_eq!(
        rules.expect_ok()["updateSignInRules"]["cycleRewards"],
        json!([{ "day": 1, "rewardId": null, "draws": { "draws": 1 } }])
    );
    app.sign_in(&ada).await;
    let available = app
        .gql(Some(&ada), "{ lotteries { drawsAvailable } }", json!({}))
        .await;
    assert_eq!(available.expect_ok()["lotteries"][0]["drawsAvailable"], 4);
    let signed_in = app.balance(&ada).await;
    for n in 0..4 {
        let res = draw(&app, &ada, &id, &format!("f{n}")).await;
        let d = res.expect_ok()["drawLottery"]["draw"].clone();
        assert_eq!(
            (d["free"].clone(), d["costPoints"].clone()),
            (json!(true), json!(0))
        );
    }
    // No free draw left, and what she has does not pay for a draw of 50.
    assert_eq!(app.balance(&ada).await, signed_in + 4 * 7);
    assert!(signed_in + 4 * 7 < 50);
    draw(&app, &ada, &id, "f4")
        .await
        .expect_error("INSUFFICIENT_POINTS");
    let mine = app
        .gql(
            Some(&ada),
            "{ myLotteryDraws { prize { kind points } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine.expect_ok()["myLotteryDraws"].as_array().unwrap().len(),
        4
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn lotteries_are_checked_and_closed_to_those_who_do_not_qualify() {
    let (app, admin) = setup().await;
    let ada = app.login_member("ada").await;
    let dear_coupon = app
        .gql(
            Some(&admin),
            "mutation { createReward(input: { title: \"iPhone\", kind: PHYSICAL, pointsCost: 1000, costCents: 6000000 }) { id } }",
            json!({}),
        )
        .await;
    let dear_coupon = dear_coupon.expect_ok()["createReward"]["id"].clone();
    let too_dear = lottery(
        json!([{ "kind": "REWARD", "rewardId": dear_coupon, "weight": 1 }]),
        json!({}),
    );
    let res = app
        .gql(Some(&admin), CREATE, json!({ "i": too_dear }))
        .await;
    res.expect_error("VALIDATION");
    assert_eq!(res.error_field(), Some("prizes"));
    let no_weight = lottery(json!([{ "kind": "NONE", "weight": 0 }]), json!({}));
    let res = app
        .gql(Some(&admin), CREATE, json!({ "i": no_weight }))
        .await;
    assert_eq!(res.error_field(), Some("prizes.weight"));
    app.gql(
        Some(&ada),
        CREATE,
        json!({ "i": lottery(json!([{ "kind": "NONE", "weight": 1 }]), json!({})) }),
    )
    .await
    .expect_error("FORBIDDEN");

    let for_core = create(
        &app,
        &admin,
        lottery(
            json!([{ "kind": "NONE", "weight": 1 }]),
            json!({ "minTier": "CORE" }),
        ),
    )
    .await;
    draw(&app, &ada, &for_core, "x")
        .await
        .expect_error("LOTTERY_UNAVAILABLE");
    let once_a_day = create(
        &app,
        &admin,
        lottery(
            json!([{ "kind": "NONE", "weight": 1 }]),
            json!({ "drawsPerDay": 1 }),
        ),
    )
    .await;
    draw(&app, &ada, &once_a_day, "y1").await.expect_ok();
    draw(&app, &ada, &once_a_day, "y2")
        .await
        .expect_error("DRAW_LIMIT_REACHED");
    app.set_clock("2026-03-03T02:00:00Z");
    draw(&app, &ada, &once_a_day, "y3").await.expect_ok();
    // Over: the lottery closed.
    app.set_clock("2026-04-02T02:00:00Z");
    draw(&app, &ada, &once_a_day, "y4")
        .await
        .expect_error("LOTTERY_UNAVAILABLE");
}
