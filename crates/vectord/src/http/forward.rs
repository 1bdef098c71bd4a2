//! Cluster forwarding: a request that writes an index (its route is
//! declared to write, and names the index), or a search whose body asks for
//! `"consistency": "strong"`, is answered by the index's writer: here if
//! this process holds its lease, else sent there over HTTP and its answer
//! relayed. Other reads are answered by this process's replica.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lhv_store::Route as Writer;
use serde::Deserialize;

use super::route::Route;
use crate::error::ApiError;
use crate::state::AppState;

/// Set on a forwarded request: its receiver answers it itself, so that a
/// request never travels in circles while a lease changes hands.
pub const FORWARDED: &str = "x-vectord-forwarded";

/// How long a forwarded request may take before the client gets 503.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(60);

/// The writer's answer, if the request goes to another member; `None` if
/// this process answers it (it is a read, this process writes the index,
/// it is not in a cluster, or there is no such index: the handler says so).
pub(super) async fn to_writer(
    state: &AppState,
    route: &Route,
    index: &str,
    parts: &Parts,
    body: &Bytes,
) -> Option<Response> {
    if !state.catalog.is_clustered() || parts.headers.contains_key(FORWARDED) {
        return None;
    }
    if matches!(state.catalog.get(index), Err(lhv_store::Error::IndexNotFound { .. })) {
        // Perhaps another process created it since the last follow round.
        if let Err(error) = state.catalog.sync().await {
            tracing::warn!(%error, "could not look for new indexes");
        }
    }
    let strong_search = route.takes_consistency && asks_strong(body);
    if !route.access.writes() && !strong_search {
        return None;
    }
    match state.catalog.route(index).await {
        Ok(Writer::Remote(writer)) => Some(forward(state, &writer, parts, body.clone()).await),
        Ok(Writer::Local) | Err(_) => None,
    }
}

#[derive(Deserialize)]
struct ConsistencyOnly {
    #[serde(default)]
    consistency: Option<String>,
}

fn asks_strong(body: &Bytes) -> bool {
    // Most searches do not say: skip parsing those twice.
    let mentions = body.windows(b"consistency".len()).any(|w| w == b"consistency");
    mentions
        && serde_json::from_slice::<ConsistencyOnly>(body).is_ok_and(|c| c.consistency.as_deref() == Some("strong"))
}

/// Sends the request to the writer and relays its answer.
async fn forward(state: &AppState, writer: &str, parts: &Parts, body: Bytes) -> Response {
    let path = parts.uri.path_and_query().map_or(parts.uri.path(), |p| p.as_str());
    let url = format!("{}{path}", writer.trim_end_matches('/'));
    let mut outgoing = state.forwarder.request(parts.method.clone(), &url).timeout(FORWARD_TIMEOUT).body(body);
    for (name, value) in &parts.headers {
        if !is_hop_by_hop(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    outgoing = outgoing.header(FORWARDED, HeaderValue::from_static("1"));
    state.metrics.forwarded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let answer = match outgoing.send().await {
        Ok(answer) => answer,
        Err(error) => return unreachable_writer(writer, &error),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = match answer.bytes().await {
        Ok(bytes) => bytes,
        Err(error) => return unreachable_writer(writer, &error),
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !is_hop_by_hop(name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

fn unreachable_writer(writer: &str, error: &reqwest::Error) -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "writer_unreachable",
        format!("the index's writer {writer} did not answer ({error}); another process takes over once its lease expires: retry"),
    )
    .into_response()
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "transfer-encoding" | "te" | "trailer" | "upgrade" | "host" | "content-length"
    )
}
