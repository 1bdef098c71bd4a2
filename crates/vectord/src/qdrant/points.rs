//! Points: upsert, retrieve, scroll, count and delete.

use lhv_core::{IndexParams, Item};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::ops::Bound;

use super::answers::Reply;
use super::answers::{Answer, CountResult, Record, ScrollResult, UpdateResult};
use super::point_vectors::{PointVectors, ShownVectors};
use super::refuse::unknown_fields;
use super::shown::{WithPayload, WithVector, payload, record};
use super::{Selector, filter, ids};
use crate::error::ApiError;
use crate::http::extract::{JsonBody, OnIndex, OnItem};
use crate::ops;

/// Per-request settings of a single node that change no answer.
pub(crate) const HARMLESS: &[&str] = &["shard_key", "consistency", "timeout"];

/// `PUT /collections/{name}/points`: a list of points or a batch of columns.
#[derive(Debug, Deserialize)]
pub(crate) struct Upsert {
    /// Any other field: refused unless harmless (`shard_key`).
    #[serde(flatten)]
    rest: Map<String, Value>,
    /// The points as a list...
    points: Option<Vec<Point>>,
    /// ...or as columns.
    batch: Option<Batch>,
}

#[derive(Debug, Deserialize)]
struct Point {
    id: Value,
    vector: Value,
    payload: Option<Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
struct Batch {
    ids: Vec<Value>,
    vectors: Value,
    payloads: Option<Vec<Option<Map<String, Value>>>>,
}

impl Upsert {
    /// The points as vectord items, in the order given; a later point with the
    /// same id takes the place of the earlier one, as in Qdrant (so an error's
    /// item position is the point's position in the request).
    pub(crate) fn items(self, params: &IndexParams) -> Result<Vec<Item>, ApiError> {
        unknown_fields(&self.rest, HARMLESS)?;
        let points: Vec<Point> = match (self.points, self.batch) {
            (Some(points), None) => points,
            (None, Some(batch)) => {
                let count = batch.ids.len();
                let vectors = batch_vectors(batch.vectors, count)?;
                let payloads = batch.payloads.unwrap_or_else(|| vec![None; count]);
                if payloads.len() != count {
                    return Err(ApiError::bad_request("a batch has as many ids, vectors and payloads"));
                }
                let columns = batch.ids.into_iter().zip(vectors).zip(payloads);
                columns.map(|((id, vector), payload)| Point { id, vector, payload }).collect()
            }
            _ => return Err(ApiError::bad_request("an upsert has either `points` or `batch`")),
        };
        let mut items: Vec<Item> = Vec::with_capacity(points.len());
        let mut position: HashMap<String, usize> = HashMap::with_capacity(points.len());
        for Point { id, vector, payload } in points {
            let id = ids::parse(&id)?;
            // An upsert replaces the whole point: no payload means an empty one.
            let metadata = Some(Value::Object(payload.unwrap_or_default()));
            let item = PointVectors::read(params, vector)?.into_item(id, metadata);
            match position.get(&item.id) {
                Some(&earlier) => items[earlier] = item,
                None => {
                    position.insert(item.id.clone(), items.len());
                    items.push(item);
                }
            }
        }
        Ok(items)
    }
}

/// A batch's `vectors`: a list (of unnamed vectors), or per name a list;
/// as one `vector` value per point.
fn batch_vectors(vectors: Value, count: usize) -> Result<Vec<Value>, ApiError> {
    let mismatch = || ApiError::bad_request("a batch has as many ids, vectors and payloads");
    match vectors {
        Value::Array(list) if list.len() == count => Ok(list),
        Value::Object(by_name) => {
            let mut points = vec![Map::new(); count];
            for (name, column) in by_name {
                let Value::Array(column) = column else {
                    return Err(ApiError::bad_request(format!("the batch's vectors {name:?} are not a list")));
                };
                if column.len() != count {
                    return Err(mismatch());
                }
                for (point, vector) in points.iter_mut().zip(column) {
                    point.insert(name.clone(), vector);
                }
            }
            Ok(points.into_iter().map(Value::Object).collect())
        }
        _ => Err(mismatch()),
    }
}

/// Inserts or replaces points; durable when it answers (`wait` is always true).
pub(crate) async fn upsert(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<Upsert>,
) -> Reply<UpdateResult> {
    let mut handle = ops::handle(&state, &name).await?;
    let items = request.items(&handle.params())?;
    handle.upsert(items).await?;
    Ok(UpdateResult::of(&handle).await)
}

/// `POST /collections/{name}/points`.
#[derive(Debug, Deserialize)]
pub(crate) struct Retrieve {
    ids: Vec<Value>,
    with_payload: Option<WithPayload>,
    with_vector: Option<WithVector>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// The points with these ids that exist, in the order asked.
pub(crate) async fn retrieve(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<Retrieve>,
) -> Reply<Vec<Record>> {
    unknown_fields(&request.rest, HARMLESS)?;
    let mut handle = ops::handle(&state, &name).await?;
    let selection = request.with_payload.unwrap_or(WithPayload::All(true));
    let params = handle.params();
    let shown = ShownVectors::of(&params, request.with_vector.as_ref(), false)?;
    let mut seen = std::collections::BTreeSet::new();
    let wanted: Vec<String> = ids::parse_all(&request.ids)?.into_iter().filter(|id| seen.insert(id.clone())).collect();
    let found = handle.get_many(&wanted).await?;
    let records = wanted
        .iter()
        .zip(found)
        .filter_map(|(id, stored)| {
            let stored = stored?;
            Some(record(id, payload(&selection, stored.metadata.as_ref()), shown.show(&params, &stored)))
        })
        .collect();
    Ok(Answer(records))
}

/// `GET /collections/{name}/points/{id}`.
pub(crate) async fn get_one(OnItem { state, name, id: raw }: OnItem) -> Reply<Record> {
    let id_value = raw.parse::<u64>().map_or_else(|_| Value::from(raw.clone()), Value::from);
    let id = ids::parse(&id_value)?;
    let mut handle = ops::handle(&state, &name).await?;
    let params = handle.params();
    let stored = handle.get(&id).await?.ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "item_not_found",
            format!("Not found: Point with id {raw} does not exist"),
        )
    })?;
    let vector = ShownVectors::All.show(&params, &stored);
    Ok(Answer(record(&id, payload(&WithPayload::All(true), stored.metadata.as_ref()), vector)))
}

