//! Campaigns on the clock and on members' events (SPEC §16): the seeded examples walked
//! through time (流失召回 at 30 days, 生日礼, 一周年祝福, 新客激活 on day 7), recurring
//! campaigns with reward and tag actions inside a unit budget, upgrades and segment entries,
//! the marketing limits, the programme budget, and `campaignStats` checked by hand.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers: a failed setup should fail the test loudly"
)]

use api::domain::auth::Role;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tests::{Session, TestApp, spawn_app};

const CREATE: &str = "mutation($i: CampaignInput!) { createCampaign(input: $i) { id status } }";
const JOBS: &str = "mutation { runScheduledJobs { campaignGrants becameAtRisk } }";
const BUDGET: &str =
    "{ programmeStats(from: \"2026-03-01\", to: \"2026-03-31\") { budget { issuedThisMonth } } }";
const STATS: &str = "query($id: ID!) { campaignStats(id: $id) {
    reached heldOut skipped costPoints costUnits costCents signedInCount purchasedCount
    purchaseAmountCents redeemedCount recallRate uplift roi
} }";

async fn create(app: &TestApp, admin: &Session, input: Value) -> String {
    let res = app.gql(Some(admin), CREATE, json!({ "i": input })).await;
    res.expect_ok()["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn set_status(app: &TestApp, admin: &Session, id: &str, mutation: &str) -> Value {
    let query = format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ status }} }}");
    let res = app.gql(Some(admin), &query, json!({ "id": id })).await;
    res.expect_ok()[mutation]["status"].clone()
}

/// The id of the seeded example campaign called `name`.
async fn seeded(app: &TestApp, admin: &Session, name: &str) -> String {
    let res = app
        .gql(
            Some(admin),
            "{ campaigns(status: DRAFT) { id name } }",
            json!({}),
        )
        .await;
    let all = res.expect_ok()["campaigns"].as_array().unwrap().clone();
    all.iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} is seeded"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn pass(app: &TestApp, admin: &Session) -> i64 {
    let res = app.gql(Some(admin), JOBS, json!({})).await;
    res.expect_ok()["runScheduledJobs"]["campaignGrants"]
        .as_i64()
        .unwrap()
}

async fn stats(app: &TestApp, admin: &Session, id: &str) -> Value {
    let res = app.gql(Some(admin), STATS, json!({ "id": id })).await;
    res.expect_ok()["campaignStats"].clone()
}

async fn purchase(
    app: &TestApp,
    admin: &Session,
    member: &Session,
    order: &str,
    cents: i64,
    at: &str,
) {
    app.gql(
        Some(admin),
        "mutation($m: ID!, $o: String!, $c: Int!, $t: DateTime!) { recordPurchase(memberId: $m, orderId: $o, amountCents: $c, occurredAt: $t) { orderId } }",
        json!({ "m": member.id, "o": order, "c": cents, "t": at }),
    )
    .await
    .expect_ok();
}

