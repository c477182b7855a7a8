//! Operating the programme (SPEC §15): tags, RFM, lifecycle stages and segments. Segment
//! counts are checked against a recomputation from the members' own activity, which the test
//! generates and keeps.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failed setup should fail the test loudly"
)]

use std::collections::HashSet;

use api::domain::auth::Role;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tests::{Session, TestApp, spawn_app};

const PREVIEW: &str = "query($f: SegmentFilterInput!) { previewSegment(filter: $f) { count } }";
const CREATE_TAG: &str = "mutation($n: String!) { createTag(input: { name: $n, color: \"#ff8800\" }) { id name color } }";
const TAG: &str = "mutation($t: ID!, $m: [ID!]!) { tagMembers(tagId: $t, memberIds: $m) }";

/// Business days are Shanghai's (UTC+8, no daylight saving).
fn business_day(at: DateTime<Utc>) -> NaiveDate {
    (at + TimeDelta::hours(8)).date_naive()
}

/// What the test did to one member.
#[derive(Default, Clone)]
struct Activity {
    session: Option<Session>,
    registered: Option<NaiveDate>,
    sign_ins: Vec<NaiveDate>,
    /// (business day, cents, refunded, order number)
    purchases: Vec<(NaiveDate, i64, bool, u32)>,
    tier: String,
    tags: HashSet<String>,
    birthday_month: Option<u32>,
    balance: i64,
}

impl Activity {
    fn last_purchase(&self) -> Option<NaiveDate> {
        self.purchases
            .iter()
            .filter(|(_, _, refunded, _)| !refunded)
            .map(|(day, _, _, _)| *day)
            .max()
    }

    /// (purchases, spend) not refunded from `window_start` on.
    fn trailing(&self, window_start: NaiveDate) -> (i64, i64) {
        self.purchases
            .iter()
            .filter(|(day, _, refunded, _)| !refunded && *day >= window_start)
            .fold((0, 0), |(n, sum), (_, cents, _, _)| (n + 1, sum + cents))
    }

    fn inactive_days(&self, today: NaiveDate) -> i64 {
        let last = self
            .sign_ins
            .iter()
            .copied()
            .max()
            .max(self.last_purchase());
        (today - last.unwrap_or(self.registered.unwrap())).num_days()
    }

    fn stage(&self, today: NaiveDate) -> &'static str {
        let inactive = self.inactive_days(today);
        if inactive >= 90 {
            "DORMANT"
        } else if inactive >= 30 {
            "AT_RISK"
        } else if self.last_purchase().is_none() {
            if (today - self.registered.unwrap()).num_days() <= 7 {
                "NEW"
            } else {
                "PROSPECT"
            }
        } else {
            "ACTIVE"
        }
    }

    fn rfm_group(
        &self,
        today: NaiveDate,
        window_start: NaiveDate,
        t: &Value,
    ) -> Option<&'static str> {
        let last = self.last_purchase()?;
        let (frequency, spend) = self.trailing(window_start);
        let r = (today - last).num_days() <= t["recencyDays"].as_i64().unwrap();
        let f = frequency >= t["frequency"].as_i64().unwrap();
        let m = spend >= t["monetaryCents"].as_i64().unwrap();
        Some(match (r, f, m) {
            (true, true, true) => "IMPORTANT_VALUE",
            (true, false, true) => "IMPORTANT_DEVELOP",
            (false, true, true) => "IMPORTANT_KEEP",
            (false, false, true) => "IMPORTANT_RETAIN",
            (true, true, false) => "GENERAL_VALUE",
            (true, false, false) => "GENERAL_DEVELOP",
            (false, true, false) => "GENERAL_KEEP",
            (false, false, false) => "GENERAL_RETAIN",
        })
    }
}

/// Which members a filter should keep, recomputed from their activity.
type Keeps<'a> = Box<dyn Fn(&Activity) -> bool + 'a>;

enum Step {
    Register(usize),
    SignIn(usize),
    Purchase(usize, i64),
}

