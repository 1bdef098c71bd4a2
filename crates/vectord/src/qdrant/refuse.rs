//! What vectord does not do, refused by name: a request that is only partly
//! understood would be answered wrongly.

use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// 400 `not_supported`: "not supported by vectord: {what}".
pub(crate) fn not_supported(what: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "not_supported", format!("not supported by vectord: {what}"))
}

/// Refuses every field of `rest` (what a request struct did not take) that
/// is set, except those in `harmless`: settings whose effect vectord has
/// anyway or that cannot change a result (a single node has no shards to
/// choose or replicas to wait for).
pub(crate) fn unknown_fields(rest: &Map<String, Value>, harmless: &[&str]) -> Result<(), ApiError> {
    match rest.iter().find(|(key, value)| !value.is_null() && !harmless.contains(&key.as_str())) {
        Some((key, _)) => Err(not_supported(format!("the field `{key}`"))),
        None => Ok(()),
    }
}
