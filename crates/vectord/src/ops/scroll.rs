//! Paging through an index in id order (`lhv_core::compare_ids`: integers, then other ids by byte).

use std::ops::Bound;

use lhv_core::{Filter, Record};

use crate::error::ApiError;

/// One page of items.
#[derive(Debug)]
pub(crate) struct Page {
    /// The items, in id order.
    pub items: Vec<(String, Record)>,
    /// The id the next page starts with, if there is one.
    pub next: Option<String>,
}

/// Refuses a page size outside 1 to 10 000.
pub(crate) fn check_scroll_limit(limit: usize) -> Result<(), ApiError> {
    if limit == 0 || limit > lhv_core::MAX_SCROLL_LIMIT {
        let allowed = "an integer in 1..=10000";
        return Err(lhv_core::Error::InvalidParameter { name: "limit", value: limit.to_string(), allowed }.into());
    }
    Ok(())
}

/// Up to `limit` (1 to 10 000) items that pass `filter`, in id order from
/// `start` on, of an index wherever it is.
pub(crate) async fn scroll_page(
    handle: &mut super::IndexHandle,
    start: Bound<&str>,
    limit: usize,
    filter: Option<&Filter>,
) -> Result<Page, ApiError> {
    check_scroll_limit(limit)?;
    let mut items = handle.scroll(start, limit + 1, filter).await?;
    let next = if items.len() > limit { items.pop().map(|(id, _)| id) } else { None };
    Ok(Page { items, next })
}
