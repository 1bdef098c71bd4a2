//! Snapshots over HTTP: an index out as its LHV1 frame, and in as a new index.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::answers::IndexInfo;
use crate::error::ApiError;
use crate::http::extract::OnIndex;
use crate::ops;

/// The index as an LHV1 snapshot frame (docs/FORMAT.md): everything
/// acknowledged before the request, nothing half-applied.
#[utoipa::path(get, path = "/v1/vectors/index/{name}/snapshot", operation_id = "exportSnapshot", params(("name" = String, Path, example = "docs")), responses(
    (status = 200, description = "The LHV1 frame", content_type = "application/octet-stream", body = Vec<u8>)))]
pub(crate) async fn export(OnIndex { state, name }: OnIndex) -> Result<Response, ApiError> {
    let frame = ops::export_snapshot(&state, &name).await?;
    // The name is one of an existing index, so it is safe in a header.
    let disposition = format!("attachment; filename=\"{name}.lhv1\"");
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        frame,
    )
        .into_response())
}

/// Creates an index from an LHV1 snapshot frame (as `GET .../snapshot` gives
/// it), checked like a file read at start; durable when it answers.
#[utoipa::path(put, path = "/v1/vectors/index/{name}/snapshot", operation_id = "importSnapshot", params(("name" = String, Path, example = "restored")), request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "An LHV1 frame"), responses(
    (status = 201, description = "Created", body = IndexInfo), (status = 400, description = "Not a valid frame, or an invalid name", body = super::docs::ErrorDoc), (status = 409, description = "The name is taken", body = super::docs::ErrorDoc), (status = 503, description = "Storage failing", body = super::docs::ErrorDoc)))]
pub(crate) async fn import(
    OnIndex { state, name }: OnIndex,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IndexInfo>), ApiError> {
    let frame = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut handle = ops::import_snapshot(&state, &name, frame).await?;
    Ok((StatusCode::CREATED, Json(IndexInfo::of_handle(&mut handle).await?)))
}
