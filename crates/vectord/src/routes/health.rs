//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

/// 200 as soon as the process serves.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", responses((status = 200, description = "The process serves")))]
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// 503 until every index is loaded (or marked unavailable), then 200.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", responses((status = 200, description = "Every index is loaded"), (status = 503, description = "Indexes are still loading")))]
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if state.catalog.is_loaded() {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        let error = json!({ "code": "loading", "message": "indexes are still loading" });
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "loading", "error": error })))
    }
}
