//! Field indexes on an existing index: created (built while the index
//! serves reads and writes) and dropped, both durable when they answer.

use lhv_core::{FieldSchema, IndexedField};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Reply;
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnField};
use crate::ops;

/// `PUT /v1/vectors/index/{name}/fields/{key}`: `{}` for the default schema.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateField {
    /// The values the field index holds [default: `any`: strings, numbers and
    /// booleans]: `keyword` (strings), `integer` (integral numbers), `float`
    /// (numbers), `bool`, `uuid` (strings that are UUIDs), `text` (words of
    /// strings, for text matches), `datetime` (strings that are datetimes, for
    /// datetime ranges).
    #[serde(default)]
    #[schema(value_type = Option<super::docs::FieldSchemaDoc>)]
    schema: FieldSchema,
}

/// A field index and the items it holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldAnswer {
    /// The metadata key (a dot-separated path).
    key: String,
    /// The values it holds.
    #[schema(value_type = super::docs::FieldSchemaDoc)]
    schema: FieldSchema,
    /// Live items with at least one value it holds.
    points: usize,
    /// Whether an index of this key existed before (and was replaced, or dropped).
    existed: bool,
}

/// Creates (or replaces) the field index of a metadata key on an existing
/// index, built from every item while searches and writes go on; durable when
/// it answers.
#[utoipa::path(put, path = "/v1/vectors/index/{name}/fields/{key}", operation_id = "createField",
    params(("name" = String, Path, example = "docs"), ("key" = String, Path, example = "lang")),
    request_body = CreateField, responses(
    (status = 200, description = "Built and durable", body = FieldAnswer),
    (status = 400, description = "A malformed key, or more than 32 field indexes", body = super::docs::ErrorDoc)))]
pub(crate) async fn create(
    OnField { state, name, key }: OnField,
    JsonBody(request): JsonBody<CreateField>,
) -> Reply<FieldAnswer> {
    let schema = request.schema;
    let mut handle = ops::handle(&state, &name).await?;
    let existed = handle.create_field_index(IndexedField::new(key.clone(), schema)).await?;
    let points = handle.describe(true).await?.field_points(&key).unwrap_or(0);
    Ok(axum::Json(FieldAnswer { key, schema, points, existed }))
}

/// Drops the field index of a metadata key; durable when it answers. Filters
/// on the key keep working, by reading every item.
#[utoipa::path(delete, path = "/v1/vectors/index/{name}/fields/{key}", operation_id = "dropField",
    params(("name" = String, Path, example = "docs"), ("key" = String, Path, example = "lang")), responses(
    (status = 200, description = "Dropped", body = super::answers::DeletedAnswer),
    (status = 404, description = "No such index, or no field index of the key", body = super::docs::ErrorDoc)))]
pub(crate) async fn drop(OnField { state, name, key }: OnField) -> Reply<super::answers::DeletedAnswer> {
    let mut handle = ops::handle(&state, &name).await?;
    if handle.describe(true).await?.field_points(&key).is_none() {
        return Err(no_field(&name, &key));
    }
    if !handle.drop_field_index(&key).await? {
        return Err(no_field(&name, &key));
    }
    Ok(axum::Json(super::answers::DeletedAnswer { deleted: key }))
}

/// Live items the field index of `key` holds a value of (0 if there is none).
fn no_field(name: &str, key: &str) -> ApiError {
    let message = format!("index {name:?} has no field index of {key:?}");
    ApiError::new(axum::http::StatusCode::NOT_FOUND, "field_not_found", message)
}
