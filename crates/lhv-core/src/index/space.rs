//! One dense vector of an index (the unnamed one, or a named one): its rows,
//! its graph, and which slots' items lack it.
//!
//! Every dense space has a row and a graph node for every slot of the index,
//! so that a slot number means the same item in all of them; an item without
//! this vector has a placeholder row and a node that is never linked.

use std::ops::Range;

use rayon::prelude::*;

use super::full_rows::FullRows;
use super::parts::{DenseParts, invalid};
use crate::error::Result;
use crate::hnsw::{Candidate, Hnsw};
use crate::params::{Storage, VectorParams};
use crate::row_norms::RowNorms;
use crate::validate;
use crate::vectors::{Query, StoredRows, Vectors};

/// Below this many new vectors a batch is linked on the calling thread: handing
/// the work to the thread pool costs more than it saves (criterion, d=768).
pub(super) const PARALLEL_LINK_MIN: usize = 64;

/// Exact rows an approximate search of an `on_disk` vector reads per result
/// wanted: its candidates are ranked by their 8-bit codes first, and only the
/// best are rescored from the file (like Qdrant's `oversampling`). 8-bit codes
/// rank well enough that twice `k` keeps the recall of rescoring every
/// candidate (docs/BENCHMARKS.md), at a fraction of the reads when `ef` is large.
pub(super) const ON_DISK_READS_PER_RESULT: usize = 2;

/// How many exact rows ahead of the one being rescored are loaded.
const RESCORE_PREFETCH_AHEAD: usize = 4;

/// The rows, graph and presence of one dense vector.
#[derive(Debug)]
pub(super) struct DenseSpace {
    /// `""` for the unnamed vector.
    pub(super) name: String,
    /// The parameters it was created with (the graph holds the current `m`
    /// and `ef_construction`).
    pub(super) params: VectorParams,
    pub(super) vectors: Vectors,
    /// The exact rows of a float32 or `on_disk` vector (the walk reads `vectors`' codes).
    full: Option<FullRows>,
    pub(super) graph: Hnsw,
    /// Per slot: whether its item lacks this vector (its row is a placeholder
    /// and its graph node is never linked, so no walk reaches it).
    pub(super) vectorless: Vec<bool>,
    /// The live count when `params.ef_search` was last chosen by measurement
    /// (or when the space was loaded): see `default_ef`.
    pub(super) ef_chosen_at: usize,
}

impl DenseSpace {
    /// An empty space. Named spaces take a seed of their own, so that their
    /// graphs do not share one sequence of random layers.
    pub(super) fn new(name: &str, params: VectorParams, seed: u64) -> Self {
        Self {
            name: name.to_owned(),
            vectors: Vectors::new(params.dim, params.metric, params.walk_storage(), !params.keeps_exact_rows()),
            full: params.keeps_exact_rows().then(|| FullRows::new(params.dim, params.metric)),
            graph: Hnsw::new(params.m, params.ef_construction, space_seed(seed, name)),
            vectorless: Vec::new(),
            ef_chosen_at: 0,
            params,
        }
    }

    /// Appends the next slot's row: `vector`, or a placeholder (the first
    /// unit vector, valid under every metric and storage) when it is empty.
    pub(super) fn push(&mut self, vector: &[f32]) -> u32 {
        self.vectorless.push(vector.is_empty());
        let placeholder;
        let row = if vector.is_empty() {
            placeholder = {
                let mut row = vec![0.0; self.vectors.dim()];
                row[0] = 1.0;
                row
            };
            &placeholder
        } else {
            vector
        };
        if let Some(full) = &mut self.full {
            full.push(row);
        }
        self.vectors.push(row)
    }

    /// Whether slot `slot`'s item has this vector.
    pub(super) fn has_vector(&self, slot: u32) -> bool {
        !self.vectorless[slot as usize]
    }

