//! Nearest-vector search: `points/search` (and batch) and the nearest form
//! of `points/query` (and batch), with Qdrant's scores.

use std::collections::HashMap;

use lhv_core::{Filter, Hit, IndexParams, Metric, Record};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::answers::PointVector;
use super::answers::Reply;
use super::answers::{Answer, QueryResponse, ScoredPoint};
use super::point_vectors::ShownVectors;
use super::refuse::{not_supported, unknown_fields};
use super::shown::{WithPayload, WithVector, passes_threshold, payload, record, score};
use super::{discover, filter, order_by, points, query, recommend};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex};
use crate::ops::{self, IndexHandle, Query};
use crate::state::AppState;

/// `params` of a search.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SearchParams {
    hnsw_ef: Option<usize>,
    exact: Option<bool>,
    quantization: Option<Quantization>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
struct Quantization {
    /// Whether to refine the candidates' scores (vectord: with the residuals of `int8` storage).
    rescore: Option<bool>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// What a search of either form comes down to.
pub(super) struct Plan {
    /// The dense vector searched (`""`: the unnamed one).
    pub(super) using: String,
    pub(super) vector: Vec<f32>,
    pub(super) filter: Option<Filter>,
    /// Hits wanted (groups wanted, for a search by groups).
    pub(super) limit: usize,
    pub(super) offset: usize,
    ef: Option<usize>,
    exact: bool,
    rescore: Option<bool>,
    pub(super) score_threshold: Option<f32>,
    pub(super) with_payload: WithPayload,
    pub(super) with_vector: Option<WithVector>,
}

/// The fields `points/search` and `points/query` share.
#[derive(Debug, Deserialize)]
pub(super) struct Shared {
    filter: Option<Value>,
    params: Option<SearchParams>,
    offset: Option<usize>,
    with_payload: Option<WithPayload>,
    with_vector: Option<WithVector>,
    score_threshold: Option<f32>,
}

impl SearchParams {
    /// `hnsw_ef`, `exact` and `quantization.rescore`, after refusing what vectord does not have.
    pub(super) fn read(self) -> Result<(Option<usize>, bool, Option<bool>), ApiError> {
        unknown_fields(&self.rest, &["indexed_only"])?;
        let quantization = self.quantization.unwrap_or_default();
        unknown_fields(&quantization.rest, &["ignore", "oversampling"])?;
        Ok((self.hnsw_ef, self.exact.unwrap_or(false), quantization.rescore))
    }
}

impl Plan {
    pub(super) fn new(vector: Vec<f32>, limit: usize, shared: Shared) -> Result<Self, ApiError> {
        let (ef, exact, rescore) = shared.params.unwrap_or_default().read()?;
        Ok(Plan {
            using: String::new(),
            vector,
            filter: filter::translate(shared.filter.as_ref())?,
            limit,
            offset: shared.offset.unwrap_or(0),
            ef,
            exact,
            rescore,
            score_threshold: shared.score_threshold,
            with_payload: shared.with_payload.unwrap_or(WithPayload::All(false)),
            with_vector: shared.with_vector,
        })
    }

    /// The search the plan asks for: `limit + offset` hits, the first
    /// `offset` to be skipped; `None` for no hits at all (`limit` 0).
    pub(super) fn query(&self) -> Result<Option<Query>, ApiError> {
        let k = self
            .limit
            .checked_add(self.offset)
            .ok_or_else(|| ApiError::bad_request("`limit` + `offset` is too large"))?;
        Ok((k > 0).then(|| Query {
            using: self.using.clone(),
            vectors: vec![self.vector.clone()],
            k,
            ef: self.ef,
            rescore: self.rescore,
            filter: self.filter.clone(),
            exact: self.exact,
            ..Query::default()
        }))
    }

    /// Which vectors the hits show, checked against the collection's.
    pub(super) fn shown_vectors(&self, params: &IndexParams) -> Result<ShownVectors, ApiError> {
        ShownVectors::of(params, self.with_vector.as_ref(), false)
    }

