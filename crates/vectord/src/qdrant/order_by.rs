//! Scroll's `order_by`: points listed by a payload value of a key with an
//! integer, float or datetime payload index (as Qdrant requires), once per
//! distinct value, by value then id, from `start_from` on; no next page.

use lhv_core::{FieldKey, FieldSchema, IndexedField, OrderBy, OrderKind, OrderValue};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

use super::answers::ScoredPoint;
use super::refuse::unknown_fields;
use super::search::Plan;
use super::shown::{payload, record};
use crate::error::ApiError;
use crate::ops::IndexHandle;

/// `order_by`: a key, or `{key, direction, start_from}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum OrderByRequest {
    Key(String),
    Full {
        key: String,
        direction: Option<String>,
        start_from: Option<Value>,
        #[serde(flatten)]
        rest: Map<String, Value>,
    },
}

impl OrderByRequest {
    /// The order, checked against the payload indexes of `index`.
    pub(crate) fn order(self, field_indexes: &[(IndexedField, usize)]) -> Result<OrderBy, ApiError> {
        let (key, direction, start_from) = match self {
            OrderByRequest::Key(key) => (key, None, None),
            OrderByRequest::Full { key, direction, start_from, rest } => {
                unknown_fields(&rest, &[])?;
                (key, direction, start_from)
            }
        };
        let schema = field_indexes.iter().find(|(field, _)| field.key == key).map(|(field, _)| field.schema);
        let kind = match schema {
            Some(FieldSchema::Integer) => OrderKind::Integer,
            Some(FieldSchema::Float) => OrderKind::Float,
            Some(FieldSchema::Datetime) => OrderKind::Datetime,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "No range index for `order_by` key: `{key}`. Please create one to use `order_by`. \
                     Check https://qdrant.tech/documentation/concepts/indexing/#payload-index to see \
                     which payload schemas support Range conditions"
                )));
            }
        };
        let descending = match direction.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => return Err(ApiError::bad_request(format!("`direction` {other:?}: `asc` or `desc`"))),
        };
        let start_from = match start_from.filter(|s| !s.is_null()) {
            None => None,
            Some(Value::Number(n)) => {
                Some(n.as_i64().map_or(OrderValue::Float(n.as_f64().unwrap_or(f64::NAN)), OrderValue::Int))
            }
            Some(Value::String(s)) => match lhv_core::filter::Datetime::parse(&s) {
                Some(datetime) => Some(OrderValue::Int(datetime.micros)),
                None => return Err(ApiError::bad_request(format!("`start_from` {s:?} is not a datetime"))),
            },
            Some(other) => return Err(ApiError::bad_request(format!("`start_from` {other}: a number or a datetime"))),
        };
        let key = FieldKey::parse(&key).map_err(|e| ApiError::bad_request(format!("`order_by` key: {e}")))?;
        Ok(OrderBy { key, kind, descending, start_from })
    }
}

/// An order value as Qdrant shows it.
pub(crate) fn shown(value: OrderValue) -> Value {
    match value {
        OrderValue::Int(i) => Value::from(i),
        OrderValue::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
    }
}

/// Whether a query-API `query` is `{"order_by": ...}`: the order if so.
pub(super) fn query_order(query: Option<&Value>) -> Option<Result<OrderByRequest, ApiError>> {
    let Value::Object(object) = query? else { return None };
    let order = object.get("order_by")?;
    if object.len() != 1 {
        return Some(Err(ApiError::bad_request("an order_by query has only `order_by`")));
    }
    Some(serde_json::from_value(order.clone()).map_err(|e| ApiError::bad_request(format!("order_by: {e}"))))
}

/// The points of an order-by query: the plan's page of the order, each with
/// its `order_value` and Qdrant's constant score 1 (a scroll has no scores).
pub(super) async fn ordered_points(
    handle: &mut IndexHandle,
    order: OrderByRequest,
    plan: &Plan,
) -> Result<Vec<ScoredPoint>, ApiError> {
    let order = order.order(&handle.describe(false).await?.field_indexes)?;
    let wanted =
        plan.limit.checked_add(plan.offset).ok_or_else(|| ApiError::bad_request("`limit` + `offset` is too large"))?;
    let entries = handle.ordered(&order, wanted, plan.filter.as_ref()).await?;
    let params = handle.params();
    let shown_vectors = plan.shown_vectors(&params)?;
    Ok(entries
        .into_iter()
        .skip(plan.offset)
        .map(|(id, value, stored)| {
            let vector = shown_vectors.show(&params, &stored);
            let mut point = record(&id, payload(&plan.with_payload, stored.metadata.as_ref()), vector);
            point.order_value = Some(shown(value));
            ScoredPoint { point, version: 0, score: 1.0 }
        })
        .collect())
}
