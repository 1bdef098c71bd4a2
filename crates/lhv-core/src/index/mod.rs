//! The public index: ids and metadata around the vector spaces (a graph
//! and rows per dense vector).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::filter::field_index::FieldIndexes;
use crate::id_order::{IdKey, IdStr};
use crate::params::{IndexParams, MAX_SCROLL_LIMIT, check_range};
use crate::sparse::SparseSpace;
use crate::validate;

mod default_ef;
mod fields;
mod filtered;
mod fold;
mod full_rows;
mod item;
mod order;
pub(crate) mod parts;
mod search;
mod select;
mod space;
mod sparse_search;
mod tuning;

pub use fold::SlotEpoch;
pub use item::{Item, Record};
pub use order::{OrderBy, OrderKind, OrderValue};
pub use parts::{DenseParts, GraphParts, IndexParts};
pub use search::SearchOptions;
use space::DenseSpace;
pub use sparse_search::SparseStatistics;

/// Deleted slots are compacted away once they exceed this share of all slots,
/// which bounds memory under endless churn to about 1.25x the live data.
pub const MAX_TOMBSTONE_SHARE: f64 = 0.2;
/// Slots are numbered with `u32`; the top value is reserved as "no slot".
const MAX_SLOTS: usize = u32::MAX as usize - 1;

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The id of the stored vector.
    pub id: String,
    /// Its distance to the query under the index metric.
    pub distance: f32,
    /// Its metadata, if any was stored.
    pub metadata: Option<Value>,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpsertOutcome {
    /// Ids that were new.
    pub inserted: usize,
    /// Ids that existed and were replaced.
    pub updated: usize,
}

/// One page of ids from [`Index::scroll`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrollPage {
    /// Ids in ascending id order ([`compare_ids`](crate::compare_ids)): integers, then other ids by byte.
    pub ids: Vec<String>,
    /// Pass this as `after` to get the next page; `None` on the last page.
    pub next_after: Option<String>,
}

/// Sizes of the index, for monitoring and for tests of memory bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexStats {
    /// Vectors that can be found.
    pub live: usize,
    /// Deleted or replaced vectors not yet compacted away.
    pub tombstones: usize,
    /// Bytes held by vectors, graph and per-slot bookkeeping (not ids' and metadata's heap data).
    pub memory_bytes: usize,
    /// Bytes of exact rows of `on_disk` vectors read in place from the
    /// snapshot file (the page cache holds what searches read of them),
    /// not counted in `memory_bytes`.
    pub disk_bytes: usize,
}

/// A mutable k-nearest-neighbour index over float32 vectors.
///
/// `Index` is `Send + Sync`: share it behind an `Arc`. Searches run in
/// parallel with each other and with the bulk of a write: a batch's vectors
/// are linked into the graph (on several threads) while searches go on, and
/// the batch becomes visible to searches all at once. Writes are serialised.
#[derive(Debug)]
pub struct Index {
    params: IndexParams,
    /// Serialises writers; the state lock is then held exclusively only briefly.
    writer: Mutex<()>,
    state: RwLock<State>,
}

/// One item of an upsert batch between its phases.
struct Planned {
    id: String,
    metadata: Option<Value>,
    /// The slot that held this id before the batch.
    previous: Option<u32>,
    /// The slot that holds it after: `previous` when only metadata changes.
    slot: u32,
}

/// Per slot: the id (`None` once deleted), the metadata, and a row in every vector space.
#[derive(Debug)]
struct State {
    /// The dense vectors, the unnamed one first (if the index has it), then by name.
    dense: Vec<DenseSpace>,
    /// The sparse vectors, by name.
    sparse: Vec<(String, SparseSpace)>,
    ids: Vec<Option<Arc<str>>>,
    /// Boxed: most slots of most indexes have none, and a `Value` is four words.
    metadata: Vec<Option<Box<Value>>>,
    slot_of: BTreeMap<IdKey, u32>,
    tombstones: usize,
    /// Value-to-slot indexes of the declared metadata keys (live slots only).
    fields: FieldIndexes,
    /// Compactions so far: slot numbers before one mean nothing after it.
    compactions: u64,
}

