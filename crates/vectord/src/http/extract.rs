//! Extractors whose refusals are [`ApiError`]s, so that a handler takes its
//! path, query and body already parsed, and a malformed one gets the usual
//! error body (in the route's dialect) without a line in the handler.

use axum::extract::{FromRequest, FromRequestParts, Json, Path, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::admit::ResolvedIndex;
use crate::error::ApiError;
use crate::state::AppState;

/// The index the path's `name` stands for: the one admission resolved it to
/// (on a route that resolves aliases), else the name itself.
fn resolved(parts: &Parts, name: String) -> String {
    parts.extensions.get::<ResolvedIndex>().map_or(name, |resolved| resolved.0.clone())
}

/// A request to a route that names an index: the service, and the index.
pub(crate) struct OnIndex {
    /// The service.
    pub state: AppState,
    /// The index the path names.
    pub name: String,
}

impl FromRequestParts<AppState> for OnIndex {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(name) = Path::<String>::from_request_parts(parts, state).await?;
        Ok(Self { state: state.clone(), name: resolved(parts, name) })
    }
}

/// A request to a route that names an index and an item (or point) in it.
pub(crate) struct OnItem {
    /// The service.
    pub state: AppState,
    /// The index the path names.
    pub name: String,
    /// The item, as the path has it.
    pub id: String,
}

impl FromRequestParts<AppState> for OnItem {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path((name, id)) = Path::<(String, String)>::from_request_parts(parts, state).await?;
        Ok(Self { state: state.clone(), name: resolved(parts, name), id })
    }
}

/// A request to a route that names an index and a metadata key of it.
pub(crate) struct OnField {
    /// The service.
    pub state: AppState,
    /// The index the path names.
    pub name: String,
    /// The key, as the path has it.
    pub key: String,
}

impl FromRequestParts<AppState> for OnField {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path((name, key)) = Path::<(String, String)>::from_request_parts(parts, state).await?;
        Ok(Self { state: state.clone(), name: resolved(parts, name), key })
    }
}

/// A JSON request body.
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let Json(body) = Json::<T>::from_request(request, state).await?;
        Ok(Self(body))
    }
}

/// A request's query string.
pub(crate) struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(query) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(query))
    }
}
