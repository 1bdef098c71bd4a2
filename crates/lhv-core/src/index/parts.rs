//! An index taken apart into plain arrays and put back together: what a
//! snapshot stores. Putting it back checks every invariant, so arrays read
//! from a damaged or hostile file can make [`Index::from_parts`] fail but can
//! never make the index panic later.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rayon::slice::ParallelSliceMut;
use serde_json::Value;

use super::space::DenseSpace;
use super::{Index, MAX_SLOTS, State};
use crate::array::Array;
use crate::error::{Error, Result};
use crate::filter::field_index::FieldIndexes;
use crate::id_order::IdKey;
use crate::params::IndexParams;
use crate::row_norms::RowNorms;
use crate::sparse::{SparseParts, SparseSpace};
use crate::validate;
use crate::vectors::StoredRows;

/// Everything an [`Index`] holds, as plain arrays, one entry per slot.
///
/// Slots are the index's internal numbering: a deleted or replaced vector
/// keeps its slot (with no id) until compaction, because the graph still
/// walks through it. Taking parts and putting them back gives an index whose
/// searches return bit-identical results.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexParts {
    /// The parameters of the index.
    pub params: IndexParams,
    /// Per slot: the id, or `None` for a deleted slot.
    pub ids: Vec<Option<String>>,
    /// Per slot: the metadata (always `None` for a deleted slot).
    pub metadata: Vec<Option<Value>>,
    /// The rows, slot after slot, in the index's [`Storage`](crate::Storage).
    pub vectors: StoredRows,
    /// The HNSW graph over the slots.
    pub graph: GraphParts,
    /// The slots whose item has no unnamed vector (their rows are
    /// placeholders and their nodes unlinked), ascending.
    pub vectorless: Vec<u32>,
    /// The unnamed vector's exact rows when it is kept on disk (see
    /// [`DenseParts::full_rows`]).
    pub full_rows: Option<Array<f32>>,
    /// The named dense vectors, one entry per entry of
    /// [`IndexParams::vectors`], in name order.
    pub named: Vec<DenseParts>,
    /// The sparse vectors, one entry per entry of
    /// [`IndexParams::sparse_vectors`], in name order.
    pub sparse: Vec<SparseParts>,
}

/// One dense vector's arrays: what [`IndexParts`] holds for the unnamed
/// vector in `vectors`, `graph` and `vectorless`. (An index without an unnamed
/// vector has empty arrays there.)
#[derive(Debug, Clone, PartialEq)]
pub struct DenseParts {
    /// The rows, slot after slot, in the vector's [`Storage`](crate::Storage).
    pub vectors: StoredRows,
    /// The HNSW graph over the slots.
    pub graph: GraphParts,
    /// The slots whose item lacks this vector, ascending.
    pub vectorless: Vec<u32>,
    /// The exact float32 rows of a vector kept on disk
    /// ([`VectorParams::on_disk`](crate::VectorParams::on_disk)), slot after
    /// slot; `vectors` then holds the codes the walk reads. `None` otherwise.
    pub full_rows: Option<Array<f32>>,
}

/// The HNSW graph as flat arrays; node `n` is slot `n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphParts {
    /// Per node: its top layer (0 = bottom layer only).
    pub levels: Vec<u8>,
    /// Per node, a block of `1 + 2m` words on the bottom layer: the neighbour
    /// count, then the neighbours (words past the count are ignored).
    pub bottom: Vec<u32>,
    /// For each node above the bottom layer, in node order, one block of
    /// `1 + m` words per layer `1..=level`, laid out like `bottom`'s.
    pub upper: Vec<u32>,
    /// The node where searches start; `None` only when there are no nodes.
    pub entry: Option<u32>,
}

/// Rejects parts that break an invariant.
pub(crate) fn invalid(reason: String) -> Error {
    Error::InvalidParts { reason }
}

impl Index {
    /// Copies the whole state out. Waits for a running write to finish, so the
    /// parts never hold half a batch; searches go on meanwhile.
    pub fn to_parts(&self) -> IndexParts {
        let _writer = self.writer.lock();
        let state = self.state.read();
        let params = state.current_params(&self.params);
        let mut named = Vec::new();
        let mut unnamed = DenseSpace::absent_parts(params.storage);
        for space in &state.dense {
            if space.name.is_empty() {
                unnamed = space.to_parts();
            } else {
                named.push(space.to_parts());
            }
        }
        IndexParts {
            params,
            ids: state.ids.iter().map(|id| id.as_deref().map(str::to_owned)).collect(),
            metadata: state.metadata.iter().map(|value| value.as_deref().cloned()).collect(),
            vectors: unnamed.vectors,
            graph: unnamed.graph,
            vectorless: unnamed.vectorless,
            full_rows: unnamed.full_rows,
            named,
            sparse: state.sparse.iter().map(|(_, space)| space.to_parts()).collect(),
        }
    }

    /// Puts an index back together from its parts, after checking them: the
    /// parameters, that every array has one entry per slot, that vectors are
    /// finite (and not zero for cosine), that ids are valid and unique, and
    /// that every link points at an existing node.
    pub fn from_parts(parts: IndexParts) -> Result<Self> {
        Self::from_parts_with_norms(parts, Vec::new)
    }

