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

use super::space::DenseSpace;
use super::{Hit, Index, SearchOptions, State};
use crate::error::Result;
use crate::filter::Filter;
use crate::filter::field_index::Narrowed;
use crate::id_order::IdStr;
use crate::params::{IndexParams, Storage};
use crate::validate;

/// Items read to estimate how many pass a filter the field indexes cannot answer.
const ESTIMATE_SAMPLE: usize = 256;
/// Reading one item's metadata for a filter costs about this many graph-walk
/// steps (measured on MiniLM, 50 000 items with JSON tags: 200 ns against 50 ns).
const UNINDEXED_READ_COST: usize = 4;

/// How a filtered search finds its candidates.
enum Route<'f> {
    /// Compare the query with exactly these slots (they all pass the filter).
    Scan(Vec<u32>),
    /// Walk the graph, keeping only nodes that pass this filter.
    Graph(&'f Filter),
}

impl Index {
    /// The `k` nearest live items to `query` as `options` say, closest first
    /// (ties by id): by the vector `options.using`, among the items that have
    /// it and pass `options.filter`, if set. `ef` defaults to the vector's
    /// `ef_search`; the effective value is `max(ef, k)`. Returns fewer than
    /// `k` hits only when fewer items (that pass) are held.
    pub fn search(&self, query: &[f32], k: usize, options: &SearchOptions<'_>) -> Result<Vec<Hit>> {
        let state = self.state.read();
        let space = state.dense_space(options.using)?;
        let (ef, rescore) = check_options(space, k, options)?;
        validate::query(0, query, space.params.dim, space.params.metric)?;
        Ok(match state.planned_route(&self.params, space, options, ef) {
            None => state.search(&self.params, space, query, k, ef, rescore),
            Some(route) => state.search_routed(space, query, k, ef, &route, rescore),
        })
    }

    /// [`search`](Self::search) for several queries with the same options,
    /// run in parallel. All queries are validated first; an error names the
    /// query's position.
    pub fn search_batch(&self, queries: &[Vec<f32>], k: usize, options: &SearchOptions<'_>) -> Result<Vec<Vec<Hit>>> {
        let state = self.state.read();
        let space = state.dense_space(options.using)?;
        let (ef, rescore) = check_options(space, k, options)?;
        for (position, query) in queries.iter().enumerate() {
            validate::query(position, query, space.params.dim, space.params.metric)?;
        }
        Ok(match state.planned_route(&self.params, space, options, ef) {
            None => queries.par_iter().map(|query| state.search(&self.params, space, query, k, ef, rescore)).collect(),
            Some(route) => {
                let search = |query: &Vec<f32>| state.search_routed(space, query, k, ef, &route, rescore);
                queries.par_iter().map(search).collect()
            }
        })
    }
}

/// The effective ef and whether to rescore, after checking `k`, `ef` and the filter.
fn check_options(space: &DenseSpace, k: usize, options: &SearchOptions<'_>) -> Result<(usize, bool)> {
    let ef = validate::search_bounds(k, options.ef.unwrap_or(space.params.ef_search))?;
    if let Some(filter) = options.filter {
        filter.validate()?;
    }
    Ok((ef, rescores(&space.params, options.rescore)))
}

/// Whether a search rescores its candidates: always from exact rows kept
/// apart from the walk's codes for float32 storage (the caller asked for
/// float32 distances); otherwise codes are rescored unless asked not to,
/// 8-bit ones by their residuals, on-disk ones exactly.
pub(super) fn rescores(params: &crate::VectorParams, asked: Option<bool>) -> bool {
    params.storage == Storage::F32 || asked.unwrap_or(params.walk_storage() == Storage::Int8 || params.on_disk)
}

impl State {
    /// Whether the live item `id` in `slot` passes.
    pub(super) fn passes_as(&self, filter: &Filter, id: &str, slot: u32) -> bool {
        filter.matches_item(id, self.metadata[slot as usize].as_deref(), &|name| self.has_vector(slot, name))
    }

    pub(super) fn passes(&self, filter: &Filter, slot: u32) -> bool {
        self.ids[slot as usize].as_deref().is_some_and(|id| self.passes_as(filter, id, slot))
    }

    /// How a search with `options` finds its candidates; `None` for a plain graph walk.
    fn planned_route<'f>(
        &self,
        params: &IndexParams,
        space: &DenseSpace,
        options: &SearchOptions<'f>,
        ef: usize,
    ) -> Option<Route<'f>> {
        let filter = options.filter.filter(|f| !f.is_empty());
        match (options.exact, filter) {
            (true, Some(filter)) => Some(Route::Scan(self.all_passing(filter))),
            (true, None) => Some(Route::Scan(self.slot_of.values().copied().collect())),
            (false, Some(filter)) => Some(self.route(params, space.graph.m(), filter, ef)),
            (false, None) => None,
        }
    }

    /// Every live slot that passes, in slot order.
    fn all_passing(&self, filter: &Filter) -> Vec<u32> {
        (0..self.ids.len() as u32).filter(|&slot| self.passes(filter, slot)).collect()
    }

    fn route<'f>(&self, params: &IndexParams, m: usize, filter: &'f Filter, ef: usize) -> Route<'f> {
        let threshold = params.filter_scan_threshold;
        if self.slot_of.len() < params.exact_search_threshold {
            return Route::Scan(self.all_passing(filter));
        }
        match self.fields.narrow(filter, &|id| self.slot_of.get(IdStr::new(id)).copied(), threshold) {
            Narrowed::Slots { slots, exact: true } => Route::Scan(slots),
            Narrowed::Slots { slots, exact: false } => {
                Route::Scan(slots.into_iter().filter(|&slot| self.passes(filter, slot)).collect())
            }
            Narrowed::TooMany => Route::Graph(filter),
            Narrowed::Unknown => {
                // Without a field index the scan must read every item's metadata, a
                // few cache misses each: a walk that visits `WALK_VISITS / share`
                // nodes is cheaper unless the matches are very few.
                let walk = ef * 2 * m / UNINDEXED_READ_COST;
                if self.estimate_passing(filter) <= threshold.min(walk) {
                    Route::Scan(self.all_passing(filter))
                } else {
                    Route::Graph(filter)
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
        space: &DenseSpace,
        query: &[f32],
        k: usize,
        ef: usize,
        route: &Route<'_>,
        rescore: bool,
    ) -> Vec<Hit> {
        let mut buffer = Vec::new();
        let query = space.prepare(query, &mut buffer, rescore);
        let found = match route {
            Route::Scan(slots) => space.scan(&query, slots.iter().copied(), rescore),
            Route::Graph(filter) => {
                let found = space.graph.search(&space.vectors, &query, ef, |slot| self.passes(filter, slot));
                if found.len() < k {
                    space.scan(&query, self.all_passing(filter).into_iter(), rescore)
                } else if rescore {
                    space.rescore(&query, found, Some(k))
                } else {
                    found
                }
            }
        };
        self.ranked_hits(space, found, k)
    }
}
