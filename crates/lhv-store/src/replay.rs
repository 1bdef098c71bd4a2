//! Applying a log object's records after a position: the one rule shared by
//! recovery, replicas following a writer, and a writer taking over.

use lhv_core::Index;
use lhv_format::{FieldIndexChange, LogContents, LogOp};

/// Applies the records of one log object after `last` (the last sequence
/// number applied), returning the new last one, or why the log cannot be
/// read on (a gap, naming the key). Records at or before `last` are skipped.
pub(crate) fn replay(index: &Index, mut last: u64, key: &str, contents: LogContents) -> Result<u64, String> {
    for record in contents.records {
        if record.sequence <= last {
            continue;
        }
        if record.sequence != last + 1 {
            return Err(format!("{key}: record {} follows {last}; records in between are missing", record.sequence));
        }
        // A write that fails here failed identically when it was first applied.
        let outcome = match record.op {
            LogOp::Upsert(items) => index.upsert(items).map(|_| ()),
            LogOp::Delete(ids) => {
                index.delete(&ids);
                Ok(())
            }
            LogOp::FieldIndex(change) => change_fields(index, change).map(|_| ()),
            LogOp::Batch(ops) => apply_batch(index, ops),
            LogOp::GraphParams(params) => index.set_build_params(params.m, params.ef_construction),
            // The writer's lease epoch: nothing to apply.
            LogOp::Epoch(_) => Ok(()),
        };
        if let Err(error) = outcome {
            tracing::warn!(%key, sequence = record.sequence, %error, "a logged write was rejected again");
        }
        last = record.sequence;
    }
    Ok(last)
}

/// Applies a batch's upserts and deletes in order. Every upsert is checked
/// before anything is applied, so a batch that was valid when logged is
/// applied whole (only a full index can still refuse an upsert).
pub(crate) fn apply_batch(index: &Index, ops: Vec<LogOp>) -> lhv_core::Result<()> {
    for op in &ops {
        if let LogOp::Upsert(items) = op {
            index.validate_upsert(items)?;
        }
    }
    for op in ops {
        match op {
            LogOp::Upsert(items) => {
                index.upsert(items)?;
            }
            LogOp::Delete(ids) => {
                index.delete(&ids);
            }
            // The format holds only upserts and deletes in a batch.
            LogOp::Epoch(_) | LogOp::FieldIndex(_) | LogOp::Batch(_) | LogOp::GraphParams(_) => {}
        }
    }
    Ok(())
}

/// Applies a field index change; whether the index it names existed before.
pub(crate) fn change_fields(index: &Index, change: FieldIndexChange) -> lhv_core::Result<bool> {
    match change {
        FieldIndexChange::Create(field) => {
            let existed = index.field_indexes().iter().any(|info| info.field.key == field.key);
            index.create_field_index(field).map(|()| existed)
        }
        FieldIndexChange::Drop(key) => Ok(index.drop_field_index(&key)),
    }
}

#[cfg(test)]
mod tests {
    use lhv_core::{IndexParams, Item, Metric, SearchOptions, Storage};
    use lhv_format::{LogContents, LogOp, LogRecord};

    use super::replay;

    fn item(id: &str, vector: Vec<f32>) -> Item {
        Item::new(id, vector)
    }

    /// A log written before float16 values were checked against float16's
    /// range may hold a batch whose values the index cannot store: replay
    /// refuses that batch (never loads an infinity) and goes on with the rest.
    #[test]
    fn a_logged_batch_the_storage_cannot_hold_is_not_loaded() {
        let index = lhv_core::Index::new(IndexParams::new(2, Metric::Cosine).with_storage(Storage::F16)).unwrap();
        let records = vec![
            LogRecord { sequence: 1, op: LogOp::Upsert(vec![item("a", vec![1.0, 0.0])]) },
            LogRecord {
                sequence: 2,
                op: LogOp::Upsert(vec![item("x", vec![70_000.0, 1.0]), item("b", vec![0.0, 1.0])]),
            },
            LogRecord { sequence: 3, op: LogOp::Upsert(vec![item("c", vec![1.0, 1.0])]) },
        ];
        let contents = LogContents { records, valid_len: 0, torn_tail: 0 };
        assert_eq!(replay(&index, 0, "log/1", contents), Ok(3));
        assert!(index.contains("a") && index.contains("c"));
        assert!(!index.contains("x") && !index.contains("b"), "a batch was loaded in part");
        let hits = index.search(&[1.0, 0.0], 5, &SearchOptions::default()).unwrap();
        assert!(hits.iter().all(|h| h.distance.is_finite()), "{hits:?}");
    }
}
