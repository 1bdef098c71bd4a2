//! Several vectord processes over one bucket (`--cluster-address`): any
//! process takes any request. Writes to an index, and searches that ask for
//! `"consistency": "strong"`, go to the index's writer (the holder of its
//! lease, whose address the lease names): here if this process holds it,
//! else forwarded over HTTP. Other reads are answered by this process's
//! replica, at most about one follow interval behind the writer.
//!
//! The lease and follow rounds run in the background ([`spawn_rounds`]):
//! leases every quarter lease, log heads every follow interval, a listing of
//! the store (indexes other members created or dropped) about once a second;
//! `GET /v1/cluster` shows who writes what.

use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lhv_store::Route;
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// Set on a forwarded request: its receiver answers it itself, so that a
/// request never travels in circles while a lease changes hands.
pub const FORWARDED: &str = "x-vectord-forwarded";

/// How long a forwarded request may take before the client gets 503.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(60);

/// The background rounds of a cluster member: lease upkeep every quarter
/// lease, and following every `follow_interval`. Abort them before closing
/// the catalog.
pub fn spawn_rounds(state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    let Some(cluster) = state.config.cluster.clone() else { return Vec::new() };
    let leases = {
        let catalog = std::sync::Arc::clone(&state.catalog);
        let every = Duration::from_millis((cluster.lease_ttl_ms / 4).max(1));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(error) = catalog.maintain_leases().await {
                    tracing::warn!(%error, "lease round failed");
                }
            }
        })
    };
    let follow = {
        let catalog = std::sync::Arc::clone(&state.catalog);
        let every = cluster.follow_interval;
        // A listing of the store (new and dropped indexes) about once a second;
        // between them only each shard's log head is read.
        let listing_every = (Duration::from_secs(1).as_millis() / every.as_millis().max(1)).max(1);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for round in 0u128.. {
                ticks.tick().await;
                let done = if round % listing_every == 0 { catalog.sync().await } else { catalog.follow().await };
                if let Err(error) = done {
                    tracing::warn!(%error, "follow round failed");
                }
            }
        })
    };
    vec![leases, follow]
}

/// Sends writes (and strong searches) of an index to its writer.
pub(crate) async fn route_to_writer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.catalog.is_clustered() || request.headers().contains_key(FORWARDED) {
        return next.run(request).await;
    }
    let Some(name) = index_in_path(request.uri().path()) else { return next.run(request).await };
    if matches!(state.catalog.get(&name), Err(lhv_store::Error::IndexNotFound { .. })) {
        // Perhaps another process created it since the last follow round.
        if let Err(error) = state.catalog.sync().await {
            tracing::warn!(%error, "could not look for new indexes");
        }
    }
    let (parts, body) = request.into_parts();
    // The body was read whole by `read_body_in_time`.
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(error) => return ApiError::bad_request(format!("cannot read the request body: {error}")).into_response(),
    };
    let request = Request::from_parts(parts, Body::from(body.clone()));
    let strong_search = is_search(request.uri().path()) && asks_strong(&body);
    if !crate::routes::is_write(&request) && !strong_search {
        return next.run(request).await;
    }
    match state.catalog.route(&name).await {
        Ok(Route::Remote(writer)) => forward(&state, &writer, request, body).await,
        // Here, or no such index (the handler answers that).
        Ok(Route::Local) | Err(_) => next.run(request).await,
    }
}

/// The index a path names, for the native and the Qdrant routes.
fn index_in_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/v1/vectors/index/").or_else(|| path.strip_prefix("/collections/"))?;
    let name = rest.split('/').next().filter(|n| !n.is_empty())?;
    Some(name.to_owned())
}

fn is_search(path: &str) -> bool {
    path.ends_with("/search") || path.ends_with("/search/batch")
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
async fn forward(state: &AppState, writer: &str, request: Request, body: Bytes) -> Response {
    let (parts, _) = request.into_parts();
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

/// `GET /v1/cluster`: this member, and for each index its writer as the lease says.
#[utoipa::path(get, path = "/v1/cluster", operation_id = "cluster_status", responses((status = 200, description = "`{\"clustered\": false}` outside a cluster; else this member's `address` and, per index, its `writer`, lease `epoch`, whether it is `local`, and the `sequence` applied here")))]
pub(crate) async fn status(State(state): State<AppState>) -> Result<Response, ApiError> {
    let Some(cluster) = &state.config.cluster else {
        return Ok(Json(json!({ "clustered": false })).into_response());
    };
    let mut indexes = Vec::new();
    for index in state.catalog.writers().await? {
        indexes.push(json!({
            "name": index.name,
            "writer": index.writer,
            "epoch": index.epoch,
            "local": index.writer.as_deref() == Some(cluster.address.as_str()),
            "sequence": index.sequence,
        }));
    }
    Ok(Json(json!({ "clustered": true, "address": cluster.address, "indexes": indexes })).into_response())
}
