//! Paging through an index in id order (`lhv_core::compare_ids`: integers, then other ids by byte).

use std::ops::Bound;

use lhv_core::{Filter, Record};
use lhv_store::DurableIndex;

use crate::error::ApiError;

/// One page of items.
#[derive(Debug)]
pub(crate) struct Page {
    /// The items, in id order.
    pub items: Vec<(String, Record)>,
    /// The id the next page starts with, if there is one.
    pub next: Option<String>,
}

/// Up to `limit` (1 to 10 000) items that pass `filter`, in id order from `start` on.
pub(crate) fn scroll(
    durable: &DurableIndex,
    start: Bound<&str>,
    limit: usize,
    filter: Option<&Filter>,
) -> Result<Page, ApiError> {
    check_scroll_limit(limit)?;
    let index = durable.index();
    let mut ids = index.ids_where(start, limit + 1, filter)?;
    let next = if ids.len() > limit { ids.pop() } else { None };
    // An item deleted since its id was listed is left out.
    let items = ids.into_iter().filter_map(|id| index.get(&id).map(|record| (id, record))).collect();
    Ok(Page { items, next })
}

/// Refuses a page size outside 1 to 10 000.
pub(crate) fn check_scroll_limit(limit: usize) -> Result<(), ApiError> {
    if limit == 0 || limit > lhv_core::MAX_SCROLL_LIMIT {
        let allowed = "an integer in 1..=10000";
        return Err(lhv_core::Error::InvalidParameter { name: "limit", value: limit.to_string(), allowed }.into());
    }
    Ok(())
}

/// [`scroll`] of an index wherever it is.
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
