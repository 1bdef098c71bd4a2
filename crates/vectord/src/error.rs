//! Every failure as an HTTP status and a JSON body
//! `{"error": {"code": "<stable_snake_case>", "message": "...", ...}}`:
//! the one place where errors of the lower layers meet HTTP.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable text.
    pub message: String,
    /// More fields of the error object (e.g. `item`).
    pub details: Map<String, Value>,
}

impl ApiError {
    /// An error without details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: Map::new() }
    }

    /// Adds a field to the error object.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// 400 with code `invalid_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 404 for an unknown route.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such route")
    }
}

/// vectord's form of the error; the error itself rides along on the
/// response, for the edge to render it in Qdrant's form on Qdrant's routes.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = Map::new();
        error.insert("code".into(), self.code.into());
        error.insert("message".into(), self.message.clone().into());
        error.extend(self.details.clone());
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        response.extensions_mut().insert(self);
        response
    }
}

impl From<lhv_core::Error> for ApiError {
    fn from(error: lhv_core::Error) -> Self {
        use lhv_core::Error as E;
        let message = error.to_string();
        let (code, item) = match &error {
            E::InvalidParameter { .. } => ("invalid_parameter", None),
            E::DimensionMismatch { item, .. } => ("dimension_mismatch", Some(*item)),
            E::NonFiniteComponent { item, .. } => ("non_finite_component", Some(*item)),
            E::ValueOutOfRange { item, .. } => ("value_out_of_range", Some(*item)),
            E::VectorTooLarge { item } => ("vector_too_large", Some(*item)),
            E::ZeroVector { item } => ("zero_vector", Some(*item)),
            E::EmptyId { item } => ("empty_id", Some(*item)),
            E::IdTooLong { item, .. } => ("id_too_long", Some(*item)),
            E::DuplicateId { item, .. } => ("duplicate_id", Some(*item)),
            E::InvalidFilter { .. } => ("invalid_filter", None),
            E::UnknownVector { item, .. } => ("unknown_vector", Some(*item)),
            E::SparseLengthMismatch { item, .. } => ("sparse_length_mismatch", Some(*item)),
            E::SparseTooLong { item, .. } => ("sparse_too_long", Some(*item)),
            E::DuplicateSparseIndex { item, .. } => ("duplicate_sparse_index", Some(*item)),
            E::CapacityExceeded { .. } => {
                return Self::new(StatusCode::INSUFFICIENT_STORAGE, "index_full", message);
            }
            // A cluster moved the shard since the request was routed: retry.
            E::ShardNotHeld { .. } => return Self::new(StatusCode::SERVICE_UNAVAILABLE, "shard_moved", message),
            _ => ("invalid_request", None),
        };
        let api = Self::new(StatusCode::BAD_REQUEST, code, message);
        match item {
            Some(item) => api.with("item", item),
            None => api,
        }
    }
}

impl From<lhv_store::Error> for ApiError {
    fn from(error: lhv_store::Error) -> Self {
        use lhv_store::Error as E;
        let message = error.to_string();
        match error {
            E::Index(core) => core.into(),
            E::InvalidName { .. } => Self::new(StatusCode::BAD_REQUEST, "invalid_name", message),
            E::InvalidSnapshot { .. } => Self::new(StatusCode::BAD_REQUEST, "invalid_snapshot", message),
            E::IndexExists { .. } => Self::new(StatusCode::CONFLICT, "index_exists", message),
            E::IndexNotFound { .. } => Self::new(StatusCode::NOT_FOUND, "index_not_found", message),
            E::AliasExists { .. } => Self::new(StatusCode::CONFLICT, "alias_exists", message),
            E::AliasNotFound { .. } => Self::new(StatusCode::NOT_FOUND, "alias_not_found", message),
            E::AliasesUnavailable { .. } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "aliases_unavailable", message),
            E::AliasesBusy => Self::new(StatusCode::SERVICE_UNAVAILABLE, "aliases_busy", message),
            E::Loading { .. } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "index_loading", message),
            E::Unavailable { .. } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "index_unavailable", message),
            E::Storage { full: true, .. } => Self::new(StatusCode::INSUFFICIENT_STORAGE, "storage_full", message),
            // The writer is changing hands: nothing was acknowledged; retry shortly.
            E::NotWriter { .. } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "not_writer", message),
            E::LeaseLost { .. } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "lease_lost", message),
            E::LogConflict { .. } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "log_conflict", message),
            // etcd is away: reads go on, what needs it waits until it is back.
            E::Control { .. } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "control_plane_unavailable", message),
            E::RecordChanged { .. } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "cluster_changed", message),
            _ => Self::new(StatusCode::SERVICE_UNAVAILABLE, "storage_error", message),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let message = rejection.body_text();
        let too_large = rejection.status() == StatusCode::PAYLOAD_TOO_LARGE;
        match rejection {
            JsonRejection::MissingJsonContentType(_) => {
                Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message)
            }
            JsonRejection::JsonSyntaxError(_) => Self::new(StatusCode::BAD_REQUEST, "invalid_json", message),
            JsonRejection::JsonDataError(_) => Self::new(StatusCode::BAD_REQUEST, "invalid_request", message),
            JsonRejection::BytesRejection(_) if too_large => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
            }
            _ => Self::new(StatusCode::BAD_REQUEST, "invalid_request", message),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}
