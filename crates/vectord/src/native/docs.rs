//! Schemas of values that the native API takes or gives but whose types know
//! nothing of OpenAPI (they live in lhv-core, or are plain JSON): what the
//! document says of them.

use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};

/// An item as added and returned.
#[derive(Serialize, ToSchema)]
pub struct ItemDoc {
    /// Any non-empty string up to 1024 bytes (percent-encode it in paths).
    #[schema(min_length = 1)]
    pub id: String,
    /// The unnamed vector: `dim` finite numbers (not all zero for cosine), or
    /// none (`[]`; may be left out when `vectors` or `sparse` are given): an
    /// item without it is stored and listed but never found by its search.
    #[schema(value_type = Vec<ComponentDoc>)]
    pub vector: Vec<f32>,
    /// Named dense vectors the index declares, by name: lists of numbers.
    #[schema(value_type = Option<Object>)]
    pub vectors: Option<serde_json::Value>,
    /// Named sparse vectors the index declares, by name: `{"indices": [u32...],
    /// "values": [number...]}` (indices distinct, in any order).
    #[schema(value_type = Option<Object>)]
    pub sparse: Option<serde_json::Value>,
    /// Any JSON; omitted or null keeps what is stored.
    #[schema(value_type = Option<serde_json::Value>)]
    pub metadata: Option<serde_json::Value>,
}

/// A vector component: a number that fits a float32 (larger ones get 400).
pub struct ComponentDoc;

impl PartialSchema for ComponentDoc {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Float)))
            .minimum(Some(-f64::from(f32::MAX)))
            .maximum(Some(f64::from(f32::MAX)))
            .into()
    }
}

impl ToSchema for ComponentDoc {}

/// A metadata filter: an item is searched when every `must` condition holds,
/// at least one `should` condition holds (if any), and no `must_not` holds.
/// A condition is `{"key": "a.b", "match": {"value": v}}`, `{"key", "match":
/// {"any": [v, ...]}}`, `{"key", "match": {"except": [v, ...]}}`, `{"key",
/// "range": {"gt", "gte", "lt", "lte"}}`, `{"has_id": [id, ...]}`, or a nested
/// filter. Qdrant's filter language and meaning: keys are paths into objects
/// (`a[].b` through arrays); see docs/API.md.
#[derive(Serialize, ToSchema)]
pub struct FilterDoc {
    /// All of these.
    #[schema(value_type = Option<Vec<Object>>)]
    pub must: Option<Vec<serde_json::Value>>,
    /// At least one of these.
    #[schema(value_type = Option<Vec<Object>>)]
    pub should: Option<Vec<serde_json::Value>>,
    /// None of these.
    #[schema(value_type = Option<Vec<Object>>)]
    pub must_not: Option<Vec<serde_json::Value>>,
    /// At least `min_count` of `conditions`.
    #[schema(value_type = Option<Object>)]
    pub min_should: Option<serde_json::Value>,
}

// Describes `lhv_core::Storage` (which knows nothing of OpenAPI); never built.
/// How an index keeps its vectors.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageDoc {
    /// 4 bytes per component, exact.
    F32,
    /// 2 bytes per component.
    F16,
    /// 8-bit codes walked by the graph, 4-bit residuals to rescore the candidates.
    Int8,
}

// Describes `lhv_core::FieldSchema`; never built.
/// The values a field index holds.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldSchemaDoc {
    /// Strings, numbers and booleans.
    Any,
    /// Strings.
    Keyword,
    /// Numbers with an integral value.
    Integer,
    /// Numbers.
    Float,
    /// Booleans.
    Bool,
    /// Strings that are UUIDs.
    Uuid,
    /// The words of strings, for text matches.
    Text,
    /// Strings that are datetimes, for datetime ranges.
    Datetime,
}

/// A metadata key with a field index: the key alone (of schema `any`), or the key and its schema.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum IndexedFieldDoc {
    /// A key whose index holds strings, numbers and booleans.
    Key(String),
    /// A key and the values its index holds.
    Typed {
        /// The key.
        key: String,
        /// The values.
        schema: FieldSchemaDoc,
    },
}

// Describes `lhv_core::Metric`; never built.
/// The distance an index ranks by.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MetricDoc {
    /// 1 - cosine similarity.
    Cosine,
    /// Squared Euclidean distance.
    L2,
    /// Negative inner product.
    Dot,
}

/// The error body of every 4xx and 5xx answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorDoc {
    /// `{"code": "<stable_snake_case>", "message": "...", "item": <position, for a bad item>}`.
    #[schema(value_type = Object)]
    pub error: serde_json::Value,
}