impl Index {
    /// An empty index. Fails if a parameter is out of range.
    pub fn new(params: IndexParams) -> Result<Self> {
        params.validate()?;
        let dense = params
            .dense_vectors()
            .into_iter()
            .map(|(name, vector)| DenseSpace::new(&name, vector, params.seed))
            .collect();
        let sparse = params.sparse_vectors.iter().map(|(name, p)| (name.clone(), SparseSpace::new(*p))).collect();
        let state = State {
            dense,
            sparse,
            ids: Vec::new(),
            metadata: Vec::new(),
            slot_of: BTreeMap::new(),
            tombstones: 0,
            fields: FieldIndexes::new(&params.indexed_fields),
            compactions: 0,
        };
        Ok(Self { params, writer: Mutex::new(()), state: RwLock::new(state) })
    }

    /// The parameters of the index: those it was created with, the graph
    /// parameters of its next insertions ([`set_build_params`](Self::set_build_params)),
    /// and the field indexes it holds now.
    pub fn params(&self) -> IndexParams {
        self.state.read().current_params(&self.params)
    }

    /// Number of live items.
    pub fn len(&self) -> usize {
        self.state.read().slot_of.len()
    }

    /// Whether the index holds no live item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sizes of the index.
    pub fn stats(&self) -> IndexStats {
        let state = self.state.read();
        IndexStats {
            live: state.slot_of.len(),
            tombstones: state.tombstones,
            memory_bytes: state.dense.iter().map(DenseSpace::memory_bytes).sum::<usize>()
                + state.sparse.iter().map(|(_, space)| space.memory_bytes()).sum::<usize>()
                + state.ids.capacity() * size_of::<Option<Arc<str>>>()
                + state.metadata.capacity() * size_of::<Option<Box<Value>>>()
                + state.fields.memory_bytes(),
            disk_bytes: state.dense.iter().map(DenseSpace::disk_bytes).sum(),
        }
    }

    /// Checks a batch the way [`upsert`](Self::upsert) does, without changing
    /// anything: a batch that passes is only rejected by `upsert` if the index
    /// is full. Lets a caller log a batch before applying it.
    pub fn validate_upsert(&self, items: &[Item]) -> Result<()> {
        validate::batch(items, &self.params)
    }

    /// Inserts new ids and replaces existing ones, all or nothing.
    ///
    /// The whole batch is validated first; on error nothing changes and the
    /// error names the position of the first bad item.
    pub fn upsert(&self, mut items: Vec<Item>) -> Result<UpsertOutcome> {
        validate::batch(&items, &self.params)?;
        validate::sort_sparse(&mut items)?;
        let _writer = self.writer.lock();
        // 1. Briefly exclusive: store the new vectors and give them graph nodes, not yet findable.
        let (plan, first_new) = {
            let mut state = self.state.write();
            if state.ids.len().saturating_add(items.len()) > MAX_SLOTS {
                return Err(Error::CapacityExceeded { max: MAX_SLOTS });
            }
            let first_new = state.ids.len() as u32;
            let mut plan = Vec::with_capacity(items.len());
            for item in items {
                let previous = state.slot_of.get(IdStr::new(&item.id)).copied();
                // An item whose vectors are all unchanged keeps its slot: only its metadata changes.
                let slot = match previous {
                    Some(slot) if state.holds_vectors(slot, &item) => slot,
                    _ => state.add_unlinked(&item),
                };
                plan.push(Planned { id: item.id, metadata: item.metadata, previous, slot });
            }
            let added = state.ids.len() - first_new as usize;
            for space in &mut state.dense {
                space.graph.add_nodes(added);
            }
            (plan, first_new)
        };
        // 2. Shared with searches: link the new nodes, in parallel.
        {
            let state = self.state.read();
            for space in &state.dense {
                space.link(first_new..state.ids.len() as u32);
            }
        }
        // 3. Briefly exclusive: the whole batch becomes visible at once.
        let mut state = self.state.write();
        let mut outcome = UpsertOutcome::default();
        for Planned { id, metadata, previous, slot } in plan {
            // Taken out of the old slot, so that burying it does not unindex it twice.
            let kept = previous.and_then(|old| {
                state.unindex_fields(old);
                state.metadata[old as usize].take()
            });
            let metadata = metadata.map(Box::new).or(kept);
            match previous {
                Some(_) => outcome.updated += 1,
                None => outcome.inserted += 1,
            }
            if let Some(old) = previous.filter(|&old| old != slot) {
                state.bury(old);
            }
            let id: Arc<str> = Arc::from(id);
            state.ids[slot as usize] = Some(Arc::clone(&id));
            if let Some(value) = &metadata {
                state.fields.insert(slot, value);
            }
            state.metadata[slot as usize] = metadata;
            state.slot_of.insert(IdKey(id), slot);
        }
        state.compact_if_needed();
        drop(state);
        self.choose_default_efs();
        Ok(outcome)
    }