    /// Qdrant's `ScoredPoint`s for the hits under `metric`, best first, the vectors shown from `vector_of`.
    fn scored_with(
        &self,
        metric: Metric,
        hits: Vec<Hit>,
        vector_of: impl Fn(&str) -> Option<PointVector>,
    ) -> Vec<ScoredPoint> {
        hits.into_iter()
            .skip(self.offset)
            .map(|hit| (score(metric, hit.distance), hit))
            .take_while(|(score, _)| passes_threshold(metric, *score, self.score_threshold))
            .map(|(score, hit)| {
                let point = record(&hit.id, payload(&self.with_payload, hit.metadata.as_ref()), vector_of(&hit.id));
                ScoredPoint { point, version: 0, score }
            })
            .collect()
    }
}

/// `POST /collections/{name}/points/search`.
#[derive(Debug, Deserialize)]
pub(crate) struct SearchRequest {
    vector: Value,
    limit: usize,
    #[serde(flatten)]
    shared: Shared,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

impl SearchRequest {
    /// Whether the search names a vector (`{"name", "vector"}` of a named or a sparse vector).
    fn is_universal(&self) -> bool {
        matches!(&self.vector, Value::Object(named) if named.get("name").is_some_and(|n| n.as_str() != Some("")))
    }

    /// The answer of the universal query engine, for a named vector.
    async fn answer_universal(self, handle: &mut IndexHandle) -> Result<Vec<ScoredPoint>, ApiError> {
        unknown_fields(&self.rest, points::HARMLESS)?;
        let Value::Object(mut named) = self.vector else { return Err(ApiError::bad_request("not a named vector")) };
        let (name, vector) = (named.remove("name"), named.remove("vector"));
        let (Some(Value::String(name)), Some(vector), true) = (name, vector, named.is_empty()) else {
            return Err(ApiError::bad_request("a named vector is {\"name\", \"vector\"}"));
        };
        let request = QueryRequest {
            query: Some(vector),
            using: Some(name),
            prefetch: None,
            limit: Some(self.limit),
            shared: self.shared,
            rest: Map::new(),
        };
        request.answer_universal(handle).await
    }