/// `POST /collections/{name}/points/delete`: by ids or by filter.
pub(crate) async fn delete(
    OnIndex { state, name }: OnIndex,
    JsonBody(selector): JsonBody<Selector>,
) -> Reply<UpdateResult> {
    let mut handle = ops::handle(&state, &name).await?;
    match selector.selection()? {
        // By id: straight to the shards' writers.
        super::Selection::Ids(ids) => handle.delete(ids).await?,
        // By filter: each shard selects and deletes under its commit lock.
        super::Selection::Filter(filter) => handle.delete_where(&filter).await?,
    };
    Ok(UpdateResult::of(&handle).await)
}

/// `POST /collections/{name}/points/scroll`.
#[derive(Debug, Deserialize)]
pub(crate) struct Scroll {
    offset: Option<Value>,
    limit: Option<usize>,
    filter: Option<Value>,
    with_payload: Option<WithPayload>,
    with_vector: Option<WithVector>,
    order_by: Option<super::order_by::OrderByRequest>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

const DEFAULT_SCROLL_LIMIT: usize = 10;

/// One page of points in Qdrant's id order (integers ascending, then UUIDs), from
/// `offset` on; `next_page_offset` is the id the next page starts with.
pub(crate) async fn scroll(
    OnIndex { state, name }: OnIndex,
    JsonBody(request): JsonBody<Scroll>,
) -> Reply<ScrollResult> {
    unknown_fields(&request.rest, HARMLESS)?;
    let limit = request.limit.unwrap_or(DEFAULT_SCROLL_LIMIT);
    let offset = request.offset.as_ref().filter(|o| !o.is_null()).map(ids::parse).transpose()?;
    let filter = filter::translate(request.filter.as_ref())?;
    let selection = request.with_payload.unwrap_or(WithPayload::All(true));
    let mut handle = ops::handle(&state, &name).await?;
    let params = handle.params();
    let shown = ShownVectors::of(&params, request.with_vector.as_ref(), false)?;
    if let Some(order) = request.order_by {
        if offset.is_some() {
            return Err(ApiError::bad_request(
                "Offset is not supported in conjunction with `order_by` scroll parameter",
            ));
        }
        let order = order.order(&handle.describe(false).await?.field_indexes)?;
        ops::check_scroll_limit(limit)?;
        let points = handle
            .ordered(&order, limit, filter.as_ref())
            .await?
            .into_iter()
            .map(|(id, value, stored)| {
                let mut point =
                    record(&id, payload(&selection, stored.metadata.as_ref()), shown.show(&params, &stored));
                point.order_value = Some(super::order_by::shown(value));
                point
            })
            .collect();
        return Ok(Answer(ScrollResult { points, next_page_offset: None }));
    }
    let start = offset.as_deref().map_or(Bound::Unbounded, Bound::Included);
    let page = ops::scroll_page(&mut handle, start, limit, filter.as_ref()).await?;
    let points = page
        .items
        .into_iter()
        .map(|(id, stored)| record(&id, payload(&selection, stored.metadata.as_ref()), shown.show(&params, &stored)))
        .collect();
    Ok(Answer(ScrollResult { points, next_page_offset: page.next.map(|id| ids::show(&id)) }))
}

/// `POST /collections/{name}/points/count`.
#[derive(Debug, Deserialize)]
pub(crate) struct Count {
    filter: Option<Value>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// How many points pass the filter (exactly).
pub(crate) async fn count(OnIndex { state, name }: OnIndex, JsonBody(request): JsonBody<Count>) -> Reply<CountResult> {
    // vectord's counts are always exact, asked for or not.
    unknown_fields(&request.rest, &[HARMLESS, &["exact"]].concat())?;
    let filter = filter::translate(request.filter.as_ref())?;
    let count = ops::handle(&state, &name).await?.count_where(filter.as_ref()).await?;
    Ok(Answer(CountResult { count }))
}
