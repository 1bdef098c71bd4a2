//! Exact top-k sparse search: MaxScore over the query's posting lists.
//!
//! The query's dimensions are terms, each with a posting list and an upper
//! bound on what it can add to a score. Sorted by bound, the cheapest terms
//! whose bounds together stay below the current `k`-th best score are
//! "non-essential": an item found only in their lists cannot reach the top
//! `k`, so only the other ("essential") lists are walked, in slot order, one
//! candidate at a time. A candidate's bound is tightened by looking it up in
//! the non-essential lists (largest bound first) until it falls below the
//! threshold or every list was seen. Survivors are scored against their
//! stored vectors with [`SparseVector::dot`]'s own loop, so a reported
//! score is that function's result bit for bit, whatever order the lists
//! were walked in. Finding the next candidate looks at every essential list:
//! cheap for queries of tens of terms, as sparse encoders emit.
//!
//! Rounding: `f32` scores are not the exact sums the bounds reason about. The
//! bounds are kept in `f64` (the products of two `f32` are exact there) and
//! raised by `(terms + 2) · ε_f32 · Σ|q·w|max`, more than the error of any
//! `f32` dot product over those terms, so that a bound is never below the
//! score computed. A candidate is dropped only when its bound is strictly
//! below the `k`-th best score: ties with it are kept, as the caller breaks
//! them by id.

use crate::sparse::postings::Cursor;
use crate::sparse::space::SparseSpace;
use crate::sparse::topk::TopK;
use crate::sparse::vector::SparseVector;

/// One query dimension with its posting list.
struct Term<'a> {
    cursor: Cursor<'a>,
    /// The query weight.
    q: f64,
    /// The most it can add to a score.
    bound: f64,
}

impl Term<'_> {
    /// What it adds to the score of the slot at the cursor.
    fn contribution(&self) -> f64 {
        self.q * f64::from(self.cursor.weight())
    }
}

impl SparseSpace {
    /// The slots whose vectors score best against `query` by dot product:
    /// best first, with every slot whose score ties with the `k`-th best (so
    /// possibly more than `k`; equal scores by slot). Only slots that hold at
    /// least one index of the query are candidates, and only those for which
    /// `allowed` is true (the caller folds liveness and filters into it;
    /// buried slots are skipped anyway).
    ///
    /// `query` must be normalized and already weighted
    /// ([`weighted_query`](Self::weighted_query)). Every score equals
    /// `query.dot(stored)` bit for bit. Walks the query's posting lists,
    /// skipping what MaxScore proves cannot make the top `k`; when a filter
    /// lets only a few listed slots through, [`scan`](Self::scan) them instead.
    pub(crate) fn search(&self, query: &SparseVector, k: usize, allowed: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
        debug_assert!(query.indices.is_sorted(), "the query must be normalized");
        if k == 0 {
            return Vec::new();
        }
        let mut top = TopK::new(k);
        let mut terms = Vec::with_capacity(query.len());
        let mut magnitude = 0.0;
        for (&index, &q) in query.indices.iter().zip(&query.values) {
            if let Some(list) = self.postings(index) {
                terms.push(Term { cursor: Cursor::new(list), q: f64::from(q), bound: list.bound(q) });
                magnitude += list.magnitude(q);
            }
        }
        terms.sort_by(|a, b| a.bound.total_cmp(&b.bound));
        let slack = (terms.len() as f64 + 2.0) * f64::from(f32::EPSILON) * magnitude;
        // below[i]: the most terms[..i] add together, plus the slack.
        let mut below = Vec::with_capacity(terms.len() + 1);
        let mut sum = slack;
        below.push(sum);
        for term in &terms {
            sum += term.bound;
            below.push(sum);
        }
        // terms[..essential] are non-essential.
        let mut essential = 0;
        while let Some(slot) = terms[essential..].iter().filter_map(|term| term.cursor.slot()).min() {
            let mut bound = below[essential];
            for term in &mut terms[essential..] {
                if term.cursor.slot() == Some(slot) {
                    bound += term.contribution();
                    term.cursor.advance();
                }
            }
            let Some(stored) = self.get(slot) else { continue }; // buried
            if let Some(threshold) = top.threshold().map(f64::from) {
                for term in terms[..essential].iter_mut().rev() {
                    if bound < threshold {
                        break;
                    }
                    term.cursor.seek(slot);
                    bound -= term.bound;
                    if term.cursor.slot() == Some(slot) {
                        bound += term.contribution();
                    }
                }
                if bound < threshold {
                    continue;
                }
            }
            if !allowed(slot) {
                continue;
            }
            // It holds the index of an essential list, so it overlaps the query.
            let Some(score) = query.overlap_dot(stored) else { continue };
            top.offer(slot, score);
            if let Some(threshold) = top.threshold().map(f64::from) {
                while essential < terms.len() && below[essential + 1] < threshold {
                    essential += 1;
                }
            }
        }
        top.into_sorted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sparse::params::SparseParams;

    fn sparse(indices: &[u32], values: &[f32]) -> SparseVector {
        SparseVector::new(indices.to_vec(), values.to_vec())
    }

    #[test]
    fn a_score_rounded_up_to_the_threshold_still_ties() {
        // q·a = 1 + 2⁻²⁴ - 2⁻⁴⁷ rounds down to 1; q·b = 1 - 2⁻⁴⁶ rounds up to 1:
        // both score exactly 1.0, though b's exact product is below a's f32 score.
        let q = 1.0 + f32::EPSILON;
        let (a, b) = (1.0 - f32::EPSILON / 2.0, 1.0 - f32::EPSILON);
        let mut space = SparseSpace::new(SparseParams::default());
        space.push(Some(sparse(&[3], &[a])));
        space.push(Some(sparse(&[3], &[b])));
        assert!(f64::from(q) * f64::from(b) < 1.0);
        let query = sparse(&[3], &[q]);
        assert_eq!(space.search(&query, 1, |_| true), [(0, 1.0), (1, 1.0)]);
    }

    #[test]
    fn negative_weights_and_items_without_overlap() {
        let mut space = SparseSpace::new(SparseParams::default());
        space.push(Some(sparse(&[1, 2], &[-1.0, -2.0])));
        space.push(Some(sparse(&[2], &[-1.0])));
        space.push(Some(sparse(&[5], &[10.0])));
        space.push(Some(sparse(&[], &[])));
        space.push(None);
        // Every overlapping item comes back, however negative, and nothing else.
        let query = sparse(&[1, 2], &[1.0, 1.0]);
        assert_eq!(space.search(&query, 10, |_| true), [(1, -1.0), (0, -3.0)]);
        assert_eq!(space.search(&query, 1, |_| true), [(1, -1.0)]);
        assert_eq!(space.search(&query, 1, |slot| slot != 1), [(0, -3.0)]);
        assert_eq!(space.search(&sparse(&[2], &[-1.0]), 1, |_| true), [(0, 2.0)]);
        assert_eq!(space.search(&query, 0, |_| true), []);
        assert_eq!(space.search(&sparse(&[], &[]), 3, |_| true), []);
        assert_eq!(space.search(&sparse(&[7], &[1.0]), 3, |_| true), []);
        assert_eq!(space.scan(&query, 10, 0..9), [(1, -1.0), (0, -3.0)]);
    }
}
