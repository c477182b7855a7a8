//! The HTTP edge (poem): routes, the GraphQL-over-HTTP handler, health checks, metrics.

pub mod client_ip;
pub mod graphql;
pub mod health;
pub mod lifecycle;
pub mod playground;
pub mod subscriptions;

use std::sync::Arc;
use std::time::Instant;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route, get, handler};

use crate::graphql::Schemas;
use crate::infra::metrics::Metrics;
use crate::service::Services;

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
        .around(move |endpoint, request| {
            let metrics = Arc::clone(&metrics);
            async move {
                let started = Instant::now();
                let route = Metrics::route_label(request.uri().path());
                let method = Metrics::method_label(request.method().as_str());
                let response = endpoint.get_response(request).await;
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
fn prometheus_text(state: Data<&Arc<HttpState>>) -> Response {
    match state.metrics.render() {
        Ok(text) => text
            .with_content_type("text/plain; version=0.0.4")
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "metrics not rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
