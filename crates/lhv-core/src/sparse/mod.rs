//! Sparse vectors (Qdrant's named sparse vectors: index → weight pairs) and
//! their exact search by dot product over an inverted index.
//!
//! [`SparseVector`], [`SparseParams`] and [`idf`] are public; a
//! `SparseSpace` holds the sparse vectors of one name by the index's item
//! slots, with a posting list per dimension, and answers exact top-k
//! searches (MaxScore over the posting lists, or a scan of listed slots).

mod params;
mod parts;
mod postings;
mod search;
mod space;
mod topk;
mod vector;

#[cfg(test)]
mod proptests;

pub use params::{SparseModifier, SparseParams, idf};
pub use parts::SparseParts;
pub(crate) use space::SparseSpace;
pub use vector::{MAX_SPARSE_NNZ, SparseVector};