async fn new_tag(app: &TestApp, admin: &Session, name: &str) -> String {
    let res = app.gql(Some(admin), CREATE_TAG, json!({ "n": name })).await;
    res.expect_ok()["createTag"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn segment_counts_match_a_recomputation_from_the_members_own_activity() {
    const MEMBERS: usize = 200;
    let app = spawn_app().await;
    let end: DateTime<Utc> = "2026-06-15T04:00:00Z".parse().unwrap();
    let today = business_day(end);
    let window_start = NaiveDate::from_ymd_opt(2025, 6, 16).unwrap();
    app.set_clock("2025-01-01T00:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261203);

    // Every member's steps, in time order: registering, signing in, buying.
    let mut steps: Vec<(DateTime<Utc>, Step)> = Vec::new();
    for i in 0..MEMBERS {
        let registered = end - TimeDelta::days(rng.gen_range(0..500)) - TimeDelta::hours(1);
        steps.push((registered, Step::Register(i)));
        let mut at = registered;
        for _ in 0..rng.gen_range(0..4) {
            at += TimeDelta::days(rng.gen_range(0..120));
            if at < end {
                steps.push((at, Step::SignIn(i)));
            }
        }
        let mut at = registered;
        for _ in 0..rng.gen_range(0..4) {
            at += TimeDelta::days(rng.gen_range(1..200));
            if at < end {
                steps.push((at, Step::Purchase(i, rng.gen_range(1..40) * 1_000)));
            }
        }
    }
    steps.sort_by_key(|(at, _)| *at);

    let mut members = vec![Activity::default(); MEMBERS];
    let mut order = 0_u32;
    for (at, step) in steps {
        app.clock.set(at).unwrap();
        match step {
            Step::Register(i) => {
                members[i].session = Some(app.login_member(&format!("m{i}")).await);
                members[i].registered = Some(business_day(at));
            }
            Step::SignIn(i) => {
                let day = business_day(at);
                if !members[i].sign_ins.contains(&day) {
                    app.sign_in(members[i].session.as_ref().unwrap()).await;
                    members[i].sign_ins.push(day);
                }
            }
            Step::Purchase(i, cents) => {
                order += 1;
                app.gql(
                    Some(&admin),
                    "mutation($m: ID!, $o: String!, $c: Int!, $t: DateTime!) { recordPurchase(memberId: $m, orderId: $o, amountCents: $c, occurredAt: $t) { orderId } }",
                    json!({ "m": members[i].session.as_ref().unwrap().id, "o": format!("o{order}"), "c": cents, "t": at.to_rfc3339() }),
                )
                .await
                .expect_ok();
                members[i]
                    .purchases
                    .push((business_day(at), cents, false, order));
            }
        }
    }
    app.clock.set(end).unwrap();

    // Refund about one purchase in five, tag, tier and birthdays.
    for member in &mut members {
        for purchase in &mut member.purchases {
            if purchase.3 % 5 == 0 {
                app.gql(
                    Some(&admin),
                    "mutation($o: String!) { refundPurchase(orderId: $o) { alreadyRefunded } }",
                    json!({ "o": format!("o{}", purchase.3) }),
                )
                .await
                .expect_ok();
                purchase.2 = true;
            }
        }
    }
    // The daily pass rolls the trailing window and measures the medians (and evaluates
    // tiers, so the test sets them after).
    app.gql(
        Some(&admin),
        "mutation { runScheduledJobs { pointsExpired } }",
        json!({}),
    )
    .await
    .expect_ok();
    let vip = new_tag(&app, &admin, "VIP").await;
    let coffee = new_tag(&app, &admin, "咖啡爱好者").await;
    let tiers = ["NEW", "REGULAR", "CORE", "SEED"];
    let mut vips = Vec::new();
    let mut coffee_lovers = Vec::new();
    for (i, member) in members.iter_mut().enumerate() {
        let session = member.session.clone().unwrap();
        member.tier = tiers[rng.gen_range(0..4)].to_owned();
        app.set_tier(&session, &member.tier).await;
        if rng.gen_bool(0.3) {
            vips.push(session.id.clone());
            member.tags.insert(vip.clone());
        }
        if rng.gen_bool(0.3) {
            coffee_lovers.push(session.id.clone());
            member.tags.insert(coffee.clone());
        }
        if i % 3 == 0 {
            let month = rng.gen_range(1..=12_u32);
            app.gql(
                Some(&session),
                "mutation($b: String!) { updateProfile(input: { birthday: $b }) { member { birthday } } }",
                json!({ "b": format!("{month:02}-10") }),
            )
            .await
            .expect_ok();
            member.birthday_month = Some(month);
        }
    }
    for (tag, ids) in [(&vip, &vips), (&coffee, &coffee_lovers)] {
        let res = app
            .gql(Some(&admin), TAG, json!({ "t": tag, "m": ids }))
            .await;
        assert_eq!(res.expect_ok()["tagMembers"], ids.len());
    }
    let thresholds = app
        .gql(
            Some(&admin),
            "{ rfmThresholds { recencyDays frequency monetaryCents automatic } }",
            json!({}),
        )
        .await;
    let thresholds = thresholds.expect_ok()["rfmThresholds"].clone();
    assert_eq!(thresholds["automatic"], true);

    // Each member as the API reads them agrees with the recomputation.
    for member in &mut members {
        let session = member.session.as_ref().unwrap();
        let read = app
            .gql(
                Some(&admin),
                "query($id: ID!) { member(id: $id) { tier { code } tags { id } rfm { group frequency monetaryCents } lifecycleStage points { balance } } }",
                json!({ "id": session.id }),
            )
            .await;
        let read = read.expect_ok()["member"].clone();
        member.balance = read["points"]["balance"].as_i64().unwrap();
        assert_eq!(read["tier"]["code"], member.tier.as_str());
        assert_eq!(
            read["lifecycleStage"],
            member.stage(today),
            "member {}",
            session.id
        );
        let expected_group = member.rfm_group(today, window_start, &thresholds);
        assert_eq!(
            read["rfm"]["group"].as_str(),
            expected_group,
            "member {}",
            session.id
        );
        let tags: HashSet<String> = read["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(tags, member.tags);
    }

    let filters: Vec<(Value, Keeps<'_>)> = vec![
        (
            json!({ "tiers": ["REGULAR", "CORE"], "anyOf": [{ "tagIds": [vip] }, { "rfmGroups": ["IMPORTANT_VALUE", "GENERAL_RETAIN"] }] }),
            Box::new(|m: &Activity| {
                ["REGULAR", "CORE"].contains(&m.tier.as_str())
                    && (m.tags.contains(&vip)
                        || matches!(
                            m.rfm_group(today, window_start, &thresholds),
                            Some("IMPORTANT_VALUE" | "GENERAL_RETAIN")
                        ))
            }),
        ),
        (
            json!({ "lifecycleStages": ["AT_RISK", "DORMANT"], "minPurchases12m": 1 }),
            Box::new(|m: &Activity| {
                ["AT_RISK", "DORMANT"].contains(&m.stage(today)) && m.trailing(window_start).0 >= 1
            }),
        ),
        (
            json!({ "anyOf": [{ "lifecycleStages": ["NEW", "PROSPECT"] }, { "birthdayMonth": 6 }, { "tagIds": [coffee], "minBalance": 5 }] }),
            Box::new(|m: &Activity| {
                ["NEW", "PROSPECT"].contains(&m.stage(today))
                    || m.birthday_month == Some(6)
                    || (m.tags.contains(&coffee) && m.balance >= 5)
            }),
        ),
        (
            json!({ "signedInWithinDays": 60, "registeredBeforeDays": 90 }),
            Box::new(|m: &Activity| {
                m.sign_ins.iter().any(|day| (today - *day).num_days() <= 60)
                    && (today - m.registered.unwrap()).num_days() >= 90
            }),
        ),
        (
            json!({ "inactiveForDays": 45, "minSpend12mCents": 20000 }),
            Box::new(|m: &Activity| {
                m.inactive_days(today) >= 45 && m.trailing(window_start).1 >= 20_000
            }),
        ),
        (
            json!({ "registeredWithinDays": 100, "tagIds": [vip, coffee] }),
            Box::new(|m: &Activity| {
                (today - m.registered.unwrap()).num_days() <= 100
                    && (m.tags.contains(&vip) || m.tags.contains(&coffee))
            }),
        ),
    ];
    for (filter, keeps) in &filters {
        let expected = members.iter().filter(|m| keeps(m)).count();
        let preview = app.gql(Some(&admin), PREVIEW, json!({ "f": filter })).await;
        assert_eq!(
            preview.expect_ok()["previewSegment"]["count"],
            expected,
            "{filter}"
        );
    }

    // Saved, the first segment counts and lists the same members.
    let (filter, keeps) = &filters[0];
    let saved = app
        .gql(
            Some(&admin),
            "mutation($f: SegmentFilterInput!) { createSegment(input: { name: \"召回人群\", filter: $f }) { id count } }",
            json!({ "f": filter }),
        )
        .await;
    let saved = saved.expect_ok()["createSegment"].clone();
    let expected: HashSet<String> = members
        .iter()
        .filter(|m| keeps(m))
        .map(|m| m.session.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(saved["count"], expected.len());
    let mut listed = HashSet::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .gql(
                Some(&admin),
                "query($s: ID!, $a: String) { members(segmentId: $s, first: 50, after: $a) { edges { cursor node { id } } pageInfo { hasNextPage } } }",
                json!({ "s": saved["id"], "a": after }),
            )
            .await;
        let page = page.expect_ok()["members"].clone();
        for edge in page["edges"].as_array().unwrap() {
            listed.insert(edge["node"]["id"].as_str().unwrap().to_owned());
            after = Some(edge["cursor"].as_str().unwrap().to_owned());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
    }
    assert_eq!(listed, expected);

    // The dashboard's distributions and repurchase rate agree with the same recomputation.
    let stats = app
        .gql(
            Some(&admin),
            "{ programmeStats(from: \"2025-06-15\", to: \"2026-06-15\") { purchases { purchasers repeatPurchasers repurchaseRate } rfm { group members } lifecycle { stage members } } }",
            json!({}),
        )
        .await;
    let stats = stats.expect_ok()["programmeStats"].clone();
    for row in stats["rfm"].as_array().unwrap() {
        let group = row["group"].as_str().unwrap();
        let expected = members
            .iter()
            .filter(|m| m.rfm_group(today, window_start, &thresholds) == Some(group))
            .count();
        assert_eq!(row["members"], expected, "{group}");
    }
    for row in stats["lifecycle"].as_array().unwrap() {
        let stage = row["stage"].as_str().unwrap();
        let expected = members.iter().filter(|m| m.stage(today) == stage).count();
        assert_eq!(row["members"], expected, "{stage}");
    }
    let period_start = NaiveDate::from_ymd_opt(2025, 6, 15).unwrap();
    let bought: Vec<usize> = members
        .iter()
        .map(|m| {
            m.purchases
                .iter()
                .filter(|(day, _, refunded, _)| !refunded && *day >= period_start && *day <= today)
                .count()
        })
        .filter(|n| *n > 0)
        .collect();
    let repeat = bought.iter().filter(|n| **n >= 2).count();
    assert_eq!(stats["purchases"]["purchasers"], bought.len());
    assert_eq!(stats["purchases"]["repeatPurchasers"], repeat);
    let rate = stats["purchases"]["repurchaseRate"].as_f64().unwrap();
    let exact =
        f64::from(u32::try_from(repeat).unwrap()) / f64::from(u32::try_from(bought.len()).unwrap());
    assert!((rate - exact).abs() < 0.0001, "{rate} vs {exact}");
}

#[tokio::test]
async fn tags_go_on_and_off_members_and_whole_segments() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let bob = app.login_member("bob").await;
    let vip = new_tag(&app, &admin, "VIP").await;

    // Names are unique; colours are #RRGGBB; only operators see and set tags.
    app.gql(Some(&admin), CREATE_TAG, json!({ "n": "VIP" }))
        .await
        .expect_error("CONFLICT");
    let bad = app
        .gql(
            Some(&admin),
            "mutation { createTag(input: { name: \"x\", color: \"red\" }) { id } }",
            json!({}),
        )
        .await;
    bad.expect_error("VALIDATION");
    assert_eq!(bad.error_field(), Some("color"));
    app.gql(Some(&ada), TAG, json!({ "t": vip, "m": [ada.id] }))
        .await
        .expect_error("FORBIDDEN");
    app.gql(Some(&ada), "{ me { tags { id } } }", json!({}))
        .await
        .expect_error("FORBIDDEN");

    let tagged = app
        .gql(
            Some(&admin),
            TAG,
            json!({ "t": vip, "m": [ada.id, ada.id, "999999"] }),
        )
        .await;
    assert_eq!(
        tagged.expect_ok()["tagMembers"],
        1,
        "unknown ids skipped, twice is once"
    );
    let listed = app
        .gql(
            Some(&admin),
            "query($t: ID!) { members(tagId: $t) { edges { node { id } } } }",
            json!({ "t": vip }),
        )
        .await;
    assert_eq!(
        listed.expect_ok()["members"]["edges"],
        json!([{ "node": { "id": ada.id } }])
    );
    let untagged = app
        .gql(
            Some(&admin),
            "mutation($t: ID!, $m: [ID!]!) { untagMembers(tagId: $t, memberIds: $m) }",
            json!({ "t": vip, "m": [ada.id, bob.id] }),
        )
        .await;
    assert_eq!(untagged.expect_ok()["untagMembers"], 1);

    // A whole segment at once: everyone registered today.
    let segment = app
        .gql(
            Some(&admin),
            "mutation { createSegment(input: { name: \"今日新客\", filter: { registeredWithinDays: 0 } }) { id count } }",
            json!({}),
        )
        .await;
    let segment = segment.expect_ok()["createSegment"].clone();
    assert_eq!(segment["count"], 2);
    let whole = app
        .gql(
            Some(&admin),
            "mutation($t: ID!, $s: ID!) { tagSegment(tagId: $t, segmentId: $s) }",
            json!({ "t": vip, "s": segment["id"] }),
        )
        .await;
    assert_eq!(whole.expect_ok()["tagSegment"], 2);
    let read = app
        .gql(
            Some(&admin),
            "query($id: ID!) { member(id: $id) { tags { name color } } }",
            json!({ "id": bob.id }),
        )
        .await;
    assert_eq!(
        read.expect_ok()["member"]["tags"],
        json!([{ "name": "VIP", "color": "#FF8800" }])
    );
}

async fn standing(app: &TestApp, admin: &Session, member: &Session) -> Value {
    let res = app
        .gql(
            Some(admin),
            "query($id: ID!) { member(id: $id) { lifecycleStage rfm { recencyDays frequency monetaryCents group } } }",
            json!({ "id": member.id }),
        )
        .await;
    res.expect_ok()["member"].clone()
}

#[tokio::test]
async fn lifecycle_and_rfm_follow_the_clock_and_the_thresholds() {
    let app = spawn_app().await;
    app.set_clock("2026-03-01T04:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let new = standing(&app, &admin, &ada).await;
    assert_eq!(new["lifecycleStage"], "NEW");
    assert_eq!(new["rfm"], Value::Null);
    app.set_clock("2026-03-09T04:00:00Z");
    assert_eq!(
        standing(&app, &admin, &ada).await["lifecycleStage"],
        "PROSPECT"
    );

    app.gql(
        Some(&admin),
        "mutation($m: ID!) { recordPurchase(memberId: $m, orderId: \"o1\", amountCents: 25000, occurredAt: \"2026-03-09T04:00:00Z\") { orderId } }",
        json!({ "m": ada.id }),
    )
    .await
    .expect_ok();
    let bought = standing(&app, &admin, &ada).await;
    assert_eq!(bought["lifecycleStage"], "ACTIVE");
    assert_eq!(
        bought["rfm"],
        json!({ "recencyDays": 0, "frequency": 1, "monetaryCents": 25000, "group": "IMPORTANT_DEVELOP" }),
        "the fallback thresholds: 30 days, 2 purchases, 100 yuan"
    );
    app.set_clock("2026-04-08T04:00:00Z");
    assert_eq!(
        standing(&app, &admin, &ada).await["lifecycleStage"],
        "AT_RISK"
    );
    app.set_clock("2026-06-07T04:00:00Z");
    assert_eq!(
        standing(&app, &admin, &ada).await["lifecycleStage"],
        "DORMANT"
    );

    // Operators move the lines; bad ones are refused by field.
    let update = "mutation($i: LifecycleThresholdsInput!) { updateLifecycleThresholds(input: $i) { newDays atRiskDays dormantDays } }";
    let refused = app
        .gql(
            Some(&admin),
            update,
            json!({ "i": { "newDays": 7, "atRiskDays": 120, "dormantDays": 100 } }),
        )
        .await;
    refused.expect_error("VALIDATION");
    assert_eq!(refused.error_field(), Some("dormantDays"));
    app.gql(
        Some(&admin),
        update,
        json!({ "i": { "newDays": 7, "atRiskDays": 60, "dormantDays": 120 } }),
    )
    .await
    .expect_ok();
    assert_eq!(
        standing(&app, &admin, &ada).await["lifecycleStage"],
        "AT_RISK"
    );

    let rfm = "mutation($i: RfmThresholdsInput) { updateRfmThresholds(input: $i) { recencyDays frequency monetaryCents automatic } }";
    let manual = app
        .gql(
            Some(&admin),
            rfm,
            json!({ "i": { "recencyDays": 100, "frequency": 1, "monetaryCents": 30000 } }),
        )
        .await;
    assert_eq!(
        manual.expect_ok()["updateRfmThresholds"]["automatic"],
        false
    );
    assert_eq!(
        standing(&app, &admin, &ada).await["rfm"]["group"],
        "GENERAL_VALUE"
    );
    let bad = app
        .gql(
            Some(&admin),
            rfm,
            json!({ "i": { "recencyDays": 0, "frequency": 1, "monetaryCents": 1 } }),
        )
        .await;
    bad.expect_error("VALIDATION");
    assert_eq!(bad.error_field(), Some("recencyDays"));
    // Back to the medians: one buyer, so the medians are hers.
    let automatic = app.gql(Some(&admin), rfm, json!({ "i": null })).await;
    assert_eq!(
        automatic.expect_ok()["updateRfmThresholds"],
        json!({ "recencyDays": 90, "frequency": 1, "monetaryCents": 25000, "automatic": true })
    );
    assert_eq!(
        standing(&app, &admin, &ada).await["rfm"]["group"],
        "IMPORTANT_VALUE"
    );

    // Filters are checked by field.
    let bad_filter = app
        .gql(
            Some(&admin),
            PREVIEW,
            json!({ "f": { "birthdayMonth": 13 } }),
        )
        .await;
    bad_filter.expect_error("VALIDATION");
    assert_eq!(bad_filter.error_field(), Some("filter.birthdayMonth"));
    let bad_tag = app
        .gql(Some(&admin), PREVIEW, json!({ "f": { "tagIds": ["abc"] } }))
        .await;
    bad_tag.expect_error("VALIDATION");
    assert_eq!(bad_tag.error_field(), Some("filter.tagIds"));
}

#[tokio::test]
async fn the_scheduled_pass_notices_each_entry_into_at_risk_and_dormant_once() {
    let app = spawn_app().await;
    app.set_clock("2026-01-01T04:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let bob = app.login_member("bob").await;
    app.sign_in(&ada).await;
    let pass = || async {
        let res = app
            .gql(
                Some(&admin),
                "mutation { runScheduledJobs { becameAtRisk becameDormant } }",
                json!({}),
            )
            .await;
        let run = res.expect_ok()["runScheduledJobs"].clone();
        (
            run["becameAtRisk"].as_i64().unwrap(),
            run["becameDormant"].as_i64().unwrap(),
        )
    };
    let bob_signs_in_on = |day: &str| {
        let at = format!("{day}T04:00:00Z");
        app.set_clock(&at);
        app.sign_in(&bob)
    };
    assert_eq!(pass().await, (0, 0));

    // Thirty days without a sign-in or a purchase: Ada enters AT_RISK, noticed once.
    bob_signs_in_on("2026-01-31").await;
    assert_eq!(pass().await, (1, 0));
    assert_eq!(pass().await, (0, 0), "the same entry is not noticed twice");
    // Ninety: DORMANT.
    bob_signs_in_on("2026-04-01").await;
    assert_eq!(pass().await, (0, 1));
    // Back in the app she is active; staying away again is a new entry.
    app.sign_in(&ada).await;
    assert_eq!(pass().await, (0, 0));
    bob_signs_in_on("2026-05-01").await;
    assert_eq!(pass().await, (1, 0));
}

async fn count(app: &TestApp, admin: &Session, id: &str) -> Value {
    let res = app
        .gql(
            Some(admin),
            "query($id: ID!) { member(id: $id) { signInsLast30Days } }",
            json!({ "id": id }),
        )
        .await;
    res.expect_ok()["member"]["signInsLast30Days"].clone()
}

#[tokio::test]
async fn sign_ins_of_the_last_30_days_are_counted_as_they_happen_and_rolled_daily() {
    let app = spawn_app().await;
    app.set_clock("2026-03-02T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    app.sign_in(&ada).await;
    app.set_clock("2026-03-03T02:00:00Z");
    app.sign_in(&ada).await;
    assert_eq!(count(&app, &admin, &ada.id).await, 2);
    // Day 30 after the first: it left the window; the next day the second leaves too.
    for (day, expected) in [("2026-04-01T02:00:00Z", 1), ("2026-04-02T02:00:00Z", 0)] {
        app.set_clock(day);
        app.gql(
            Some(&admin),
            "mutation { runScheduledJobs { pointsExpired } }",
            json!({}),
        )
        .await
        .expect_ok();
        assert_eq!(count(&app, &admin, &ada.id).await, expected, "{day}");
    }
    app.gql(Some(&ada), "{ me { signInsLast30Days } }", json!({}))
        .await
        .expect_error("FORBIDDEN");
}
