//! Hybrid search: several searches of one index (dense and sparse vectors,
//! each with its own `using`, `k` and filter) fused into one ranking.

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Reply;
use super::search::{Search, searched};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};

/// Most searches one hybrid search fuses.
const MAX_SEARCHES: usize = 16;

/// `POST /v1/vectors/index/{name}/search/hybrid`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "searches": [{ "vector": [0.6, 0.8], "k": 20 }, { "vector": [0.8, 0.6], "k": 20 }],
    "fusion": "rrf", "k": 3
}))]
pub struct HybridSearch {
    /// 1 to 16 searches, each as `POST .../search` takes it (`vector` or
    /// `sparse_vector`, `using`, `k`: how many of its results are fused, `filter`, ...).
    #[schema(value_type = Vec<Search>, min_items = 1, max_items = 16)]
    searches: Vec<Search>,
    /// How the results are fused [default: `rrf`].
    #[serde(default)]
    fusion: Fusion,
    /// Reciprocal rank fusion's constant: a result at rank `r` (from 0)
    /// adds `1 / ((r + 1) / weight + rrf_k − 1)` [default: 2, Qdrant's].
    rrf_k: Option<f32>,
    /// One weight per search for reciprocal rank fusion [default: all 1].
    weights: Option<Vec<f32>>,
    /// How many fused results, at most.
    #[schema(minimum = 1, maximum = 10000)]
    k: usize,
}

/// How results of several searches are fused (as Qdrant fuses them).
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fusion {
    /// Reciprocal rank fusion: by ranks only.
    #[default]
    Rrf,
    /// Distribution-based score fusion: each search's similarities mapped
    /// from mean ± 3 standard deviations onto 0..1, then added.
    Dbsf,
}

/// One fused result.
#[derive(Debug, Serialize, ToSchema)]
pub struct FusedHit {
    /// The item's id.
    pub id: String,
    /// Its fused score (larger is better).
    pub score: f32,
    /// The item's metadata.
    #[schema(value_type = Option<serde_json::Value>)]
    pub metadata: Option<serde_json::Value>,
}

/// `POST .../search/hybrid`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HybridAnswer {
    /// Best first.
    pub results: Vec<FusedHit>,
}

/// The searches' results fused into one ranking.
#[utoipa::path(post, path = "/v1/vectors/index/{name}/search/hybrid", operation_id = "searchHybrid", params(("name" = String, Path, example = "docs")), request_body = HybridSearch, responses(
    (status = 200, description = "Best first", body = HybridAnswer)))]
pub(crate) async fn hybrid(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<HybridSearch>,
) -> Reply<HybridAnswer> {
    if !(1..=MAX_SEARCHES).contains(&request.searches.len()) || request.k == 0 || request.k > lhv_core::MAX_K {
        return Err(ApiError::bad_request("a hybrid search fuses 1 to 16 searches into `k` (1 to 10000) results"));
    }
    let mut lists = Vec::with_capacity(request.searches.len());
    let mut metadata = std::collections::HashMap::new();
    for search in request.searches {
        let hits = searched(&state, &name, search.searched()?).await?.into_iter().next().unwrap_or_default();
        // Similarities, larger is better: the negated distances (sparse: the scores).
        lists.push(hits.iter().map(|hit| (hit.id.clone(), -hit.distance)).collect::<Vec<_>>());
        metadata.extend(hits.into_iter().map(|hit| (hit.id, hit.metadata)));
    }
    let fused = match request.fusion {
        Fusion::Rrf => {
            let k = request.rrf_k.unwrap_or(lhv_core::fusion::DEFAULT_RRF_K);
            lhv_core::fusion::rrf(&lists, k, request.weights.as_deref())?
        }
        Fusion::Dbsf => lhv_core::fusion::dbsf(&lists),
    };
    let results = fused
        .into_iter()
        .take(request.k)
        .map(|(id, score)| {
            let metadata = metadata.get(&id).cloned().flatten();
            FusedHit { id, score, metadata }
        })
        .collect();
    Ok(Json(HybridAnswer { results }))
}