    /// [`from_parts`](Self::from_parts), with the squared norms of float32
    /// rows checked ([`RowNorms`]) by whoever holds them, asked for once
    /// everything else is checked and built (the holder may still be
    /// checking them meanwhile): `norms()[0]` for the unnamed vector,
    /// `norms()[1 + i]` for named vector `i`, any of them missing or `None`.
    /// Norms checked over other rows than the parts' are not used: those
    /// rows are checked here.
    pub fn from_parts_with_norms(parts: IndexParts, norms: impl FnOnce() -> Vec<Option<RowNorms>>) -> Result<Self> {
        let IndexParts { params, ids, metadata, vectors, graph, vectorless, full_rows, named, sparse } = parts;
        params.validate()?;
        let slots = ids.len();
        if slots > MAX_SLOTS {
            return Err(invalid(format!("{slots} slots, more than the {MAX_SLOTS} an index can hold")));
        }
        if metadata.len() != slots {
            return Err(invalid(format!("{} metadata entries for {slots} ids", metadata.len())));
        }
        if named.len() != params.vectors.len() {
            let declared = params.vectors.len();
            return Err(invalid(format!("{} named vectors' arrays for {declared} named vectors", named.len())));
        }
        if sparse.len() != params.sparse_vectors.len() {
            let declared = params.sparse_vectors.len();
            return Err(invalid(format!("{} sparse vectors' arrays for {declared} sparse vectors", sparse.len())));
        }
        let unnamed = DenseParts { vectors, graph, vectorless, full_rows };
        if params.unnamed().is_none() && unnamed != DenseSpace::absent_parts(params.storage) {
            return Err(invalid("arrays of an unnamed vector in an index without one".to_owned()));
        }
        // The ids first: the rows' norms may still be being checked.
        let (shared_ids, slot_of, tombstones) = id_map(ids)?;
        let mut norms = Some(norms);
        let mut checked: Vec<Option<RowNorms>> = Vec::new();
        let mut norms_of = |space: usize| {
            if let Some(norms) = norms.take() {
                checked = norms();
            }
            checked.get_mut(space).and_then(Option::take)
        };
        let mut dense = Vec::with_capacity(named.len() + 1);
        if let Some(vector) = params.unnamed() {
            let space = DenseSpace::from_parts("", vector, params.seed, unnamed, slots, || norms_of(0))?;
            dense.push(space);
        }
        for (i, ((name, vector), parts)) in params.vectors.iter().zip(named).enumerate() {
            let space = DenseSpace::from_parts(name, vector.clone(), params.seed, parts, slots, || norms_of(1 + i))?;
            dense.push(space);
        }
        let metadata = metadata
            .into_iter()
            .zip(&shared_ids)
            .map(|(value, id)| value.filter(|_| id.is_some()).map(Box::new))
            .collect();
        let live = |slot: u32| shared_ids[slot as usize].is_some();
        let sparse = params
            .sparse_vectors
            .iter()
            .zip(sparse)
            .map(|((name, sparse), parts)| {
                let space = SparseSpace::from_parts(*sparse, parts, slots, live)
                    .map_err(|e| invalid(format!("sparse vector {name:?}: {e}")))?;
                Ok((name.clone(), space))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut state = State {
            dense,
            sparse,
            ids: shared_ids,
            metadata,
            slot_of,
            tombstones,
            fields: FieldIndexes::new(&params.indexed_fields),
            compactions: 0,
        };
        state.reindex_fields();
        Ok(Self { params, writer: Mutex::new(()), state: RwLock::new(state) })
    }
}

/// The ids of the slots (`None`: a tombstone), their map to slots, and the
/// number of tombstones.
type IdMap = (Vec<Option<Arc<str>>>, BTreeMap<IdKey, u32>, usize);

/// The [`IdMap`] of the ids of the slots, each id checked.
fn id_map(ids: Vec<Option<String>>) -> Result<IdMap> {
    let mut keyed = Vec::with_capacity(ids.len());
    let mut shared_ids = Vec::with_capacity(ids.len());
    let mut tombstones = 0;
    for (slot, id) in ids.into_iter().enumerate() {
        let Some(id) = id else {
            tombstones += 1;
            shared_ids.push(None);
            continue;
        };
        validate::id(slot, &id).map_err(|e| invalid(format!("slot {slot}: {e}")))?;
        let id: Arc<str> = Arc::from(id);
        keyed.push((IdKey(Arc::clone(&id)), slot as u32));
        shared_ids.push(Some(id));
    }
    // Sorted first (on every core; in one pass when the ids come in
    // order), then built in bulk: inserting a million ids one by one is
    // a large part of a restart.
    keyed.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    if let Some(pair) = keyed.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        let (id, slot) = (&pair[1].0.0, pair[1].1);
        return Err(invalid(format!("slot {slot}: id {id:?} is held by an earlier slot too")));
    }
    Ok((shared_ids, keyed.into_iter().collect(), tombstones))
}
