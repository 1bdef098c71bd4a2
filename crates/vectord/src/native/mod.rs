//! vectord's own API: indexes, items, searches and snapshots under
//! `/v1/vectors/index`, and the service's probes and documents.

pub(crate) mod answers;
pub(crate) mod cluster;
pub(crate) mod docs;
pub(crate) mod fields;
pub(crate) mod health;
pub(crate) mod hybrid;
pub(crate) mod indexes;
pub(crate) mod items;
pub(crate) mod reshard;
pub(crate) mod search;
pub(crate) mod service;
pub(crate) mod snapshots;

/// A native route's answer: the typed answer as JSON, or an error.
pub(crate) type Reply<T> = Result<axum::Json<T>, crate::error::ApiError>;
