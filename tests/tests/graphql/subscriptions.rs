//! `GET /graphql/ws` (graphql-transport-ws): the live inbox, authenticated in
//! `connection_init`, delivered across instances, never to another member.

use std::time::Duration;

use api::domain::auth::Role;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tests::{Session, TestApp, spawn_app};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

const INBOX_UPDATES: &str =
    "subscription { inboxUpdates { notification { kind body } unreadCount } }";

/// Opens a graphql-transport-ws connection to `graphql_url` + `/ws` and sends `connection_init`.
#[expect(
    clippy::unwrap_used,
    reason = "test helper: a failed connection should fail the test"
)]
async fn open(graphql_url: &str, init: Value) -> Socket {
    let url = format!("{}/ws", graphql_url.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": init }),
    )
    .await;
    socket
}

#[expect(
    clippy::unwrap_used,
    reason = "test helper: a failed send should fail the test"
)]
async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next protocol message, or `None` when the server closed the connection or nothing came
/// within `wait`.
async fn next(socket: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(wait, socket.next())
            .await
            .ok()??
            .ok()?;
        match message {
            Message::Text(text) => return serde_json::from_str(&text).ok(),
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

#[expect(
    clippy::expect_used,
    reason = "test helper: a missing message should fail the test"
)]
async fn expect_message(socket: &mut Socket) -> Value {
    next(socket, Duration::from_secs(10))
        .await
        .expect("a message from the server")
}

/// Connects `member`, subscribes to the inbox, and waits until the subscription is live.
#[expect(
    clippy::indexing_slicing,
    reason = "test helper: a wrong answer should fail the test"
)]
async fn subscribe(graphql_url: &str, member: &Session) -> Socket {
    let mut socket = open(graphql_url, json!({ "token": member.token })).await;
    assert_eq!(expect_message(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({ "id": "inbox", "type": "subscribe", "payload": { "query": INBOX_UPDATES } }),
    )
    .await;
    // The subscription starts with one read of the newest notice id; give it a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    socket
}

async fn give(app: &TestApp, admin: &Session, member: &Session, amount: i64, key: &str) {
    app.gql(
        Some(admin),
        "mutation($m: ID!, $a: Int!, $k: String!) { adjustPoints(memberId: $m, amount: $a, reason: \"gift\", idempotencyKey: $k) { balanceAfter } }",
        json!({ "m": member.id, "a": amount, "k": key }),
    )
    .await
    .expect_ok();
}

#[tokio::test]
async fn members_get_their_own_new_notices_live_from_any_instance() {
    let app = spawn_app().await;
    let sibling = app.spawn_sibling().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    // An older notice is not replayed.
    give(&app, &admin, &alice, 5, "before").await;

    // Alice listens on the other instance; the notice is written through this one.
    let mut alice_socket = subscribe(&sibling, &alice).await;
    let mut bob_socket = subscribe(&app.graphql_url(), &bob).await;
    give(&app, &admin, &alice, 100, "live").await;

    let update = expect_message(&mut alice_socket).await;
    assert_eq!(update["type"], "next", "{update}");
    assert_eq!(update["id"], "inbox");
    let payload = &update["payload"]["data"]["inboxUpdates"];
    assert_eq!(payload["notification"]["kind"], "POINTS_EARNED");
    assert!(
        payload["notification"]["body"]
            .as_str()
            .is_some_and(|b| b.contains("+100")),
        "{payload}"
    );
    assert_eq!(payload["unreadCount"], 2);

    // Bob got nothing of Alice's: his first message is his own notice.
    give(&app, &admin, &bob, 7, "bob").await;
    let update = expect_message(&mut bob_socket).await;
    let body = update["payload"]["data"]["inboxUpdates"]["notification"]["body"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(body.contains("+7"), "{update}");

    // `complete` ends the subscription; the connection stays open.
    send(
        &mut alice_socket,
        json!({ "id": "inbox", "type": "complete" }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    give(&app, &admin, &alice, 1, "after-complete").await;
    while let Some(message) = next(&mut alice_socket, Duration::from_secs(2)).await {
        assert_ne!(message["type"], "next", "nothing after complete: {message}");
    }
}

#[tokio::test]
async fn subscriptions_need_a_member_token_in_connection_init() {
    let app = spawn_app().await;
    let url = app.graphql_url();
    let admin = app.login_admin("boss", Role::Admin).await;

    // No token: the connection opens, the subscription is refused.
    let mut socket = open(&url, json!({})).await;
    assert_eq!(expect_message(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": INBOX_UPDATES } }),
    )
    .await;
    let refused = expect_message(&mut socket).await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );

    // An admin is not a member.
    let mut socket = open(
        &url,
        json!({ "Authorization": format!("Bearer {}", admin.token) }),
    )
    .await;
    assert_eq!(expect_message(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": INBOX_UPDATES } }),
    )
    .await;
    let refused = expect_message(&mut socket).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "FORBIDDEN"
    );

    // A forged token: the server closes the connection instead of acknowledging it.
    let mut socket = open(&url, json!({ "token": "not-a-token" })).await;
    assert_eq!(next(&mut socket, Duration::from_secs(5)).await, None);

    // Subscriptions are not run over POST.
    let res = app.gql(None, INBOX_UPDATES, json!({})).await;
    assert_eq!(res.status, 400);
}
