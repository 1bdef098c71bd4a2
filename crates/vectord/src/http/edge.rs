//! Errors are values until the edge: a handler or a layer answers with an
//! [`ApiError`], which renders vectord's body and rides along on the
//! response; here, an error of a Qdrant route is rendered in Qdrant's form
//! instead, `{"status": {"error": "<message>"}, "time": <seconds>}`.
//! Whose route it was comes from the route's declaration (admission tags the
//! answer), or, for a URL no route matches, from the fallback that answered.

use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::route::Dialect;
use crate::error::ApiError;

/// Renders an error answer in the dialect of the route that gave it.
pub(super) async fn render_errors(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    let Some(error) = response.extensions().get::<ApiError>() else { return response };
    // Admission (a declared route) or a fallback (an unmatched URL) said whose it is.
    let dialect = response.extensions().get::<Dialect>().copied().unwrap_or(Dialect::Native);
    if dialect == Dialect::Native {
        return response;
    }
    let body = json!({ "status": { "error": error.message }, "time": started.elapsed().as_secs_f64() });
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// No route matches the URL: 404, in Qdrant's form under Qdrant's paths.
pub(super) async fn no_route(method: Method, uri: Uri) -> Response {
    if is_qdrant_path(uri.path()) {
        let error = ApiError::new(
            StatusCode::NOT_FOUND,
            "not_supported",
            format!("not supported by vectord: {method} {}", uri.path()),
        );
        with_dialect(error, Dialect::Qdrant)
    } else {
        with_dialect(ApiError::no_route(), Dialect::Native)
    }
}

/// The path exists but not with this method. Under Qdrant's paths that is
/// an operation of Qdrant's that vectord does not have (`POST
/// .../points/batch` meets the `GET .../points/{id}` route), and says so.
pub(super) async fn wrong_method(method: Method, uri: Uri) -> Response {
    if is_qdrant_path(uri.path()) {
        let message = format!("not supported by vectord: {method} {} (the path takes other methods)", uri.path());
        with_dialect(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "not_supported", message), Dialect::Qdrant)
    } else {
        let message = "this route does not take that method";
        with_dialect(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", message), Dialect::Native)
    }
}

fn with_dialect(error: ApiError, dialect: Dialect) -> Response {
    let mut response = error.into_response();
    response.extensions_mut().insert(dialect);
    response
}

/// Qdrant's top-level paths besides `/collections` (aliases, cluster,
/// snapshots, telemetry and the rest of its service API).
const QDRANT_ROOTS: [&str; 7] = ["aliases", "cluster", "snapshots", "telemetry", "locks", "issues", "collections"];

/// Whether an unmatched URL is under Qdrant's paths (its root, `/collections`
/// or another of its top-level paths). Only for URLs no route declares: a
/// declared route says its dialect itself.
fn is_qdrant_path(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    path == "/" || QDRANT_ROOTS.contains(&first)
}
