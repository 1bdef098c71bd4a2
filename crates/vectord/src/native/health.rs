//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::answers::{ErrorObject, ReadyAnswer, StatusAnswer};
use crate::state::AppState;

/// 200 as soon as the process serves.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", responses((status = 200, description = "The process serves", body = StatusAnswer)))]
pub(crate) async fn healthz() -> Json<StatusAnswer> {
    Json(StatusAnswer { status: "ok" })
}

/// 503 until every index is loaded (or marked unavailable), then 200.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", responses((status = 200, description = "Every index is loaded", body = ReadyAnswer), (status = 503, description = "Indexes are still loading", body = ReadyAnswer)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<ReadyAnswer>) {
    if state.catalog.is_loaded() {
        (StatusCode::OK, Json(ReadyAnswer { status: "ready", error: None }))
    } else {
        let error = Some(ErrorObject { code: "loading", message: "indexes are still loading" });
        (StatusCode::SERVICE_UNAVAILABLE, Json(ReadyAnswer { status: "loading", error }))
    }
}
