//! Neighbour lists in flat arrays: no heap allocation per node.
//!
//! Lists are arrays of atomics so that a batch can link its nodes from several
//! threads while searches read the graph: a writer changes a node's lists only
//! while holding that node's lock; readers take no lock. A reader may see a
//! list in the middle of a change, but every entry it reads is a valid node
//! number, so it can only miss or revisit a link, never fault.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use parking_lot::{Mutex, MutexGuard};
use rayon::prelude::*;

/// Marks a node that lives on the bottom layer only.
const NO_UPPER: u32 = u32::MAX;

/// The adjacency lists of every layer.
///
/// Each list is a fixed-size block `[len, n_0, n_1, ...]`: the bottom layer has
/// one block of `1 + 2m` words per node; a node on `l > 0` upper layers has `l`
/// consecutive blocks of `1 + m` words in `upper`, found through `upper_start`.
#[derive(Debug)]
pub(crate) struct Layers {
    m: usize,
    levels: Vec<u8>,
    bottom: Vec<AtomicU32>,
    upper_start: Vec<u32>,
    upper: Vec<AtomicU32>,
    locks: Vec<Mutex<()>>,
}

impl Layers {
    pub(crate) fn new(m: usize) -> Self {
        Self {
            m,
            levels: Vec::new(),
            bottom: Vec::new(),
            upper_start: Vec::new(),
            upper: Vec::new(),
            locks: Vec::new(),
        }
    }

    /// Most neighbours a node keeps on `level`.
    #[inline]
    pub(crate) fn capacity(&self, level: usize) -> usize {
        if level == 0 { 2 * self.m } else { self.m }
    }

    pub(crate) fn node_count(&self) -> usize {
        self.levels.len()
    }

    #[inline]
    pub(crate) fn level(&self, node: u32) -> usize {
        usize::from(self.levels[node as usize])
    }

    /// Room for `nodes` more nodes without growing the per-node arrays (upper
    /// layers: the expected share, one node in `m` per layer above).
    pub(crate) fn reserve(&mut self, nodes: usize) {
        self.levels.reserve_exact(nodes);
        self.locks.reserve_exact(nodes);
        self.upper_start.reserve_exact(nodes);
        let (m, bottom_words) = (self.m, nodes * (1 + 2 * self.m));
        crate::huge_pages::grow(&mut self.bottom, |bottom| bottom.reserve_exact(bottom_words));
        crate::huge_pages::grow(&mut self.upper, |upper| upper.reserve_exact(nodes.div_ceil(m.max(2) - 1) * (1 + m)));
    }

    /// Adds a node with empty lists on layers `0..=level`; returns its number.
    pub(crate) fn push(&mut self, level: usize) -> u32 {
        let node = self.levels.len() as u32;
        self.levels.push(level as u8);
        self.locks.push(Mutex::new(()));
        let bottom_len = self.bottom.len() + 1 + 2 * self.m;
        crate::huge_pages::grow(&mut self.bottom, |bottom| bottom.resize_with(bottom_len, AtomicU32::default));
        if level == 0 {
            self.upper_start.push(NO_UPPER);
        } else {
            self.upper_start.push(self.upper.len() as u32);
            let upper_len = self.upper.len() + level * (1 + self.m);
            crate::huge_pages::grow(&mut self.upper, |upper| upper.resize_with(upper_len, AtomicU32::default));
        }
        node
    }

    /// The block `[len, entries...]` of `node` on `level` (at most the node's level).
    #[inline]
    fn block(&self, node: u32, level: usize) -> &[AtomicU32] {
        if level == 0 {
            let start = node as usize * (1 + 2 * self.m);
            &self.bottom[start..start + 1 + 2 * self.m]
        } else {
            let start = self.upper_start[node as usize] as usize + (level - 1) * (1 + self.m);
            &self.upper[start..start + 1 + self.m]
        }
    }

    /// The neighbours of `node` on `level`; read each with `load(Relaxed)`.
    #[inline]
    pub(crate) fn neighbors(&self, node: u32, level: usize) -> &[AtomicU32] {
        let block = self.block(node, level);
        let len = (block[0].load(Relaxed) as usize).min(block.len() - 1);
        &block[1..1 + len]
    }

    /// Starts loading the list of `node` on `level`, to be read soon.
    #[inline]
    pub(crate) fn prefetch(&self, node: u32, level: usize) {
        crate::prefetch::prefetch(self.block(node, level));
    }

    /// The neighbours of `node` on `level`, copied.
    pub(crate) fn neighbors_vec(&self, node: u32, level: usize) -> Vec<u32> {
        self.neighbors(node, level).iter().map(|n| n.load(Relaxed)).collect()
    }

