//! Filtered search: the k nearest items among those that pass a [`Filter`].
//!
//! Whatever the selectivity, a search returns `min(k, matching items)` hits:
//! never fewer because matches were filtered out after the fact. The plan:
//!
//! 1. Few matches: compare the query with every match. Exact, and cheaper
//!    than a walk that must pass many non-matching nodes to find each match.
//!    With field indexes the matches are listed (and counted) from them, and
//!    "few" means at most `filter_scan_threshold`. Without, they are estimated
//!    from a sample, listing them means reading every item's metadata, and
//!    "few" also means fewer than a walk's worth of steps.
//! 2. Otherwise walk the graph, through every node, but only matches enter
//!    the results. If the walk finds fewer than `k`, fall back to 1 over all
//!    items, so that the count is always right.

use rayon::prelude::*;

use super::{Hit, Index, State};
use crate::error::Result;
use crate::filter::Filter;
use crate::filter::field_index::Narrowed;
use crate::hnsw::Candidate;
use crate::params::IndexParams;
use crate::validate;

/// Items read to estimate how many pass a filter the field indexes cannot answer.
const ESTIMATE_SAMPLE: usize = 256;
/// Reading one item's metadata for a filter costs about this many graph-walk
/// steps (measured on MiniLM, 50 000 items with JSON tags: 200 ns against 50 ns).
const UNINDEXED_READ_COST: usize = 4;

/// How a filtered search finds its candidates.
enum Route {
    /// Compare the query with exactly these slots (they all pass the filter).
    Scan(Vec<u32>),
    /// Walk the graph, keeping only passing nodes.
    Graph,
}

impl Index {
    /// [`search`](Self::search) among the items that pass `filter`: the `k`
    /// nearest of them, closest first. Returns fewer than `k` hits only when
    /// fewer items pass.
    pub fn search_filtered(&self, query: &[f32], k: usize, ef: Option<usize>, filter: &Filter) -> Result<Vec<Hit>> {
        if filter.is_empty() {
            return self.search(query, k, ef);
        }
        let ef = validate::search_bounds(k, ef.unwrap_or(self.params.ef_search))?;
        validate::vector(0, query, self.params.dim, self.params.metric)?;
        filter.validate()?;
        let state = self.state.read();
        let route = state.route(&self.params, filter, ef);
        Ok(state.search_routed(&self.params, query, k, ef, filter, &route))
    }

    /// [`search_filtered`](Self::search_filtered) for several queries with one
    /// filter, run in parallel. All queries are validated first; an error names
    /// the query's position.
    pub fn search_batch_filtered(
        &self,
        queries: &[Vec<f32>],
        k: usize,
        ef: Option<usize>,
        filter: &Filter,
    ) -> Result<Vec<Vec<Hit>>> {
        if filter.is_empty() {
            return self.search_batch(queries, k, ef);
        }
        let ef = validate::search_bounds(k, ef.unwrap_or(self.params.ef_search))?;
        for (position, query) in queries.iter().enumerate() {
            validate::vector(position, query, self.params.dim, self.params.metric)?;
        }
        filter.validate()?;
        let state = self.state.read();
        let route = state.route(&self.params, filter, ef);
        Ok(queries.par_iter().map(|query| state.search_routed(&self.params, query, k, ef, filter, &route)).collect())
    }
}

impl State {
    fn passes(&self, filter: &Filter, slot: u32) -> bool {
        let slot = slot as usize;
        self.ids[slot].as_deref().is_some_and(|id| filter.matches(id, self.metadata[slot].as_ref()))
    }

    /// Every live slot that passes, in slot order.
    fn all_passing(&self, filter: &Filter) -> Vec<u32> {
        (0..self.ids.len() as u32).filter(|&slot| self.passes(filter, slot)).collect()
    }

    fn route(&self, params: &IndexParams, filter: &Filter, ef: usize) -> Route {
        let threshold = params.filter_scan_threshold;
        if self.slot_of.len() < params.exact_search_threshold {
            return Route::Scan(self.all_passing(filter));
        }
        match self.fields.narrow(filter, &|id| self.slot_of.get(id).copied(), threshold) {
            Narrowed::Slots { slots, exact: true } => Route::Scan(slots),
            Narrowed::Slots { slots, exact: false } => {
                Route::Scan(slots.into_iter().filter(|&slot| self.passes(filter, slot)).collect())
            }
            Narrowed::TooMany => Route::Graph,
            Narrowed::Unknown => {
                // Without a field index the scan must read every item's metadata, a
                // few cache misses each: a walk that visits `WALK_VISITS / share`
                // nodes is cheaper unless the matches are very few.
                let walk = ef * 2 * params.m / UNINDEXED_READ_COST;
                if self.estimate_passing(filter) <= threshold.min(walk) {
                    Route::Scan(self.all_passing(filter))
                } else {
                    Route::Graph
                }
            }
        }
    }

    /// How many live items pass, extrapolated from evenly spaced slots.
    fn estimate_passing(&self, filter: &Filter) -> usize {
        let slots = self.ids.len();
        let step = slots.div_ceil(ESTIMATE_SAMPLE).max(1);
        let (mut live, mut passing) = (0usize, 0usize);
        for slot in (0..slots).step_by(step) {
            if self.ids[slot].is_some() {
                live += 1;
                passing += usize::from(self.passes(filter, slot as u32));
            }
        }
        (passing * self.slot_of.len()).checked_div(live).unwrap_or(0)
    }

    fn search_routed(
        &self,
        params: &IndexParams,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: &Filter,
        route: &Route,
    ) -> Vec<Hit> {
        let mut buffer = Vec::new();
        let query = self.vectors.prepare(query, &mut buffer);
        let scan = |slots: &[u32]| -> Vec<Candidate> {
            slots.iter().map(|&slot| Candidate { distance: self.vectors.to_query(&query, slot), node: slot }).collect()
        };
        let found = match route {
            Route::Scan(slots) => scan(slots),
            Route::Graph => {
                let found = self.graph.search(&self.vectors, &query, ef, |slot| self.passes(filter, slot));
                if found.len() < k { scan(&self.all_passing(filter)) } else { found }
            }
        };
        let found = self.rescore(&query, found);
        self.ranked_hits(params, found, k)
    }
}
