//! Items in the order of a metadata value (Qdrant's scroll `order_by`): each
//! item once per distinct value it holds at the key, by value, then by id.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Index;
use crate::error::Result;
use crate::filter::{Datetime, FieldKey, Filter};
use crate::sharded::ShardedIndex;

/// Which values of the key count, and how they compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderKind {
    /// JSON integers (those that fit an `i64`).
    Integer,
    /// Any JSON number.
    Float,
    /// Strings that are datetimes ([`Datetime::parse`]), as microseconds since the epoch.
    Datetime,
}

/// A value items are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum OrderValue {
    /// An integer (datetimes are microseconds since the epoch).
    Int(i64),
    /// Any other number.
    Float(f64),
}

impl OrderValue {
    fn compare(self, other: Self) -> Ordering {
        match (self, other) {
            (OrderValue::Int(a), OrderValue::Int(b)) => a.cmp(&b),
            _ => self.as_f64().total_cmp(&other.as_f64()),
        }
    }

    /// The value as a float (integers beyond 2^53 rounded).
    pub fn as_f64(self) -> f64 {
        match self {
            OrderValue::Int(i) => i as f64,
            OrderValue::Float(f) => f,
        }
    }
}

/// An order: the key, which of its values count, the direction, and where to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderBy {
    /// The key (a Qdrant path).
    pub key: FieldKey,
    /// Which values count.
    pub kind: OrderKind,
    /// Largest first.
    pub descending: bool,
    /// Only values at least this (ascending) or at most this (descending).
    pub start_from: Option<OrderValue>,
}

impl OrderBy {
    /// The distinct values of `metadata` at the key that count and are not before `start_from`.
    fn values_of(&self, metadata: &Value) -> Vec<OrderValue> {
        let mut values: Vec<OrderValue> = Vec::new();
        for value in self.key.values(metadata, true) {
            let read = match (self.kind, value) {
                (OrderKind::Integer, Value::Number(n)) => n.as_i64().map(OrderValue::Int),
                (OrderKind::Float, Value::Number(n)) => {
                    n.as_i64().map(OrderValue::Int).or_else(|| n.as_f64().map(OrderValue::Float))
                }
                (OrderKind::Datetime, Value::String(s)) => Datetime::parse(s).map(|d| OrderValue::Int(d.micros)),
                _ => None,
            };
            let Some(read) = read else { continue };
            let started = self.start_from.is_none_or(|start| match read.compare(start) {
                Ordering::Less => self.descending,
                Ordering::Greater => !self.descending,
                Ordering::Equal => true,
            });
            if started && !values.iter().any(|v| v.compare(read) == Ordering::Equal) {
                values.push(read);
            }
        }
        values
    }

    /// The first `limit` of `entries` (an item and one of its values, say
    /// from several indexes' [`Index::ordered`]) in this order.
    pub fn first(&self, entries: Vec<(String, OrderValue)>, limit: usize) -> Vec<(String, OrderValue)> {
        first(self, entries, limit)
    }

    /// The order of two entries: by value in the direction, then by id ascending.
    fn compare(&self, a: &(String, OrderValue), b: &(String, OrderValue)) -> Ordering {
        let by_value = a.1.compare(b.1);
        let by_value = if self.descending { by_value.reverse() } else { by_value };
        by_value.then_with(|| crate::compare_ids(&a.0, &b.0))
    }
}

impl Index {
    /// The first `limit` entries (an item and one of its values) in `order`,
    /// of the live items that pass `filter`. Reads every passing item's
    /// metadata: its cost grows with the index.
    pub fn ordered(&self, order: &OrderBy, limit: usize, filter: Option<&Filter>) -> Result<Vec<(String, OrderValue)>> {
        if let Some(filter) = filter {
            filter.validate()?;
        }
        let state = self.state.read();
        let mut entries = Vec::new();
        for (id, &slot) in &state.slot_of {
            let Some(metadata) = state.metadata[slot as usize].as_deref() else { continue };
            if filter.is_some_and(|f| !state.passes_as(f, &id.0, slot)) {
                continue;
            }
            entries.extend(order.values_of(metadata).into_iter().map(|value| (id.0.to_string(), value)));
        }
        Ok(first(order, entries, limit))
    }
}

impl ShardedIndex {
    /// [`Index::ordered`] over every shard.
    pub fn ordered(&self, order: &OrderBy, limit: usize, filter: Option<&Filter>) -> Result<Vec<(String, OrderValue)>> {
        let mut entries = Vec::new();
        for shard in self.shards() {
            entries.extend(shard.ordered(order, limit, filter)?);
        }
        Ok(first(order, entries, limit))
    }
}

/// The first `limit` of `entries` in `order`.
fn first(order: &OrderBy, mut entries: Vec<(String, OrderValue)>, limit: usize) -> Vec<(String, OrderValue)> {
    entries.sort_unstable_by(|a, b| order.compare(a, b));
    entries.truncate(limit);
    entries
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{IndexParams, Item, Metric};

    #[test]
    fn entries_come_by_value_then_id_once_per_distinct_value() {
        let index = Index::new(IndexParams::new(1, Metric::L2)).unwrap();
        let payloads = [
            json!({"n": 3}),
            json!({"n": [1, 5, 5]}),
            json!({"n": 2.5}),
            json!({}),
            json!({"n": "x"}),
            json!({"n": 3}),
        ];
        let items = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| Item {
                id: i.to_string(),
                vector: vec![1.0],
                metadata: Some(p.clone()),
                ..Default::default()
            })
            .collect();
        index.upsert(items).unwrap();
        let order =
            |kind, descending, start_from| OrderBy { key: FieldKey::parse("n").unwrap(), kind, descending, start_from };
        let ids = |entries: Vec<(String, OrderValue)>| {
            entries.into_iter().map(|(id, v)| (id, v.as_f64())).collect::<Vec<_>>()
        };
        let s = |id: &str, v: f64| (id.to_owned(), v);
        assert_eq!(
            ids(index.ordered(&order(OrderKind::Float, false, None), 10, None).unwrap()),
            [s("1", 1.0), s("2", 2.5), s("0", 3.0), s("5", 3.0), s("1", 5.0)]
        );
        assert_eq!(
            ids(index.ordered(&order(OrderKind::Integer, true, Some(OrderValue::Int(3))), 10, None).unwrap()),
            [s("0", 3.0), s("5", 3.0), s("1", 1.0)]
        );
        assert_eq!(
            ids(index.ordered(&order(OrderKind::Float, false, None), 2, None).unwrap()),
            [s("1", 1.0), s("2", 2.5)]
        );
        assert!(index.ordered(&order(OrderKind::Datetime, false, None), 10, None).unwrap().is_empty());
    }
}
