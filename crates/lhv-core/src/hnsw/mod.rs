//! Our HNSW graph (Malkov & Yashunin), over slots of [`Vectors`].
//!
//! Graph node `n` is vector slot `n`. Deleted slots stay in the graph as
//! tombstones (walked through, never returned) until [`Hnsw::retain`] repairs
//! the lists that pointed at them and drops them.

mod consolidate;
mod layers;
mod parts;
mod visited;

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use parking_lot::Mutex;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::vectors::{Query, Vectors};
use layers::Layers;
use visited::{Visited, VisitedPool};

/// Highest layer a node can get: with m >= 2 the chance of reaching it is below 2^-31.
const MAX_LEVEL: usize = 31;

/// A node and its ordering distance to whatever is being searched for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate {
    pub(crate) distance: f32,
    pub(crate) node: u32,
}

impl Eq for Candidate {}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance.total_cmp(&other.distance).then(self.node.cmp(&other.node))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// How many vectors ahead of the distance being computed a search loads.
const PREFETCH_AHEAD: usize = 3;

/// No entry point: the graph is empty.
const NO_ENTRY: u64 = u64::MAX;

/// The layered proximity graph.
///
/// Adding nodes is two steps: [`add_nodes`](Self::add_nodes) (exclusive access)
/// gives the new nodes their layers, then [`link`](Self::link) (shared access,
/// from any number of threads, concurrently with searches) connects each one.
#[derive(Debug)]
pub(crate) struct Hnsw {
    layers: Layers,
    /// The node where every search starts: one on the top layer.
    entry: AtomicU64,
    /// Held by a node that is inserted above the current top layer, for its whole insertion.
    entry_lock: Mutex<()>,
    ef_construction: usize,
    level_factor: f64,
    rng: SmallRng,
    pool: VisitedPool,
}

impl Hnsw {
    pub(crate) fn new(m: usize, ef_construction: usize, seed: u64) -> Self {
        Self {
            layers: Layers::new(m),
            entry: AtomicU64::new(NO_ENTRY),
            entry_lock: Mutex::new(()),
            ef_construction,
            level_factor: 1.0 / (m as f64).ln(),
            rng: SmallRng::seed_from_u64(seed),
            pool: VisitedPool::default(),
        }
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.layers.memory_bytes()
    }

    /// The out-degree of the upper layers (twice this at the bottom).
    pub(crate) fn m(&self) -> usize {
        self.layers.m()
    }

    /// The candidate list size of an insertion.
    pub(crate) fn ef_construction(&self) -> usize {
        self.ef_construction
    }

    /// Builds later insertions with `m` and `ef_construction`. The lists
    /// already built are kept; with a smaller `m`, a list that no longer
    /// fits is pruned by the neighbour heuristic, as a full list is when a
    /// new link arrives.
    pub(crate) fn set_build_params(&mut self, vectors: &Vectors, m: usize, ef_construction: usize) {
        self.ef_construction = ef_construction;
        if m == self.layers.m() {
            return;
        }
        self.layers = self.layers.with_m(m, |node, _, list, room| {
            let mut candidates: Vec<Candidate> =
                list.into_iter().map(|n| Candidate { distance: vectors.between(node, n), node: n }).collect();
            candidates.sort_unstable();
            select_neighbors(vectors, &candidates, room).iter().map(|c| c.node).collect()
        });
        self.level_factor = 1.0 / (m as f64).ln();
    }

    fn random_level(&mut self) -> usize {
        // 1 - u lies in (0, 1], so its logarithm is finite.
        let uniform: f64 = 1.0 - self.rng.random::<f64>();
        ((-uniform.ln() * self.level_factor) as usize).min(MAX_LEVEL)
    }

    pub(crate) fn entry(&self) -> Option<u32> {
        let entry = self.entry.load(Acquire);
        (entry != NO_ENTRY).then_some(entry as u32)
    }

    /// Gives `count` new nodes (the next vector slots) their random layers, unlinked.
    pub(crate) fn add_nodes(&mut self, count: usize) {
        for _ in 0..count {
            let level = self.random_level();
            self.layers.push(level);
        }
    }