    /// Whether slot `slot` holds exactly `vector` (empty: lacks this vector).
    pub(super) fn holds(&self, slot: u32, vector: &[f32]) -> bool {
        if vector.is_empty() {
            !self.has_vector(slot)
        } else {
            self.has_vector(slot)
                && match &self.full {
                    Some(full) => full.row(slot).iter().zip(vector).all(|(x, y)| x.to_bits() == y.to_bits()),
                    None => self.vectors.holds(slot, vector),
                }
        }
    }

    /// The stored vector of `slot`, empty if its item lacks it.
    pub(super) fn get(&self, slot: u32) -> Vec<f32> {
        match (&self.full, self.has_vector(slot)) {
            (_, false) => Vec::new(),
            (Some(full), true) => full.row(slot).to_vec(),
            (None, true) => self.vectors.get(slot).into_owned(),
        }
    }

    /// Links the nodes of `slots` that have a vector, in parallel when they are many.
    pub(super) fn link(&self, slots: Range<u32>) {
        let linked = |slot: &u32| self.has_vector(*slot);
        if slots.len() < PARALLEL_LINK_MIN {
            slots.filter(linked).for_each(|slot| self.graph.link(&self.vectors, slot));
        } else {
            slots.into_par_iter().filter(linked).for_each(|slot| self.graph.link(&self.vectors, slot));
        }
    }

    /// Drops the slots whose `live` entry is false, renumbering the rest in
    /// order; returns the old numbers of the kept slots.
    pub(super) fn retain(&mut self, live: &[bool]) -> Vec<u32> {
        let kept = self.graph.retain(&self.vectors, live, &self.vectorless);
        self.vectorless = kept.iter().map(|&old| self.vectorless[old as usize]).collect();
        self.vectors = self.vectors.retain_slots(&kept);
        self.full = self.full.as_ref().map(|full| full.retain_slots(&kept));
        kept
    }

    /// Room for `rows` more slots without reallocating.
    pub(super) fn reserve(&mut self, rows: usize) {
        self.vectors.reserve_rows(rows);
        if let Some(full) = &mut self.full {
            full.reserve(rows);
        }
        self.vectorless.reserve_exact(rows);
    }

    /// Prepares a query for this space's storage.
    pub(super) fn prepare<'a>(&self, query: &'a [f32], buffer: &'a mut Vec<i8>, rescore: bool) -> Query<'a> {
        let mut query = self.vectors.prepare(query, buffer);
        // The walk starts loading the residuals rescoring reads (not the rows on disk).
        query.refines = rescore && self.full.is_none() && self.vectors.rescores();
        query
    }

    /// Candidates with their distances refined: exact from the rows on disk
    /// of an `on_disk` vector, from the residuals of 8-bit codes; unchanged
    /// otherwise. `walked` is the number of results a graph walk's
    /// candidates are for: an approximate search reads the exact rows of only
    /// the best [`ON_DISK_READS_PER_RESULT`] × that many by their codes (each
    /// row may be a read from disk); a scan, which is exact, reads them all.
    pub(super) fn rescore(
        &self,
        query: &Query<'_>,
        mut found: Vec<Candidate>,
        walked: Option<usize>,
    ) -> Vec<Candidate> {
        if let Some(full) = &self.full {
            if let Some(results) = walked {
                let reads = results.saturating_mul(ON_DISK_READS_PER_RESULT);
                if reads > 0 && found.len() > reads {
                    let order =
                        |a: &Candidate, b: &Candidate| a.distance.total_cmp(&b.distance).then(a.node.cmp(&b.node));
                    found.select_nth_unstable_by(reads - 1, order);
                    found.truncate(reads);
                }
            }
            // Each exact row is a few cache misses (or a page from disk): the
            // next ones load while a distance is summed, as in the walk.
            for candidate in found.iter().take(RESCORE_PREFETCH_AHEAD) {
                full.prefetch(candidate.node);
            }
            for i in 0..found.len() {
                if let Some(ahead) = found.get(i + RESCORE_PREFETCH_AHEAD) {
                    full.prefetch(ahead.node);
                }
                found[i].distance = full.distance(query, found[i].node);
            }
        } else if self.vectors.rescores() {
            for candidate in &mut found {
                candidate.distance = self.vectors.rescored_to_query(query, candidate.node);
            }
        }
        found
    }

