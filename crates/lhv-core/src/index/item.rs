//! What goes into an index and what comes back out of it for one id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::sparse::SparseVector;

/// One item to insert or replace: an id, its vectors and its metadata.
///
/// An item may lack any of the index's vectors: an item without any (Qdrant's
/// point whose vectors were deleted) is stored, listed, counted and filtered
/// like any other, but no search finds it.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Item {
    /// Non-empty, at most [`MAX_ID_BYTES`](crate::MAX_ID_BYTES) bytes.
    pub id: String,
    /// The unnamed vector: exactly `dim` finite components, or none (the
    /// item lacks it; always none in an index without an unnamed vector).
    pub vector: Vec<f32>,
    /// Named dense vectors, by name; a declared name that is missing here is
    /// a vector the item lacks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vectors: BTreeMap<String, Vec<f32>>,
    /// Named sparse vectors, by name (in any order of indices: the index
    /// sorts them); a declared name that is missing here is one the item lacks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sparse: BTreeMap<String, SparseVector>,
    /// `None` keeps the metadata already stored for this id; `Some` replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl Item {
    /// An item with an unnamed vector and no metadata.
    pub fn new(id: impl Into<String>, vector: Vec<f32>) -> Self {
        Self { id: id.into(), vector, ..Self::default() }
    }

    /// Its dense vector `name` (`""`: the unnamed one), empty if it lacks it.
    pub fn dense(&self, name: &str) -> &[f32] {
        if name.is_empty() { &self.vector } else { self.vectors.get(name).map_or(&[], Vec::as_slice) }
    }
}

/// The fields of an [`Item`] as JSON has them.
#[derive(Deserialize)]
struct ItemFields {
    id: String,
    vector: Option<Vec<f32>>,
    #[serde(default)]
    vectors: BTreeMap<String, Vec<f32>>,
    #[serde(default)]
    sparse: BTreeMap<String, SparseVector>,
    #[serde(default)]
    metadata: Option<Value>,
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let ItemFields { id, vector, vectors, sparse, metadata } =
            crate::object_only::deserialize_object(deserializer, "an item object with id, vector, metadata")?;
        // `vector` may only be left out by an item that names its vectors.
        let vector = match vector {
            Some(vector) => vector,
            None if !vectors.is_empty() || !sparse.is_empty() => Vec::new(),
            None => return Err(serde::de::Error::missing_field("vector")),
        };
        Ok(Item { id, vector, vectors, sparse, metadata })
    }
}

impl Record {
    /// The item this record is of, under `id`: what upserting it back would store.
    pub fn into_item(self, id: impl Into<String>) -> Item {
        let Record { vector, vectors, sparse, metadata } = self;
        Item { id: id.into(), vector, vectors, sparse, metadata }
    }
}

/// A stored item, as returned by [`Index::get`](crate::Index::get).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The unnamed vector, bit for bit as it was upserted (as the storage
    /// keeps it); empty if the item lacks it.
    pub vector: Vec<f32>,
    /// The named dense vectors the item has.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vectors: BTreeMap<String, Vec<f32>>,
    /// The named sparse vectors the item has (indices ascending).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sparse: BTreeMap<String, SparseVector>,
    /// Its metadata, if any was stored.
    pub metadata: Option<Value>,
}
