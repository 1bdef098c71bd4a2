//! Searching one dense vector without a filter, and ranking candidates into hits.

use super::space::DenseSpace;
use super::{Hit, State};
use crate::hnsw::Candidate;
use crate::params::IndexParams;

/// How a search runs, beyond the query and `k`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchOptions<'a> {
    /// The vector searched: `""` (the default) for the unnamed one, or the
    /// name of a dense vector of [`IndexParams::vectors`].
    pub using: &'a str,
    /// Candidate list size; default the vector's `ef_search`, raised to `k`.
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

    /// These options searching the vector named `using`.
    pub fn using(self, using: &'a str) -> Self {
        Self { using, ..self }
    }
}

impl State {
    /// The `k` nearest live items of `space` by a graph walk (or a scan while
    /// the index is small).
    pub(super) fn search(
        &self,
        params: &IndexParams,
        space: &DenseSpace,
        query: &[f32],
        k: usize,
        ef: usize,
        rescore: bool,
    ) -> Vec<Hit> {
        let live = self.slot_of.len();
        let mut buffer = Vec::new();
        let query = space.prepare(query, &mut buffer, rescore);
        let wanted = k.min(live);
        let mut found = Vec::new();
        if live >= params.exact_search_threshold {
            // Slots without an id are tombstones or still being linked.
            found = if self.slot_of.len() == self.ids.len() {
                space.graph.search(&space.vectors, &query, ef, |_| true)
            } else {
                space.graph.search(&space.vectors, &query, ef, |slot| self.is_live(slot))
            };
        }
        // The graph can miss nodes it cannot reach; a full scan guarantees `min(k, len)` hits
        // (of those that have this vector).
        if found.len() < wanted {
            let live_slots = (0..self.ids.len() as u32).filter(|&slot| self.is_live(slot));
            return self.ranked_hits(space, space.scan(&query, live_slots, rescore), k);
        }
        // Only a graph walk's candidates get here: rescored for `k` results.
        let found = if rescore { space.rescore(&query, found, Some(k)) } else { found };
        self.ranked_hits(space, found, k)
    }

    /// The `k` best candidates as hits, by reported distance and then id.
    pub(super) fn ranked_hits(&self, space: &DenseSpace, found: Vec<Candidate>, k: usize) -> Vec<Hit> {
        let metric = space.params.metric;
        let ranked = found
            .into_iter()
            // Scans read every slot: items without this vector are dropped here.
            .filter(|c| space.has_vector(c.node))
            .map(|c| (metric.reported(c.distance), c.node));
        self.top_hits(ranked, k)
    }

    /// The `k` best of (reported distance, slot), as hits, by distance and then id.
    pub(super) fn top_hits(&self, found: impl Iterator<Item = (f32, u32)>, k: usize) -> Vec<Hit> {
        let mut ranked: Vec<(f32, &str, u32)> =
            found.filter_map(|(distance, slot)| Some((distance, self.ids[slot as usize].as_deref()?, slot))).collect();
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