    /// Locks `node` against other writers (readers are never blocked).
    pub(crate) fn lock(&self, node: u32) -> MutexGuard<'_, ()> {
        self.locks[node as usize].lock()
    }

    /// Replaces the neighbours of `node` on `level`; the caller holds the node's lock
    /// (or `&mut self`), and `neighbors` fits the capacity.
    pub(crate) fn set_neighbors(&self, node: u32, level: usize, neighbors: &[u32]) {
        let block = self.block(node, level);
        let len = neighbors.len().min(block.len() - 1);
        // Entries first, then the length: a reader that sees the new length also
        // tends to see the new entries (either way each entry is a valid node).
        for (slot, &n) in block[1..].iter().zip(&neighbors[..len]) {
            slot.store(n, Relaxed);
        }
        block[0].store(len as u32, Relaxed);
    }

    /// Appends one neighbour if there is room; returns whether it fit. The caller holds the node's lock.
    pub(crate) fn try_push_neighbor(&self, node: u32, level: usize, neighbor: u32) -> bool {
        let block = self.block(node, level);
        let len = block[0].load(Relaxed) as usize;
        if len < block.len() - 1 {
            block[1 + len].store(neighbor, Relaxed);
            block[0].store(len as u32 + 1, Relaxed);
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
        for &old in kept {
            let level = self.level(old);
            let node = out.push(level);
            for l in 0..=level {
                renumbered.clear();
                renumbered.extend(
                    self.neighbors(old, l)
                        .iter()
                        .map(|n| new_number[n.load(Relaxed) as usize])
                        .filter(|&n| n != u32::MAX),
                );
                out.set_neighbors(node, l, &renumbered);
            }
        }
        out
    }

    /// The same nodes and levels with room for `m` neighbours per upper list
    /// (`2m` at the bottom); each list is copied, or, if it no longer fits,
    /// replaced by what `shrink(node, level, list, room)` keeps of it.
    pub(crate) fn with_m(&self, m: usize, mut shrink: impl FnMut(u32, usize, Vec<u32>, usize) -> Vec<u32>) -> Self {
        let mut out = Self::new(m);
        out.reserve(self.node_count());
        for node in 0..self.node_count() as u32 {
            let level = self.level(node);
            out.push(level);
            for l in 0..=level {
                let list = self.neighbors_vec(node, l);
                let room = out.capacity(l);
                let list = if list.len() > room { shrink(node, l, list, room) } else { list };
                out.set_neighbors(node, l, &list);
            }
        }
        out
    }

    /// Most neighbours a node keeps on an upper layer (half the bottom's).
    pub(crate) fn m(&self) -> usize {
        self.m
    }

    /// The flat arrays: levels, bottom blocks, upper blocks.
    pub(crate) fn to_parts(&self) -> (Vec<u8>, Vec<u32>, Vec<u32>) {
        let words = |atomics: &[AtomicU32]| atomics.iter().map(|w| w.load(Relaxed)).collect();
        (self.levels.clone(), words(&self.bottom), words(&self.upper))
    }

    /// Layers from the arrays of [`to_parts`](Self::to_parts), checked: one
    /// level per node, at most `max_level`; blocks of the right sizes; counts
    /// within capacity; every neighbour below `levels.len()`.
    pub(crate) fn from_parts(
        m: usize,
        max_level: usize,
        levels: Vec<u8>,
        bottom: Vec<u32>,
        upper: Vec<u32>,
    ) -> Result<Self, String> {
        let nodes = levels.len();
        if let Some(node) = levels.iter().position(|&l| usize::from(l) > max_level) {
            return Err(format!("node {node} has level {}, above the highest possible {max_level}", levels[node]));
        }
        if Some(bottom.len()) != nodes.checked_mul(1 + 2 * m) {
            return Err(format!("{} bottom-layer words for {nodes} nodes with m = {m}", bottom.len()));
        }
        let upper_blocks: usize = levels.iter().map(|&l| usize::from(l)).sum();
        if Some(upper.len()) != upper_blocks.checked_mul(1 + m) || u32::try_from(upper.len()).is_err() {
            return Err(format!("{} upper-layer words for {upper_blocks} upper lists with m = {m}", upper.len()));
        }
        // A link on layer l must lead to a node that has layer l: walks read its list there.
        let check = |list: &[u32], node: usize, layer: usize| -> Result<(), String> {
            let count = list[0] as usize;
            if count >= list.len() {
                return Err(format!(
                    "node {node} claims {count} neighbours on layer {layer}, room is {}",
                    list.len() - 1
                ));
            }
            match list[1..=count].iter().find(|&&n| levels.get(n as usize).is_none_or(|&l| usize::from(l) < layer)) {
                Some(bad) => Err(format!("node {node} links on layer {layer} to node {bad}, which is not on it")),
                None => Ok(()),
            }
        };
        // On every core (a restart checks tens of millions of links); the
        // first bad node's error, as one pass in order gives.
        let first_bad = bottom
            .par_chunks_exact(1 + 2 * m)
            .enumerate()
            .map(|(node, list)| check(list, node, 0))
            .find_first(Result::is_err);
        if let Some(bad) = first_bad {
            bad?;
        }
        let mut upper_lists = upper.chunks_exact(1 + m);
        for (node, &level) in levels.iter().enumerate() {
            for layer in 1..=usize::from(level) {
                // The length check above guarantees one block per upper layer.
                let list = upper_lists.next().ok_or("upper-layer blocks run out")?;
                check(list, node, layer)?;
            }
        }
        let mut upper_start = Vec::with_capacity(nodes);
        let mut next = 0usize;
        for &level in &levels {
            if level == 0 {
                upper_start.push(NO_UPPER);
            } else {
                upper_start.push(next as u32);
                next += usize::from(level) * (1 + m);
            }
        }
        Ok(Self {
            m,
            levels,
            bottom: bottom.into_iter().map(AtomicU32::new).collect(),
            upper_start,
            upper: upper.into_iter().map(AtomicU32::new).collect(),
            locks: (0..nodes).map(|_| Mutex::new(())).collect(),
        })
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.levels.capacity()
            + self.locks.capacity() * size_of::<Mutex<()>>()
            + (self.bottom.capacity() + self.upper_start.capacity() + self.upper.capacity()) * size_of::<u32>()
    }
}