    /// The exact distance between the query and slot `slot`'s vector (as
    /// refined as the storage allows: 8-bit codes by their residuals).
    pub(super) fn exact_distance(&self, query: &Query<'_>, slot: u32) -> f32 {
        match &self.full {
            Some(full) => full.distance(query, slot),
            None => self.vectors.rescored_to_query(query, slot),
        }
    }

    /// An exhaustive answer over `slots`: each with its distance to the query,
    /// refined as [`rescore`](Self::rescore) would if `rescore` (with exact
    /// rows kept, read directly: ranking by the codes first would only add
    /// a pass over every slot).
    pub(super) fn scan(&self, query: &Query<'_>, slots: impl Iterator<Item = u32>, rescore: bool) -> Vec<Candidate> {
        match &self.full {
            Some(full) if rescore => {
                slots.map(|slot| Candidate { distance: full.distance(query, slot), node: slot }).collect()
            }
            _ => {
                let found = self.score(query, slots);
                if rescore { self.rescore(query, found, None) } else { found }
            }
        }
    }

    /// The given slots with their distances to the query.
    pub(super) fn score(&self, query: &Query<'_>, slots: impl Iterator<Item = u32>) -> Vec<Candidate> {
        slots.map(|slot| Candidate { distance: self.vectors.to_query(query, slot), node: slot }).collect()
    }

    pub(super) fn memory_bytes(&self) -> usize {
        let full = self.full.as_ref().map_or(0, FullRows::memory_bytes);
        self.vectors.memory_bytes() + full + self.graph.memory_bytes() + self.vectorless.capacity()
    }

    /// Reads the first rows of an on-disk vector from `rows` (see
    /// [`Index::adopt_on_disk_rows`](super::Index::adopt_on_disk_rows)).
    pub(super) fn adopt_full_rows(&mut self, rows: crate::array::Array<f32>) -> bool {
        self.full.as_mut().is_some_and(|full| full.adopt(rows))
    }

    /// Bytes of exact rows read from the snapshot file rather than held in memory.
    pub(super) fn disk_bytes(&self) -> usize {
        self.full.as_ref().map_or(0, FullRows::disk_bytes)
    }

    /// The parameters as they are now: the graph's current build parameters.
    pub(super) fn current_params(&self) -> VectorParams {
        VectorParams { m: self.graph.m(), ef_construction: self.graph.ef_construction(), ..self.params.clone() }
    }

    pub(super) fn to_parts(&self) -> DenseParts {
        // Float32 rows in memory are stored alone, as they always were
        // (`VectorParams::stored_rows_storage`): the walk's codes are made again when they load.
        let (vectors, full_rows) = match &self.full {
            Some(full) if !self.params.on_disk => (StoredRows::F32(full.rows().clone()), None),
            full => (self.vectors.stored_rows(), full.as_ref().map(|full| full.rows().clone())),
        };
        DenseParts {
            vectors,
            graph: self.graph.to_parts(),
            vectorless: (0..self.vectorless.len() as u32).filter(|&slot| !self.has_vector(slot)).collect(),
            full_rows,
        }
    }

