//! The public index: ids and metadata around the graph and the vectors.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::filter::field_index::FieldIndexes;
use crate::hnsw::{Candidate, Hnsw};
use crate::id_order::{IdKey, IdStr};
use crate::params::{IndexParams, MAX_SCROLL_LIMIT, check_range};
use crate::validate;
use crate::vectors::{Query, Vectors};

mod fields;
mod filtered;
mod order;
pub(crate) mod parts;
pub use order::{OrderBy, OrderKind, OrderValue};
mod select;
mod tuning;

pub use parts::{GraphParts, IndexParts};

/// Deleted slots are compacted away once they exceed this share of all slots,
/// which bounds memory under endless churn to about 1.25x the live data.
pub const MAX_TOMBSTONE_SHARE: f64 = 0.2;
/// Below this many new vectors a batch is linked on the calling thread: handing
/// the work to the thread pool costs more than it saves (criterion, d=768).
const PARALLEL_LINK_MIN: usize = 64;
/// Slots are numbered with `u32`; the top value is reserved as "no slot".
const MAX_SLOTS: usize = u32::MAX as usize - 1;

/// One vector to insert or replace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Non-empty, at most [`MAX_ID_BYTES`](crate::MAX_ID_BYTES) bytes.
    pub id: String,
    /// Exactly `dim` finite components, or none: an item without a vector
    /// (Qdrant's point whose vector was deleted) is stored, listed, counted
    /// and filtered like any other, but no search finds it.
    pub vector: Vec<f32>,
    /// `None` keeps the metadata already stored for this id; `Some` replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// The fields of an [`Item`] as JSON has them.
#[derive(Deserialize)]
struct ItemFields {
    id: String,
    vector: Vec<f32>,
    #[serde(default)]
    metadata: Option<Value>,
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let ItemFields { id, vector, metadata } =
            crate::object_only::deserialize_object(deserializer, "an item object with id, vector, metadata")?;
        Ok(Item { id, vector, metadata })
    }
}

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

/// A stored vector, as returned by [`Index::get`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The vector, bit for bit as it was upserted.
    pub vector: Vec<f32>,
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

/// Per slot: the id (`None` once deleted) and the metadata.
#[derive(Debug)]
struct State {
    vectors: Vectors,
    graph: Hnsw,
    ids: Vec<Option<Arc<str>>>,
    /// Boxed: most slots of most indexes have none, and a `Value` is four words.
    metadata: Vec<Option<Box<Value>>>,
    slot_of: BTreeMap<IdKey, u32>,
    /// Per slot: whether its item has no vector (its row is a placeholder
    /// and its graph node is never linked, so no walk reaches it).
    vectorless: Vec<bool>,
    tombstones: usize,
    /// Value-to-slot indexes of the declared metadata keys (live slots only).
    fields: FieldIndexes,
}

impl Index {
    /// An empty index. Fails if a parameter is out of range.
    pub fn new(params: IndexParams) -> Result<Self> {
        params.validate()?;
        let state = State {
            vectors: Vectors::new(params.dim, params.metric, params.storage),
            graph: Hnsw::new(params.m, params.ef_construction, params.seed),
            ids: Vec::new(),
            metadata: Vec::new(),
            slot_of: BTreeMap::new(),
            vectorless: Vec::new(),
            tombstones: 0,
            fields: FieldIndexes::new(&params.indexed_fields),
        };
        Ok(Self { params, writer: Mutex::new(()), state: RwLock::new(state) })
    }

    /// The parameters of the index: those it was created with, the graph
    /// parameters of its next insertions ([`set_build_params`](Self::set_build_params)),
    /// and the field indexes it holds now.
    pub fn params(&self) -> IndexParams {
        self.state.read().current_params(&self.params)
    }

    /// Number of live vectors.
    pub fn len(&self) -> usize {
        self.state.read().slot_of.len()
    }

