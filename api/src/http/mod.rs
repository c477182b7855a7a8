//! The HTTP edge (poem): routes, the GraphQL-over-HTTP handler, health checks.

pub mod graphql;
pub mod health;

use std::sync::Arc;

use poem::{Endpoint, EndpointExt, Route, get};

use crate::graphql::Schemas;
use crate::service::Services;

/// What the HTTP handlers share.
pub struct HttpState {
    pub schemas: Schemas,
    pub services: Arc<Services>,
    /// Serve GraphiQL on `GET /graphql`.
    pub playground: bool,
    pub max_body_bytes: usize,
}

/// Every route of the service.
pub fn routes(state: HttpState) -> impl Endpoint<Output = poem::Response> {
    Route::new()
        .at("/graphql", get(graphql::get).post(graphql::post))
        .at("/healthz", get(health::healthz))
        .at("/readyz", get(health::readyz))
        .data(Arc::new(state))
}
