//! A point's vectors in Qdrant's JSON: read from a request by the
//! collection's declared vectors, and shown as a request selects them.
//!
//! A point's `vector` is a list of numbers (the unnamed dense vector), or an
//! object by name (`""` is the unnamed vector) whose values are lists of
//! numbers (dense) or `{"indices", "values"}` (sparse); `{}` or null is a
//! point without vectors. Dense vectors under cosine are kept normalised,
//! as Qdrant keeps (and shows) them.

use std::collections::BTreeMap;

use lhv_core::{IndexParams, Item, Metric, Record, SparseVector};
use serde_json::{Map, Value, json};

use super::answers::PointVector;
use super::refuse::not_supported;
use super::shown::WithVector;
use crate::error::ApiError;

/// The vectors of one point, as read from a request.
#[derive(Debug, Default)]
pub(crate) struct PointVectors {
    /// The unnamed dense vector; empty if the point has none.
    pub vector: Vec<f32>,
    /// Named dense vectors.
    pub vectors: BTreeMap<String, Vec<f32>>,
    /// Named sparse vectors.
    pub sparse: BTreeMap<String, SparseVector>,
}

impl PointVectors {
    /// Reads a point's `vector` against the collection's vectors.
    pub(crate) fn read(params: &IndexParams, value: Value) -> Result<Self, ApiError> {
        let mut point = PointVectors::default();
        match value {
            Value::Null => {}
            Value::Object(named) => {
                for (name, value) in named {
                    point.put(params, name, value)?;
                }
            }
            value => point.put(params, String::new(), value)?,
        }
        Ok(point)
    }

    /// Reads one named vector into its place.
    fn put(&mut self, params: &IndexParams, name: String, value: Value) -> Result<(), ApiError> {
        if params.sparse_vectors.contains_key(&name) {
            let vector: SparseVector = serde_json::from_value(value).map_err(|e| {
                ApiError::bad_request(format!(
                    "the sparse vector {name:?} is {{\"indices\": [...], \"values\": [...]}}: {e}"
                ))
            })?;
            self.sparse.insert(name, vector);
            return Ok(());
        }
        let Some(declared) = params.vector(&name) else {
            return Err(unknown_vector(&name));
        };
        let vector = dense(&name, value)?;
        if name.is_empty() {
            self.vector = as_stored(declared.metric, vector);
        } else if !vector.is_empty() {
            self.vectors.insert(name, as_stored(declared.metric, vector));
        }
        Ok(())
    }

    /// An item of these vectors.
    pub(crate) fn into_item(self, id: String, metadata: Option<Value>) -> Item {
        Item { id, vector: self.vector, vectors: self.vectors, sparse: self.sparse, metadata }
    }

    /// Whether the point has no vector at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.vector.is_empty() && self.vectors.is_empty() && self.sparse.is_empty()
    }
}

/// The 400 of a vector name the collection does not declare.
pub(crate) fn unknown_vector(name: &str) -> ApiError {
    // Qdrant's words (the unnamed vector's name is empty).
    let message = format!("Wrong input: Not existing vector name error: {name}");
    ApiError::new(axum::http::StatusCode::BAD_REQUEST, "unknown_vector", message)
}

/// A dense vector: a list of numbers.
fn dense(name: &str, value: Value) -> Result<Vec<f32>, ApiError> {
    if matches!(&value, Value::Array(rows) if rows.first().is_some_and(Value::is_array)) {
        return Err(not_supported(format!("multi-vectors (the vector {name:?} is a list of lists)")));
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("the vector {name:?} is a list of numbers: {e}")))
}

/// A vector as Qdrant keeps it: normalised under cosine (and shown so).
pub(crate) fn as_stored(metric: Metric, mut vector: Vec<f32>) -> Vec<f32> {
    if metric == Metric::Cosine {
        let norm = vector.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
        if norm > 0.0 && norm.is_finite() {
            vector.iter_mut().for_each(|x| *x = (f64::from(*x) / norm) as f32);
        }
    }
    vector
}

/// Which vectors a request shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ShownVectors {
    /// None.
    None,
    /// Every vector the point has.
    All,
    /// These, where the point has them.
    Names(Vec<String>),
}

impl ShownVectors {
    /// The selection `with_vector` makes (`default` when left out), checked against the collection.
    pub(crate) fn of(params: &IndexParams, with: Option<&WithVector>, default: bool) -> Result<Self, ApiError> {
        Ok(match with {
            None if default => ShownVectors::All,
            None | Some(WithVector::All(false)) => ShownVectors::None,
            Some(WithVector::All(true)) => ShownVectors::All,
            Some(WithVector::Names(names)) => {
                if let Some(unknown) = names.iter().find(|name| !declares(params, name)) {
                    return Err(unknown_vector(unknown));
                }
                ShownVectors::Names(names.clone())
            }
        })
    }

    /// Whether any vector is shown.
    pub(crate) fn any(&self) -> bool {
        *self != ShownVectors::None
    }

    /// A point's vectors as shown: the list of numbers alone when the
    /// collection has only the unnamed vector, else an object by name.
    pub(crate) fn show(&self, params: &IndexParams, record: &Record) -> Option<PointVector> {
        let wanted = |name: &str| match self {
            ShownVectors::None => false,
            ShownVectors::All => true,
            ShownVectors::Names(names) => names.iter().any(|n| n == name),
        };
        if !self.any() {
            return None;
        }
        if only_unnamed(params) {
            return Some(match wanted("") && !record.vector.is_empty() {
                true => PointVector::Dense(record.vector.clone()),
                false => PointVector::Named(Map::new()),
            });
        }
        let mut shown = Map::new();
        if wanted("") && !record.vector.is_empty() {
            shown.insert(String::new(), json!(record.vector));
        }
        for (name, vector) in record.vectors.iter().filter(|(name, _)| wanted(name)) {
            shown.insert(name.clone(), json!(vector));
        }
        for (name, vector) in record.sparse.iter().filter(|(name, _)| wanted(name)) {
            shown.insert(name.clone(), json!({ "indices": vector.indices, "values": vector.values }));
        }
        Some(PointVector::Named(shown))
    }
}

/// Whether the collection declares the vector `name` (dense or sparse).
pub(crate) fn declares(params: &IndexParams, name: &str) -> bool {
    params.vector(name).is_some() || params.sparse_vectors.contains_key(name)
}

/// Whether the collection's only vector is the unnamed dense one.
pub(crate) fn only_unnamed(params: &IndexParams) -> bool {
    params.dim > 0 && params.vectors.is_empty() && params.sparse_vectors.is_empty()
}