    /// A space of exactly `slots` slots from parts, after checking them: the
    /// rows' storage and count, that stored vectors are valid, the order of
    /// the vectorless slots, and the graph.
    pub(super) fn from_parts(
        name: &str,
        params: VectorParams,
        seed: u64,
        parts: DenseParts,
        slots: usize,
        norms: impl FnOnce() -> Option<RowNorms>,
    ) -> Result<Self> {
        let DenseParts { vectors, graph, vectorless, full_rows } = parts;
        let what = if name.is_empty() { String::new() } else { format!("vector {name:?}: ") };
        let stored = params.stored_rows_storage();
        // Float32 rows in memory come alone: the walk's codes are made here.
        let in_memory_f32 = stored == Storage::F32 && params.walk_storage() != Storage::F32;
        if vectors.storage() != stored {
            return Err(invalid(format!("{what}rows stored as {:?}, declared {stored:?}", vectors.storage())));
        }
        let full = match (full_rows, params.on_disk) {
            (None, false) => None,
            (Some(rows), true) if Some(rows.len()) == slots.checked_mul(params.dim) => {
                // Exact rows passed validation once, as codes did.
                (0..slots)
                    .into_par_iter()
                    .try_for_each(|slot| {
                        let row = &rows[slot * params.dim..(slot + 1) * params.dim];
                        validate::query(slot, row, params.dim, params.metric)
                    })
                    .map_err(|e| invalid(format!("{what}stored exact rows (items are slots): {e}")))?;
                Some(FullRows::from_rows(params.dim, params.metric, rows))
            }
            (Some(_), true) => return Err(invalid(format!("{what}the exact rows do not make {slots} slots"))),
            (Some(_), false) => return Err(invalid(format!("{what}exact rows of a vector kept in memory"))),
            (None, true) => return Err(invalid(format!("{what}no exact rows for a vector kept on disk"))),
        };
        if vectors.row_count(params.dim) != Some(slots) {
            return Err(invalid(format!(
                "{what}the stored rows do not make {slots} slots of dimension {}",
                params.dim
            )));
        }
        let mut without_vector = vec![false; slots];
        for (position, &slot) in vectorless.iter().enumerate() {
            if (slot as usize) >= slots || (position > 0 && vectorless[position - 1] >= slot) {
                return Err(invalid(format!("{what}vectorless slot {slot} is out of range or out of order")));
            }
            without_vector[slot as usize] = true;
        }
        let all_unlinked = vectorless.len() == slots;
        let seed = space_seed(seed, name);
        let graph = Hnsw::from_parts(params.m, params.ef_construction, seed, graph, slots, all_unlinked)?;
        // The rows last: their norms may still be being checked (`norms`).
        // Stored vectors passed validation once; anything else (a non-finite
        // value, a norm no distance can be computed from) was damaged on the way.
        let residuals = !params.keeps_exact_rows();
        let vectors = Vectors::from_checked_rows(params.dim, params.metric, vectors, residuals, norms())
            .map_err(|e| invalid(format!("{what}stored vectors (items are slots): {e}")))?;
        let (vectors, full) = if in_memory_f32 {
            let codes = vectors.int8_codes();
            let rows = vectors.into_f32_rows().ok_or_else(|| invalid(format!("{what}float32 rows expected")))?;
            (codes, Some(FullRows::from_rows(params.dim, params.metric, rows)))
        } else {
            (vectors, full)
        };
        // A loaded index keeps the ef chosen before it was saved until it grows by a quarter.
        let ef_chosen_at = slots - without_vector.iter().filter(|&&lacks| lacks).count();
        Ok(Self { name: name.to_owned(), params, vectors, full, graph, vectorless: without_vector, ef_chosen_at })
    }

    /// Empty parts, of a space that does not exist (an index without an unnamed vector).
    pub(super) fn absent_parts(storage: crate::Storage) -> DenseParts {
        DenseParts {
            vectors: StoredRows::empty(storage),
            graph: crate::GraphParts { levels: Vec::new(), bottom: Vec::new(), upper: Vec::new(), entry: None },
            vectorless: Vec::new(),
            full_rows: None,
        }
    }
}

/// The unnamed vector keeps the index's seed (its graphs stay what they
/// were); a named one mixes in its name (FNV-1a).
fn space_seed(seed: u64, name: &str) -> u64 {
    if name.is_empty() {
        return seed;
    }
    name.bytes().fold(seed ^ 0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3))
}
