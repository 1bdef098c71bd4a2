//! One internal call to another member, and how it can fail: the member did
//! not answer (try another holder), it answered that it cannot do it now
//! (503: the shard moved, its writer changed; look again and retry), or it
//! answered an error that is the request's own (relayed to the client).

use std::time::Duration;

use axum::http::StatusCode;
use serde::Deserialize;

use super::Routing;
use super::wire::{SECRET_HEADER, SHARDS_PATH, ShardCall, ShardReply};
use crate::error::ApiError;

/// How long one internal call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call did not get its answer.
#[derive(Debug)]
pub(super) enum CallFailure {
    /// Another holder, or the same after the placement changes, may succeed.
    Retry(ApiError),
    /// The request's own error: every holder would say the same.
    Final(ApiError),
}

impl CallFailure {
    /// A failure as the member answered it: 503s may pass, others are final.
    pub(super) fn of(error: ApiError) -> Self {
        if error.status == StatusCode::SERVICE_UNAVAILABLE { Self::Retry(error) } else { Self::Final(error) }
    }
}

/// The error body a member answers with.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorFields,
}

#[derive(Deserialize)]
struct ErrorFields {
    code: String,
    message: String,
}

impl Routing {
    /// Sends `call` to the member at `address` (its `--cluster-address`).
    pub(super) async fn call(&self, address: &str, call: &ShardCall) -> Result<ShardReply, CallFailure> {
        let url = format!("{}{SHARDS_PATH}", address.trim_end_matches('/'));
        let sent = self.client.post(&url).timeout(CALL_TIMEOUT).header(SECRET_HEADER, &*self.secret).json(call).send();
        let unreachable = |error: reqwest::Error| {
            CallFailure::Retry(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "member_unreachable",
                format!("the cluster member at {address} did not answer ({error}); retry"),
            ))
        };
        let answer = sent.await.map_err(unreachable)?;
        let status = answer.status();
        let bytes = answer.bytes().await.map_err(unreachable)?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                CallFailure::Final(ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "member_answer_invalid",
                    format!("the cluster member at {address} answered what this process cannot read: {e}"),
                ))
            });
        }
        let error = match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => ApiError::new(status, known_code(&body.error.code), body.error.message),
            Err(_) => ApiError::new(
                status,
                "member_error",
                format!("the cluster member at {address} answered {status}: {}", String::from_utf8_lossy(&bytes)),
            ),
        };
        Err(CallFailure::of(error))
    }
}

/// The codes a member's error may carry, kept as they are (an unknown one,
/// from a newer version, becomes `member_error`).
fn known_code(code: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "index_not_found",
        "index_unavailable",
        "shard_moved",
        "not_writer",
        "lease_lost",
        "log_conflict",
        "control_plane_unavailable",
        "cluster_changed",
        "storage_error",
        "invalid_parameter",
        "invalid_request",
        "invalid_filter",
        "dimension_mismatch",
        "non_finite_component",
        "value_out_of_range",
        "vector_too_large",
        "zero_vector",
        "empty_id",
        "id_too_long",
        "duplicate_id",
        "unauthorized",
        "search_cancelled",
    ];
    KNOWN.iter().find(|known| **known == code).copied().unwrap_or("member_error")
}
