//! Extractors whose refusals are [`ApiError`]s, so that a handler takes its
//! path, query and body already parsed, and a malformed one gets the usual
//! error body (in the route's dialect) without a line in the handler.

use axum::extract::{FromRequest, FromRequestParts, Json, Path, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The index a route's path names (its only parameter).
pub(crate) struct IndexName(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IndexName {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(name) = Path::<String>::from_request_parts(parts, state).await?;
        Ok(Self(name))
    }
}

/// An index and an item (or point) id from a route's path.
pub(crate) struct ItemPath {
    /// The index.
    pub index: String,
    /// The item, as the path has it.
    pub id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for ItemPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path((index, id)) = Path::<(String, String)>::from_request_parts(parts, state).await?;
        Ok(Self { index, id })
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
