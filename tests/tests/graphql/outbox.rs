//! Reaching members outside the app (SPEC §17): subscribe messages through the outbox, the
//! errcode rules, retries and `DEAD`, and the dispatcher across a kill and several instances.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a failed setup or a missed deadline should fail the test loudly"
)]

use std::time::Duration;

use api::domain::auth::Role;
use serde_json::{Value, json};
use tests::{Session, TestApp, spawn_app, spawn_app_with};

const TEMPLATES: &str = "mutation($input: [MessageTemplateInput!]!) {
    updateMessageTemplates(input: $input) { kind templateId page fields { key value } }
}";
const RECORD: &str = "mutation($input: [MessageSubscriptionInput!]!) {
    recordMessageSubscriptions(input: $input) { templateId remaining }
}";
const CONSENTS: &str = "{ me { messageConsents { templateId remaining } } }";
const DELIVERIES: &str = "query($status: DeliveryStatus) {
    deliveries(status: $status, first: 50) { edges { node {
        id channel status event memberId attempts lastErrcode lastError nextAttemptAt sentAt payload
    } } }
}";
const RETRY: &str = "mutation($id: ID!) { retryDelivery(id: $id) { id status attempts } }";

/// Polls `check` every 20 ms until it holds, for at most 10 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..500 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Waits until WeChat accepted `count` messages.
async fn until_messages(app: &TestApp, count: usize, what: &str) {
    let fake = app.fake_wechat.clone();
    eventually(what, || {
        let fake = fake.clone();
        async move { fake.messages().len() == count }
    })
    .await;
}

/// Waits until `count` deliveries stand in `status`.
async fn until_deliveries(app: &TestApp, admin: &Session, status: &str, count: usize) {
    eventually(&format!("{count} deliveries are {status}"), || async {
        deliveries(app, admin, Some(status)).await.len() == count
    })
    .await;
}

/// Maps POINTS_EARNED to a points template and returns an admin session.
async fn map_points_template(app: &TestApp) -> Session {
    let admin = app.login_admin("boss", Role::Admin).await;
    let mapping = json!([{
        "kind": "POINTS_EARNED",
        "templateId": "tpl-points",
        "page": "pages/points/index",
        "fields": [
            { "key": "thing1", "value": "{title}" },
            { "key": "number2", "value": "{points}" },
            { "key": "number3", "value": "{balance}" },
            { "key": "time4", "value": "{time}" },
        ],
    }]);
    app.gql(Some(&admin), TEMPLATES, json!({ "input": mapping }))
        .await
        .expect_ok();
    admin
}

async fn consent(app: &TestApp, member: &Session, times: usize) {
    for _ in 0..times {
        let answers = json!([{ "templateId": "tpl-points", "accepted": true }]);
        app.gql(Some(member), RECORD, json!({ "input": answers }))
            .await
            .expect_ok();
    }
}

async fn deliveries(app: &TestApp, admin: &Session, status: Option<&str>) -> Vec<Value> {
    let res = app
        .gql(Some(admin), DELIVERIES, json!({ "status": status }))
        .await;
    res.expect_ok()["deliveries"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

#[tokio::test]
async fn a_consented_sign_in_sends_one_subscribe_message_and_the_next_sends_none() {
    let app = spawn_app().await;
    let admin = map_points_template(&app).await;
    let ada = app.login_member("ada").await;
    consent(&app, &ada, 1).await;

    let signed = app.sign_in(&ada).await;
    let fake = app.fake_wechat.clone();
    until_messages(&app, 1, "WeChat received the message").await;
    let (token, message) = fake.messages()[0].clone();
    assert!(token.starts_with("token-"), "a stable_token token: {token}");
    assert_eq!(message["touser"], "openid-ada");
    assert_eq!(message["template_id"], "tpl-points");
    assert_eq!(message["page"], "pages/points/index");
    assert_eq!(message["miniprogram_state"], "formal");
    assert_eq!(message["data"]["thing1"]["value"], "积分到账");
    assert_eq!(
        message["data"]["number2"]["value"],
        signed["pointsGranted"].as_i64().unwrap().to_string()
    );
    assert_eq!(
        message["data"]["number3"]["value"],
        signed["balance"].as_i64().unwrap().to_string()
    );
    assert!(
        message["data"]["time4"]["value"]
            .as_str()
            .unwrap()
            .contains('年')
    );
    // The consent is used up.
    let consents = app.gql(Some(&ada), CONSENTS, json!({})).await;
    assert_eq!(consents.expect_ok()["me"]["messageConsents"], json!([]));

    app.advance_days(1);
    app.sign_in(&ada).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.messages().len(), 1, "no consent, no message");
    let sent = deliveries(&app, &admin, None).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["channel"], "WECHAT");
    assert_eq!(sent[0]["status"], "SENT");
    assert_eq!(sent[0]["event"], "POINTS_EARNED");
    assert_eq!(sent[0]["memberId"], ada.id.as_str());
    assert_eq!(sent[0]["attempts"], 1);
    // One token for everything: never one token request per message.
    assert_eq!(fake.token_requests(), vec![false]);

    // The outbox in /metrics: its rows by status, and this instance's attempts.
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "membercard_outbox_deliveries{status=\"SENT\"} 1",
        "membercard_outbox_deliveries{status=\"PENDING\"} 0",
        "membercard_outbox_delivery_attempts_total{channel=\"WECHAT\",outcome=\"sent\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line} in:\n{metrics}"
        );
    }
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_message_resent() {
    let app = spawn_app().await;
    map_points_template(&app).await;
    let ada = app.login_member("ada").await;
    consent(&app, &ada, 1).await;
    // WeChat refuses the first token it issues (another party refreshed it, say).
    app.fake_wechat.fail_next_messages(&[40001]);

    app.sign_in(&ada).await;
    let fake = app.fake_wechat.clone();
    until_messages(&app, 1, "the message was resent").await;
    assert_eq!(fake.message_attempts(), 2, "one refusal, one resend");
    assert_eq!(fake.token_requests(), vec![false, true]);
    assert_eq!(fake.messages()[0].0, "token-2");
}

