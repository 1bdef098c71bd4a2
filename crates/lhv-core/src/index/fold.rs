//! Folding the exact rows of vectors kept on disk into a newer snapshot
//! file: once a snapshot is durable, the rows it holds are read in place
//! from it and the copies written since the older file leave memory.

use super::Index;
use crate::array::Array;

/// Where an index's slot numbers stand: [`Index::to_parts`] taken while
/// [`Index::slot_epoch`] was `SlotEpoch(n)` numbers slots as the index does
/// for as long as it still reports `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotEpoch(u64);

impl Index {
    /// The current numbering of slots; it changes when deleted slots are
    /// compacted away. Read it *before* [`to_parts`](Self::to_parts) to know
    /// later whether the parts' slots are still the index's.
    pub fn slot_epoch(&self) -> SlotEpoch {
        SlotEpoch(self.state.read().compactions)
    }

    /// Reads the exact rows of the on-disk dense vector `name` (`""`: the
    /// unnamed one) for its first `rows.len() / dim` slots from `rows` (a
    /// newer snapshot's, checked against its CRC by the caller) instead of
    /// memory, keeping in memory only the rows of the slots after them.
    /// Only if the slots are still numbered as at `epoch` and the vector is
    /// kept on disk with at least that many rows; returns whether it did.
    /// The values must be those already held (they are the same snapshot's).
    pub fn adopt_on_disk_rows(&self, epoch: SlotEpoch, name: &str, rows: Array<f32>) -> bool {
        let mut state = self.state.write();
        if state.compactions != epoch.0 {
            return false;
        }
        state.dense.iter_mut().find(|space| space.name == name).is_some_and(|space| space.adopt_full_rows(rows))
    }
}
