//! One named sparse vector of an index: the stored vectors per slot and the
//! inverted index over them.

use std::collections::HashMap;

use crate::sparse::params::SparseParams;
use crate::sparse::postings::PostingList;
use crate::sparse::topk::TopK;
use crate::sparse::vector::SparseVector;

/// The sparse vectors of one name, by the index's item slots, and per
/// dimension the slots that hold it.
///
/// Slots are the index's: numbered from 0 and appended in increasing order (a
/// new or changed item always gets a fresh slot), a deleted or replaced
/// item's slot is buried and stays until compaction renumbers the survivors
/// ([`retain_slots`](Self::retain_slots)). Burying drops the slot's vector at
/// once and keeps the document frequencies exact; its postings stay until
/// compaction, and searches skip them.
#[derive(Debug, Clone)]
pub(crate) struct SparseSpace {
    params: SparseParams,
    /// Per slot: the vector, normalized; `None` for an item without a vector
    /// of this name, and for a buried slot.
    vectors: Vec<Option<SparseVector>>,
    /// Per dimension: the slots whose vectors hold it (buried ones too).
    postings: HashMap<u32, PostingList>,
    /// Slots with a vector: the `N` of the inverse document frequency.
    live: u64,
    /// Heap bytes of the stored vectors.
    vector_bytes: usize,
}

impl SparseSpace {
    /// No slots yet.
    pub(crate) fn new(params: SparseParams) -> Self {
        Self { params, vectors: Vec::new(), postings: HashMap::new(), live: 0, vector_bytes: 0 }
    }

    /// The parameters it was created with.
    pub(crate) fn params(&self) -> SparseParams {
        self.params
    }

    #[cfg(test)]
    /// Number of slots, buried ones included.
    pub(crate) fn slots(&self) -> usize {
        self.vectors.len()
    }

    /// Appends the next slot, with the item's vector of this name (`None`:
    /// it has none), and returns the slot. `vector` must be
    /// [normalized](SparseVector::normalized); the index keeps fewer than
    /// `u32::MAX` slots. Costs O(entries): each posting goes at the end of its
    /// dimension's list.
    pub(crate) fn push(&mut self, vector: Option<SparseVector>) -> u32 {
        debug_assert!(self.vectors.len() < u32::MAX as usize, "the index bounds its slots below u32::MAX");
        let slot = self.vectors.len() as u32;
        if let Some(vector) = &vector {
            debug_assert!(vector.indices.is_sorted() && vector.len() == vector.values.len(), "not normalized");
            for (&index, &weight) in vector.indices.iter().zip(&vector.values) {
                self.postings.entry(index).or_default().push(slot, weight);
            }
            self.live += 1;
            self.vector_bytes += vector.heap_bytes();
        }
        self.vectors.push(vector);
        slot
    }

    /// The slot's item was deleted or replaced: its vector no longer counts,
    /// nor is found. Burying a slot twice, or one without a vector, changes
    /// nothing.
    pub(crate) fn bury(&mut self, slot: u32) {
        let Some(vector) = self.vectors.get_mut(slot as usize).and_then(Option::take) else { return };
        for index in &vector.indices {
            if let Some(list) = self.postings.get_mut(index) {
                list.bury_one();
            }
        }
        self.live = self.live.saturating_sub(1);
        self.vector_bytes = self.vector_bytes.saturating_sub(vector.heap_bytes());
    }

    /// The vector of a slot; `None` for an item without one, a buried slot, or
    /// a slot that does not exist.
    pub(crate) fn get(&self, slot: u32) -> Option<&SparseVector> {
        self.vectors.get(slot as usize)?.as_ref()
    }

    /// Vectors that are stored and not buried: the number of points for
    /// [`idf`](crate::idf). Empty vectors count, as in Qdrant.
    pub(crate) fn live_vectors(&self) -> u64 {
        self.live
    }

    /// How many live vectors hold dimension `index`, for [`idf`](crate::idf).
    pub(crate) fn document_frequency(&self, index: u32) -> u64 {
        self.postings.get(&index).map_or(0, PostingList::live)
    }

    /// `query` weighted as this space's [`SparseModifier`](crate::SparseModifier)
    /// asks, with this space's own counts (an index on one shard; a search
    /// over several shards weights with counts summed over all of them).
    pub(crate) fn weighted_query(&self, query: &SparseVector) -> SparseVector {
        match self.params.modifier {
            crate::SparseModifier::None => query.clone(),
            crate::SparseModifier::Idf => query.idf_weighted(self.live, |index| self.document_frequency(index)),
        }
    }

    /// Compaction: a space whose slot `i` is this one's slot `kept[i]`
    /// (`kept` ascending), without the postings of buried or dropped slots,
    /// and with every list's bounds recomputed.
    pub(crate) fn retain_slots(&self, kept: &[u32]) -> Self {
        debug_assert!(kept.is_sorted(), "kept slots must be ascending");
        let vectors: Vec<Option<SparseVector>> = kept.iter().map(|&old| self.get(old).cloned()).collect();
        // Old slot -> new slot, for the slots that keep a vector; ascending
        // `kept` keeps each list in slot order.
        let mut renumber = vec![u32::MAX; self.vectors.len()];
        for (new, (&old, vector)) in kept.iter().zip(&vectors).enumerate() {
            if let (Some(entry), Some(_)) = (renumber.get_mut(old as usize), vector) {
                *entry = new as u32;
            }
        }
        let renumbered = |slot: u32| renumber.get(slot as usize).copied().filter(|&new| new != u32::MAX);
        let postings = self
            .postings
            .iter()
            .map(|(&index, list)| (index, list.renumbered(renumbered)))
            .filter(|(_, list)| !list.is_empty())
            .collect();
        let live = vectors.iter().flatten().count() as u64;
        let vector_bytes = vectors.iter().flatten().map(SparseVector::heap_bytes).sum();
        Self { params: self.params, vectors, postings, live, vector_bytes }
    }

