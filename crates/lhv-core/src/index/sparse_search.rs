//! Searching a named sparse vector: exact top-k by dot product, optionally
//! with the query weighted by inverse document frequencies.

use serde::{Deserialize, Serialize};

use super::{Hit, Index, SearchOptions, State};
use crate::error::{Error, Result};
use crate::filter::field_index::Narrowed;
use crate::id_order::IdStr;
use crate::sparse::{SparseModifier, SparseSpace, SparseVector};
use crate::validate;

/// The counts a sparse vector with `modifier: "idf"` weights a query by:
/// how many items hold the vector, and per index of the (sorted) query how
/// many hold that index. Counts of several shards add up, so that a search
/// over all of them weights the query once, the same on each.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SparseStatistics {
    /// Items that hold the sparse vector.
    pub vectors: u64,
    /// Per index of the query, in ascending index order: items that hold it.
    pub frequencies: Vec<u64>,
}

impl SparseStatistics {
    /// Adds another shard's counts for the same query.
    pub fn add(&mut self, other: &SparseStatistics) {
        self.vectors += other.vectors;
        if self.frequencies.len() < other.frequencies.len() {
            self.frequencies.resize(other.frequencies.len(), 0);
        }
        for (mine, theirs) in self.frequencies.iter_mut().zip(&other.frequencies) {
            *mine += theirs;
        }
    }
}

impl Index {
    /// The counts [`search_sparse`](Self::search_sparse) weights `query` by
    /// when the sparse vector `using` has `modifier: "idf"`.
    pub fn sparse_statistics(&self, using: &str, query: &SparseVector) -> Result<SparseStatistics> {
        let query = query.clone().normalized(0)?;
        let state = self.state.read();
        let space = state.sparse_space(using)?;
        Ok(SparseStatistics {
            vectors: space.live_vectors(),
            frequencies: query.indices.iter().map(|&index| space.document_frequency(index)).collect(),
        })
    }

    /// The `k` live items whose sparse vector `options.using` has the
    /// largest dot product with `query` (exact), best first, ties by id,
    /// among those that pass `options.filter`. Items sharing no index with
    /// the query are not returned. A hit's `distance` is the negated score,
    /// so that smaller is closer as for every metric. With `modifier:
    /// "idf"` the query's weights are multiplied by the inverse document
    /// frequencies of `statistics` (those of several shards added up), or of
    /// this index when `None`. `ef`, `rescore` and `exact` do not apply.
    pub fn search_sparse(
        &self,
        query: &SparseVector,
        k: usize,
        options: &SearchOptions<'_>,
        statistics: Option<&SparseStatistics>,
    ) -> Result<Vec<Hit>> {
        validate::search_bounds(k, 1)?;
        let query = query.clone().normalized(0)?;
        if let Some(filter) = options.filter {
            filter.validate()?;
        }
        let state = self.state.read();
        let space = state.sparse_space(options.using)?;
        let weighted = match (space.params().modifier, statistics) {
            (SparseModifier::None, _) => query,
            (SparseModifier::Idf, None) => space.weighted_query(&query),
            (SparseModifier::Idf, Some(counts)) if counts.frequencies.len() == query.len() => {
                let frequency = |index: u32| query.indices.binary_search(&index).map_or(0, |at| counts.frequencies[at]);
                query.idf_weighted(counts.vectors, frequency)
            }
            (SparseModifier::Idf, Some(counts)) => {
                return Err(Error::InvalidParameter {
                    name: "statistics",
                    value: format!("{} frequencies for {} query indices", counts.frequencies.len(), query.len()),
                    allowed: "one frequency per index of the query",
                });
            }
        };
        let found = match options.filter.filter(|f| !f.is_empty()) {
            None => space.search(&weighted, k, |slot| state.is_live(slot)),
            Some(filter) => {
                let slot_of = |id: &str| state.slot_of.get(IdStr::new(id)).copied();
                match state.fields.narrow(filter, &slot_of, self.params.filter_scan_threshold) {
                    // Few matches, listed: score them, instead of walking whole posting lists.
                    Narrowed::Slots { slots, .. } => {
                        let passing = slots.into_iter().filter(|&slot| state.passes(filter, slot));
                        space.scan(&weighted, k, passing)
                    }
                    Narrowed::TooMany | Narrowed::Unknown => {
                        space.search(&weighted, k, |slot| state.passes(filter, slot))
                    }
                }
            }
        };
        Ok(state.top_hits(found.into_iter().map(|(slot, score)| (-score, slot)), k))
    }
}

impl State {
    /// The sparse space of the vector `name`.
    fn sparse_space(&self, name: &str) -> Result<&SparseSpace> {
        if self.dense.iter().any(|space| space.name == name) {
            return Err(Error::InvalidParameter {
                name: "using",
                value: format!("{name:?}"),
                allowed: "a sparse vector's name (a dense vector is searched with a dense query)",
            });
        }
        self.sparse
            .iter()
            .find(|(sparse, _)| sparse == name)
            .map(|(_, space)| space)
            .ok_or_else(|| Error::UnknownVector { item: 0, name: name.to_owned() })
    }
}
