//! `GET /graphql/ws`: GraphQL subscriptions over WebSocket (graphql-transport-ws, and the
//! older graphql-ws). The caller authenticates in `connection_init` with `{"token": "…"}`
//! (or `{"Authorization": "Bearer …"}`), since browsers cannot set headers on a WebSocket.

use std::sync::Arc;

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_poem::{GraphQLProtocol, GraphQLWebSocket};
use poem::http::StatusCode;
use poem::web::Data as PoemData;
use poem::web::websocket::WebSocket;
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
    socket
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            let mut data = Data::default();
            data.insert(ClientIp(ip));
            GraphQLWebSocket::new(stream, schema, protocol)
                .with_data(data)
                .on_connection_init(move |payload| async move {
                    let auth = match bearer_token(&payload) {
                        None => RequestAuth::Anonymous,
                        Some(token) => match services.auth.viewer_for_token(token).await {
                            Ok(viewer) => RequestAuth::Authenticated(viewer),
                            // A bad token closes the connection (4403), as the protocol says.
                            Err(AppError::Unauthenticated(reason)) => {
                                return Err(async_graphql::Error::new(reason));
                            }
                            Err(_) => {
                                return Err(async_graphql::Error::new(
                                    "the access token is invalid",
                                ));
                            }
                        },
                    };
                    let mut data = Data::default();
                    data.insert(auth);
                    Ok(data)
                })
                .serve()
        })
        .into_response()
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
