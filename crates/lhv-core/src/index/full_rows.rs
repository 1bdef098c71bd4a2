//! The full-precision rows of a dense vector of float32 storage, or kept on
//! disk ([`VectorParams::keeps_exact_rows`](crate::VectorParams::keeps_exact_rows)).
//!
//! The graph walk reads compact codes held in memory (8-bit codes for float32
//! storage: a quarter of the bytes per distance, and the walk is bound by
//! memory); these float32 rows are read only to rescore a search's
//! candidates exactly and to return an item's vector. Loaded from a snapshot, they are read in place from the
//! mapped file ([`Array`]'s shared part), so memory holds only the rows
//! written since; the kernel brings a row's page in when a search reads it
//! and may drop it again.

use rayon::prelude::*;

use crate::array::Array;
use crate::params::Metric;
use crate::vectors::Query;

/// One float32 row per slot, with its `1/|v|` for cosine.
#[derive(Debug, Clone)]
pub(super) struct FullRows {
    dim: usize,
    metric: Metric,
    rows: Array<f32>,
    /// Per slot: `1/|v|` of the exact row (1 for other metrics).
    inverse_norms: Vec<f32>,
}

impl FullRows {
    pub(super) fn new(dim: usize, metric: Metric) -> Self {
        Self { dim, metric, rows: Array::default(), inverse_norms: Vec::new() }
    }

    /// Rows already checked to be `slots × dim` finite values; their norms
    /// are computed here (on every core: this reads the whole file once).
    pub(super) fn from_rows(dim: usize, metric: Metric, rows: Array<f32>) -> Self {
        let slots = rows.len() / dim.max(1);
        let inverse_norms =
            (0..slots).into_par_iter().map(|slot| metric.inverse_norm(&rows[slot * dim..(slot + 1) * dim])).collect();
        Self { dim, metric, rows, inverse_norms }
    }

    pub(super) fn push(&mut self, row: &[f32]) {
        self.rows.extend_from_slice(row);
        self.inverse_norms.push(self.metric.inverse_norm(row));
    }

    pub(super) fn row(&self, slot: u32) -> &[f32] {
        let start = slot as usize * self.dim;
        &self.rows[start..start + self.dim]
    }

    /// Starts loading slot `slot`'s row (a hint: never faults).
    #[inline]
    pub(super) fn prefetch(&self, slot: u32) {
        crate::prefetch::prefetch(self.row(slot));
    }

    /// The exact ordering distance between the query and slot `slot`'s row.
    pub(super) fn distance(&self, query: &Query<'_>, slot: u32) -> f32 {
        let inverse = self.inverse_norms[slot as usize];
        self.metric.ordering_distance(query.vector, query.inverse_norm, self.row(slot), inverse)
    }

    /// Only the slots listed in `kept`, in that order (owned: compaction
    /// rewrites every row).
    pub(super) fn retain_slots(&self, kept: &[u32]) -> Self {
        let rows: Array<f32> = kept.iter().flat_map(|&slot| self.row(slot).iter().copied()).collect();
        let inverse_norms = kept.iter().map(|&slot| self.inverse_norms[slot as usize]).collect();
        Self { dim: self.dim, metric: self.metric, rows, inverse_norms }
    }

    /// Reads the first `rows.len() / dim` rows from `rows` (a whole number of
    /// rows, no more than are held, and owned in `rows`' place: a newer file's
    /// copy of them), keeping the later ones owned. Returns whether it did.
    pub(super) fn adopt(&mut self, rows: Array<f32>) -> bool {
        let (adopted, held) = (rows.len(), self.rows.len());
        // Never fewer rows than the file read now holds: the rows after them are owned.
        let whole = adopted.is_multiple_of(self.dim.max(1));
        if rows.shared_len() != adopted || !whole || adopted > held || adopted < self.rows.shared_len() {
            return false;
        }
        let mut folded = rows;
        folded.extend_from_slice(&self.rows[adopted..held]);
        self.rows = folded;
        true
    }

    pub(super) fn reserve(&mut self, rows: usize) {
        self.rows.reserve_exact(rows * self.dim);
        self.inverse_norms.reserve_exact(rows);
    }

    /// The rows as parts (the shared part shared, not copied).
    pub(super) fn rows(&self) -> &Array<f32> {
        &self.rows
    }

    /// Bytes held in memory: the rows written since the file, and the norms.
    pub(super) fn memory_bytes(&self) -> usize {
        self.rows.owned_bytes() + self.inverse_norms.capacity() * size_of::<f32>()
    }

    /// Bytes of rows read from the file.
    pub(super) fn disk_bytes(&self) -> usize {
        self.rows.shared_bytes()
    }
}