#[tokio::test]
async fn a_withdrawn_consent_zeroes_the_template_and_is_not_retried() {
    let app = spawn_app().await;
    let admin = map_points_template(&app).await;
    let ada = app.login_member("ada").await;
    consent(&app, &ada, 3).await;
    app.fake_wechat.fail_next_messages(&[43101]);

    app.sign_in(&ada).await;
    until_deliveries(&app, &admin, "DEAD", 1).await;
    let dead = deliveries(&app, &admin, Some("DEAD")).await;
    assert_eq!(dead[0]["lastErrcode"], 43101);
    assert_eq!(dead[0]["attempts"], 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.fake_wechat.message_attempts(), 1, "not retried");
    let consents = app.gql(Some(&ada), CONSENTS, json!({})).await;
    assert_eq!(
        consents.expect_ok()["me"]["messageConsents"],
        json!([]),
        "the two consents left are gone"
    );
}

#[tokio::test]
async fn bad_openid_template_page_or_data_go_dead_at_once() {
    let app = spawn_app().await;
    let admin = map_points_template(&app).await;
    for (n, errcode) in [40003, 40037, 41030, 47003].into_iter().enumerate() {
        let member = app.login_member(&format!("m{errcode}")).await;
        consent(&app, &member, 1).await;
        app.fake_wechat.fail_next_messages(&[errcode]);
        app.sign_in(&member).await;
        until_deliveries(&app, &admin, "DEAD", n + 1).await;
        assert_eq!(
            deliveries(&app, &admin, Some("DEAD")).await[0]["lastErrcode"],
            errcode
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.fake_wechat.message_attempts(), 4, "none retried");
}

#[tokio::test]
async fn the_daily_quota_waits_for_the_next_business_day() {
    let app = spawn_app().await;
    let admin = map_points_template(&app).await;
    app.set_clock("2026-12-03T02:00:00Z"); // 10:00 in Shanghai
    let ada = app.login_member("ada").await;
    consent(&app, &ada, 1).await;
    app.fake_wechat.fail_next_messages(&[45009]);
    app.sign_in(&ada).await;
    eventually("the quota answer is recorded", || async {
        deliveries(&app, &admin, None).await[0]["lastErrcode"] == 45009
    })
    .await;
    let waiting = &deliveries(&app, &admin, None).await[0];
    assert_eq!(waiting["status"], "PENDING");
    assert_eq!(
        waiting["nextAttemptAt"], "2026-12-03T16:00:00+00:00",
        "Shanghai midnight"
    );

    app.set_clock("2026-12-03T16:00:01Z");
    until_messages(&app, 1, "sent the next day").await;
}

#[tokio::test]
async fn an_unreachable_wechat_is_retried_with_backoff_until_it_is_back() {
    let app = spawn_app_with(&[("MEMBERCARD_OUTBOX_RETRY_BASE_MS", "40")]).await;
    let admin = map_points_template(&app).await;
    let ada = app.login_member("ada").await;
    consent(&app, &ada, 1).await;
    app.fake_wechat.set_messages_down(true);

    app.sign_in(&ada).await;
    let fake = app.fake_wechat.clone();
    eventually("three attempts failed", || {
        let fake = fake.clone();
        async move { fake.message_attempts() >= 3 }
    })
    .await;
    let pending = &deliveries(&app, &admin, None).await[0];
    assert_eq!(pending["status"], "PENDING");
    assert!(pending["lastError"].as_str().is_some());

    fake.set_messages_down(false);
    until_messages(&app, 1, "delivered once WeChat is back").await;
    until_deliveries(&app, &admin, "SENT", 1).await;
    let sent = &deliveries(&app, &admin, Some("SENT")).await[0];
    assert!(sent["attempts"].as_i64().unwrap() >= 4);
    assert!(sent["sentAt"].is_string());
}

#[tokio::test]
async fn a_stalled_wechat_fails_the_attempt_in_time_and_the_retry_delivers() {
    let app = spawn_app_with(&[
        ("MEMBERCARD_WECHAT_TIMEOUT_MS", "300"),
        ("MEMBERCARD_OUTBOX_RETRY_BASE_MS", "20"),
    ])
    .await;
    let admin = map_points_template(&app).await;
    let ada = app.login_member("ada").await;
    consent(&app, &ada, 1).await;
    app.fake_wechat.stall_next_message(Duration::from_secs(30));
    let started = std::time::Instant::now();
    app.sign_in(&ada).await;
    until_messages(&app, 1, "delivered by the retry").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the stall did not hold it"
    );
    until_deliveries(&app, &admin, "SENT", 1).await;
    assert_eq!(
        deliveries(&app, &admin, Some("SENT")).await[0]["attempts"],
        2
    );
}

