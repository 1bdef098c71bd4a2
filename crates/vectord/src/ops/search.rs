//! Searches, and the rule for where they run: one plain graph walk is
//! short and runs on the async worker that took the request; a filtered or
//! exact search (which may compare with every item) and several searches
//! at once keep a core busy for a while, so they run on the blocking pool.

use std::sync::Arc;

use axum::http::StatusCode;
use lhv_core::{Filter, Hit, SearchOptions};
use lhv_store::DurableIndex;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Some query vectors searched with the same settings (also as a cluster
/// member sends it to another: JSON, float32 components bit for bit).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Query {
    /// The query vectors.
    pub vectors: Vec<Vec<f32>>,
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
        SearchOptions { using: "", ef: self.ef, filter: self.filter.as_ref(), rescore: self.rescore, exact: self.exact }
    }

    fn is_one_walk(&self) -> bool {
        self.vectors.len() == 1 && self.filter.is_none() && !self.exact
    }

    fn run(&self, durable: &DurableIndex) -> lhv_core::Result<Vec<Vec<Hit>>> {
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
