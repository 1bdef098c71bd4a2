//! The ef of a search that names none, chosen by measuring the index itself.
//!
//! The ef a graph needs for a given recall depends on the data far more than
//! on anything a user would set: on MiniLM sentence embeddings (50 000 × 384)
//! ef 40 reaches recall@10 0.95, on 30 000 uniformly random 64-d vectors ef
//! 64 reaches 0.70 and 0.95 takes about 250. Integrations (LangChain and the
//! like, over the Qdrant API) never pass an ef, so a fixed default is either
//! slow on easy data or wrong on hard data.
//!
//! So an index with [`IndexParams::ef_search_auto`] measures: it takes
//! [`SAMPLES`] of its own vectors as queries, each searched with its own node
//! left out of the graph (neither returned nor walked through, so that the
//! walk has to find the neighbours the way a new query near it would), and
//! compares the ten found with the exact ten by brute force. The default ef
//! is the smallest on [`LADDER`] whose mean recall@10 is at least
//! [`TARGET_RECALL`]: a margin above the 0.95 promised for real queries,
//! which the left-out vectors predict closely but not exactly
//! (docs/BENCHMARKS.md compares the two).
//!
//! It measures again each time the live count has grown by a quarter (from the size at which
//! searches start walking the graph), after the write that crossed it. The
//! chosen value is kept in the parameters, so a snapshot reloads with it.

use std::collections::BinaryHeap;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;

use super::space::DenseSpace;
use super::{Index, State};
use crate::hnsw::Candidate;
use crate::params::IndexParams;
use crate::vectors::Query;

/// Vectors searched per measurement: recall is measured to about ±0.01
/// (640 neighbours), and the brute-force pass costs 64 distances per row.
pub(super) const SAMPLES: usize = 128;
/// The recall@10 the chosen ef must reach on the left-out vectors.
pub(super) const TARGET_RECALL: f64 = 0.96;
/// The neighbours whose recall is measured.
const K: usize = 10;
/// The efs tried, in order (each a bit over 1.2× the last): the answer is the
/// first that reaches the target, the last if none does.
pub(super) const LADDER: &[usize] = &[
    10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768,
    1024,
];
/// Fewer live vectors than this are not measured (too few to sample apart).
const MIN_LIVE: usize = 256;
/// Rows per unit of work of the brute-force pass.
const CHUNK_ROWS: usize = 2048;

impl Index {
    /// Chooses the default ef again for every dense vector whose index has
    /// grown by a quarter since its last choice. Called by a writer holding the writer
    /// lock, so that the live items cannot change meanwhile; searches go on
    /// while it measures.
    pub(super) fn choose_default_efs(&self) {
        let chosen: Vec<(usize, usize, usize)> = {
            let state = self.state.read();
            let live = state.slot_of.len();
            let threshold = self.params.exact_search_threshold.max(MIN_LIVE);
            state
                .dense
                .iter()
                .enumerate()
                .filter(|(_, space)| {
                    space.params.ef_search_auto && live >= threshold && 4 * live >= 5 * space.ef_chosen_at
                })
                .filter_map(|(i, space)| Some((i, state.measured_default_ef(&self.params, space)?, live)))
                .collect()
        };
        if chosen.is_empty() {
            return;
        }
        let mut state = self.state.write();
        for (i, ef, live) in chosen {
            let space = &mut state.dense[i];
            space.params.ef_search = ef;
            space.ef_chosen_at = live;
        }
    }
}

impl State {
    /// The smallest ef of [`LADDER`] at which this space's own vectors, left
    /// out, find their exact ten at [`TARGET_RECALL`]; `None` if too few have it.
    fn measured_default_ef(&self, params: &IndexParams, space: &DenseSpace) -> Option<usize> {
        let entry = space.graph.entry();
        let eligible: Vec<u32> = (0..self.ids.len() as u32)
            .filter(|&slot| self.is_live(slot) && space.has_vector(slot) && Some(slot) != entry)
            .collect();
        if eligible.len() < MIN_LIVE {
            return None;
        }
        let samples = pick_samples(&eligible, params.seed ^ eligible.len() as u64);
        let rows: Vec<Vec<f32>> = samples.iter().map(|&slot| space.get(slot)).collect();
        // The same refinement as a search that names no `rescore`.
        let rescore = super::filtered::rescores(&space.params, None);
        let mut buffers = vec![Vec::new(); samples.len()];
        let queries: Vec<Query<'_>> =
            rows.iter().zip(&mut buffers).map(|(row, buffer)| space.prepare(row, buffer, rescore)).collect();
        let truth = exact_neighbours(space, &eligible, &samples, &queries);
        let recall_at = |ef: usize| -> f64 {
            let found: usize = (0..samples.len())
                .into_par_iter()
                .map(|i| {
                    let left_out = samples[i];
                    let live = |slot: u32| slot != left_out && self.is_live(slot);
                    let mut found = space.graph.search_leaving_out(&space.vectors, &queries[i], ef, left_out, live);
                    if rescore {
                        found = space.rescore(&queries[i], found, Some(K));
                        found.sort_unstable();
                    }
                    found.iter().take(K).filter(|c| truth[i].contains(&c.node)).count()
                })
                .sum();
            let wanted: usize = truth.iter().map(Vec::len).sum();
            found as f64 / wanted.max(1) as f64
        };
        // Recall grows with ef: the first rung that reaches the target, by bisection.
        let (mut low, mut high) = (0, LADDER.len() - 1);
        while low < high {
            let middle = (low + high) / 2;
            if recall_at(LADDER[middle]) >= TARGET_RECALL {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        Some(LADDER[low])
    }
}

/// Up to [`SAMPLES`] distinct slots of `eligible`, drawn with `seed`.
fn pick_samples(eligible: &[u32], seed: u64) -> Vec<u32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut picked: Vec<u32> = Vec::with_capacity(SAMPLES);
    while picked.len() < SAMPLES.min(eligible.len()) {
        let slot = eligible[rng.random_range(0..eligible.len())];
        if !picked.contains(&slot) {
            picked.push(slot);
        }
    }
    picked
}

/// The exact [`K`] nearest of `eligible` to each query (its own slot
/// excluded), in one pass over the rows shared by all queries.
fn exact_neighbours(space: &DenseSpace, eligible: &[u32], samples: &[u32], queries: &[Query<'_>]) -> Vec<Vec<u32>> {
    let empty = || vec![BinaryHeap::<Candidate>::with_capacity(K + 1); queries.len()];
    let nearest = eligible
        .par_chunks(CHUNK_ROWS)
        .fold(empty, |mut nearest, chunk| {
            for &slot in chunk {
                for (i, query) in queries.iter().enumerate() {
                    if slot != samples[i] {
                        keep_nearest(
                            &mut nearest[i],
                            Candidate { distance: space.exact_distance(query, slot), node: slot },
                        );
                    }
                }
            }
            nearest
        })
        .reduce(empty, |mut left, right| {
            for (heap, other) in left.iter_mut().zip(right) {
                for candidate in other {
                    keep_nearest(heap, candidate);
                }
            }
            left
        });
    nearest.into_iter().map(|heap| heap.into_iter().map(|c| c.node).collect()).collect()
}

/// Adds `candidate` to the max-heap `heap` of the [`K`] nearest so far.
fn keep_nearest(heap: &mut BinaryHeap<Candidate>, candidate: Candidate) {
    if heap.len() < K {
        heap.push(candidate);
    } else if heap.peek().is_some_and(|worst| candidate < *worst) {
        heap.pop();
        heap.push(candidate);
    }
}
