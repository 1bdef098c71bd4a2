//! The HTTP routes.

mod body;
pub(crate) mod health;
pub(crate) mod indexes;
pub(crate) mod items;
pub(crate) mod search;
pub(crate) mod snapshots;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// The whole HTTP API over `state`.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/v1/vectors/index", post(indexes::create).get(indexes::list))
        .route("/v1/vectors/index/{name}", get(indexes::describe).delete(indexes::drop))
        .route("/v1/vectors/index/{name}/add", post(items::add))
        .route("/v1/vectors/index/{name}/search", post(search::one))
        .route("/v1/vectors/index/{name}/search/batch", post(search::batch))
        .route("/v1/vectors/index/{name}/items", get(items::list))
        .route(
            "/v1/vectors/index/{name}/snapshot",
            get(snapshots::export).put(snapshots::import).layer(DefaultBodyLimit::max(state.config.max_snapshot_bytes)),
        )
        .route("/v1/vectors/index/{name}/items/{*id}", get(items::get).delete(items::delete))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/v1/cluster", get(crate::cluster::status))
        .merge(crate::qdrant::router())
        .route_layer(middleware::from_fn_with_state(state.clone(), crate::cluster::route_to_writer))
        .route_layer(middleware::from_fn_with_state(state.clone(), body::read_body_in_time))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_api_key));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(api)
        .fallback(|method: Method, uri: Uri| async move {
            if crate::qdrant::is_qdrant_path(uri.path()) {
                crate::qdrant::unknown_route(&method, uri.path())
            } else {
                ApiError::no_route()
            }
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
        })
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), crate::metrics::track))
        .layer(middleware::from_fn(crate::qdrant::qdrant_error_bodies))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
                    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                // A bug must not take the connection down: answer 500 with the usual body.
                .layer(CatchPanicLayer::custom(|_| {
                    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error (a bug: see the log)")
                        .into_response()
                })),
        )
        .with_state(state)
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.metrics.render(&state.catalog);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi::json()).into_response()
}

/// With an API key configured, the API answers only requests that carry it
/// (`Authorization: Bearer <key>` or `api-key: <key>`); the read-only key, if
/// configured, is accepted for reads and gets 403 on writes.
async fn require_api_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(expected) = state.config.api_key.as_deref() else {
        return next.run(request).await;
    };
    let presented = presented_key(request.headers()).map(str::as_bytes);
    let matches = |key: Option<&str>| key.zip(presented).is_some_and(|(k, p)| constant_time_eq(p, k.as_bytes()));
    if matches(Some(expected)) {
        return next.run(request).await;
    }
    if matches(state.config.read_only_api_key.as_deref()) {
        if is_write(&request) {
            return ApiError::new(StatusCode::FORBIDDEN, "forbidden", "the read-only API key cannot write")
                .into_response();
        }
        return next.run(request).await;
    }
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing or wrong API key").into_response()
}

/// Creating, importing or dropping an index, adding or deleting items.
/// (Searches are POSTs too, but read.)
pub(crate) fn is_write(request: &Request) -> bool {
    let path = request.uri().path();
    if crate::qdrant::is_qdrant_path(path) {
        return crate::qdrant::is_write(request.method(), path);
    }
    match *request.method() {
        Method::DELETE | Method::PUT => true,
        Method::POST => path == "/v1/vectors/index" || path.ends_with("/add"),
        _ => false,
    }
}

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(bearer) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return bearer.strip_prefix("Bearer ");
    }
    headers.get("api-key").and_then(|v| v.to_str().ok())
}

/// Compares in time independent of where the bytes differ (`subtle`), so
/// that timing does not reveal the key; only its length may show.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(a, b))
}
