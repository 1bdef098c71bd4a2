//! Request bodies are read whole before the handler runs, within a size limit
//! and a deadline. A body refused as too large is drained for a while after
//! the 413 (a lingering close, as nginx does): a client that writes its whole
//! body before reading its answer (Python's `urllib`, many simple clients)
//! would otherwise hit a reset connection instead of reading the 413.

use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody as _};
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::route::BodyLimit;
use crate::config::Config;
use crate::error::ApiError;

/// After a 413, the rest of the body is discarded for at most this long...
const LINGER_TIME: Duration = Duration::from_secs(10);
/// ...with at most this long between two chunks (a client that stops sending is let go)...
const LINGER_IDLE: Duration = Duration::from_secs(2);
/// ...and at most this many bytes.
const LINGER_BYTES: u64 = 1 << 30;

/// A body as far as it was read.
enum Read {
    Whole(Bytes),
    /// Over the limit: what is left of it.
    TooLarge(Body),
    Failed(axum::Error),
}

/// Reads the whole body before the handler runs, so that a client that
/// trickles it in gets 408 after the body timeout instead of holding a
/// connection and a handler for as long as it likes.
pub(crate) async fn read(config: &Config, limit: BodyLimit, request: Request) -> Result<(Parts, Bytes), Response> {
    let (parts, body) = request.into_parts();
    let limit = limit_bytes(config, limit);
    let deadline = config.body_timeout;
    match tokio::time::timeout(deadline, read_limited(body, limit)).await {
        Ok(Read::Whole(bytes)) if is_json(&parts.headers) && !is_json_object(&bytes) => {
            Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", "the request body must be a JSON object")
                .into_response())
        }
        Ok(Read::Whole(bytes)) => Ok((parts, bytes)),
        Ok(Read::TooLarge(rest)) => {
            tokio::spawn(discard(rest));
            let mut response = ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body is larger than {limit} bytes"),
            )
            .into_response();
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(response)
        }
        Ok(Read::Failed(error)) => {
            Err(ApiError::bad_request(format!("cannot read the request body: {error}")).into_response())
        }
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the request body did not arrive within {} s", deadline.as_secs()),
        )
        .into_response()),
    }
}

/// The bytes a body may have under `limit`.
pub(crate) fn limit_bytes(config: &Config, limit: BodyLimit) -> usize {
    match limit {
        BodyLimit::Request => config.max_body_bytes,
        BodyLimit::Snapshot => config.max_snapshot_bytes,
    }
}

/// The body, unless it is longer than `limit` bytes (known from its length
/// header, or found while reading).
async fn read_limited(mut body: Body, limit: usize) -> Read {
    if body.size_hint().lower() > limit as u64 {
        return Read::TooLarge(body);
    }
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let data = match frame {
            Ok(frame) => frame.into_data().unwrap_or_default(),
            Err(error) => return Read::Failed(error),
        };
        if bytes.len() + data.len() > limit {
            return Read::TooLarge(body);
        }
        bytes.extend_from_slice(&data);
    }
    Read::Whole(Bytes::from(bytes))
}

/// Reads and drops what is left of a refused body, within the linger bounds;
/// the connection closes once it is done.
async fn discard(mut rest: Body) {
    let drain = async {
        let mut discarded = 0u64;
        while discarded < LINGER_BYTES {
            match tokio::time::timeout(LINGER_IDLE, rest.frame()).await {
                Ok(Some(Ok(frame))) => discarded += frame.data_ref().map_or(0, |d| d.len() as u64),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}

fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"))
}

/// Every JSON body of the API is an object; a derived parser would also take
/// an array of the fields in order, which nobody means.
fn is_json_object(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()).is_none_or(|&b| b == b'{')
}
