//! Loading one index: its snapshot, then the log records after it.

use lhv_core::Index;
use lhv_format::{LogOp, decode_log, decode_snapshot};

use crate::error::Result;
use crate::layout::{log_key, snapshot_key};
use crate::shard::{CommitState, LogObject};
use crate::store::Store;

/// A loaded index, or why it cannot be served.
pub(crate) type Loaded = std::result::Result<(Index, CommitState, Vec<String>), String>;

/// Loads index `name` from its snapshot and the log objects starting at
/// `log_firsts` (sorted). `Err` is a storage failure; `Ok(Err(reason))` is a
/// damaged or inconsistent object, which is left as it is. On success, also
/// returns the keys of log objects the snapshot already covers (to remove).
pub(crate) async fn load(store: &dyn Store, name: &str, log_firsts: &[u64]) -> Result<Loaded> {
    let key = snapshot_key(name);
    let Some(bytes) = store.get(&key).await? else {
        return Ok(Err(format!("{key} disappeared while loading")));
    };
    let snapshot = match decode_snapshot(&bytes) {
        Ok(snapshot) => snapshot,
        Err(e) => return Ok(Err(format!("{key}: {e}"))),
    };
    let index = snapshot.index;
    let mut last = snapshot.last_lsn;
    let mut log = Vec::new();
    let mut covered = Vec::new();
    for &first in log_firsts {
        let key = log_key(name, first);
        let Some(bytes) = store.get(&key).await? else {
            return Ok(Err(format!("{key} disappeared while loading")));
        };
        let contents = match decode_log(&bytes) {
            Ok(contents) => contents,
            Err(e) => return Ok(Err(format!("{key}: {e}"))),
        };
        if contents.torn_tail > 0 {
            // Never acknowledged: the write that was cut short did not return.
            tracing::warn!(%key, bytes = contents.torn_tail, "ignoring a torn tail");
        }
        let Some(last_in_object) = contents.records.last().map(|r| r.sequence) else {
            covered.push(key);
            continue;
        };
        if last_in_object <= snapshot.last_lsn {
            covered.push(key);
            continue;
        }
        for record in contents.records {
            if record.sequence <= last {
                continue;
            }
            if record.sequence != last + 1 {
                return Ok(Err(format!(
                    "{key}: record {} follows {last}; records in between are missing",
                    record.sequence
                )));
            }
            // A write that fails here failed identically when it was first applied.
            let outcome = match record.op {
                LogOp::Upsert(items) => index.upsert(items).map(|_| ()),
                LogOp::Delete(ids) => {
                    index.delete(&ids);
                    Ok(())
                }
            };
            if let Err(error) = outcome {
                tracing::warn!(%key, sequence = record.sequence, %error, "a logged write was rejected again");
            }
            last = record.sequence;
        }
        log.push(LogObject { key, last_sequence: last_in_object, bytes: bytes.len() as u64 });
    }
    Ok(Ok((index, CommitState { next_sequence: last + 1, log }, covered)))
}