#[tokio::test]
async fn a_delivery_dead_after_its_attempts_is_sent_by_retry_delivery() {
    let app = spawn_app_with(&[
        ("MEMBERCARD_OUTBOX_RETRY_BASE_MS", "20"),
        ("MEMBERCARD_OUTBOX_MAX_ATTEMPTS", "3"),
    ])
    .await;
    let admin = map_points_template(&app).await;
    let ada = app.login_member("ada").await;
    consent(&app, &ada, 1).await;
    app.fake_wechat.set_messages_down(true);
    app.sign_in(&ada).await;
    until_deliveries(&app, &admin, "DEAD", 1).await;
    let dead = deliveries(&app, &admin, Some("DEAD")).await[0].clone();
    assert_eq!(dead["attempts"], 3);
    assert_eq!(app.fake_wechat.message_attempts(), 3);

    // Only a dead delivery can be retried, and only by an admin.
    let member_try = app
        .gql(Some(&ada), RETRY, json!({ "id": dead["id"] }))
        .await;
    member_try.expect_error("FORBIDDEN");
    let unknown = app
        .gql(Some(&admin), RETRY, json!({ "id": "999999" }))
        .await;
    unknown.expect_error("NOT_FOUND");

    app.fake_wechat.set_messages_down(false);
    let retried = app
        .gql(Some(&admin), RETRY, json!({ "id": dead["id"] }))
        .await;
    let retried = retried.expect_ok()["retryDelivery"].clone();
    assert_eq!(retried["status"], "PENDING");
    assert_eq!(retried["attempts"], 0);
    until_messages(&app, 1, "delivered after the retry").await;
    until_deliveries(&app, &admin, "SENT", 1).await;
    let again = app
        .gql(Some(&admin), RETRY, json!({ "id": dead["id"] }))
        .await;
    again.expect_error("CONFLICT");
}

