//! A collection's vectors in Qdrant's terms: `vectors` (one unnamed dense
//! vector `{size, distance, ...}`, or dense vectors by name, `""` being the
//! unnamed one) and `sparse_vectors` (by name, with `modifier`), read into
//! vectord's index parameters and shown back.

use lhv_core::{IndexParams, Metric, SparseModifier, SparseParams, Storage, VectorParams as DenseParams};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::refuse::{not_supported, unknown_fields};
use super::shown;
use crate::error::ApiError;

/// Qdrant's `hnsw_config`, as far as vectord's graph has the same knobs.
#[derive(Debug, Default, Deserialize)]
pub(super) struct HnswConfig {
    pub(super) m: Option<usize>,
    pub(super) ef_construct: Option<usize>,
    /// Below this many kilobytes of vectors a search compares with every point.
    pub(super) full_scan_threshold: Option<usize>,
    #[serde(flatten)]
    pub(super) rest: Map<String, Value>,
}

/// Knobs of `hnsw_config` that tune Qdrant's indexing, not answers.
pub(super) const HARMLESS_HNSW: &[&str] = &["max_indexing_threads", "on_disk", "payload_m", "inline_storage"];

/// One dense vector: `{size, distance, ...}`.
#[derive(Debug, Deserialize)]
struct VectorConfig {
    size: usize,
    distance: String,
    hnsw_config: Option<HnswConfig>,
    quantization_config: Option<Value>,
    datatype: Option<String>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// One sparse vector: `{modifier, index}`.
#[derive(Debug, Default, Deserialize)]
struct SparseConfig {
    modifier: Option<String>,
    /// How Qdrant keeps the inverted index (on disk, its datatype): vectord keeps it in memory, exact.
    index: Option<Map<String, Value>>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

fn metric(name: &str) -> Result<Metric, ApiError> {
    match name {
        "Cosine" => Ok(Metric::Cosine),
        "Euclid" => Ok(Metric::L2),
        "Dot" => Ok(Metric::Dot),
        other => Err(not_supported(format!("the distance {other:?} (Cosine, Euclid and Dot are)"))),
    }
}

fn storage(quantization: Option<&Value>, datatype: Option<&str>) -> Result<Storage, ApiError> {
    let quantized = match quantization.filter(|q| !q.is_null()) {
        None => None,
        Some(q) if q.pointer("/scalar/type").and_then(Value::as_str) == Some("int8") => Some(Storage::Int8),
        Some(q) => return Err(not_supported(format!("the quantization {q} (scalar int8 is)"))),
    };
    match (quantized, datatype) {
        (Some(storage), None | Some("float32")) => Ok(storage),
        (None, None | Some("float32")) => Ok(Storage::F32),
        (None, Some("float16")) => Ok(Storage::F16),
        (_, Some(other)) => Err(not_supported(format!("the datatype {other:?} with this quantization"))),
    }
}

/// The collection-wide settings a vector's own may override.
pub(super) struct Defaults {
    pub(super) hnsw: Option<HnswConfig>,
    pub(super) quantization: Option<Value>,
}

/// Reads `vectors` and `sparse_vectors` into `params` (whose other fields
/// are kept): the unnamed vector into its flat fields, the others by name.
pub(super) fn read(
    vectors: Option<Value>,
    sparse: Option<Map<String, Value>>,
    defaults: Defaults,
) -> Result<IndexParams, ApiError> {
    let sparse = sparse.unwrap_or_default();
    let dense: Vec<(String, VectorConfig)> = match vectors {
        Some(Value::Object(object)) if object.contains_key("size") => {
            vec![(String::new(), parse_vector("", Value::Object(object))?)]
        }
        Some(Value::Object(object)) => object
            .into_iter()
            .map(|(name, config)| Ok((name.clone(), parse_vector(&name, config)?)))
            .collect::<Result<_, ApiError>>()?,
        Some(Value::Null) | None if !sparse.is_empty() => Vec::new(),
        Some(other) if !other.is_null() => {
            return Err(ApiError::bad_request(
                "`vectors` is {\"size\": N, \"distance\": \"Cosine\"} or such objects by name",
            ));
        }
        _ => return Err(ApiError::bad_request("`vectors` is required: {\"size\": N, \"distance\": \"Cosine\"}")),
    };
    if dense.is_empty() && sparse.is_empty() {
        return Err(ApiError::bad_request("a collection needs a dense or a sparse vector"));
    }
    let mut params = IndexParams::named_only();
    for (name, config) in dense {
        let quantization = config.quantization_config.as_ref().or(defaults.quantization.as_ref());
        let on_disk = match config.rest.get("on_disk") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(on_disk)) => *on_disk,
            Some(other) => {
                return Err(ApiError::bad_request(format!("`vectors` {name:?}: on_disk {other} is not a boolean")));
            }
        };
        // Codes stay in memory whatever `always_ram` says: the graph walk reads them.
        let mut vector = DenseParams::new(config.size, metric(&config.distance)?)
            .with_storage(storage(quantization, config.datatype.as_deref())?)
            .with_on_disk(on_disk);
        let mut exact_threshold = None;
        // The vector's own hnsw_config overrides the collection's.
        for hnsw in [defaults.hnsw.as_ref(), config.hnsw_config.as_ref()].into_iter().flatten() {
            unknown_fields(&hnsw.rest, HARMLESS_HNSW)?;
            vector.m = hnsw.m.unwrap_or(vector.m);
            vector.ef_construction = hnsw.ef_construct.unwrap_or(vector.ef_construction);
            if let Some(kb) = hnsw.full_scan_threshold {
                exact_threshold = Some(kb.saturating_mul(1024) / (config.size.max(1) * 4));
            }
        }
        if name.is_empty() {
            params.dim = vector.dim;
            params.metric = vector.metric;
            params.storage = vector.storage;
            params.on_disk = vector.on_disk;
            params.m = vector.m;
            params.ef_construction = vector.ef_construction;
            if let Some(threshold) = exact_threshold {
                params.exact_search_threshold = threshold;
            }
        } else {
            params.vectors.insert(name, vector);
        }
    }
    for (name, config) in sparse {
        let config: SparseConfig = serde_json::from_value(config)
            .map_err(|e| ApiError::bad_request(format!("sparse vector {name:?}: {e}")))?;
        unknown_fields(&config.rest, &[])?;
        if let Some(index) = &config.index {
            unknown_fields(index, &["on_disk", "full_scan_threshold", "datatype"])?;
        }
        let modifier = match config.modifier.as_deref() {
            None | Some("none") => SparseModifier::None,
            Some("idf") => SparseModifier::Idf,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "sparse vector {name:?}: modifier {other:?} is none or idf"
                )));
            }
        };
        params.sparse_vectors.insert(name, SparseParams { modifier });
    }
    Ok(params)
}