    /// Connects `node` (added by [`add_nodes`](Self::add_nodes)) into the graph.
    /// Safe to call for different nodes from several threads at once.
    pub(crate) fn link(&self, vectors: &Vectors, node: u32) {
        let level = self.layers.level(node);
        let row = vectors.get(node);
        let mut buffer = Vec::new();
        let query = vectors.prepare(&row, &mut buffer);
        // A node that will become the new top keeps others from doing the same meanwhile.
        let mut top_guard = None;
        let mut entry = self.entry();
        if entry.is_none_or(|e| level > self.layers.level(e)) {
            top_guard = Some(self.entry_lock.lock());
            entry = self.entry();
            if entry.is_some_and(|e| level <= self.layers.level(e)) {
                top_guard = None;
            }
        }
        let Some(mut entry) = entry else {
            self.entry.store(u64::from(node), Release);
            return;
        };
        let top = self.layers.level(entry);
        for l in (level + 1..=top).rev() {
            entry = self.greedy_closest(vectors, &query, entry, l, None);
        }
        let mut visited = self.pool.take(self.layers.node_count());
        for l in (0..=level.min(top)).rev() {
            visited.reset(self.layers.node_count());
            let found = self.search_layer(vectors, &query, entry, self.ef_construction, l, &mut visited, |n| n != node);
            entry = found.first().map_or(entry, |c| c.node);
            // A new node fills its list on every layer, 2m links at the bottom (hnswlib gives
            // it m there, and the room for 2m fills only as later nodes link back): on MiniLM
            // this raised recall at every ef (0.9426 -> 0.9595 at ef 20, 0.9947 -> 0.9969 at
            // 80 against hnswlib) and cut the distances computed for recall 0.99 by 13 %.
            let chosen = select_neighbors(vectors, &found, self.layers.capacity(l));
            let chosen_nodes: Vec<u32> = chosen.iter().map(|c| c.node).collect();
            {
                let _own = self.layers.lock(node);
                self.layers.set_neighbors(node, l, &chosen_nodes);
            }
            for neighbor in chosen {
                self.connect(vectors, neighbor.node, node, neighbor.distance, l);
            }
        }
        self.pool.give_back(visited);
        if top_guard.is_some() && level > top {
            self.entry.store(u64::from(node), Release);
        }
    }

    /// Adds `new` to the list of `node` on `level`, pruning with the relaxed heuristic when full.
    fn connect(&self, vectors: &Vectors, node: u32, new: u32, distance: f32, level: usize) {
        let _guard = self.layers.lock(node);
        if self.layers.try_push_neighbor(node, level, new) {
            return;
        }
        let mut candidates: Vec<Candidate> = self
            .layers
            .neighbors_vec(node, level)
            .into_iter()
            .filter(|&n| n != new)
            .map(|n| Candidate { distance: vectors.between(node, n), node: n })
            .collect();
        candidates.push(Candidate { distance, node: new });
        candidates.sort_unstable();
        let kept: Vec<u32> = select_neighbors(vectors, &candidates, pruned_room(self.layers.capacity(level), level))
            .iter()
            .map(|c| c.node)
            .collect();
        self.layers.set_neighbors(node, level, &kept);
    }

    /// Walks `level` greedily from `start` towards the query with a candidate list of one.
    /// Never steps onto `left_out`.
    fn greedy_closest(
        &self,
        vectors: &Vectors,
        query: &Query<'_>,
        start: u32,
        level: usize,
        left_out: Option<u32>,
    ) -> u32 {
        let mut best = Candidate { distance: vectors.to_query(query, start), node: start };
        loop {
            let mut improved = false;
            for n in self.layers.neighbors(best.node, level) {
                let n = n.load(Relaxed);
                if Some(n) == left_out {
                    continue;
                }
                let distance = vectors.to_query(query, n);
                if distance < best.distance {
                    best = Candidate { distance, node: n };
                    improved = true;
                }
            }
            if !improved {
                return best.node;
            }
        }
    }

    /// The best-first search of one layer; returns up to `ef` nodes accepted by
    /// `returnable`, closest first. Rejected nodes are still walked through;
    /// nodes already in `visited` (taken from the pool, reset) are not.
    #[allow(clippy::too_many_arguments)]
    fn search_layer(
        &self,
        vectors: &Vectors,
        query: &Query<'_>,
        start: u32,
        ef: usize,
        level: usize,
        visited: &mut Visited,
        returnable: impl Fn(u32) -> bool,
    ) -> Vec<Candidate> {
        let first = Candidate { distance: vectors.to_query(query, start), node: start };
        visited.insert(start);
        let mut frontier = BinaryHeap::from([Reverse(first)]);
        let mut results: BinaryHeap<Candidate> = BinaryHeap::with_capacity(ef + 1);
        let mut fresh: Vec<u32> = Vec::with_capacity(self.layers.capacity(0));
        if returnable(start) {
            results.push(first);
        }
        while let Some(Reverse(current)) = frontier.pop() {
            if results.len() >= ef && results.peek().is_some_and(|worst| current.distance > worst.distance) {
                break;
            }
            // The walk is bound by memory latency, not arithmetic: the next candidate's
            // list and the vectors a few places ahead load while a distance is summed.
            if let Some(Reverse(next)) = frontier.peek() {
                self.layers.prefetch(next.node, level);
            }
            fresh.clear();
            for n in self.layers.neighbors(current.node, level) {
                let n = n.load(Relaxed);
                if visited.insert(n) {
                    if fresh.len() < PREFETCH_AHEAD {
                        vectors.prefetch(n);
                    }
                    fresh.push(n);
                }
            }
            for (i, &n) in fresh.iter().enumerate() {
                if let Some(&next) = fresh.get(i + PREFETCH_AHEAD) {
                    vectors.prefetch(next);
                }
                let distance = vectors.to_query(query, n);
                let worst = results.peek().map_or(f32::INFINITY, |w| w.distance);
                if results.len() < ef || distance < worst {
                    let candidate = Candidate { distance, node: n };
                    frontier.push(Reverse(candidate));
                    if returnable(n) {
                        if query.refines && level == 0 {
                            // Rescoring reads this row's residuals, which the walk never
                            // touches: start the load (and its page walk) now, not then.
                            vectors.prefetch_refinement(n);
                        }
                        results.push(candidate);
                        if results.len() > ef {
                            results.pop();
                        }
                    }
                }
            }
        }
        results.into_sorted_vec()
    }

