//! k-nearest-neighbour searches.

use axum::Json;
use lhv_core::{Filter, SparseVector};
use serde::Deserialize;
use utoipa::ToSchema;

use super::Reply;
use super::answers::{HitDoc, SearchAnswer, SearchBatchAnswer};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops::{self, Freshness, Query};
use crate::state::AppState;

/// `POST /v1/vectors/index/{name}/search`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "vector": [0.6, 0.8], "k": 3 }))]
pub struct Search {
    /// A dense query: `dim` finite numbers of the vector `using` (not all zero for cosine).
    #[schema(value_type = Option<Vec<super::docs::ComponentDoc>>)]
    vector: Option<Vec<f32>>,
    /// A sparse query of the sparse vector `using`: `{"indices", "values"}`
    /// (instead of `vector`); hits are the items sharing an index with it,
    /// exactly, their `distance` the negated dot product.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    sparse_vector: Option<SparseVector>,
    #[serde(flatten)]
    settings: SearchSettings,
}

/// `POST /v1/vectors/index/{name}/search/batch`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({ "vectors": [[0.6, 0.8], [1.0, 0.0]], "k": 3 }))]
pub struct SearchBatch {
    /// Query vectors, each as in a single search.
    #[schema(value_type = Vec<Vec<super::docs::ComponentDoc>>)]
    vectors: Vec<Vec<f32>>,
    #[serde(flatten)]
    settings: SearchSettings,
}

/// What a search takes besides its vectors (in a batch, for every query).
#[derive(Debug, Deserialize, ToSchema)]
pub struct SearchSettings {
    /// How many results per query, at most.
    #[schema(minimum = 1, maximum = 10000)]
    k: usize,
    /// Candidates considered [default: the index's `ef_search`; raised to `k` if below].
    #[schema(minimum = 1, maximum = 10000)]
    ef: Option<usize>,
    /// Only items that pass this filter are searched.
    #[serde(default)]
    #[schema(value_type = Option<super::docs::FilterDoc>)]
    filter: Option<Filter>,
    /// Refine the candidates' distances with the 4-bit residuals before choosing
    /// the top `k` [default: true for `int8` indexes; no effect on others].
    #[serde(default)]
    rescore: Option<bool>,
    /// In a cluster on etcd: by default each shard is read at its writer,
    /// which has applied every acknowledged write (a read sees the writes
    /// before it, but for a moment while a writer changes hands); `strong`
    /// makes each copy asked catch up to its writer's committed head first,
    /// so every acknowledged write is seen, always; `eventual` reads any
    /// copy (spread over the replicas), which may be behind its writer by
    /// the time the watch takes to tell it. Outside a cluster all three see
    /// every acknowledged write.
    #[serde(default)]
    consistency: Option<Consistency>,
    /// The vector searched: a named dense or sparse vector [default: the unnamed one].
    #[serde(default)]
    using: Option<String>,
    /// Only hits at most this far from the query (Qdrant's `score_threshold`).
    #[serde(default)]
    max_distance: Option<f32>,
}

impl SearchSettings {
    /// The search of `vectors` these settings ask for, how fresh it must be, and the distance cut-off.
    fn query(self, vectors: Vec<Vec<f32>>) -> Searched {
        let freshness = match self.consistency {
            None => Freshness::Writer,
            Some(Consistency::Eventual) => Freshness::Any,
            Some(Consistency::Strong) => Freshness::Strong,
        };
        let query = Query {
            using: self.using.unwrap_or_default(),
            vectors,
            k: self.k,
            ef: self.ef,
            rescore: self.rescore,
            filter: self.filter,
            ..Query::default()
        };
        Searched { query, freshness, max_distance: self.max_distance }
    }
}

/// A search as asked: the query, how fresh, and the distance cut-off.
pub(super) struct Searched {
    pub(super) query: Query,
    pub(super) freshness: Freshness,
    pub(super) max_distance: Option<f32>,
}

/// How fresh a search's answer must be (see docs/OPERATIONS.md).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    /// Any copy, as it stands (reads spread over the replicas).
    Eventual,
    /// Everything acknowledged before the search.
    Strong,
}

/// The `k` nearest items to one vector.
#[utoipa::path(post, path = "/v1/vectors/index/{name}/search", operation_id = "search", params(("name" = String, Path, example = "docs")), request_body = Search, responses(
    (status = 200, description = "Nearest first", body = SearchAnswer)))]
pub(crate) async fn one(OnIndex { state, name }: OnIndex, JsonBody(request): JsonBody<Search>) -> Reply<SearchAnswer> {
    let results = searched(&state, &name, request.searched()?).await?.into_iter().next().unwrap_or_default();
    Ok(Json(SearchAnswer { results }))
}

impl Search {
    /// The search asked: of a dense or of a sparse vector.
    pub(super) fn searched(self) -> Result<Searched, ApiError> {
        Ok(match (self.vector, self.sparse_vector) {
            (Some(vector), None) => self.settings.query(vec![vector]),
            (None, Some(sparse)) => {
                let mut searched = self.settings.query(Vec::new());
                searched.query.sparse = vec![sparse];
                searched
            }
            _ => return Err(ApiError::bad_request("a search has either `vector` or `sparse_vector`")),
        })
    }
}

/// The `k` nearest items to each of several vectors.
#[utoipa::path(post, path = "/v1/vectors/index/{name}/search/batch", operation_id = "searchBatch", params(("name" = String, Path, example = "docs")), request_body = SearchBatch, responses(
    (status = 200, description = "One list per query", body = SearchBatchAnswer)))]
pub(crate) async fn batch(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<SearchBatch>,
) -> Reply<SearchBatchAnswer> {
    let query = request.settings.query(request.vectors);
    Ok(Json(SearchBatchAnswer { results: searched(&state, &name, query).await? }))
}

/// The hits of each of the query's vectors, as answered, those beyond the cut-off left out.
pub(super) async fn searched(state: &AppState, name: &str, searched: Searched) -> Result<Vec<Vec<HitDoc>>, ApiError> {
    let Searched { query, freshness, max_distance } = searched;
    let mut found = ops::handle(state, name).await?.search(vec![query], freshness).await?;
    let hits = found.pop().unwrap_or_default();
    let near = |hit: &lhv_core::Hit| max_distance.is_none_or(|max| hit.distance <= max);
    Ok(hits.into_iter().map(|hits| hits.into_iter().filter(near).map(HitDoc::from).collect()).collect())
}
