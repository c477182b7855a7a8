//! `GET /graphql/ws`: GraphQL subscriptions over WebSocket (graphql-transport-ws, and the
//! older graphql-ws). The caller authenticates in `connection_init` with `{"token": "…"}`
//! (or `{"Authorization": "Bearer …"}`), since browsers cannot set headers on a WebSocket.

use std::sync::Arc;

use async_graphql::Data;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WsMessage};
use async_graphql_poem::GraphQLProtocol;
use futures_util::{SinkExt, StreamExt, future};
use poem::http::StatusCode;
use poem::web::Data as PoemData;
use poem::web::websocket::{Message, WebSocket};
use poem::{IntoResponse, Request, Response, handler};

use crate::domain::rate_limit::RateLimitedAction;
use crate::error::AppError;
use crate::graphql::{ClientIp, RequestAuth};
use crate::http::HttpState;

#[handler]
pub async fn websocket(
    req: &Request,
    socket: WebSocket,
    protocol: GraphQLProtocol,
    state: PoemData<&Arc<HttpState>>,
) -> Response {
    let ip = state.trusted_proxies.client_ip(req);
    // Opening a connection counts as a request of the caller's address.
    if let Err(error) = state
        .services
        .limiter
        .check(RateLimitedAction::Request, &format!("ip:{ip}"))
        .await
    {
        state.metrics.observe_refusal(error.code());
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    let schema = state.schemas.subscriptions.clone();
    let services = Arc::clone(&state.services);
    let lifecycle = Arc::clone(&state.lifecycle);
    socket
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| async move {
            let _open = lifecycle.socket_opened();
            let mut closing = lifecycle.closing();
            let (mut sink, incoming) = stream.split();
            let incoming = incoming
                .take_while(|message| future::ready(message.is_ok()))
                .filter_map(|message| {
                    future::ready(
                        message
                            .ok()
                            .filter(|m| m.is_text() || m.is_binary())
                            .map(Message::into_bytes),
                    )
                });
            let mut data = Data::default();
            data.insert(ClientIp(ip));
            let outgoing = async_graphql::http::WebSocket::new(schema, incoming, protocol.0)
                .connection_data(data)
                .on_connection_init(move |payload| authenticate(services, payload))
                .map(|message| match message {
                    WsMessage::Text(text) => Message::text(text),
                    // The protocol's answer to a refused connection_init is 4403.
                    WsMessage::Close(_, reason) if reason.starts_with(FORBIDDEN) => {
                        Message::close_with(4403_u16, reason)
                    }
                    WsMessage::Close(code, reason) => Message::close_with(code, reason),
                });
            futures_util::pin_mut!(outgoing);
            loop {
                tokio::select! {
                    message = outgoing.next() => {
                        let Some(message) = message else { break };
                        if sink.send(message).await.is_err() {
                            break;
                        }
                    }
                    _ = closing.changed() => {
                        let _ = sink
                            .send(Message::close_with(1001_u16, "the server is shutting down"))
                            .await;
                        break;
                    }
                }
            }
        })
        .into_response()
}

/// The start of a refusal's close reason, which the socket turns into 4403.
const FORBIDDEN: &str = "Forbidden";

/// `connection_init`: no token is an anonymous connection; a bad token refuses it.
async fn authenticate(
    services: Arc<crate::service::Services>,
    payload: serde_json::Value,
) -> async_graphql::Result<Data> {
    let auth = match bearer_token(&payload) {
        None => RequestAuth::Anonymous,
        Some(token) => match services.auth.viewer_for_token(token).await {
            Ok(viewer) => RequestAuth::Authenticated(viewer),
            Err(AppError::Unauthenticated(reason)) => {
                return Err(async_graphql::Error::new(format!("{FORBIDDEN}: {reason}")));
            }
            Err(_) => {
                return Err(async_graphql::Error::new(format!(
                    "{FORBIDDEN}: the access token is invalid"
                )));
            }
        },
    };
    let mut data = Data::default();
    data.insert(auth);
    Ok(data)
}

/// The token in a `connection_init` payload: `token`, or an `Authorization` (any case) of
/// `Bearer <token>`.
fn bearer_token(payload: &serde_json::Value) -> Option<&str> {
    let object = payload.as_object()?;
    if let Some(token) = object.get("token").and_then(serde_json::Value::as_str) {
        return Some(token.trim());
    }
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| value.as_str())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
}