    pub(super) fn plan(self) -> Result<Plan, ApiError> {
        unknown_fields(&self.rest, points::HARMLESS)?;
        let vector = match self.vector {
            // `{"name": "", "vector": [...]}`: the unnamed vector by name.
            Value::Object(mut named) => match (named.remove("name"), named.remove("vector")) {
                (Some(Value::String(name)), Some(vector)) if name.is_empty() && named.is_empty() => vector,
                _ => return Err(not_supported("named or sparse vectors (the unnamed vector is)")),
            },
            vector => vector,
        };
        Plan::new(numbers(vector)?, self.limit, self.shared)
    }
}

/// `POST /collections/{name}/points/query`, the nearest-vector form.
#[derive(Debug, Deserialize)]
pub(crate) struct QueryRequest {
    query: Option<Value>,
    using: Option<String>,
    prefetch: Option<Value>,
    limit: Option<usize>,
    #[serde(flatten)]
    shared: Shared,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

const DEFAULT_QUERY_LIMIT: usize = 10;

impl QueryRequest {
    pub(super) fn plan(self) -> Result<Plan, ApiError> {
        unknown_fields(&self.rest, points::HARMLESS)?;
        // The universal query engine answers these; what reaches a plan (searches by groups) cannot have them.
        if self.using.as_deref().is_some_and(|u| !u.is_empty()) {
            return Err(not_supported("named vectors in `using` of a search by groups (the unnamed vector, \"\", is)"));
        }
        if self.prefetch.as_ref().is_some_and(|p| !p.is_null()) {
            return Err(not_supported("`prefetch` in a search by groups"));
        }
        let vector = match self.query {
            Some(Value::Array(vector)) => Value::Array(vector),
            Some(Value::Object(mut query)) => match query.remove("nearest") {
                Some(Value::Array(vector)) if query.is_empty() => Value::Array(vector),
                _ => {
                    let kind = query.keys().next().cloned().unwrap_or_else(|| "nearest".into());
                    return Err(not_supported(format!("the `{kind}` query (a nearest vector is)")));
                }
            },
            Some(Value::Number(_) | Value::String(_)) => {
                return Err(not_supported("a point id as the query (a vector is)"));
            }
            _ => return Err(not_supported("a query without a vector (scroll for points in id order)")),
        };
        Plan::new(numbers(vector)?, self.limit.unwrap_or(DEFAULT_QUERY_LIMIT), self.shared)
    }
}

fn numbers(vector: Value) -> Result<Vec<f32>, ApiError> {
    serde_json::from_value(vector)
        .map_err(|e| ApiError::bad_request(format!("a query vector is a list of numbers: {e}")))
}

/// Runs the plans' searches on an index wherever it is and scores their
/// hits; the vectors shown are read in one request per search.
pub(super) async fn run_all(handle: &mut IndexHandle, plans: &[Plan]) -> Result<Vec<Vec<ScoredPoint>>, ApiError> {
    let queries = plans.iter().map(Plan::query).collect::<Result<Vec<_>, _>>()?;
    let asked: Vec<bool> = queries.iter().map(Option::is_some).collect();
    let params = handle.params();
    let mut found = handle.search(queries.into_iter().flatten().collect(), ops::Freshness::Writer).await?.into_iter();
    let mut scored = Vec::with_capacity(plans.len());
    for (plan, asked) in plans.iter().zip(asked) {
        let metric = params.vector(&plan.using).map_or(params.metric, |v| v.metric);
        // A plan that asked for no hits (limit 0) has none; the others one list each.
        let hits: Vec<Hit> = if asked { found.next().into_iter().flatten().flatten().collect() } else { Vec::new() };
        scored.push(plan.scored_through(handle, metric, hits).await?);
    }
    Ok(scored)
}

impl Plan {
    /// Qdrant's `ScoredPoint`s for the hits, best first; the vectors shown
    /// are read through `handle` in one request.
    pub(super) async fn scored_through(
        &self,
        handle: &mut IndexHandle,
        metric: Metric,
        hits: Vec<Hit>,
    ) -> Result<Vec<ScoredPoint>, ApiError> {
        let params = handle.params();
        let shown = self.shown_vectors(&params)?;
        let ids: Vec<String> =
            if shown.any() { hits.iter().skip(self.offset).map(|hit| hit.id.clone()).collect() } else { Vec::new() };
        let vectors: HashMap<String, PointVector> = if ids.is_empty() {
            HashMap::new()
        } else {
            let records = handle.get_many(&ids).await?;
            let shown_of = |record: Option<Record>| shown.show(&params, &record?);
            ids.into_iter().zip(records).filter_map(|(id, record)| Some((id, shown_of(record)?))).collect()
        };
        Ok(self.scored_with(metric, hits, |id| vectors.get(id).cloned()))
    }
}

/// `POST /collections/{name}/points/search/batch` and `query/batch` bodies.
#[derive(Debug, Deserialize)]
pub(crate) struct Batch<T> {
    searches: Vec<T>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

async fn searched<T>(
    state: &AppState,
    name: &str,
    requests: Vec<T>,
    plan: fn(T) -> Result<Plan, ApiError>,
) -> Result<Vec<Vec<ScoredPoint>>, ApiError> {
    let plans = requests.into_iter().map(plan).collect::<Result<Vec<_>, _>>()?;
    run_all(&mut ops::handle(state, name).await?, &plans).await
}

/// The nearest points to one vector.
pub(crate) async fn search(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<SearchRequest>,
) -> Reply<Vec<ScoredPoint>> {
    if request.is_universal() {
        return Ok(Answer(request.answer_universal(&mut ops::handle(&state, &name).await?).await?));
    }
    let found = searched(&state, &name, vec![request], SearchRequest::plan).await?;
    Ok(Answer(found.into_iter().next().unwrap_or_default()))
}

/// Several searches at once.
pub(crate) async fn search_batch(
    OnIndex { state, name }: OnIndex,
    JsonBody(batch): JsonBody<Batch<SearchRequest>>,
) -> Reply<Vec<Vec<ScoredPoint>>> {
    unknown_fields(&batch.rest, points::HARMLESS)?;
    if batch.searches.iter().any(SearchRequest::is_universal) {
        let mut handle = ops::handle(&state, &name).await?;
        let mut answers = Vec::with_capacity(batch.searches.len());
        for request in batch.searches {
            answers.push(if request.is_universal() {
                request.answer_universal(&mut handle).await?
            } else {
                run_all(&mut handle, &[request.plan()?]).await?.into_iter().next().unwrap_or_default()
            });
        }
        return Ok(Answer(answers));
    }
    Ok(Answer(searched(&state, &name, batch.searches, SearchRequest::plan).await?))
}

impl QueryRequest {
    /// Whether the query needs the universal query engine: prefetches, a
    /// fusion, a named or sparse vector, or a point id as the query.
    fn is_universal(&self) -> bool {
        let plain_vector = |query: &Value| match query {
            Value::Array(_) => true,
            Value::Object(object) => object.len() == 1 && object.get("nearest").is_some_and(Value::is_array),
            _ => false,
        };
        self.prefetch.as_ref().is_some_and(|p| !p.is_null())
            || self.using.as_deref().is_some_and(|u| !u.is_empty())
            || self.query.as_ref().is_some_and(|q| !plain_vector(q))
    }