fn parse_vector(name: &str, config: Value) -> Result<VectorConfig, ApiError> {
    let config: VectorConfig =
        serde_json::from_value(config).map_err(|e| ApiError::bad_request(format!("`vectors` {name:?}: {e}")))?;
    unknown_fields(&config.rest, &["on_disk", "multivector_config"])?;
    if config.rest.get("multivector_config").is_some_and(|m| !m.is_null()) {
        return Err(not_supported("multi-vectors (`multivector_config`)"));
    }
    Ok(config)
}

/// `config.params.vectors` and `config.params.sparse_vectors` as Qdrant shows them.
pub(super) fn show(params: &IndexParams) -> (Value, Value, Value) {
    let shown = |vector: &DenseParams| {
        let mut shown = json!({ "size": vector.dim, "distance": shown::distance_name(vector.metric) });
        match vector.storage {
            Storage::F16 => shown["datatype"] = json!("float16"),
            Storage::Int8 => shown["quantization_config"] = int8(),
            Storage::F32 => {}
        }
        if vector.on_disk {
            shown["on_disk"] = json!(true);
        }
        if !params.vectors.is_empty() {
            shown["hnsw_config"] = json!({ "m": vector.m, "ef_construct": vector.ef_construction });
        }
        shown
    };
    let quantization = match params.storage {
        Storage::Int8 if params.dim > 0 => int8(),
        _ => Value::Null,
    };
    // Qdrant shows the form it was given; vectord keeps no form, and shows the
    // unnamed vector alone unless named ones are beside it (both forms name it
    // `""` to every client).
    let vectors = if params.dim > 0 && params.vectors.is_empty() {
        let mut unnamed = shown(&params.unnamed().unwrap_or_else(|| DenseParams::new(0, Metric::Cosine)));
        if let Some(object) = unnamed.as_object_mut() {
            object.remove("quantization_config");
        }
        unnamed
    } else {
        let by_name: Map<String, Value> =
            params.dense_vectors().iter().map(|(name, vector)| (name.clone(), shown(vector))).collect();
        Value::Object(by_name)
    };
    let sparse: Map<String, Value> = params
        .sparse_vectors
        .iter()
        .map(|(name, sparse)| {
            let shown = match sparse.modifier {
                SparseModifier::Idf => json!({ "modifier": "idf" }),
                SparseModifier::None => json!({}),
            };
            (name.clone(), shown)
        })
        .collect();
    (vectors, Value::Object(sparse), quantization)
}

fn int8() -> Value {
    json!({ "scalar": { "type": "int8", "always_ram": true } })
}
