//! The posting list of one dimension: the slots whose vectors hold it, with
//! their weights, in slot order, and bounds of those weights.

/// The slots holding one dimension, ascending, with their weights.
///
/// Slots are only ever appended in increasing order (a new or changed item
/// gets a fresh, larger slot), so the list stays sorted without sorting.
/// Buried slots stay in the list until compaction; searches skip them.
#[derive(Debug, Clone, Default)]
pub(super) struct PostingList {
    slots: Vec<u32>,
    weights: Vec<f32>,
    /// The smallest and largest weight of the list (buried slots' included:
    /// still bounds, if looser ones), what a search bounds a term's
    /// contribution with.
    min: f32,
    max: f32,
    /// Live slots of the list: the dimension's document frequency.
    live: u64,
}

impl PostingList {
    /// Appends a live slot, larger than every slot already in the list.
    pub(super) fn push(&mut self, slot: u32, weight: f32) {
        debug_assert!(self.slots.last().is_none_or(|&last| last < slot), "postings appended out of slot order");
        if self.slots.is_empty() {
            (self.min, self.max) = (weight, weight);
        } else {
            self.min = self.min.min(weight);
            self.max = self.max.max(weight);
        }
        self.slots.push(slot);
        self.weights.push(weight);
        self.live += 1;
    }

    /// One slot of the list was buried.
    pub(super) fn bury_one(&mut self) {
        self.live = self.live.saturating_sub(1);
    }

    /// Live slots holding the dimension.
    pub(super) fn live(&self) -> u64 {
        self.live
    }

    /// Whether no slot at all (live or buried) is left.
    pub(super) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The list with its slots renumbered by `renumber` (which must keep
    /// their order), those it maps to `None` left out, and the bounds of
    /// what is left. Every posting kept counts as live.
    pub(super) fn renumbered(&self, renumber: impl Fn(u32) -> Option<u32>) -> PostingList {
        let mut list = PostingList::default();
        for (&slot, &weight) in self.slots.iter().zip(&self.weights) {
            if let Some(new) = renumber(slot) {
                list.push(new, weight);
            }
        }
        list.slots.shrink_to_fit();
        list.weights.shrink_to_fit();
        list
    }

    /// The most a query weight `q` times a weight of this list can add to a
    /// score: the product is largest at one end of the weights, and an item
    /// without this dimension adds 0. In `f64`, where the product is exact.
    pub(super) fn bound(&self, q: f32) -> f64 {
        let q = f64::from(q);
        (q * f64::from(self.max)).max(q * f64::from(self.min)).max(0.0)
    }

    /// The largest magnitude `q` times a weight of this list can have.
    pub(super) fn magnitude(&self, q: f32) -> f64 {
        f64::from(q).abs() * f64::from(self.max.abs().max(self.min.abs()))
    }

    /// Bytes held on the heap.
    pub(super) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * size_of::<u32>() + self.weights.capacity() * size_of::<f32>()
    }

    #[cfg(test)]
    /// The postings in slot order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.slots.iter().copied().zip(self.weights.iter().copied())
    }
}

/// A position in a posting list that only moves forward.
#[derive(Debug, Clone)]
pub(super) struct Cursor<'a> {
    list: &'a PostingList,
    position: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the list's first posting.
    pub(super) fn new(list: &'a PostingList) -> Self {
        Self { list, position: 0 }
    }

    /// The slot at the cursor; `None` past the end.
    pub(super) fn slot(&self) -> Option<u32> {
        self.list.slots.get(self.position).copied()
    }

    /// The weight at the cursor (0 past the end).
    pub(super) fn weight(&self) -> f32 {
        self.list.weights.get(self.position).copied().unwrap_or(0.0)
    }

    /// Moves to the next posting.
    pub(super) fn advance(&mut self) {
        self.position = (self.position + 1).min(self.list.slots.len());
    }

    /// Moves to the first posting at or after `target`: a galloping search,
    /// so that a long list skipped far costs a logarithm, a short step a few
    /// comparisons.
    pub(super) fn seek(&mut self, target: u32) {
        let rest = self.list.slots.get(self.position..).unwrap_or_default();
        if rest.first().is_none_or(|&slot| slot >= target) {
            return;
        }
        // rest[step / 2] < target throughout.
        let mut step = 1;
        while step < rest.len() && rest[step] < target {
            step *= 2;
        }
        let window = &rest[step / 2..(step + 1).min(rest.len())];
        self.position += step / 2 + window.partition_point(|&slot| slot < target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(slots: &[u32]) -> PostingList {
        let mut list = PostingList::default();
        for &slot in slots {
            list.push(slot, slot as f32 - 3.0);
        }
        list
    }

    #[test]
    fn seek_finds_the_first_slot_not_below_the_target() {
        let slots: Vec<u32> = (0..300).map(|i| i * 3 + 1).collect();
        let list = list(&slots);
        for start in [0, 1, 7, 150, 299] {
            for target in 0..920 {
                let mut cursor = Cursor::new(&list);
                for _ in 0..start {
                    cursor.advance();
                }
                let before = cursor.slot();
                cursor.seek(target);
                let expected = slots[start..].iter().copied().find(|&s| s >= target);
                assert_eq!(cursor.slot(), expected, "start {start} ({before:?}), target {target}");
            }
        }
        let mut cursor = Cursor::new(&list);
        cursor.seek(u32::MAX);
        assert_eq!((cursor.slot(), cursor.weight()), (None, 0.0));
        cursor.advance();
        assert_eq!(cursor.slot(), None);
    }

    #[test]
    fn bounds_cover_every_product_and_zero() {
        let list = list(&[1, 5, 9]); // weights -2, 2, 6
        assert_eq!((list.min, list.max), (-2.0, 6.0));
        assert_eq!(list.bound(2.0), 12.0);
        assert_eq!(list.bound(-1.0), 2.0);
        assert_eq!(list.bound(0.0), 0.0);
        assert_eq!(list.magnitude(-1.5), 9.0);
        let negative = list.renumbered(|slot| (slot < 2).then_some(slot));
        assert_eq!((negative.min, negative.max, negative.live()), (-2.0, -2.0, 1));
        assert_eq!(negative.bound(1.0), 0.0);
    }
}