    /// Whether the index holds no live vector.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sizes of the index.
    pub fn stats(&self) -> IndexStats {
        let state = self.state.read();
        IndexStats {
            live: state.slot_of.len(),
            tombstones: state.tombstones,
            memory_bytes: state.vectors.memory_bytes()
                + state.graph.memory_bytes()
                + state.ids.capacity() * size_of::<Option<Arc<str>>>()
                + state.metadata.capacity() * size_of::<Option<Box<Value>>>()
                + state.fields.memory_bytes(),
        }
    }

    /// Checks a batch the way [`upsert`](Self::upsert) does, without changing
    /// anything: a batch that passes is only rejected by `upsert` if the index
    /// is full. Lets a caller log a batch before applying it.
    pub fn validate_upsert(&self, items: &[Item]) -> Result<()> {
        validate::batch(items, self.params.dim, self.params.metric, self.params.storage)
    }

    /// Inserts new ids and replaces existing ones, all or nothing.
    ///
    /// The whole batch is validated first; on error nothing changes and the
    /// error names the position of the first bad item.
    pub fn upsert(&self, items: Vec<Item>) -> Result<UpsertOutcome> {
        validate::batch(&items, self.params.dim, self.params.metric, self.params.storage)?;
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
                let slot = match previous {
                    Some(slot) if item.vector.is_empty() && state.vectorless[slot as usize] => slot,
                    Some(slot)
                        if !item.vector.is_empty()
                            && state.has_vector(slot)
                            && state.vectors.holds(slot, &item.vector) =>
                    {
                        slot
                    }
                    _ => state.add_unlinked(&item.vector),
                };
                plan.push(Planned { id: item.id, metadata: item.metadata, previous, slot });
            }
            let added = state.ids.len() - first_new as usize;
            state.graph.add_nodes(added);
            (plan, first_new)
        };
        // 2. Shared with searches: link the new nodes, in parallel.
        {
            let state = self.state.read();
            let new_slots = first_new..state.ids.len() as u32;
            let linked = |slot: &u32| !state.vectorless[*slot as usize];
            if new_slots.len() < PARALLEL_LINK_MIN {
                new_slots.filter(linked).for_each(|slot| state.graph.link(&state.vectors, slot));
            } else {
                new_slots.into_par_iter().filter(linked).for_each(|slot| state.graph.link(&state.vectors, slot));
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

    /// The stored vector and metadata of `id`.
    pub fn get(&self, id: &str) -> Option<Record> {
        let state = self.state.read();
        let slot = *state.slot_of.get(IdStr::new(id))?;
        Some(Record {
            vector: if state.vectorless[slot as usize] { Vec::new() } else { state.vectors.get(slot).into_owned() },
            metadata: state.metadata[slot as usize].as_deref().cloned(),
        })
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

/// How a search runs, beyond the query and `k`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchOptions<'a> {
    /// Candidate list size; default the index's `ef_search`, raised to `k`.
    pub ef: Option<usize>,
    /// Only items that pass this filter are searched.
    pub filter: Option<&'a crate::Filter>,
    /// Whether to refine the candidates' distances before choosing the top
    /// `k`, where the storage keeps something to refine them with (`int8`:
    /// the 4-bit residuals). Default: on for `int8`; no effect otherwise.
    pub rescore: Option<bool>,
    /// Compare the query with every (passing) item instead of walking the
    /// graph: exact results at the cost of a full scan.
    pub exact: bool,
}

impl<'a> SearchOptions<'a> {
    /// These options with `ef` candidates.
    pub fn with_ef(self, ef: usize) -> Self {
        Self { ef: Some(ef), ..self }
    }

    /// These options searching only the items that pass `filter`.
    pub fn with_filter(self, filter: &'a crate::Filter) -> Self {
        Self { filter: Some(filter), ..self }
    }
}

impl State {
    /// Stores a vector in a new slot that no search returns until it gets an
    /// id; an empty `vector` gives a vectorless slot (a placeholder row: the
    /// first unit vector, valid under every metric and storage).
    fn add_unlinked(&mut self, vector: &[f32]) -> u32 {
        self.ids.push(None);
        self.metadata.push(None);
        self.vectorless.push(vector.is_empty());
        if vector.is_empty() {
            let mut placeholder = vec![0.0; self.vectors.dim()];
            placeholder[0] = 1.0;
            self.vectors.push(&placeholder)
        } else {
            self.vectors.push(vector)
        }
    }

    /// Whether slot `slot`'s item has a vector (a search may return it).
    pub(super) fn has_vector(&self, slot: u32) -> bool {
        !self.vectorless[slot as usize]
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
        let kept = self.graph.retain(&self.vectors, &live, &self.vectorless);
        self.vectorless = kept.iter().map(|&old| self.vectorless[old as usize]).collect();
        self.vectors = self.vectors.retain_slots(&kept);
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
        self.vectors.reserve_rows(headroom);
        self.ids.reserve_exact(headroom);
        self.metadata.reserve_exact(headroom);
        self.vectorless.reserve_exact(headroom);
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

    fn search(&self, params: &IndexParams, query: &[f32], k: usize, ef: usize, rescore: bool) -> Vec<Hit> {
        let live = self.slot_of.len();
        let mut buffer = Vec::new();
        let mut query = self.vectors.prepare(query, &mut buffer);
        query.refines = rescore && self.vectors.rescores();
        let wanted = k.min(live);
        let mut found = Vec::new();
        if live >= params.exact_search_threshold {
            // Slots without an id are tombstones or still being linked.
            found = if self.slot_of.len() == self.ids.len() {
                self.graph.search(&self.vectors, &query, ef, |_| true)
            } else {
                self.graph.search(&self.vectors, &query, ef, |slot| self.is_live(slot))
            };
        }
        // The graph can miss nodes it cannot reach; a full scan guarantees `min(k, len)` hits.
        if found.len() < wanted {
            found = self.scan(&query);
        }
        let found = if rescore { self.rescore(&query, found) } else { found };
        self.ranked_hits(params, found, k)
    }

    /// Candidates with their distances refined, where the storage can
    /// (8-bit codes: by the residuals); unchanged otherwise.
    fn rescore(&self, query: &Query<'_>, mut found: Vec<Candidate>) -> Vec<Candidate> {
        if self.vectors.rescores() {
            for candidate in &mut found {
                candidate.distance = self.vectors.rescored_to_query(query, candidate.node);
            }
        }
        found
    }

    /// Every live slot with its distance to the query.
    fn scan(&self, query: &Query<'_>) -> Vec<Candidate> {
        (0..self.ids.len() as u32)
            .filter(|&slot| self.is_live(slot))
            .map(|slot| Candidate { distance: self.vectors.to_query(query, slot), node: slot })
            .collect()
    }

    /// The `k` best candidates as hits, by reported distance and then id.
    fn ranked_hits(&self, params: &IndexParams, found: Vec<Candidate>, k: usize) -> Vec<Hit> {
        let mut ranked: Vec<(f32, &str, u32)> = found
            .into_iter()
            // Scans read every slot: items without a vector are dropped here.
            .filter(|c| self.has_vector(c.node))
            .filter_map(|c| {
                let id = self.ids[c.node as usize].as_deref()?;
                Some((params.metric.reported(c.distance), id, c.node))
            })
            .collect();
        let order = |a: &(f32, &str, u32), b: &(f32, &str, u32)| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1));
        if ranked.len() > k {
            ranked.select_nth_unstable_by(k - 1, order);
            ranked.truncate(k);
        }
        ranked.sort_unstable_by(order);
        ranked
            .into_iter()
            .map(|(distance, id, slot)| Hit {
                id: id.to_owned(),
                distance,
                metadata: self.metadata[slot as usize].as_deref().cloned(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metric;

    fn item(id: &str, vector: &[f32]) -> Item {
        Item { id: id.to_owned(), vector: vector.to_vec(), metadata: None }
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
