//! Neighbour lists in flat arrays: no heap allocation per node.

/// Marks a node that lives on the bottom layer only.
const NO_UPPER: u32 = u32::MAX;

/// The adjacency lists of every layer.
///
/// Each list is a fixed-size block `[len, n_0, n_1, ...]`: the bottom layer has
/// one block of `1 + 2m` words per node; a node on `l > 0` upper layers has `l`
/// consecutive blocks of `1 + m` words in `upper`, found through `upper_start`.
#[derive(Debug, Clone)]
pub(crate) struct Layers {
    m: usize,
    levels: Vec<u8>,
    bottom: Vec<u32>,
    upper_start: Vec<u32>,
    upper: Vec<u32>,
}

impl Layers {
    pub(crate) fn new(m: usize) -> Self {
        Self { m, levels: Vec::new(), bottom: Vec::new(), upper_start: Vec::new(), upper: Vec::new() }
    }

    /// Most neighbours a node keeps on `level`.
    #[inline]
    pub(crate) fn capacity(&self, level: usize) -> usize {
        if level == 0 { 2 * self.m } else { self.m }
    }

    pub(crate) fn node_count(&self) -> usize {
        self.levels.len()
    }

    pub(crate) fn level(&self, node: u32) -> usize {
        usize::from(self.levels[node as usize])
    }

    /// Adds a node with empty lists on layers `0..=level`; returns its number.
    pub(crate) fn push(&mut self, level: usize) -> u32 {
        let node = self.levels.len() as u32;
        self.levels.push(level as u8);
        self.bottom.resize(self.bottom.len() + 1 + 2 * self.m, 0);
        if level == 0 {
            self.upper_start.push(NO_UPPER);
        } else {
            self.upper_start.push(self.upper.len() as u32);
            self.upper.resize(self.upper.len() + level * (1 + self.m), 0);
        }
        node
    }

    #[inline]
    fn block_range(&self, node: u32, level: usize) -> std::ops::Range<usize> {
        if level == 0 {
            let start = node as usize * (1 + 2 * self.m);
            start..start + 1 + 2 * self.m
        } else {
            let start = self.upper_start[node as usize] as usize + (level - 1) * (1 + self.m);
            start..start + 1 + self.m
        }
    }

    /// The neighbours of `node` on `level` (which must be at most the node's level).
    #[inline]
    pub(crate) fn neighbors(&self, node: u32, level: usize) -> &[u32] {
        let range = self.block_range(node, level);
        let block = if level == 0 { &self.bottom[range] } else { &self.upper[range] };
        &block[1..1 + block[0] as usize]
    }

    /// Replaces the neighbours of `node` on `level`; `neighbors` must fit the capacity.
    pub(crate) fn set_neighbors(&mut self, node: u32, level: usize, neighbors: &[u32]) {
        debug_assert!(neighbors.len() <= self.capacity(level));
        let range = self.block_range(node, level);
        let block = if level == 0 { &mut self.bottom[range] } else { &mut self.upper[range] };
        block[0] = neighbors.len() as u32;
        block[1..1 + neighbors.len()].copy_from_slice(neighbors);
    }

    /// Appends one neighbour if there is room; returns whether it fit.
    pub(crate) fn try_push_neighbor(&mut self, node: u32, level: usize, neighbor: u32) -> bool {
        let capacity = self.capacity(level);
        let range = self.block_range(node, level);
        let block = if level == 0 { &mut self.bottom[range] } else { &mut self.upper[range] };
        let len = block[0] as usize;
        if len < capacity {
            block[1 + len] = neighbor;
            block[0] += 1;
            true
        } else {
            false
        }
    }

    /// Keeps the nodes in `kept` (renumbered `0..kept.len()` in that order);
    /// `new_number[old]` is the new number or `u32::MAX` for a dropped node.
    /// Links to dropped nodes are removed.
    pub(crate) fn retain_nodes(&self, kept: &[u32], new_number: &[u32]) -> Self {
        let mut out = Self::new(self.m);
        let mut renumbered = Vec::with_capacity(2 * self.m);
        for (new, &old) in kept.iter().enumerate() {
            let level = self.level(old);
            let node = out.push(level);
            debug_assert_eq!(node as usize, new);
            for l in 0..=level {
                renumbered.clear();
                renumbered
                    .extend(self.neighbors(old, l).iter().map(|&n| new_number[n as usize]).filter(|&n| n != u32::MAX));
                out.set_neighbors(node, l, &renumbered);
            }
        }
        out
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.levels.capacity()
            + (self.bottom.capacity() + self.upper_start.capacity() + self.upper.capacity()) * size_of::<u32>()
    }
}