    /// The answer of the universal query engine.
    async fn answer_universal(self, handle: &mut IndexHandle) -> Result<Vec<ScoredPoint>, ApiError> {
        unknown_fields(&self.rest, points::HARMLESS)?;
        let params = handle.params();
        let offset = self.shared.offset.unwrap_or(0);
        let limit = self.limit.unwrap_or(DEFAULT_QUERY_LIMIT);
        let wanted =
            limit.checked_add(offset).ok_or_else(|| ApiError::bad_request("`limit` + `offset` is too large"))?;
        let spec = query::Prefetch::top(
            self.prefetch,
            self.query,
            self.using,
            self.shared.filter,
            self.shared.params,
            self.shared.score_threshold,
        );
        let top = query::Node::read(&params, spec, None, wanted, 0)?;
        let with_payload = self.shared.with_payload.unwrap_or(WithPayload::All(false));
        let shown = query::Shown { offset, with_payload: &with_payload, with_vector: self.shared.with_vector.as_ref() };
        query::answer(handle, &top, shown).await
    }

    /// Whether the query is a nearest-vector search, rather than one
    /// answered apart: from examples (a recommendation, a discovery or a
    /// context search) or in the order of a payload value.
    fn is_nearest(&self) -> bool {
        let query = self.query.as_ref();
        recommend::query_examples(query).is_none()
            && discover::query_discovery(query).is_none()
            && order_by::query_order(query).is_none()
    }

    /// The answer of a query that is not [`is_nearest`](Self::is_nearest).
    async fn answer_apart(self, handle: &mut IndexHandle) -> Result<Vec<ScoredPoint>, ApiError> {
        unknown_fields(&self.rest, points::HARMLESS)?;
        let limit = self.limit.unwrap_or(DEFAULT_QUERY_LIMIT);
        let using = self.using.as_deref();
        if let Some(examples) = recommend::query_examples(self.query.as_ref()) {
            return recommend::recommend(handle, examples?, limit, self.shared, using, None).await;
        }
        if let Some(order) = order_by::query_order(self.query.as_ref()) {
            let plan = Plan::new(Vec::new(), limit, self.shared)?;
            return order_by::ordered_points(handle, order?, &plan).await;
        }
        match discover::query_discovery(self.query.as_ref()) {
            Some(discovery) => {
                discover::check_sources(using, None)?;
                discover::discover(handle, discovery?, limit, self.shared).await
            }
            None => Err(ApiError::bad_request("not a query answered apart")),
        }
    }
}

/// The nearest points to one vector, or the points found from examples
/// (recommend, discover, context) or in a payload value's order, as `{"points": [...]}`.
pub(crate) async fn query(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<QueryRequest>,
) -> Reply<QueryResponse> {
    if !request.is_nearest() {
        let points = request.answer_apart(&mut ops::handle(&state, &name).await?).await?;
        return Ok(Answer(QueryResponse { points }));
    }
    if request.is_universal() {
        let points = request.answer_universal(&mut ops::handle(&state, &name).await?).await?;
        return Ok(Answer(QueryResponse { points }));
    }
    let found = searched(&state, &name, vec![request], QueryRequest::plan).await?;
    Ok(Answer(QueryResponse { points: found.into_iter().next().unwrap_or_default() }))
}

/// Several queries at once: nearest-vector searches together, the others
/// one by one.
pub(crate) async fn query_batch(
    OnIndex { state, name }: OnIndex,
    JsonBody(batch): JsonBody<Batch<QueryRequest>>,
) -> Reply<Vec<QueryResponse>> {
    unknown_fields(&batch.rest, points::HARMLESS)?;
    if batch.searches.iter().all(|request| request.is_nearest() && !request.is_universal()) {
        let found = searched(&state, &name, batch.searches, QueryRequest::plan).await?;
        return Ok(Answer(found.into_iter().map(|points| QueryResponse { points }).collect()));
    }
    let mut handle = ops::handle(&state, &name).await?;
    let mut answers = Vec::with_capacity(batch.searches.len());
    for request in batch.searches {
        let points = if request.is_nearest() && request.is_universal() {
            request.answer_universal(&mut handle).await?
        } else if request.is_nearest() {
            let plan = request.plan()?;
            run_all(&mut handle, std::slice::from_ref(&plan)).await?.into_iter().next().unwrap_or_default()
        } else {
            request.answer_apart(&mut handle).await?
        };
        answers.push(QueryResponse { points });
    }
    Ok(Answer(answers))
}
