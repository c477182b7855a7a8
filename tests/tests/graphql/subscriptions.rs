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

const INBOX_UPDATES: &str = "subscription($after: ID) { inboxUpdates(after: $after) { notification { id kind body } unreadCount } }";

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

/// The code of the close frame the server sends next (within 5 s).
async fn close_code(socket: &mut Socket) -> Option<u16> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .ok()??
            .ok()?;
        if let Message::Close(frame) = message {
            return frame.map(|frame| u16::from(frame.code));
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

/// Opens a connection with `init`, checks it is acknowledged, and subscribes to the inbox as
/// operation `id`, after the notice `after` when given.
#[expect(
    clippy::indexing_slicing,
    reason = "test helper: a wrong answer should fail the test"
)]
async fn open_inbox(graphql_url: &str, init: Value, id: &str, after: Option<&str>) -> Socket {
    let mut socket = open(graphql_url, init).await;
    assert_eq!(expect_message(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": INBOX_UPDATES, "variables": { "after": after } } }),
    )
    .await;
    socket
}

/// Connects `member` and subscribes to the notices after their newest one: whatever is written
/// from here on arrives, however long the subscription takes to start.
async fn subscribe(app: &TestApp, graphql_url: &str, member: &Session) -> Socket {
    let newest = newest_notice(app, member).await;
    open_inbox(
        graphql_url,
        json!({ "token": member.token }),
        "inbox",
        Some(&newest),
    )
    .await
}

#[expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helper: a member without notices should fail the test"
)]
async fn newest_notice(app: &TestApp, member: &Session) -> String {
    let res = app
        .gql(
            Some(member),
            "{ inbox(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    res.expect_ok()["inbox"]["edges"][0]["node"]["id"]
        .as_str()
        .expect("the member has a notice")
        .to_owned()
}

/// The body of the notice in a `next` message.
#[expect(
    clippy::indexing_slicing,
    reason = "test helper: a wrong message should fail the test"
)]
fn body(update: &Value) -> &str {
    update["payload"]["data"]["inboxUpdates"]["notification"]["body"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn members_get_their_own_new_notices_live_from_any_instance() {
    let app = spawn_app().await;
    let sibling = app.spawn_sibling().await;
    let admin = app.login_admin("boss", Role::Admin).await;
    let alice = app.login_member("alice").await;
    let bob = app.login_member("bob").await;
    app.adjust_points(&admin, &alice, 5, "before").await;
    app.adjust_points(&admin, &bob, 1, "bob-before").await;
    let before = newest_notice(&app, &alice).await;

    // Alice listens on the other instance; the notice is written through this one.
    let mut alice_socket = subscribe(&app, &sibling, &alice).await;
    let mut bob_socket = subscribe(&app, &app.graphql_url(), &bob).await;
    app.adjust_points(&admin, &alice, 100, "live").await;

    let update = expect_message(&mut alice_socket).await;
    assert_eq!(update["type"], "next", "{update}");
    assert_eq!(update["id"], "inbox");
    let payload = &update["payload"]["data"]["inboxUpdates"];
    assert_eq!(payload["notification"]["kind"], "POINTS_EARNED");
    assert!(body(&update).contains("+100"), "{update}");
    assert_eq!(payload["unreadCount"], 2);

    // Bob got nothing of Alice's: his first message is his own notice.
    app.adjust_points(&admin, &bob, 7, "bob").await;
    let update = expect_message(&mut bob_socket).await;
    assert!(body(&update).contains("+7"), "{update}");

    // Reconnecting after the notice she had: the one since is replayed first, then live ones,
    // each once.
    let mut again = open_inbox(
        &app.graphql_url(),
        json!({ "token": alice.token }),
        "again",
        Some(&before),
    )
    .await;
    assert!(body(&expect_message(&mut again).await).contains("+100"));
    app.adjust_points(&admin, &alice, 3, "live-again").await;
    assert!(body(&expect_message(&mut again).await).contains("+3"));
    assert!(body(&expect_message(&mut alice_socket).await).contains("+3"));

    // `complete` ends the subscription (the server confirms it); the connection stays open.
    send(
        &mut alice_socket,
        json!({ "id": "inbox", "type": "complete" }),
    )
    .await;
    assert_eq!(
        expect_message(&mut alice_socket).await,
        json!({ "id": "inbox", "type": "complete" })
    );
    app.adjust_points(&admin, &alice, 1, "after-complete").await;
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
    let mut socket = open_inbox(&url, json!({}), "1", None).await;
    let refused = expect_message(&mut socket).await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );

    // An admin is not a member.
    let bearer = json!({ "Authorization": format!("Bearer {}", admin.token) });
    let mut socket = open_inbox(&url, bearer, "1", None).await;
    let refused = expect_message(&mut socket).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "FORBIDDEN"
    );

    // Queries and mutations go through POST /graphql (and its limits), not the socket.
    let mut socket = open(&url, json!({})).await;
    assert_eq!(expect_message(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({ "id": "q", "type": "subscribe", "payload": { "query": "{ serverTime { businessDate } }" } }),
    )
    .await;
    let refused = expect_message(&mut socket).await;
    let errors = refused["payload"]
        .get("errors")
        .unwrap_or(&refused["payload"])
        .clone();
    assert_eq!(errors[0]["extensions"]["code"], "VALIDATION", "{refused}");
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("only subscriptions")),
        "{refused}"
    );

    // A forged token: the server closes the connection with 4403 instead of acknowledging it.
    let mut socket = open(&url, json!({ "token": "not-a-token" })).await;
    assert_eq!(close_code(&mut socket).await, Some(4403));

    // Subscriptions are not run over POST.
    let res = app.gql(None, INBOX_UPDATES, json!({})).await;
    assert_eq!(res.status, 400);
}