    /// Up to `ef` nodes accepted by `returnable`, closest to the query first.
    pub(crate) fn search(
        &self,
        vectors: &Vectors,
        query: &Query<'_>,
        ef: usize,
        returnable: impl Fn(u32) -> bool,
    ) -> Vec<Candidate> {
        self.search_avoiding(vectors, query, ef, None, returnable)
    }

    /// [`search`](Self::search) as if node `left_out` were not in the graph:
    /// the walk neither returns it nor passes through it. Measures how well
    /// a query near, but not at, an indexed vector is answered (the default
    /// ef is chosen this way, see `index::default_ef`).
    pub(crate) fn search_leaving_out(
        &self,
        vectors: &Vectors,
        query: &Query<'_>,
        ef: usize,
        left_out: u32,
        returnable: impl Fn(u32) -> bool,
    ) -> Vec<Candidate> {
        self.search_avoiding(vectors, query, ef, Some(left_out), returnable)
    }

    fn search_avoiding(
        &self,
        vectors: &Vectors,
        query: &Query<'_>,
        ef: usize,
        left_out: Option<u32>,
        returnable: impl Fn(u32) -> bool,
    ) -> Vec<Candidate> {
        let Some(mut entry) = self.entry() else {
            return Vec::new();
        };
        if left_out == Some(entry) {
            return Vec::new();
        }
        for l in (1..=self.layers.level(entry)).rev() {
            entry = self.greedy_closest(vectors, query, entry, l, left_out);
        }
        let mut visited = self.pool.take(self.layers.node_count());
        if let Some(node) = left_out {
            visited.insert(node);
        }
        let found = self.search_layer(vectors, query, entry, ef, 0, &mut visited, returnable);
        self.pool.give_back(visited);
        found
    }
}

/// How many links a full list on `level` keeps when a new one arrives: at the
/// bottom, where every new node brings 2m links back, 3/16 fewer than it
/// holds, so that the next few arrive without another pruning (DiskANN's
/// slack); on MiniLM this took the build from 26.8 s to 15.0 s at the same
/// recall per ef (within 0.005).
fn pruned_room(capacity: usize, level: usize) -> usize {
    if level == 0 { capacity - capacity * 3 / 16 } else { capacity }
}

/// The neighbour-selection heuristic (HNSW paper, algorithm 4, as in
/// hnswlib), then a relaxed pass as in Vamana's robust prune. From candidates
/// sorted closest first, the strict pass keeps a candidate unless a kept
/// neighbour is closer to it than the base; if room is left, the second pass
/// takes the candidates it dropped unless a kept neighbour is closer to them
/// by the metric's relaxation factor. Links go in different directions first
/// (what high recall needs), then the room fills with near ones (what a short
/// walk needs). Used for a new node's own links, when a full list is
/// pruned, and by compaction. On MiniLM (M 16, efc 200) this and full
/// bottom lists for new nodes put recall@10 above hnswlib's at every ef from
/// 10 to 320, where the relaxed pass alone was below it from ef 60.
fn select_neighbors(vectors: &Vectors, sorted: &[Candidate], max: usize) -> Vec<Candidate> {
    let mut kept: Vec<Candidate> = Vec::with_capacity(max);
    let mut dropped: Vec<Candidate> = Vec::new();
    let diverse = |kept: &[Candidate], candidate: &Candidate, factor: f32| {
        kept.iter().all(|k| factor * vectors.between(candidate.node, k.node) >= candidate.distance)
    };
    for &candidate in sorted {
        if kept.len() >= max {
            return kept;
        }
        if diverse(&kept, &candidate, 1.0) {
            kept.push(candidate);
        } else {
            dropped.push(candidate);
        }
    }
    let relaxation = vectors.metric().prune_relaxation();
    if relaxation > 1.0 {
        for candidate in dropped {
            if kept.len() >= max {
                break;
            }
            if diverse(&kept, &candidate, relaxation) {
                kept.push(candidate);
            }
        }
    }
    kept
}
