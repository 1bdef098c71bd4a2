//! Dropping deleted nodes from the graph while keeping it navigable.

use super::{Candidate, Hnsw, select_neighbors};
use crate::vectors::Vectors;

impl Hnsw {
    /// Removes every node whose `live` entry is false (`unlinked` marks the
    /// nodes that are kept but never linked: items without a vector).
    ///
    /// Each live list that pointed at a deleted node is rebuilt from its live
    /// neighbours plus the live neighbours of the deleted ones (the
    /// consolidation of FreshDiskANN), so paths that went through deleted nodes
    /// survive. Surviving nodes are renumbered `0..` in their old order;
    /// returns the old numbers of the survivors, which the caller applies to its
    /// own per-slot arrays.
    pub(crate) fn retain(&mut self, vectors: &Vectors, live: &[bool], unlinked: &[bool]) -> Vec<u32> {
        let nodes = self.layers.node_count();
        debug_assert_eq!(live.len(), nodes);
        let mut visited = self.pool.take(nodes);
        let mut candidates: Vec<Candidate> = Vec::new();
        for node in (0..nodes as u32).filter(|&n| live[n as usize]) {
            for level in 0..=self.layers.level(node) {
                let neighbors = self.layers.neighbors_vec(node, level);
                if neighbors.iter().all(|&n| live[n as usize]) {
                    continue;
                }
                visited.reset(nodes);
                visited.insert(node);
                candidates.clear();
                for n in neighbors {
                    let around = if live[n as usize] { vec![n] } else { self.layers.neighbors_vec(n, level) };
                    for c in around {
                        if live[c as usize] && visited.insert(c) {
                            candidates.push(Candidate { distance: vectors.between(node, c), node: c });
                        }
                    }
                }
                candidates.sort_unstable();
                let kept: Vec<u32> = select_neighbors(vectors, &candidates, self.layers.capacity(level))
                    .iter()
                    .map(|c| c.node)
                    .collect();
                self.layers.set_neighbors(node, level, &kept);
            }
        }
        self.pool.give_back(visited);

        let kept: Vec<u32> = (0..nodes as u32).filter(|&n| live[n as usize]).collect();
        let mut new_number = vec![u32::MAX; nodes];
        for (new, &old) in kept.iter().enumerate() {
            new_number[old as usize] = new as u32;
        }
        self.layers = self.layers.retain_nodes(&kept, &new_number);
        // Churn refills what compaction freed: room for that, instead of the
        // doubling the first push past the exact size would cause.
        self.layers.reserve(kept.len() / 4 + 1);
        let entry = match self.entry() {
            Some(entry) if live[entry as usize] => Some(new_number[entry as usize]),
            // The highest linked node: a walk from an unlinked one would reach nothing.
            _ => (0..kept.len() as u32)
                .filter(|&n| !unlinked[kept[n as usize] as usize])
                .max_by_key(|&n| (self.layers.level(n), std::cmp::Reverse(n))),
        };
        *self.entry.get_mut() = entry.map_or(super::NO_ENTRY, u64::from);
        kept
    }
}
