//! The best `k` scores seen so far, ties at the `k`-th included.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A slot and its score, ordered so that `BinaryHeap` (a max-heap) keeps the
/// worst score on top.
#[derive(Debug, Clone, Copy)]
struct Worst(u32, f32);

impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        // total_cmp: no NaN can make the order inconsistent.
        other.1.total_cmp(&self.1).then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Worst {}

/// Keeps every offered slot whose score is at least the `k`-th best score
/// offered: `k` of them in a heap, and beside it those that tie with the
/// heap's worst (the caller breaks ties by id, which only it knows).
#[derive(Debug)]
pub(super) struct TopK {
    k: usize,
    heap: BinaryHeap<Worst>,
    /// Slots whose score equals the heap's worst score, not in the heap.
    ties: Vec<(u32, f32)>,
}

impl TopK {
    /// Room for the best `k`.
    pub(super) fn new(k: usize) -> Self {
        Self { k, heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1), ties: Vec::new() }
    }

    /// The `k`-th best score so far, once there are `k`: a slot scoring below
    /// it can no longer be a result, one scoring equal still is.
    pub(super) fn threshold(&self) -> Option<f32> {
        if self.heap.len() < self.k { None } else { self.heap.peek().map(|worst| worst.1) }
    }

    /// Offers a slot with its score.
    pub(super) fn offer(&mut self, slot: u32, score: f32) {
        if self.k == 0 {
            return;
        }
        let Some(threshold) = self.threshold() else {
            self.heap.push(Worst(slot, score));
            return;
        };
        match score.total_cmp(&threshold) {
            Ordering::Less => {}
            Ordering::Equal => self.ties.push((slot, score)),
            Ordering::Greater => {
                let Some(Worst(out_slot, out_score)) = self.heap.pop() else { return };
                self.heap.push(Worst(slot, score));
                match self.threshold() {
                    // The worst score rose: the ties were at the old one.
                    Some(new) if new.total_cmp(&out_score) == Ordering::Greater => self.ties.clear(),
                    _ => self.ties.push((out_slot, out_score)),
                }
            }
        }
    }

    /// Everything kept, best score first, equal scores by slot.
    pub(super) fn into_sorted(self) -> Vec<(u32, f32)> {
        let mut all: Vec<(u32, f32)> = self.heap.into_iter().map(|Worst(slot, score)| (slot, score)).collect();
        all.extend(self.ties);
        all.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `TopK` must keep: every score at least the k-th best.
    fn expected(offers: &[(u32, f32)], k: usize) -> Vec<(u32, f32)> {
        let mut all = offers.to_vec();
        all.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if let Some(&(_, kth)) = all.get(k.wrapping_sub(1)) {
            all.retain(|&(_, score)| score >= kth);
        }
        if k == 0 {
            all.clear();
        }
        all
    }

    #[test]
    fn ties_at_the_kth_score_are_all_kept() {
        let scores = [3.0, 1.0, 2.0, 2.0, 5.0, 2.0, 1.0, 3.0, 2.0, 0.0, 5.0, 4.0];
        for k in 0..=scores.len() + 1 {
            for rotation in 0..scores.len() {
                let offers: Vec<(u32, f32)> =
                    (0..scores.len()).map(|i| (i as u32, scores[(i + rotation) % scores.len()])).collect();
                let mut top = TopK::new(k);
                for &(slot, score) in &offers {
                    top.offer(slot, score);
                }
                assert_eq!(top.into_sorted(), expected(&offers, k), "k {k}, rotation {rotation}");
            }
        }
    }
}