    /// Exact top-`k` over the given slots, scoring each against its stored
    /// vector: those holding no index of the query are left out, as are
    /// slots without a vector. The same results as [`search`](Self::search)
    /// restricted to `slots` (best first, every slot tying with the `k`-th
    /// score included); the way to search when a filter lets few slots
    /// through and the caller has them listed (from field indexes, say): it
    /// costs their entries, where `search` walks whole posting lists.
    pub(crate) fn scan(&self, query: &SparseVector, k: usize, slots: impl IntoIterator<Item = u32>) -> Vec<(u32, f32)> {
        let mut top = TopK::new(k);
        for slot in slots {
            if let Some(score) = self.get(slot).and_then(|vector| query.overlap_dot(vector)) {
                top.offer(slot, score);
            }
        }
        top.into_sorted()
    }

    /// Bytes held by the vectors and the postings (the posting map's own
    /// table estimated from its capacity). Walks the posting lists: O(dimensions).
    pub(crate) fn memory_bytes(&self) -> usize {
        let table = self.postings.capacity() * (size_of::<(u32, PostingList)>() + 1);
        let lists: usize = self.postings.values().map(PostingList::heap_bytes).sum();
        self.vectors.capacity() * size_of::<Option<SparseVector>>() + self.vector_bytes + table + lists
    }

    /// The stored vectors, slot by slot (for the parts of a snapshot).
    pub(super) fn vectors(&self) -> &[Option<SparseVector>] {
        &self.vectors
    }

    /// The postings of a dimension (for searches).
    pub(super) fn postings(&self, index: u32) -> Option<&PostingList> {
        self.postings.get(&index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sparse(indices: &[u32], values: &[f32]) -> Option<SparseVector> {
        Some(SparseVector::new(indices.to_vec(), values.to_vec()))
    }

    #[test]
    fn counts_follow_pushes_and_burials() {
        let mut space = SparseSpace::new(SparseParams::default());
        assert_eq!(space.push(sparse(&[1, 2], &[1.0, 2.0])), 0);
        assert_eq!(space.push(None), 1);
        assert_eq!(space.push(sparse(&[2, 7], &[3.0, -1.0])), 2);
        assert_eq!(space.push(sparse(&[], &[])), 3);
        assert_eq!(space.live_vectors(), 3);
        assert_eq!([1, 2, 7, 8].map(|d| space.document_frequency(d)), [1, 2, 1, 0]);
        space.bury(2);
        space.bury(2);
        space.bury(1);
        space.bury(99);
        assert_eq!(space.live_vectors(), 2);
        assert_eq!([1, 2, 7, 8].map(|d| space.document_frequency(d)), [1, 1, 0, 0]);
        assert_eq!(space.get(2), None);
        assert_eq!(space.get(0), sparse(&[1, 2], &[1.0, 2.0]).as_ref());
        assert_eq!(space.slots(), 4);
        space.bury(3);
        assert_eq!(space.live_vectors(), 1);
    }

    #[test]
    fn compaction_renumbers_and_drops_dead_postings() {
        let mut space = SparseSpace::new(SparseParams::default());
        for i in 0..6u32 {
            space.push(sparse(&[i % 2, 10], &[i as f32, 1.0]));
        }
        space.bury(1);
        space.bury(4);
        let compacted = space.retain_slots(&[0, 2, 3, 4, 5]);
        assert_eq!(compacted.slots(), 5);
        assert_eq!(compacted.live_vectors(), 4);
        assert_eq!([0, 1, 10].map(|d| compacted.document_frequency(d)), [2, 2, 4]);
        assert_eq!(compacted.get(2), sparse(&[1, 10], &[3.0, 1.0]).as_ref());
        assert_eq!(compacted.get(3), None);
        assert_eq!(
            compacted.postings(10).map(|list| list.iter().map(|(s, _)| s).collect::<Vec<_>>()),
            Some(vec![0, 1, 2, 4])
        );
        assert!(compacted.memory_bytes() < space.memory_bytes());
        let hits = compacted.search(&SparseVector::new(vec![1], vec![1.0]), 5, |_| true);
        assert_eq!(hits, [(4, 5.0), (2, 3.0)]);
    }

    #[test]
    fn idf_weights_the_query_with_live_counts() {
        let mut space = SparseSpace::new(SparseParams { modifier: crate::SparseModifier::Idf });
        space.push(sparse(&[1], &[1.0]));
        space.push(sparse(&[1, 2], &[1.0, 1.0]));
        space.bury(0);
        let query = SparseVector::new(vec![1, 2, 3], vec![1.0, 2.0, 1.0]);
        let weighted = space.weighted_query(&query);
        assert_eq!(weighted.values, [crate::idf(1, 1), 2.0 * crate::idf(1, 1), crate::idf(1, 0)]);
        let plain = SparseSpace::new(SparseParams::default());
        assert_eq!(plain.weighted_query(&query), query);
    }
}