    /// Deletes the given ids; returns how many of them existed.
    pub fn delete<S: AsRef<str>>(&self, ids: &[S]) -> usize {
        let _writer = self.writer.lock();
        let mut state = self.state.write();
        let mut deleted = 0;
        for id in ids {
            if let Some(slot) = state.slot_of.get(IdStr::new(id.as_ref())).copied() {
                state.bury(slot);
                deleted += 1;
            }
        }
        state.compact_if_needed();
        deleted
    }

    /// The stored vectors and metadata of `id`.
    pub fn get(&self, id: &str) -> Option<Record> {
        let state = self.state.read();
        let slot = *state.slot_of.get(IdStr::new(id))?;
        let mut record = Record {
            vector: Vec::new(),
            vectors: BTreeMap::new(),
            sparse: BTreeMap::new(),
            metadata: state.metadata[slot as usize].as_deref().cloned(),
        };
        for (name, space) in &state.sparse {
            if let Some(vector) = space.get(slot) {
                record.sparse.insert(name.clone(), vector.clone());
            }
        }
        for space in &state.dense {
            let vector = space.get(slot);
            if space.name.is_empty() {
                record.vector = vector;
            } else if !vector.is_empty() {
                record.vectors.insert(space.name.clone(), vector);
            }
        }
        Some(record)
    }

    /// Whether `id` is stored.
    pub fn contains(&self, id: &str) -> bool {
        self.state.read().slot_of.contains_key(IdStr::new(id))
    }

    /// Up to `limit` ids in id order ([`compare_ids`](crate::compare_ids)), starting after `after`.
    pub fn scroll(&self, after: Option<&str>, limit: usize) -> Result<ScrollPage> {
        check_range("limit", limit, 1, MAX_SCROLL_LIMIT, "an integer in 1..=10000")?;
        let state = self.state.read();
        let lower = after.map_or(Bound::Unbounded, |id| Bound::Excluded(IdStr::new(id)));
        let mut range = state.slot_of.range::<IdStr, _>((lower, Bound::Unbounded));
        let ids: Vec<String> = range.by_ref().take(limit).map(|(id, _)| id.0.to_string()).collect();
        let next_after = if range.next().is_some() { ids.last().cloned() } else { None };
        Ok(ScrollPage { ids, next_after })
    }
}

impl State {
    /// Whether `slot` holds exactly the vectors of `item` (and lacks those it lacks).
    fn holds_vectors(&self, slot: u32, item: &Item) -> bool {
        self.dense.iter().all(|space| space.holds(slot, item.dense(&space.name)))
            && self.sparse.iter().all(|(name, space)| space.get(slot) == item.sparse.get(name))
    }

    /// Stores an item's vectors in a new slot that no search returns until
    /// it gets an id.
    fn add_unlinked(&mut self, item: &Item) -> u32 {
        let slot = self.ids.len() as u32;
        self.ids.push(None);
        self.metadata.push(None);
        for space in &mut self.dense {
            space.push(item.dense(&space.name));
        }
        for (name, space) in &mut self.sparse {
            space.push(item.sparse.get(name).cloned());
        }
        slot
    }

    /// The dense space of the vector `name`.
    fn dense_space(&self, name: &str) -> Result<&DenseSpace> {
        if self.sparse.iter().any(|(sparse, _)| sparse == name) {
            return Err(Error::InvalidParameter {
                name: "using",
                value: format!("{name:?}"),
                allowed: "a dense vector's name (a sparse vector is searched with a sparse query)",
            });
        }
        self.dense
            .iter()
            .find(|space| space.name == name)
            .ok_or_else(|| Error::UnknownVector { item: 0, name: name.to_owned() })
    }

    /// Whether slot `slot`'s item has the vector `name` (dense or sparse).
    pub(super) fn has_vector(&self, slot: u32, name: &str) -> bool {
        self.dense.iter().any(|space| space.name == name && space.has_vector(slot))
            || self.sparse.iter().any(|(sparse, space)| sparse == name && space.get(slot).is_some())
    }

    /// Removes a slot's metadata from the field indexes.
    fn unindex_fields(&mut self, slot: u32) {
        if let Some(value) = &self.metadata[slot as usize] {
            self.fields.remove(slot, value);
        }
    }

    /// Turns a live slot into a tombstone.
    fn bury(&mut self, slot: u32) {
        self.unindex_fields(slot);
        if let Some(id) = self.ids[slot as usize].take() {
            for (_, space) in &mut self.sparse {
                space.bury(slot);
            }
            self.slot_of.remove(IdStr::new(&id));
            self.metadata[slot as usize] = None;
            self.tombstones += 1;
        }
    }