async fn tag(app: &TestApp, admin: &Session, name: &str) -> String {
    let res = app
        .gql(
            Some(admin),
            "mutation($n: String!) { createTag(input: { name: $n }) { id } }",
            json!({ "n": name }),
        )
        .await;
    res.expect_ok()["createTag"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// How many members hold the tag.
async fn tagged(app: &TestApp, admin: &Session, tag: &str) -> usize {
    let res = app
        .gql(
            Some(admin),
            "query($t: ID!) { members(tagId: $t, first: 100) { edges { node { id } } } }",
            json!({ "t": tag }),
        )
        .await;
    res.expect_ok()["members"]["edges"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_member_who_drifts_away_is_recalled_once_at_30_days_and_the_stats_add_up() {
    let app = spawn_app().await;
    // 10:00 in Shanghai.
    app.set_clock("2026-03-01T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let (ada, bob, cy) = (
        app.login_member("ada").await,
        app.login_member("bob").await,
        app.login_member("cy").await,
    );
    for member in [&ada, &bob, &cy] {
        app.sign_in(member).await;
    }
    let ada_before = app.balance(&ada).await;
    let recall = seeded(&app, &admin, "流失召回").await;
    assert_eq!(
        set_status(&app, &admin, &recall, "activateCampaign").await,
        "ACTIVE"
    );

    // Cy signs in on day 29 and stays active; Ada and Bob do nothing after day 0.
    app.set_clock("2026-03-30T02:00:00Z");
    app.sign_in(&cy).await;
    assert_eq!(pass(&app, &admin).await, 0, "day 29: nobody is at risk yet");
    app.set_clock("2026-03-31T02:00:00Z");
    let (here, again) = tokio::join!(pass(&app, &admin), pass(&app, &admin));
    assert_eq!(here + again, 2, "day 30: Ada and Bob, once each");
    assert_eq!(pass(&app, &admin).await, 0);
    app.set_clock("2026-04-01T02:00:00Z");
    assert_eq!(pass(&app, &admin).await, 0, "the next day: still once");
    assert_eq!(app.balance(&ada).await, ada_before + 50);

    // Bob comes back: signs in and buys for ¥88 within the week; Ada does not.
    app.set_clock("2026-04-02T03:00:00Z");
    app.sign_in(&bob).await;
    purchase(&app, &admin, &bob, "back-1", 8_800, "2026-04-02T02:30:00Z").await;
    // A purchase after the window counts for nothing.
    app.set_clock("2026-04-10T03:00:00Z");
    purchase(&app, &admin, &bob, "late-1", 5_000, "2026-04-10T02:30:00Z").await;

    // By hand: 2 reached, 100 points = ¥1 at 100 points per yuan; ROI = 8800 / 100 = 88.
    assert_eq!(
        stats(&app, &admin, &recall).await,
        json!({
            "reached": 2, "heldOut": 0, "skipped": 0, "costPoints": 100, "costUnits": 0,
            "costCents": 100, "signedInCount": 1, "purchasedCount": 1,
            "purchaseAmountCents": 8800, "redeemedCount": 0, "recallRate": 0.5,
            "uplift": null, "roi": 88.0,
        })
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn birthdays_anniversaries_and_day_seven_without_a_purchase_fire_on_their_day() {
    let app = spawn_app().await;
    app.set_clock("2026-03-01T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let (ada, bob) = (app.login_member("ada").await, app.login_member("bob").await);
    app.gql(
        Some(&ada),
        "mutation { updateProfile(input: { birthday: \"03-05\" }) { member { birthday } } }",
        json!({}),
    )
    .await
    .expect_ok();
    app.set_clock("2026-03-02T02:00:00Z");
    let cy = app.login_member("cy").await;
    let birthday = seeded(&app, &admin, "生日礼").await;
    let anniversary = seeded(&app, &admin, "一周年祝福").await;
    let newcomers = seeded(&app, &admin, "新客激活").await;
    for id in [&birthday, &anniversary, &newcomers] {
        set_status(&app, &admin, id, "activateCampaign").await;
    }
    app.set_clock("2026-03-03T03:00:00Z");
    purchase(&app, &admin, &bob, "first", 1_000, "2026-03-03T02:00:00Z").await;
    let reached = |id: String| {
        let app = &app;
        let admin = &admin;
        async move { stats(app, admin, &id).await["reached"].clone() }
    };
    let walk = [
        // (day, birthday, anniversary, newcomers) reached so far.
        ("2026-03-04T02:00:00Z", 0, 0, 0),
        ("2026-03-05T02:00:00Z", 1, 0, 0),
        ("2026-03-06T02:00:00Z", 1, 0, 0),
        ("2026-03-07T02:00:00Z", 1, 0, 0),
        // Day 7 for Ada (Bob bought); day 7 for Cy the next day.
        ("2026-03-08T02:00:00Z", 1, 0, 1),
        ("2026-03-09T02:00:00Z", 1, 0, 2),
        ("2026-03-10T02:00:00Z", 1, 0, 2),
        // A year on: Ada's and Bob's anniversary, then Cy's; Ada's birthday again.
        ("2027-03-01T02:00:00Z", 1, 2, 2),
        ("2027-03-02T02:00:00Z", 1, 3, 2),
        ("2027-03-05T02:00:00Z", 2, 3, 2),
    ];
    for (day, on_birthday, on_anniversary, on_day_seven) in walk {
        app.set_clock(day);
        pass(&app, &admin).await;
        pass(&app, &admin).await;
        assert_eq!(reached(birthday.clone()).await, on_birthday, "{day}");
        assert_eq!(reached(anniversary.clone()).await, on_anniversary, "{day}");
        assert_eq!(reached(newcomers.clone()).await, on_day_seven, "{day}");
    }
    // The anniversary's 100 points; Ada also got a notice on each birthday.
    let history = app
        .gql(
            Some(&cy),
            "{ pointsHistory(first: 1) { edges { node { kind amount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        history.expect_ok()["pointsHistory"]["edges"][0]["node"],
        json!({ "kind": "CAMPAIGN", "amount": 100 })
    );
    let inbox = app
        .gql(
            Some(&ada),
            "{ inbox(first: 20) { edges { node { kind title } } } }",
            json!({}),
        )
        .await;
    let birthday_notices = inbox.expect_ok()["inbox"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["title"] == "生日快乐")
        .count();
    assert_eq!(birthday_notices, 2);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_daily_campaign_grants_rewards_and_tags_every_day_within_its_unit_budget() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T00:30:00Z"); // 08:30 in Shanghai
    let admin = app.login_admin("boss", Role::Admin).await;
    let (ada, bob) = (app.login_member("ada").await, app.login_member("bob").await);
    let coupon = app
        .gql(
            Some(&admin),
            "mutation($i: RewardInput!) { createReward(input: $i) { id costCents } }",
            json!({ "i": { "title": "满减券", "kind": "COUPON", "pointsCost": 500, "costCents": 1_000 } }),
        )
        .await;
    let coupon = coupon.expect_ok()["createReward"].clone();
    assert_eq!(coupon["costCents"], 1_000);
    let vip = tag(&app, &admin, "每日礼").await;
    let daily = create(
        &app,
        &admin,
        json!({
            "name": "每日一券",
            "trigger": { "kind": "DAILY", "time": "09:00" },
            "perMember": "EVERY_OCCURRENCE",
            "actions": [
                { "kind": "GRANT_REWARD", "rewardId": coupon["id"] },
                { "kind": "ADD_TAG", "tagId": vip },
            ],
            "budgetUnits": 3,
        }),
    )
    .await;
    let preview = app
        .gql(
            Some(&admin),
            "query($id: ID!) { previewCampaign(id: $id) { audience costPoints costUnits } }",
            json!({ "id": daily }),
        )
        .await;
    assert_eq!(
        preview.expect_ok()["previewCampaign"],
        json!({ "audience": 2, "costPoints": 0, "costUnits": 2 })
    );
    set_status(&app, &admin, &daily, "activateCampaign").await;
    assert_eq!(pass(&app, &admin).await, 0, "before 09:00");
    app.set_clock("2026-03-02T01:00:00Z");
    assert_eq!(pass(&app, &admin).await, 2);
    assert_eq!(pass(&app, &admin).await, 0, "once a day");
    app.set_clock("2026-03-03T01:00:00Z");
    assert_eq!(pass(&app, &admin).await, 1, "the third unit is the last");
    let listed = app
        .gql(
            Some(&admin),
            "{ campaigns(status: ACTIVE) { id spentUnits budgetExhausted } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed.expect_ok()["campaigns"][0],
        json!({ "id": daily, "spentUnits": 3, "budgetExhausted": true })
    );
    let s = stats(&app, &admin, &daily).await;
    assert_eq!(
        (s["reached"].clone(), s["costUnits"].clone()),
        (json!(3), json!(3))
    );
    assert_eq!(s["costCents"], 3_000);
    for member in [&ada, &bob] {
        let coupons = app
            .gql(Some(member), "{ myCoupons { code } }", json!({}))
            .await;
        assert!(
            !coupons.expect_ok()["myCoupons"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(tagged(&app, &admin, &vip).await, 2);

    // Settings change only while paused; a larger budget lets it go on.
    let update = "mutation($id: ID!, $i: CampaignInput!) { updateCampaign(id: $id, input: $i) { budgetUnits budgetExhausted } }";
    let mut settings = json!({
        "name": "每日一券",
        "trigger": { "kind": "DAILY", "time": "09:00" },
        "perMember": "EVERY_OCCURRENCE",
        "actions": [{ "kind": "GRANT_REWARD", "rewardId": coupon["id"] }],
        "budgetUnits": 10,
    });
    app.gql(Some(&admin), update, json!({ "id": daily, "i": settings }))
        .await
        .expect_error("CONFLICT");
    set_status(&app, &admin, &daily, "pauseCampaign").await;
    let updated = app
        .gql(Some(&admin), update, json!({ "id": daily, "i": settings }))
        .await;
    assert_eq!(
        updated.expect_ok()["updateCampaign"],
        json!({ "budgetUnits": 10, "budgetExhausted": false })
    );
    settings["trigger"] = json!({ "kind": "DAILY" });
    let res = app
        .gql(Some(&admin), update, json!({ "id": daily, "i": settings }))
        .await;
    res.expect_error("VALIDATION");
    assert_eq!(res.error_field(), Some("trigger.time"));
    set_status(&app, &admin, &daily, "activateCampaign").await;
    assert_eq!(
        pass(&app, &admin).await,
        1,
        "the member the budget left out today"
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn upgrades_and_segment_entries_trigger_only_what_happens_after_activation() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let (ada, bob, cy) = (
        app.login_member("ada").await,
        app.login_member("bob").await,
        app.login_member("cy").await,
    );
    let loyal = tag(&app, &admin, "忠诚").await;
    let tag_members = "mutation($t: ID!, $m: [ID!]!) { tagMembers(tagId: $t, memberIds: $m) }";
    app.gql(
        Some(&admin),
        tag_members,
        json!({ "t": loyal, "m": [ada.id] }),
    )
    .await
    .expect_ok();
    let segment = app
        .gql(
            Some(&admin),
            "mutation($t: ID!) { createSegment(input: { name: \"忠诚会员\", filter: { tagIds: [$t] } }) { id } }",
            json!({ "t": loyal }),
        )
        .await;
    let segment = segment.expect_ok()["createSegment"]["id"].clone();
    let entered = create(
        &app,
        &admin,
        json!({
            "name": "入群礼",
            "segmentId": segment,
            "trigger": { "kind": "SEGMENT_ENTERED" },
            "actions": [{ "kind": "GRANT_POINTS", "points": 7 }],
        }),
    )
    .await;
    let upgraded = create(
        &app,
        &admin,
        json!({
            "name": "升级礼",
            "trigger": { "kind": "TIER_UPGRADED" },
            "actions": [{ "kind": "GRANT_POINTS", "points": 9 }],
        }),
    )
    .await;
    // One sign-in's growth moves a member up.
    app.gql(
        Some(&admin),
        "mutation { updateTier(code: \"REGULAR\", input: { growthThreshold: 1 }) { code } }",
        json!({}),
    )
    .await
    .expect_ok();
    // Bob moves up before the activation: no gift for that.
    app.sign_in(&bob).await;
    assert_eq!(app.tier_code(&bob).await, "REGULAR");
    set_status(&app, &admin, &entered, "activateCampaign").await;
    set_status(&app, &admin, &upgraded, "activateCampaign").await;
    assert_eq!(
        pass(&app, &admin).await,
        0,
        "Ada was in the segment already"
    );

    app.gql(
        Some(&admin),
        tag_members,
        json!({ "t": loyal, "m": [bob.id] }),
    )
    .await
    .expect_ok();
    app.sign_in(&cy).await;
    assert_eq!(pass(&app, &admin).await, 2, "Bob entered, Cy moved up");
    assert_eq!(pass(&app, &admin).await, 0);
    assert_eq!(stats(&app, &admin, &entered).await["reached"], 1);
    assert_eq!(stats(&app, &admin, &upgraded).await["reached"], 1);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn campaign_messages_respect_the_daily_limit_and_the_quiet_hours() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    // Bob refuses personalised marketing: a campaign of notices skips him.
    let bob = app.login_member("bob").await;
    app.gql(
        Some(&bob),
        "mutation { updateProfile(input: { marketingOptOut: true }) { member { marketingOptOut } } }",
        json!({}),
    )
    .await
    .expect_ok();
    app.gql(
        Some(&admin),
        "mutation($input: [MessageTemplateInput!]!) { updateMessageTemplates(input: $input) { kind } }",
        json!({ "input": [{
            "kind": "CAMPAIGN",
            "templateId": "tpl-campaign",
            "page": "pages/index/index",
            "fields": [{ "key": "thing1", "value": "{title}" }, { "key": "time2", "value": "{time}" }],
        }] }),
    )
    .await
    .expect_ok();
    for _ in 0..3 {
        app.gql(
            Some(&ada),
            "mutation { recordMessageSubscriptions(input: [{ templateId: \"tpl-campaign\", accepted: true }]) { remaining } }",
            json!({}),
        )
        .await
        .expect_ok();
    }
    let notify = |name: &str, at: &str| {
        json!({
            "name": name,
            "trigger": { "kind": "ONCE", "at": at },
            "actions": [{ "kind": "NOTIFY", "title": name, "body": "来看看" }],
        })
    };
    let mut ids = Vec::new();
    for name in ["早安", "午安"] {
        let id = create(&app, &admin, notify(name, "2026-03-02T01:00:00Z")).await;
        set_status(&app, &admin, &id, "activateCampaign").await;
        ids.push(id);
    }
    assert_eq!(pass(&app, &admin).await, 2, "two notices in Ada's inbox");
    let first = stats(&app, &admin, &ids[0]).await;
    assert_eq!(
        (first["reached"].clone(), first["skipped"].clone()),
        (json!(1), json!(1))
    );
    let inbox = app
        .gql(
            Some(&bob),
            "{ inbox(first: 10) { edges { node { kind } } } }",
            json!({}),
        )
        .await;
    assert!(
        !inbox.expect_ok()["inbox"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["kind"] == "CAMPAIGN"),
        "no campaign notice for Bob"
    );
    assert_eq!(
        campaign_messages(&app, &admin).await.len(),
        1,
        "one campaign message a day"
    );

    // 23:00 in Shanghai: the message waits for 08:00.
    app.set_clock("2026-03-03T15:00:00Z");
    let late = create(&app, &admin, notify("晚安", "2026-03-03T14:00:00Z")).await;
    set_status(&app, &admin, &late, "activateCampaign").await;
    assert_eq!(pass(&app, &admin).await, 1);
    let due: Vec<DateTime<Utc>> = campaign_messages(&app, &admin)
        .await
        .iter()
        .map(|d| d["nextAttemptAt"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(due.len(), 2);
    let morning: DateTime<Utc> = "2026-03-04T00:00:00Z".parse().unwrap();
    assert!(
        due.contains(&morning),
        "due at 08:00 business time: {due:?}"
    );
}

async fn issued(app: &TestApp, admin: &Session) -> i64 {
    let res = app.gql(Some(admin), BUDGET, json!({})).await;
    res.expect_ok()["programmeStats"]["budget"]["issuedThisMonth"]
        .as_i64()
        .unwrap()
}

/// The campaign subscribe messages in the outbox.
async fn campaign_messages(app: &TestApp, admin: &Session) -> Vec<Value> {
    let res = app
        .gql(
            Some(admin),
            "{ deliveries(first: 50) { edges { node { channel event nextAttemptAt } } } }",
            json!({}),
        )
        .await;
    res.expect_ok()["deliveries"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .filter(|d| d["event"] == "CAMPAIGN" && d["channel"] == "WECHAT")
        .collect()
}

#[tokio::test]
async fn campaign_grants_stop_at_the_programme_budget() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let mut members = Vec::new();
    for n in 0..4 {
        let member = app.login_member(&format!("m{n}")).await;
        app.sign_in(&member).await;
        members.push(member);
    }
    app.gql(
        Some(&admin),
        "mutation { updateProgrammeBudget(monthlyPoints: 1000000) { monthlyPoints } }",
        json!({}),
    )
    .await
    .expect_ok();
    let earned = issued(&app, &admin).await;
    assert!(earned > 0, "the sign-ins' points");
    // Room for two grants of 30, not three.
    app.gql(
        Some(&admin),
        "mutation($p: Int!) { updateProgrammeBudget(monthlyPoints: $p) { monthlyPoints } }",
        json!({ "p": earned + 70 }),
    )
    .await
    .expect_ok();
    let id = create(
        &app,
        &admin,
        json!({
            "name": "全员红包",
            "trigger": { "kind": "ONCE", "at": "2026-03-02T01:00:00Z" },
            "actions": [{ "kind": "GRANT_POINTS", "points": 30 }],
        }),
    )
    .await;
    set_status(&app, &admin, &id, "activateCampaign").await;
    let (a, b) = tokio::join!(pass(&app, &admin), pass(&app, &admin));
    assert_eq!(a + b, 2);
    assert_eq!(issued(&app, &admin).await, earned + 60);
    let listed = app
        .gql(
            Some(&admin),
            "{ campaigns(status: ACTIVE) { budgetExhausted } }",
            json!({}),
        )
        .await;
    assert_eq!(listed.expect_ok()["campaigns"][0]["budgetExhausted"], true);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn new_campaign_settings_are_validated_field_by_field() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let base = json!({
        "name": "x",
        "trigger": { "kind": "DAILY", "time": "09:00" },
        "actions": [{ "kind": "NOTIFY", "title": "t", "body": "b" }],
    });
    let with = |path: &str, value: Value| {
        let mut input = base.clone();
        match path {
            "trigger" => input["trigger"] = value,
            "actions" => input["actions"] = value,
            other => input[other] = value,
        }
        input
    };
    for (input, field) in [
        (
            with("trigger", json!({ "kind": "DAILY", "time": "25:00" })),
            "trigger.time",
        ),
        (with("trigger", json!({ "kind": "WEEKLY" })), "trigger.time"),
        (
            with(
                "trigger",
                json!({ "kind": "REGISTERED_NO_PURCHASE", "days": 0 }),
            ),
            "trigger.days",
        ),
        (
            with("trigger", json!({ "kind": "SEGMENT_ENTERED" })),
            "segmentId",
        ),
        (
            with(
                "actions",
                json!([{ "kind": "GRANT_REWARD", "rewardId": "1", "quantity": 11 }]),
            ),
            "actions.quantity",
        ),
        (
            with("actions", json!([{ "kind": "ADD_TAG" }])),
            "actions.tagId",
        ),
        (
            with("actions", json!([{ "kind": "GRANT_REWARD" }])),
            "actions.rewardId",
        ),
        (with("budgetUnits", json!(0)), "budgetUnits"),
        (
            {
                let mut input = with("startsAt", json!("2026-03-02T00:00:00Z"));
                input["endsAt"] = json!("2026-03-01T00:00:00Z");
                input
            },
            "endsAt",
        ),
    ] {
        let res = app.gql(Some(&admin), CREATE, json!({ "i": input })).await;
        res.expect_error("VALIDATION");
        assert_eq!(res.error_field(), Some(field));
    }
    let res = app
        .gql(
            Some(&admin),
            CREATE,
            json!({ "i": with("actions", json!([{ "kind": "ADD_TAG", "tagId": "999" }])) }),
        )
        .await;
    res.expect_error("NOT_FOUND");
}

#[tokio::test]
async fn the_holdout_gets_nothing_and_the_uplift_compares_the_two_groups() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let waiting = tag(&app, &admin, "待激活").await;
    let mut members = Vec::new();
    for n in 0..40 {
        members.push(app.login_member(&format!("m{n}")).await);
    }
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    app.gql(
        Some(&admin),
        "mutation($t: ID!, $m: [ID!]!) { tagMembers(tagId: $t, memberIds: $m) }",
        json!({ "t": waiting, "m": ids }),
    )
    .await
    .expect_ok();
    let id = create(
        &app,
        &admin,
        json!({
            "name": "激活红包",
            "trigger": { "kind": "ONCE", "at": "2026-03-02T01:00:00Z" },
            "actions": [
                { "kind": "GRANT_POINTS", "points": 10 },
                { "kind": "REMOVE_TAG", "tagId": waiting },
            ],
            "holdoutPercent": 50,
        }),
    )
    .await;
    set_status(&app, &admin, &id, "activateCampaign").await;
    pass(&app, &admin).await;

    // Who was treated shows in the balance; the control keeps its tag.
    let mut treated = Vec::new();
    for member in &members {
        treated.push(app.balance(member).await == 10);
    }
    let control_size = treated.iter().filter(|t| !**t).count();
    assert!(
        (8..=32).contains(&control_size),
        "about half: {control_size}"
    );
    assert_eq!(tagged(&app, &admin, &waiting).await, control_size);

    // Every third member buys within the window.
    app.set_clock("2026-03-03T03:00:00Z");
    let mut bought = [0_i64; 2]; // [treated, control]
    for (n, member) in members.iter().enumerate().filter(|(n, _)| n % 3 == 0) {
        purchase(
            &app,
            &admin,
            member,
            &format!("o{n}"),
            1_000,
            "2026-03-03T02:00:00Z",
        )
        .await;
        bought[usize::from(!treated[n])] += 1;
    }
    let treated_size = i64::try_from(40 - control_size).unwrap();
    let control_size = i64::try_from(control_size).unwrap();
    let float = |n: i64| f64::from(i32::try_from(n).unwrap());
    let rate = |part: i64, whole: i64| (float(part) / float(whole) * 10_000.0).round();
    let uplift = (rate(bought[0], treated_size) - rate(bought[1], control_size)) / 10_000.0;
    let s = stats(&app, &admin, &id).await;
    assert_eq!(s["reached"], treated_size);
    assert_eq!(s["heldOut"], control_size);
    assert_eq!(s["purchasedCount"], bought[0]);
    assert_eq!(s["costPoints"], treated_size * 10);
    let reported = s["uplift"].as_f64().unwrap();
    assert!((reported - uplift).abs() < 1e-9, "{reported} vs {uplift}");
    let groups = app
        .gql(
            Some(&admin),
            "query($id: ID!) { campaignStats(id: $id) { control { members purchasedCount purchaseAmountCents } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        groups.expect_ok()["campaignStats"]["control"],
        json!({
            "members": control_size,
            "purchasedCount": bought[1],
            "purchaseAmountCents": bought[1] * 1_000,
        })
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_campaign_waits_for_its_start_and_ends_at_its_end() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let id = create(
        &app,
        &admin,
        json!({
            "name": "三月每日礼",
            "trigger": { "kind": "DAILY", "time": "09:00" },
            "perMember": "EVERY_OCCURRENCE",
            "actions": [{ "kind": "GRANT_POINTS", "points": 1 }],
            "startsAt": "2026-03-05T00:00:00Z",
            "endsAt": "2026-03-07T00:00:00Z",
        }),
    )
    .await;
    set_status(&app, &admin, &id, "activateCampaign").await;
    let walk = [
        ("2026-03-02T02:00:00Z", 0),
        ("2026-03-05T02:00:00Z", 1),
        ("2026-03-06T02:00:00Z", 1),
        ("2026-03-07T02:00:00Z", 0),
    ];
    for (day, reached) in walk {
        app.set_clock(day);
        assert_eq!(pass(&app, &admin).await, reached, "{day}");
    }
    assert_eq!(app.balance(&ada).await, 2);
    let listed = app
        .gql(
            Some(&admin),
            "{ campaigns(status: ENDED) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(listed.expect_ok()["campaigns"], json!([{ "id": id }]));
}