#[tokio::test]
async fn template_mappings_are_checked_field_by_field_and_admin_only() {
    let app = spawn_app().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    let good = json!({ "kind": "POINTS_EARNED", "templateId": "tpl", "fields": [{ "key": "thing1", "value": "{title}" }] });
    app.gql(Some(&ada), TEMPLATES, json!({ "input": [good] }))
        .await
        .expect_error("FORBIDDEN");
    let cases = [
        (
            json!({ "kind": "POINTS_EARNED", "templateId": "bad id", "fields": [{ "key": "thing1", "value": "x" }] }),
            "templateId",
        ),
        (
            json!({ "kind": "POINTS_EARNED", "templateId": "tpl", "fields": [{ "key": "colour1", "value": "x" }] }),
            "fields.key",
        ),
        (
            json!({ "kind": "POINTS_EARNED", "templateId": "tpl", "fields": [{ "key": "thing1", "value": "{nope}" }] }),
            "fields.value",
        ),
        (
            json!({ "kind": "POINTS_EARNED", "templateId": "tpl", "page": "/abs", "fields": [{ "key": "thing1", "value": "x" }] }),
            "page",
        ),
        (
            json!({ "kind": "POINTS_EARNED", "templateId": "tpl", "fields": [] }),
            "fields",
        ),
    ];
    for (entry, field) in cases {
        let res = app
            .gql(Some(&admin), TEMPLATES, json!({ "input": [entry] }))
            .await;
        res.expect_error("VALIDATION");
        assert_eq!(res.error_field(), Some(field));
    }
    let twice = app
        .gql(Some(&admin), TEMPLATES, json!({ "input": [good, good] }))
        .await;
    twice.expect_error("VALIDATION");
    assert_eq!(twice.error_field(), Some("kind"));

    app.gql(Some(&admin), TEMPLATES, json!({ "input": [good] }))
        .await
        .expect_ok();
    let listed = app
        .gql(
            Some(&admin),
            "{ messageTemplates { kind templateId page fields { key value } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed.expect_ok()["messageTemplates"],
        json!([{ "kind": "POINTS_EARNED", "templateId": "tpl", "page": "", "fields": [{ "key": "thing1", "value": "{title}" }] }])
    );
    // The list is the whole mapping: [] unmaps everything.
    app.gql(Some(&admin), TEMPLATES, json!({ "input": [] }))
        .await
        .expect_ok();
    let none = app
        .gql(Some(&admin), "{ messageTemplates { kind } }", json!({}))
        .await;
    assert_eq!(none.expect_ok()["messageTemplates"], json!([]));
}

/// The server binary running as a child process on the app's database, WeChat fake and Redis.
struct ChildServer {
    process: tokio::process::Child,
    graphql_url: String,
}

