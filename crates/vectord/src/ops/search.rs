//! Searches, and the rule for where they run: one plain graph walk is
//! short and runs on the async worker that took the request; a filtered or
//! exact search (which may compare with every item) and several searches
//! at once keep a core busy for a while, so they run on the blocking pool.

use std::sync::Arc;

use axum::http::StatusCode;
use lhv_core::{Filter, Hit, SearchOptions, SparseStatistics, SparseVector};
use lhv_store::DurableIndex;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Some query vectors searched with the same settings (also as a cluster
/// member sends it to another: JSON, float32 components bit for bit).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Query {
    /// The dense vector searched: `""` for the unnamed one.
    #[serde(default)]
    pub using: String,
    /// The dense query vectors (none for a sparse query).
    pub vectors: Vec<Vec<f32>>,
    /// The sparse query vectors of the sparse vector `using` (none for a dense query).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sparse: Vec<SparseVector>,
    /// Per sparse query vector, the counts of every shard of the index to
    /// weight it by (`modifier: "idf"`); none: those of the shards searched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statistics: Vec<SparseStatistics>,
    /// Hits per vector, at most.
    pub k: usize,
    /// Candidates considered [default: the index's `ef_search`].
    pub ef: Option<usize>,
    /// Refine distances with what the storage keeps (`int8` residuals).
    pub rescore: Option<bool>,
    /// Only items that pass.
    pub filter: Option<Filter>,
    /// Compare with every (passing) item instead of walking the graph.
    pub exact: bool,
}

impl Query {
    fn options(&self) -> SearchOptions<'_> {
        SearchOptions {
            using: &self.using,
            ef: self.ef,
            filter: self.filter.as_ref(),
            rescore: self.rescore,
            exact: self.exact,
        }
    }

    fn is_one_walk(&self) -> bool {
        self.vectors.len() == 1 && self.sparse.is_empty() && self.filter.is_none() && !self.exact
    }

    fn run(&self, durable: &DurableIndex) -> lhv_core::Result<Vec<Vec<Hit>>> {
        if !self.sparse.is_empty() {
            let index = durable.index();
            return self
                .sparse
                .iter()
                .enumerate()
                .map(|(i, vector)| index.search_sparse(vector, self.k, &self.options(), self.statistics.get(i)))
                .collect();
        }
        match self.vectors.as_slice() {
            [vector] => Ok(vec![durable.index().search(vector, self.k, &self.options())?]),
            vectors => durable.index().search_batch(vectors, self.k, &self.options()),
        }
    }
}

/// Each query's hits, per query vector, nearest first.
pub(crate) async fn search(durable: Arc<DurableIndex>, queries: Vec<Query>) -> Result<Vec<Vec<Vec<Hit>>>, ApiError> {
    if let [query] = queries.as_slice()
        && query.is_one_walk()
    {
        return Ok(vec![query.run(&durable)?]);
    }
    let all: lhv_core::Result<Vec<_>> =
        tokio::task::spawn_blocking(move || queries.iter().map(|query| query.run(&durable)).collect())
            .await
            .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "search_cancelled", e.to_string()))?;
    Ok(all?)
}
