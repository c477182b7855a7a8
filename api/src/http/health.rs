//! `/healthz` (the process answers) and `/readyz` (its database and Redis answer).

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{IntoResponse, Response, handler};
use serde_json::json;

use crate::http::HttpState;

#[handler]
pub fn healthz() -> &'static str {
    "ok"
}

#[handler]
pub async fn readyz(state: Data<&Arc<HttpState>>) -> Response {
    if state.lifecycle.is_draining() {
        return Json(json!({ "status": "draining" }))
            .with_status(StatusCode::SERVICE_UNAVAILABLE)
            .into_response();
    }
    let readiness = state.services.health.readiness().await;
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Json(json!({
        "status": if readiness.is_ready() { "ready" } else { "not ready" },
        "database": readiness.database.as_str(),
        "redis": readiness.redis.as_str(),
    }))
    .with_status(status)
    .into_response()
}
