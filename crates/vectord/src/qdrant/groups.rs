//! Searches by groups: `points/search/groups` and `points/query/groups`.
//!
//! The hits, best first, are put into groups by their values at `group_by`
//! (strings and integers; a point with a value of another type joins no
//! group, a point with several values joins each), every group keeping its
//! `group_size` best; the `limit` groups first met are the answer, as
//! Qdrant's local mode computes them. The search asks for more hits until
//! those groups are full or the index has no more (at most `MAX_K` hits).

use lhv_core::{FieldKey, Hit, MAX_K};
use serde::Deserialize;
use serde_json::Value;

use super::answers::{Answer, GroupsResult, PointGroup, Reply, ScoredPoint};
use super::refuse::not_supported;
use super::search::{Plan, QueryRequest, SearchRequest};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops::{self, IndexHandle};

/// `POST /collections/{name}/points/search/groups`.
#[derive(Debug, Deserialize)]
pub(crate) struct SearchGroups {
    group_by: String,
    group_size: Option<usize>,
    with_lookup: Option<Value>,
    #[serde(flatten)]
    search: SearchRequest,
}

/// `POST /collections/{name}/points/query/groups`.
#[derive(Debug, Deserialize)]
pub(crate) struct QueryGroups {
    group_by: String,
    group_size: Option<usize>,
    with_lookup: Option<Value>,
    #[serde(flatten)]
    query: QueryRequest,
}

/// The nearest points to a vector, in groups (default: 1 hit per group).
pub(crate) async fn search_groups(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<SearchGroups>,
) -> Reply<GroupsResult> {
    let grouping = Grouping::new(&request.group_by, request.group_size.unwrap_or(1), request.with_lookup)?;
    let plan = request.search.plan()?;
    Ok(Answer(grouping.run(&mut ops::handle(&state, &name).await?, plan).await?))
}

/// The nearest points to a vector, in groups (default: 3 hits per group).
pub(crate) async fn query_groups(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<QueryGroups>,
) -> Reply<GroupsResult> {
    let grouping = Grouping::new(&request.group_by, request.group_size.unwrap_or(3), request.with_lookup)?;
    let plan = request.query.plan()?;
    Ok(Answer(grouping.run(&mut ops::handle(&state, &name).await?, plan).await?))
}

struct Grouping {
    key: FieldKey,
    size: usize,
}

impl Grouping {
    fn new(group_by: &str, size: usize, with_lookup: Option<Value>) -> Result<Self, ApiError> {
        if with_lookup.is_some_and(|lookup| !lookup.is_null()) {
            return Err(not_supported("`with_lookup` (groups are answered without it)"));
        }
        if size == 0 {
            return Err(ApiError::bad_request("group_size is at least 1"));
        }
        let key = FieldKey::parse(group_by).map_err(|e| ApiError::bad_request(format!("group_by: {e}")))?;
        Ok(Self { key, size })
    }

    async fn run(&self, handle: &mut IndexHandle, mut plan: Plan) -> Result<GroupsResult, ApiError> {
        if plan.offset != 0 {
            return Err(not_supported("`offset` in a search by groups"));
        }
        let wanted = plan.limit;
        if wanted == 0 {
            return Err(ApiError::bad_request("limit (the number of groups) is at least 1"));
        }
        let available = handle.describe(false).await?.stats.live.min(MAX_K);
        let metric = handle.params().metric;
        let mut k = wanted.saturating_mul(self.size).saturating_mul(2).clamp(1, available.max(1));
        loop {
            plan.limit = k;
            let Some(query) = plan.query()? else { return Ok(GroupsResult { groups: Vec::new() }) };
            let hits: Vec<Hit> =
                handle.search(vec![query], ops::Freshness::Writer).await?.into_iter().flatten().flatten().collect();
            let exhausted = hits.len() < k || k >= available;
            let scored = plan.scored_through(handle, metric, hits.clone()).await?;
            let groups = self.group(hits.into_iter().zip(scored), wanted);
            let full = groups.len() == wanted && groups.iter().all(|g| g.hits.len() == self.size);
            if full || exhausted {
                return Ok(GroupsResult { groups });
            }
            k = k.saturating_mul(4).min(available);
        }
    }

    /// The first `wanted` groups of the hits (best first), each with its `size` best.
    fn group(&self, hits: impl Iterator<Item = (Hit, ScoredPoint)>, wanted: usize) -> Vec<PointGroup> {
        let mut groups: Vec<PointGroup> = Vec::new();
        for (hit, scored) in hits {
            let Some(ids) = self.group_ids(hit.metadata.as_ref()) else { continue };
            for id in ids {
                let at = match groups.iter().position(|g| g.id == id) {
                    Some(at) => at,
                    None => {
                        groups.push(PointGroup { id, hits: Vec::new() });
                        groups.len() - 1
                    }
                };
                if groups[at].hits.len() < self.size {
                    groups[at].hits.push(scored.clone());
                }
            }
        }
        groups.truncate(wanted);
        groups
    }

    /// The distinct group ids of a point, in payload order; `None` if it has
    /// none or a value that cannot be one (only strings and integers can).
    fn group_ids(&self, metadata: Option<&Value>) -> Option<Vec<Value>> {
        let values = self.key.values(metadata?, true);
        let valid = |v: &&Value| v.is_string() || v.is_i64() || v.is_u64();
        if values.is_empty() || !values.iter().all(valid) {
            return None;
        }
        let mut ids: Vec<Value> = Vec::with_capacity(values.len());
        for value in values {
            if !ids.contains(value) {
                ids.push(value.clone());
            }
        }
        Some(ids)
    }
}
