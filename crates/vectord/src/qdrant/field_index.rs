//! Payload indexes: `PUT /collections/{name}/index` builds a field index
//! while the collection serves reads and writes, `DELETE
//! /collections/{name}/index/{field}` drops it, and the collection info's
//! `payload_schema` lists them. Qdrant's types `keyword`, `integer`, `float`,
//! `bool` and `uuid` map to lhv-core's field schemas; their tuning flags
//! (`is_tenant`, `on_disk`, `lookup`, `range`, `is_principal`) change no
//! answer and are accepted.

use lhv_core::{FieldSchema, IndexedField};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::answers::{Reply, UpdateResult};
use super::refuse::{not_supported, unknown_fields};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnField, OnIndex};
use crate::ops;

/// `PUT /collections/{name}/index`.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateFieldIndex {
    field_name: String,
    field_schema: Option<Value>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// The flags of Qdrant's field index params that tune its storage only.
const TUNING: &[&str] = &["type", "is_tenant", "on_disk", "lookup", "range", "is_principal", "phrase_matching"];
/// Whether a text index param has the only value vectord's text index has:
/// Qdrant's default word tokenizer, lowercased (and no length limits, stop
/// words or stemming, which are other params).
fn is_default_text_param(key: &str, value: &Value) -> bool {
    match (key, value) {
        ("tokenizer", Value::String(tokenizer)) => tokenizer == "word",
        ("lowercase", Value::Bool(lowercase)) => *lowercase,
        _ => false,
    }
}

/// Creates (or replaces) a payload index; answers once it is built and durable.
pub(crate) async fn create(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<CreateFieldIndex>,
) -> Reply<UpdateResult> {
    unknown_fields(&request.rest, &[])?;
    let schema = schema_of(request.field_schema.as_ref())?;
    let mut handle = ops::handle(&state, &name).await?;
    handle.create_field_index(IndexedField::new(request.field_name, schema)).await?;
    Ok(UpdateResult::of(&handle).await)
}

/// Drops a payload index (none of that name is no error, as in Qdrant).
pub(crate) async fn drop(OnField { state, name, key }: OnField) -> Reply<UpdateResult> {
    let mut handle = ops::handle(&state, &name).await?;
    // Dropping logs a change: none is made for an index that is not there.
    if handle.describe(true).await?.field_points(&key).is_some() {
        handle.drop_field_index(&key).await?;
    }
    Ok(UpdateResult::of(&handle).await)
}

/// The collection info's `payload_schema`: each typed field index with its
/// type and the points it holds. Indexes of vectord's untyped schema (made
/// through vectord's own API) have no Qdrant type and are not listed.
pub(crate) fn payload_schema(field_indexes: &[(IndexedField, usize)]) -> Value {
    let typed = field_indexes.iter().filter(|(field, _)| field.schema != FieldSchema::Any);
    let schema: Map<String, Value> = typed
        .map(|(field, points)| (field.key.clone(), json!({ "data_type": field.schema.name(), "points": points })))
        .collect();
    Value::Object(schema)
}

/// lhv-core's schema of a Qdrant `field_schema`: a type name or `{"type", ...params}`.
fn schema_of(field_schema: Option<&Value>) -> Result<FieldSchema, ApiError> {
    let name = match field_schema {
        None | Some(Value::Null) => {
            return Err(bad_request("field_schema is required (vectord does not infer it from the payload)"));
        }
        Some(Value::String(name)) => name.as_str(),
        Some(Value::Object(params)) => {
            let Some(Value::String(name)) = params.get("type") else {
                return Err(bad_request("field_schema params need a \"type\""));
            };
            let is_default_text = |key: &str, value: &Value| name == "text" && is_default_text_param(key, value);
            let refused = params.iter().find(|(key, value)| {
                !value.is_null() && !TUNING.contains(&key.as_str()) && !is_default_text(key, value)
            });
            if let Some((key, value)) = refused {
                return Err(not_supported(format!("the {name} index parameter `{key}`: {value}")));
            }
            name.as_str()
        }
        Some(other) => return Err(bad_request(&format!("field_schema is a type name or params, not {other}"))),
    };
    match name {
        "keyword" => Ok(FieldSchema::Keyword),
        "integer" => Ok(FieldSchema::Integer),
        "float" => Ok(FieldSchema::Float),
        "bool" => Ok(FieldSchema::Bool),
        "uuid" => Ok(FieldSchema::Uuid),
        "text" => Ok(FieldSchema::Text),
        "datetime" => Ok(FieldSchema::Datetime),
        "geo" => Err(not_supported(format!("{name} payload indexes"))),
        other => Err(bad_request(&format!("unknown field_schema type {other:?}"))),
    }
}

fn bad_request(message: &str) -> ApiError {
    ApiError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_field_schema", message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qdrant_schemas_map_to_field_schemas() {
        assert_eq!(schema_of(Some(&json!("keyword"))).unwrap(), FieldSchema::Keyword);
        let params = json!({"type": "integer", "lookup": true, "range": false, "on_disk": true});
        assert_eq!(schema_of(Some(&params)).unwrap(), FieldSchema::Integer);
        assert_eq!(schema_of(Some(&json!({"type": "uuid", "is_tenant": true}))).unwrap(), FieldSchema::Uuid);
        let text = json!({"type": "text", "tokenizer": "word", "lowercase": true, "phrase_matching": true});
        assert_eq!(schema_of(Some(&text)).unwrap(), FieldSchema::Text);
        assert_eq!(schema_of(Some(&json!("datetime"))).unwrap(), FieldSchema::Datetime);
        let refused = [
            json!("geo"),
            json!("vector"),
            json!({"type": "keyword", "x": 1}),
            json!({"type": "text", "tokenizer": "prefix"}),
            json!({"type": "text", "min_token_len": 2}),
            json!({"type": "text", "lowercase": false}),
            json!(3),
            Value::Null,
        ];
        for refused in refused {
            assert_eq!(schema_of(Some(&refused)).unwrap_err().status, axum::http::StatusCode::BAD_REQUEST);
        }
        assert!(schema_of(None).is_err());
    }
}
