//! Applying a log object's records after a position: the one rule shared by
//! recovery, replicas following a writer, and a writer taking over.

use lhv_core::Index;
use lhv_format::{LogContents, LogOp};

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
