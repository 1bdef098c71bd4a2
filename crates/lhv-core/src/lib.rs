//! `lhv-core`: the index of vectord.
//!
//! A mutable k-nearest-neighbour index over float32 vectors with string ids
//! and optional JSON metadata, built on our own HNSW graph. Pure library: no
//! I/O, no async, and no panic on caller input: every bad input is an
//! [`Error`] that names what was wrong.
//!
//! ```
//! use lhv_core::{Index, IndexParams, Item, Metric, SearchOptions};
//!
//! let index = Index::new(IndexParams::new(3, Metric::Cosine))?;
//! index.upsert(vec![
//!     Item::new("x", vec![1.0, 0.0, 0.0]),
//!     Item { metadata: Some(serde_json::json!({"tag": "b"})), ..Item::new("y", vec![0.0, 1.0, 0.0]) },
//! ])?;
//! let hits = index.search(&[0.9, 0.1, 0.0], 1, &SearchOptions::default())?;
//! assert_eq!(hits[0].id, "x");
//!
//! assert_eq!(index.delete(&["x"]), 1);
//! assert_eq!(index.search(&[0.9, 0.1, 0.0], 1, &SearchOptions::default())?[0].id, "y");
//! # Ok::<(), lhv_core::Error>(())
//! ```
//!
//! Items may have named dense vectors and sparse ones (searched exactly,
//! here weighted by inverse document frequency), and results of several
//! searches fuse into one ranking:
//!
//! ```
//! use lhv_core::fusion::{DEFAULT_RRF_K, rrf};
//! use lhv_core::{Index, IndexParams, Item, Metric, SearchOptions, SparseModifier, SparseParams, SparseVector};
//!
//! let params = IndexParams::named_only()
//!     .with_vector("title", lhv_core::VectorParams::new(2, Metric::Cosine))
//!     .with_sparse_vector("words", SparseParams { modifier: SparseModifier::Idf });
//! let index = Index::new(params)?;
//! let mut a = Item::new("a", Vec::new());
//! a.vectors.insert("title".into(), vec![1.0, 0.0]);
//! a.sparse.insert("words".into(), SparseVector::new(vec![17, 3], vec![1.0, 2.0]));
//! let mut b = Item::new("b", Vec::new());
//! b.vectors.insert("title".into(), vec![0.6, 0.8]);
//! b.sparse.insert("words".into(), SparseVector::new(vec![3], vec![1.0]));
//! index.upsert(vec![a, b])?;
//! let dense = index.search(&[0.0, 1.0], 2, &SearchOptions::default().using("title"))?;
//! let sparse = index.search_sparse(&SparseVector::new(vec![3], vec![1.0]), 2, &SearchOptions::default().using("words"), None)?;
//! assert_eq!((dense[0].id.as_str(), sparse[0].id.as_str()), ("b", "a"));
//! let lists: Vec<Vec<(String, f32)>> =
//!     [dense, sparse].iter().map(|hits| hits.iter().map(|h| (h.id.clone(), -h.distance)).collect()).collect();
//! let fused = rrf(&lists, DEFAULT_RRF_K, None)?;
//! assert_eq!(fused.len(), 2);
//! # Ok::<(), lhv_core::Error>(())
//! ```

mod array;
mod codes;
mod distance;
mod error;
pub mod filter;
pub mod fusion;
mod hnsw;
mod huge_pages;
mod id_order;
mod index;
mod object_only;
mod params;
mod prefetch;
mod row_norms;
mod sharded;
mod simd;
mod sparse;
mod validate;
mod vectors;

pub use array::Array;
pub use error::{Error, Result};
pub use filter::{
    Condition, Datetime, DatetimeRange, FieldCheck, FieldIndexInfo, FieldKey, FieldSchema, Filter, IndexedField,
    MAX_FIELD_KEY_BYTES, MAX_FILTER_DEPTH, MAX_FILTER_TERMS, Match, MinShould, Range,
};
pub use id_order::compare_ids;
pub use index::{
    DenseParts, GraphParts, Hit, Index, IndexParts, IndexStats, Item, MAX_TOMBSTONE_SHARE, OrderBy, OrderKind,
    OrderValue, Record, ScrollPage, SearchOptions, SlotEpoch, SparseStatistics, UpsertOutcome,
};
pub use params::{
    IndexParams, MAX_DIM, MAX_EF, MAX_ID_BYTES, MAX_INDEXED_FIELDS, MAX_K, MAX_M, MAX_NAMED_VECTORS, MAX_NORM,
    MAX_SCROLL_LIMIT, MAX_VECTOR_NAME_BYTES, Metric, Storage, VectorParams,
};
pub use row_norms::RowNorms;
pub use sharded::{MAX_SHARDS, ShardedIndex, merge_hits, shard_of};
pub use sparse::{MAX_SPARSE_NNZ, SparseModifier, SparseParams, SparseParts, SparseVector, idf};
pub use vectors::StoredRows;
