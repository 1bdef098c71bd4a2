//! The API keys. With a key configured, only routes declared [`Access::Open`]
//! answer without it (`Authorization: Bearer <key>` or `api-key: <key>`);
//! the read-only key, if configured, is accepted on routes that do not write.
//! The internal route between cluster members ([`Access::Member`]) takes the
//! cluster's secret instead, and never an API key.

use axum::http::{HeaderMap, StatusCode, header};

use super::route::Access;
use crate::config::Config;
use crate::error::ApiError;

/// The header carrying the cluster's secret on calls between members.
pub(crate) const CLUSTER_SECRET_HEADER: &str = "x-vectord-cluster-secret";

/// Whether a request with these headers may call a route of `access`.
pub(super) fn check(config: &Config, access: Access, headers: &HeaderMap) -> Result<(), ApiError> {
    if access == Access::Member {
        return check_member(config, headers);
    }
    let Some(expected) = config.api_key.as_deref() else { return Ok(()) };
    if access == Access::Open {
        return Ok(());
    }
    let presented = presented_key(headers).map(str::as_bytes);
    let matches = |key: Option<&str>| key.zip(presented).is_some_and(|(k, p)| constant_time_eq(p, k.as_bytes()));
    if matches(Some(expected)) {
        return Ok(());
    }
    if matches(config.read_only_api_key.as_deref()) {
        if access.writes() {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "the read-only API key cannot write"));
        }
        return Ok(());
    }
    Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing or wrong API key"))
}

/// A call between members: it must carry the cluster's secret (a process
/// outside an etcd cluster takes none).
fn check_member(config: &Config, headers: &HeaderMap) -> Result<(), ApiError> {
    let expected = config.cluster.as_ref().map(|cluster| cluster.etcd.secret.as_bytes());
    let presented = headers.get(CLUSTER_SECRET_HEADER).map(|value| value.as_bytes());
    match expected.zip(presented) {
        Some((expected, presented)) if constant_time_eq(presented, expected) => Ok(()),
        _ => Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing or wrong cluster secret")),
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
