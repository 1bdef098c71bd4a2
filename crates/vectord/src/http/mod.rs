//! HTTP: the router built from the route table, the layers every request
//! passes (admission per route, metrics, errors rendered in the route's
//! dialect) and the accept loop.

mod admit;
pub(crate) mod body;
mod edge;
pub(crate) mod extract;
pub(crate) mod key;
pub(crate) mod route;
pub(crate) mod server;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub(crate) use self::admit::since_admitted;
use self::route::Declared;
use crate::error::ApiError;
use crate::state::AppState;

/// The whole HTTP API over `state`: every declared route behind its
/// admission (key, body), then metrics and error rendering.
pub(crate) fn router(state: AppState, declared: Vec<Declared>) -> Router {
    let mut routes = Router::new();
    for Declared { route, handler } in declared {
        let limit = body::limit_bytes(&state.config, route.body);
        let path = route.path;
        let gate = admit::Gate::new(state.clone(), route);
        let handler =
            handler.layer(DefaultBodyLimit::max(limit)).route_layer(middleware::from_fn_with_state(gate, admit::admit));
        routes = routes.route(path, handler);
    }
    routes
        .fallback(edge::no_route)
        .method_not_allowed_fallback(edge::wrong_method)
        .layer(middleware::from_fn_with_state(Arc::clone(&state.metrics), crate::metrics::track))
        .layer(middleware::from_fn(edge::render_errors))
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