    fn compact_if_needed(&mut self) {
        if self.tombstones == 0 || (self.tombstones as f64) <= MAX_TOMBSTONE_SHARE * self.ids.len() as f64 {
            return;
        }
        let live: Vec<bool> = self.ids.iter().map(Option::is_some).collect();
        let kept: Vec<u32> = (0..live.len() as u32).filter(|&slot| live[slot as usize]).collect();
        self.compactions += 1;
        for space in &mut self.dense {
            let retained = space.retain(&live);
            debug_assert_eq!(retained, kept, "every space keeps exactly the live slots");
        }
        for (_, space) in &mut self.sparse {
            *space = space.retain_slots(&kept);
        }
        let mut ids = Vec::with_capacity(kept.len());
        let mut metadata = Vec::with_capacity(kept.len());
        for (new, &old) in kept.iter().enumerate() {
            let id = self.ids[old as usize].take();
            if let Some(id) = &id {
                self.slot_of.insert(IdKey(Arc::clone(id)), new as u32);
            }
            ids.push(id);
            metadata.push(self.metadata[old as usize].take());
        }
        self.ids = ids;
        self.metadata = metadata;
        self.tombstones = 0;
        // The next compaction comes after a quarter of the survivors again:
        // room for that many new slots, instead of doubling past the exact size.
        let headroom = kept.len() / 4 + 1;
        for space in &mut self.dense {
            space.reserve(headroom);
        }
        self.ids.reserve_exact(headroom);
        self.metadata.reserve_exact(headroom);
        self.reindex_fields();
    }

    /// Rebuilds the field indexes from the live slots' metadata.
    fn reindex_fields(&mut self) {
        self.fields.clear();
        for (slot, value) in self.metadata.iter().enumerate() {
            if let (Some(value), Some(_)) = (value, &self.ids[slot]) {
                self.fields.insert(slot as u32, value);
            }
        }
    }

    fn is_live(&self, slot: u32) -> bool {
        self.ids[slot as usize].is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metric;

    fn item(id: &str, vector: &[f32]) -> Item {
        Item::new(id, vector.to_vec())
    }

    #[test]
    fn index_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Index>();
    }

    #[test]
    fn delete_everything_then_add() {
        let index = Index::new(IndexParams::new(2, Metric::Cosine).with_exact_search_threshold(0)).unwrap();
        index.upsert(vec![item("a", &[1.0, 0.0]), item("b", &[0.0, 1.0])]).unwrap();
        assert_eq!(index.delete(&["a", "b", "c"]), 2);
        assert!(index.is_empty());
        assert_eq!(index.search(&[1.0, 0.0], 3, &SearchOptions::default()).unwrap(), vec![]);
        index.upsert(vec![item("c", &[1.0, 1.0])]).unwrap();
        let hits = index.search(&[1.0, 0.0], 3, &SearchOptions::default()).unwrap();
        assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["c"]);
    }

    #[test]
    fn re_adding_the_only_item_replaces_it() {
        let index = Index::new(IndexParams::new(2, Metric::L2).with_exact_search_threshold(0)).unwrap();
        index.upsert(vec![Item { metadata: Some(serde_json::json!({"k": 1})), ..item("a", &[1.0, 0.0]) }]).unwrap();
        let outcome = index.upsert(vec![item("a", &[0.0, 5.0])]).unwrap();
        assert_eq!(outcome, UpsertOutcome { inserted: 0, updated: 1 });
        assert_eq!(index.len(), 1);
        let hits = index.search(&[0.0, 5.0], 1, &SearchOptions::default()).unwrap();
        assert_eq!(hits[0].id, "a");
        assert_eq!(hits[0].distance, 0.0);
        assert_eq!(hits[0].metadata, Some(serde_json::json!({"k": 1})));
        assert_eq!(index.stats().tombstones, 0);
    }

    #[test]
    fn scroll_pages_through_ids_in_order() {
        let index = Index::new(IndexParams::new(1, Metric::L2)).unwrap();
        index.upsert((0..25).map(|i| item(&format!("id{i:02}"), &[i as f32])).collect()).unwrap();
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = index.scroll(after.as_deref(), 10).unwrap();
            seen.extend(page.ids);
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, (0..25).map(|i| format!("id{i:02}")).collect::<Vec<_>>());
        assert!(index.scroll(None, 0).is_err());
    }
}
