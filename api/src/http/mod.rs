//! The HTTP edge (poem): routes, the GraphQL-over-HTTP handler, health checks, metrics.

pub mod client_ip;
pub mod graphql;
pub mod health;
pub mod lifecycle;
pub mod playground;
pub mod subscriptions;

use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderValue, StatusCode};
use poem::web::Data;
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route, get, handler};
use tracing::Instrument;

use crate::graphql::Schemas;
use crate::infra::metrics::{Metrics, Snapshot};
use crate::infra::random;
use crate::service::Services;

const REQUEST_ID: &str = "x-request-id";

/// The request's id: the caller's `X-Request-Id` when it is a sensible token (1–64 letters,
/// digits, `.`, `_`, `-`), else a fresh one. Echoed in the answer, on every log line of the
/// request, and in `extensions.requestId` of an `INTERNAL` error, so a report can be matched
/// with the logs.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    fn of(request: &poem::Request) -> Self {
        let sent = request
            .headers()
            .get(REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .filter(|id| {
                (1..=64).contains(&id.len())
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            });
        Self(sent.map_or_else(|| random::hex(8), str::to_owned))
    }
}

/// What the HTTP handlers share.
pub struct HttpState {
    pub schemas: Schemas,
    pub services: Arc<Services>,
    /// Serve GraphiQL on `GET /graphql`.
    pub playground: bool,
    pub max_body_bytes: usize,
    pub metrics: Arc<Metrics>,
    /// Serve `GET /metrics`.
    pub serve_metrics: bool,
    pub trusted_proxies: client_ip::TrustedProxies,
    pub lifecycle: Arc<lifecycle::Lifecycle>,
}

/// Every route of the service.
pub fn routes(state: HttpState) -> impl Endpoint<Output = Response> {
    let metrics = Arc::clone(&state.metrics);
    let mut route = Route::new()
        .at("/graphql", get(graphql::get).post(graphql::post))
        .at("/graphql/ws", get(subscriptions::websocket))
        .at("/healthz", get(health::healthz))
        .at("/readyz", get(health::readyz));
    if state.playground {
        route = route.at("/graphiql/:file", get(playground::asset));
    }
    if state.serve_metrics {
        route = route.at("/metrics", get(prometheus_text));
    }
    route
        .data(Arc::new(state))
        .around(move |endpoint, mut request| {
            let metrics = Arc::clone(&metrics);
            async move {
                let started = Instant::now();
                let route = Metrics::route_label(request.uri().path());
                let method = Metrics::method_label(request.method().as_str());
                let id = RequestId::of(&request);
                request.extensions_mut().insert(id.clone());
                // Every log line of the request carries its id.
                let span = tracing::info_span!("request", request_id = %id.0, route, method);
                let mut response = endpoint.get_response(request).instrument(span).await;
                if let Ok(value) = HeaderValue::from_str(&id.0) {
                    response.headers_mut().insert(REQUEST_ID, value);
                }
                metrics.observe_http(
                    route,
                    method,
                    response.status().as_u16(),
                    started.elapsed().as_secs_f64(),
                );
                Ok(response)
            }
        })
}

/// `GET /metrics`: every metric in the Prometheus text format.
#[handler]
async fn prometheus_text(state: Data<&Arc<HttpState>>) -> Response {
    let pool = state.services.health.pool_stats();
    // The outbox depth is read from the database, briefly: a slow database leaves it out
    // rather than stalling the scrape.
    let outbox = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        state.services.outbox.counts(),
    )
    .await
    .ok()
    .and_then(Result::ok);
    let now = Snapshot {
        outbox,
        delivery_attempts: state.services.delivery_counters.snapshot(),
        db_open: pool.open,
        db_idle: pool.idle,
        db_max: pool.max,
        redis_circuit_open: state.services.health.redis_breaker_open(),
        redis_round_trips: state.services.health.redis_round_trips(),
        websockets: state.lifecycle.open_sockets(),
    };
    match state.metrics.render(now) {
        Ok(text) => text
            .with_content_type("text/plain; version=0.0.4")
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "metrics not rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
