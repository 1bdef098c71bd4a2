//! Running a [`ShardOp`] on the shards held here: the same for a call from
//! another member and for the part of a request this member routes to itself.

use std::sync::Arc;

use lhv_store::DurableIndex;

use super::wire::{Overview, ShardOp, ShardReply};
use crate::error::ApiError;
use crate::ops;
use crate::state::AppState;

/// Runs `op` on `part` (shards held here, as one index).
pub(crate) async fn execute(state: &AppState, part: Arc<DurableIndex>, op: ShardOp) -> Result<ShardReply, ApiError> {
    Ok(match op {
        ShardOp::Describe => ShardReply::Described(Overview::of(&part)),
        ShardOp::Search { queries } => ShardReply::Hits(ops::search(part, queries).await?),
        ShardOp::SparseStatistics { using, vectors } => {
            let index = part.index();
            let counts = vectors.iter().map(|vector| index.sparse_statistics(&using, vector));
            ShardReply::Statistics(counts.collect::<lhv_core::Result<_>>()?)
        }
        ShardOp::Get { ids } => ShardReply::Records(ids.iter().map(|id| part.index().get(id)).collect()),
        ShardOp::Scroll { start, limit, filter } => {
            let part = Arc::clone(&part);
            let items = ops::blocking(move || {
                let index = part.index();
                let ids = index.ids_where(start.as_ref().map(String::as_str), limit, filter.as_ref())?;
                Ok::<_, lhv_core::Error>(ids.into_iter().filter_map(|id| index.get(&id).map(|r| (id, r))).collect())
            })
            .await??;
            ShardReply::Items(items)
        }
        ShardOp::Scan { scan } => {
            ShardReply::Scanned(ops::blocking(move || ops::scoring_scan(part.index(), &scan)).await??)
        }
        ShardOp::Ordered { order, limit, filter } => {
            let entries =
                ops::blocking(move || ops::ordered_in(part.index(), &order, limit, filter.as_ref())).await??;
            ShardReply::Entries(entries)
        }
        ShardOp::ValueCounts { key, filter } => {
            let counts = ops::blocking(move || ops::value_counts_in(part.index(), &key, filter.as_ref())).await??;
            ShardReply::ValueCounts(counts)
        }
        ShardOp::CountWhere { filter } => {
            ShardReply::Count(ops::blocking(move || part.index().count_where(filter.as_ref())).await??)
        }
        ShardOp::Upsert { items } => {
            let outcome = ops::upsert(state, &part, items).await?;
            ShardReply::Upserted(outcome, part.last_sequence().await)
        }
        ShardOp::Delete { ids } => {
            let deleted = ops::delete(state, &part, ids).await?;
            ShardReply::Deleted(deleted, part.last_sequence().await)
        }
        ShardOp::DeleteWhere { filter } => {
            let deleted = ops::delete_where(state, &part, &filter).await?;
            ShardReply::Deleted(deleted, part.last_sequence().await)
        }
        ShardOp::Batch { operations, check_only: true } => {
            ops::check_batch(&part, &operations)?;
            ShardReply::Checked
        }
        ShardOp::Batch { operations, check_only: false } => {
            ops::write_batch(state, &part, &operations).await?;
            ShardReply::Written(part.last_sequence().await)
        }
        ShardOp::SetBuildParams { m, ef_construction } => {
            ops::set_build_params(state, &part, m, ef_construction).await?;
            ShardReply::Written(part.last_sequence().await)
        }
        ShardOp::CreateFieldIndex { field } => ShardReply::Changed(ops::create_field_index(state, &part, field).await?),
        ShardOp::DropFieldIndex { key } => ShardReply::Changed(ops::drop_field_index(state, &part, &key).await?),
    })
}