impl ChildServer {
    async fn spawn(app: &TestApp, vars: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let process = tokio::process::Command::new(env!("CARGO_BIN_EXE_membercard-under-test"))
            .env_clear()
            .envs(&app.env)
            .env("MEMBERCARD_LISTEN", &address)
            .env("MEMBERCARD_SHUTDOWN_DRAIN_MS", "100")
            .envs(vars.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the server binary");
        let child = Self {
            process,
            graphql_url: format!("http://{address}/graphql"),
        };
        let healthz = format!("http://{address}/healthz");
        for _ in 0..300 {
            if let Ok(answer) = app.client.get(&healthz).send().await
                && answer.status().is_success()
            {
                return child;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the child server did not come up");
    }

    async fn gql(&self, app: &TestApp, auth: &Session, query: &str) -> Value {
        app.client
            .post(&self.graphql_url)
            .bearer_auth(&auth.token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("the child answers")
            .json()
            .await
            .expect("a JSON answer")
    }
}

#[tokio::test]
async fn a_message_committed_before_a_kill_is_sent_after_the_restart() {
    // The in-process app only sets up; it sends nothing itself.
    let app = spawn_app_with(&[("MEMBERCARD_OUTBOX_POLL_MS", "0")]).await;
    let admin = map_points_template(&app).await;
    let ada = app.login_member("ada").await;
    consent(&app, &ada, 1).await;

    // An instance commits the sign-in and its outbox row, and dies before it sends.
    let mut doomed = ChildServer::spawn(&app, &[("MEMBERCARD_OUTBOX_POLL_MS", "0")]).await;
    let signed = doomed
        .gql(&app, &ada, "mutation { signIn { pointsGranted } }")
        .await;
    assert!(
        signed["data"]["signIn"]["pointsGranted"].is_number(),
        "{signed}"
    );
    doomed.process.start_kill().expect("SIGKILL");
    doomed.process.wait().await.expect("the child ends");
    assert!(app.fake_wechat.messages().is_empty());
    let pending = deliveries(&app, &admin, Some("PENDING")).await;
    assert_eq!(pending.len(), 1, "the row survived the kill");

    // The restarted server's dispatcher sends it, once.
    let mut restarted = ChildServer::spawn(&app, &[("MEMBERCARD_OUTBOX_POLL_MS", "20")]).await;
    let fake = app.fake_wechat.clone();
    until_messages(&app, 1, "sent after the restart").await;
    assert_eq!(fake.messages()[0].1["touser"], "openid-ada");
    until_deliveries(&app, &admin, "SENT", 1).await;

    // SIGTERM: the dispatcher stops with the server, which exits cleanly.
    let pid = restarted.process.id().expect("a running child");
    let signalled = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(signalled.success());
    let exit = tokio::time::timeout(Duration::from_secs(20), restarted.process.wait())
        .await
        .expect("the server stops within the drain and grace periods")
        .expect("an exit status");
    assert!(exit.success(), "{exit:?}");
    assert_eq!(fake.messages().len(), 1, "nothing sent twice");
}

#[tokio::test]
async fn two_instances_never_send_one_row_twice() {
    let app = spawn_app_with(&[("MEMBERCARD_OUTBOX_POLL_MS", "5")]).await;
    if app.db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return; // several instances need the shared database
    }
    let admin = app.login_admin("boss", Role::Admin).await;
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_delay(Duration::from_millis(5)))
        .mount(&server)
        .await;
    let input = json!({
        "url": format!("{}/hooks", server.uri()),
        "secret": "whsec-0123456789abcdef",
        "events": ["MEMBER_REGISTERED"],
    });
    app.gql(
        Some(&admin),
        "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { id } }",
        json!({ "input": input }),
    )
    .await
    .expect_ok();
    // Two more instances, each with its own dispatcher, and the test claiming too.
    app.spawn_sibling().await;
    app.spawn_sibling().await;

    const MEMBERS: usize = 60;
    let logins = (0..MEMBERS).map(|n| {
        let app = &app;
        async move { app.login_member(&format!("m{n}")).await }
    });
    let claiming = async {
        for _ in 0..50 {
            app.services
                .dispatcher
                .dispatch_due()
                .await
                .expect("a claim");
        }
    };
    let (_, ()) = tokio::join!(futures::future::join_all(logins), claiming);

    eventually("every event arrived", || async {
        server.received_requests().await.unwrap_or_default().len() >= MEMBERS
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let requests = server.received_requests().await.unwrap_or_default();
    let ids: std::collections::HashSet<String> = requests
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(requests.len(), MEMBERS, "each row sent once");
    assert_eq!(ids.len(), MEMBERS);
}

#[tokio::test]
async fn coupons_announce_their_arrival_and_their_lapse_once_three_days_before() {
    let app = spawn_app().await;
    app.set_clock("2026-03-10T02:00:00Z");
    let admin = app.login_admin("boss", Role::Admin).await;
    let ada = app.login_member("ada").await;
    app.adjust_points(&admin, &ada, 100, "seed").await;
    let reward = app.coupon_reward(&admin, "咖啡券", 20).await;
    let redeemed = app
        .gql(
            Some(&ada),
            "mutation($r: ID!) { redeemReward(rewardId: $r, quantity: 2, idempotencyKey: \"two\") { coupons { code expiresAt } } }",
            json!({ "r": reward }),
        )
        .await;
    let coupons = redeemed.expect_ok()["redeemReward"]["coupons"].clone();
    let inbox = "{ inbox(first: 20) { edges { node { kind title body } } } }";
    let kinds = |data: &Value| -> Vec<String> {
        data["inbox"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    let arrived = app.gql(Some(&ada), inbox, json!({})).await;
    let arrived = arrived.expect_ok();
    assert_eq!(
        kinds(arrived)
            .iter()
            .filter(|k| *k == "COUPON_ARRIVED")
            .count(),
        1,
        "one notice for the redemption's coupons"
    );
    let body = arrived["inbox"]["edges"][0]["node"]["body"]
        .as_str()
        .unwrap();
    assert!(body.contains("2 张「咖啡券」"), "{body}");

    // One of the two is used; only the other is reminded of.
    app.gql(
        Some(&admin),
        "mutation($c: String!) { redeemCoupon(code: $c) { code } }",
        json!({ "c": coupons[0]["code"] }),
    )
    .await
    .expect_ok();
    let jobs = "mutation { runScheduledJobs { couponExpiringNotices } }";
    let early = app.gql(Some(&admin), jobs, json!({})).await;
    assert_eq!(
        early.expect_ok()["runScheduledJobs"]["couponExpiringNotices"],
        0
    );

    // Coupons live 30 days: 27 days and an hour later, one lapses within 3 days.
    app.set_clock("2026-04-06T03:00:00Z");
    let due = app.gql(Some(&admin), jobs, json!({})).await;
    assert_eq!(
        due.expect_ok()["runScheduledJobs"]["couponExpiringNotices"],
        1
    );
    let again = app.gql(Some(&admin), jobs, json!({})).await;
    assert_eq!(
        again.expect_ok()["runScheduledJobs"]["couponExpiringNotices"],
        0,
        "once per coupon"
    );
    let reminded = app.gql(Some(&ada), inbox, json!({})).await;
    let reminded = reminded.expect_ok();
    assert_eq!(kinds(reminded)[0], "COUPON_EXPIRING");
    let body = reminded["inbox"]["edges"][0]["node"]["body"]
        .as_str()
        .unwrap();
    assert!(body.contains("「咖啡券」将于 2026-04-09 过期"), "{body}");
}
