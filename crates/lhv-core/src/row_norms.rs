//! The squared norms of stored float32 rows, checked by whoever holds the
//! rows before the index is put together from them: loading a snapshot
//! checks each run of rows as soon as it has been read from the disk, while
//! the rest is still being read, instead of in one more pass at the end.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::params::Metric;
use crate::validate;

/// Squared norms of a run of stored float32 rows, each row checked as a
/// stored vector must be (finite, with a norm the metric can use), and where
/// in memory those rows were. [`Index::from_parts_with_norms`](crate::Index::from_parts_with_norms)
/// uses them for rows at exactly that place (rows shared from a buffer that
/// does not change, such as a mapped snapshot), and checks the rows itself
/// otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct RowNorms {
    /// The addresses of the rows checked.
    place: Range<usize>,
    dim: usize,
    metric: Metric,
    squared: Vec<f32>,
}

impl RowNorms {
    /// Checks `rows` (whole rows of `dim` components), the first of them
    /// slot `first_slot`, on the calling thread (loading checks runs of rows
    /// on several). The error is the first failing slot's.
    pub fn check(first_slot: usize, rows: &[f32], dim: usize, metric: Metric) -> Result<Self> {
        if dim == 0 || !rows.len().is_multiple_of(dim) {
            let reason = format!("{} components are not whole rows of dimension {dim}", rows.len());
            return Err(Error::InvalidParts { reason });
        }
        let squared = rows
            .chunks(dim)
            .enumerate()
            .map(|(i, row)| validate::query_norm(first_slot + i, row, dim, metric))
            .collect::<Result<Vec<f32>>>()
            .map_err(|e| Error::InvalidParts { reason: format!("stored vectors (items are slots): {e}") })?;
        Ok(Self { place: place_of(rows), dim, metric, squared })
    }

    /// Runs of rows that lie one after another in memory (in any order), as
    /// one; `None` if they do not, or were checked for another dimension or
    /// metric.
    pub fn join(runs: impl IntoIterator<Item = RowNorms>) -> Option<Self> {
        let mut runs: Vec<RowNorms> = runs.into_iter().collect();
        runs.sort_unstable_by_key(|run| run.place.start);
        let mut runs = runs.into_iter();
        let mut joined = runs.next()?;
        for run in runs {
            if run.place.start != joined.place.end || run.dim != joined.dim || run.metric != joined.metric {
                return None;
            }
            joined.place.end = run.place.end;
            joined.squared.extend(run.squared);
        }
        Some(joined)
    }

    /// The squared norms, if they were checked over exactly `rows`.
    pub(crate) fn of(self, rows: &[f32], dim: usize, metric: Metric) -> Option<Vec<f32>> {
        let matches = self.place == place_of(rows) && self.dim == dim && self.metric == metric;
        (matches && self.squared.len() * dim == rows.len()).then_some(self.squared)
    }
}

fn place_of(rows: &[f32]) -> Range<usize> {
    let start = rows.as_ptr() as usize;
    start..start + std::mem::size_of_val(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_joined_in_memory_order_give_every_row_once() {
        let rows: Vec<f32> = (0..12).map(|i| i as f32 + 1.0).collect();
        let (first, second) = rows.split_at(6);
        let second = RowNorms::check(2, second, 3, Metric::L2).unwrap();
        let first = RowNorms::check(0, first, 3, Metric::L2).unwrap();
        let joined = RowNorms::join([second, first]).unwrap();
        let expected: Vec<f32> = rows.chunks(3).map(|r| crate::distance::dot(r, r)).collect();
        assert_eq!(joined.clone().of(&rows, 3, Metric::L2), Some(expected));
        assert_eq!(joined.clone().of(&rows[3..], 3, Metric::L2), None, "other rows");
        assert_eq!(joined.of(&rows, 3, Metric::Dot), None, "another metric");
    }

    #[test]
    fn runs_apart_in_memory_do_not_join() {
        let rows = [1.0f32; 12];
        let a = RowNorms::check(0, &rows[..3], 3, Metric::L2).unwrap();
        let b = RowNorms::check(2, &rows[6..9], 3, Metric::L2).unwrap();
        assert_eq!(RowNorms::join([a, b]), None);
    }

    #[test]
    fn a_bad_row_is_reported_by_its_slot() {
        let rows = [1.0, 0.0, f32::NAN, 1.0];
        let error = RowNorms::check(40, &rows, 2, Metric::Cosine).unwrap_err().to_string();
        assert!(error.contains("41"), "{error}");
        let zero = RowNorms::check(7, &[0.0, 0.0], 2, Metric::Cosine).unwrap_err().to_string();
        assert!(zero.contains('7'), "{zero}");
    }
}
