//! Admission: what happens to a request between the router choosing its
//! route and its handler running, read from the route's declaration. The
//! key is checked first (an unauthenticated client cannot make the service
//! buffer anything), then the body is read whole within its limit and
//! deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::route::{INDEX_PARAM, Route};
use super::{body, key};
use crate::metrics::RouteLabel;
use crate::state::AppState;

tokio::task_local! {
    /// When the handler's request was admitted (Qdrant's answers report the time since).
    static ADMITTED: Instant;
}

/// How long ago the request being handled was admitted; zero outside a
/// handler (every handler runs in the scope [`admit`] sets).
pub(crate) fn since_admitted() -> Duration {
    ADMITTED.try_with(Instant::elapsed).unwrap_or_default()
}

/// What the admission of one route needs: the service and the route's declaration.
#[derive(Clone)]
pub(crate) struct Gate {
    state: AppState,
    route: Arc<Route>,
}

impl Gate {
    pub(crate) fn new(state: AppState, route: Route) -> Self {
        Self { state, route: Arc::new(route) }
    }
}

/// Admits a request to its route's handler, or answers it here; either
/// way the answer carries the route's metrics label and dialect (for the
/// error rendering at the edge).
pub(crate) async fn admit(
    State(gate): State<Gate>,
    params: Result<RawPathParams, RawPathParamsRejection>,
    request: Request,
    next: Next,
) -> Response {
    let Gate { state, route } = gate;
    // Parameters that are not UTF-8 name no index; the handler's own path extractor refuses them.
    let resolved = params
        .ok()
        .filter(|_| route.resolves_aliases)
        .and_then(|params| params.iter().find(|(name, _)| *name == INDEX_PARAM).map(|(_, value)| value.to_owned()))
        .map(|name| state.resolve_alias(&name));
    let mut response = match admitted(&state, &route, resolved, request).await {
        Ok(request) => ADMITTED.scope(Instant::now(), next.run(request)).await,
        Err(answer) => answer,
    };
    response.extensions_mut().insert(RouteLabel(route.path));
    response.extensions_mut().insert(route.dialect);
    response
}

/// The request, ready for its handler (with the index its `{name}` stands
/// for, if the route resolves aliases), or the answer it gets instead.
async fn admitted(
    state: &AppState,
    route: &Route,
    resolved: Option<String>,
    request: Request,
) -> Result<Request, Response> {
    key::check(&state.config, route.access, request.headers()).map_err(IntoResponse::into_response)?;
    let (mut parts, bytes) = body::read(&state.config, route.body, request).await?;
    if let Some(index) = resolved {
        parts.extensions.insert(ResolvedIndex(index));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The index a route's `{name}` stands for, once aliases are resolved; the
/// path extractors ([`super::extract`]) take it instead of the raw name.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedIndex(pub String);
