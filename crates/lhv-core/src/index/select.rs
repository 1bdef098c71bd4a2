//! Listing and counting the items that pass a [`Filter`], in id order: what
//! scrolling, counting and deleting by filter need (Qdrant's `scroll`,
//! `count` and `delete` with a filter).

use std::ops::Bound;

use super::Index;
use crate::error::Result;
use crate::filter::Filter;
use crate::filter::field_index::Narrowed;
use crate::id_order::IdStr;

impl Index {
    /// Up to `limit` ids that pass `filter` (every id if `None`), in ascending
    /// id order ([`compare_ids`](crate::compare_ids)), from `start` on.
    ///
    /// ```
    /// use std::ops::Bound;
    /// use lhv_core::{Filter, Index, IndexParams, Item, Metric};
    ///
    /// let index = Index::new(IndexParams::new(2, Metric::L2))?;
    /// let item = |id: &str, tag: &str| Item {
    ///     id: id.into(), vector: vec![1.0, 0.0], metadata: Some(serde_json::json!({ "tag": tag })),
    ///     ..Item::default()
    /// };
    /// index.upsert(vec![item("a", "x"), item("b", "y"), item("c", "x")])?;
    /// let x: Filter = serde_json::from_value(serde_json::json!({"must": [{"key": "tag", "match": {"value": "x"}}]})).unwrap();
    /// assert_eq!(index.ids_where(Bound::Included("b"), 10, Some(&x))?, ["c"]);
    /// assert_eq!(index.count_where(Some(&x))?, 2);
    /// # Ok::<(), lhv_core::Error>(())
    /// ```
    pub fn ids_where(&self, start: Bound<&str>, limit: usize, filter: Option<&Filter>) -> Result<Vec<String>> {
        if let Some(filter) = filter {
            filter.validate()?;
        }
        let state = self.state.read();
        let range = state.slot_of.range::<IdStr, _>((start.map(IdStr::new), Bound::Unbounded));
        let passing = range.filter(|&(id, &slot)| filter.is_none_or(|f| state.passes_as(f, &id.0, slot)));
        Ok(passing.take(limit).map(|(id, _)| id.0.to_string()).collect())
    }

    /// How many live items pass `filter` (all of them if `None`). Counted
    /// from the field indexes when they answer the filter exactly.
    pub fn count_where(&self, filter: Option<&Filter>) -> Result<usize> {
        let Some(filter) = filter.filter(|f| !f.is_empty()) else {
            return Ok(self.len());
        };
        filter.validate()?;
        let state = self.state.read();
        let slot_of = |id: &str| state.slot_of.get(IdStr::new(id)).copied();
        Ok(match state.fields.narrow(filter, &slot_of, usize::MAX) {
            Narrowed::Slots { slots, exact: true } => slots.len(),
            Narrowed::Slots { slots, exact: false } => slots.into_iter().filter(|&s| state.passes(filter, s)).count(),
            Narrowed::TooMany | Narrowed::Unknown => {
                state.slot_of.iter().filter(|&(id, &slot)| state.passes_as(filter, &id.0, slot)).count()
            }
        })
    }
}
