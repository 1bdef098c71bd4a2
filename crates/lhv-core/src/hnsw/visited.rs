//! Reusable "already seen" sets for graph walks.

use parking_lot::Mutex;

/// A set of node numbers cleared in O(1) by bumping a generation counter.
#[derive(Debug, Default)]
pub(crate) struct Visited {
    marks: Vec<u32>,
    generation: u32,
}

impl Visited {
    /// Empties the set and makes room for nodes `0..nodes`.
    pub(crate) fn reset(&mut self, nodes: usize) {
        if self.marks.len() < nodes {
            self.marks.resize(nodes, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.marks.fill(0);
            self.generation = 1;
        }
    }

    /// Adds `node`; returns true if it was not in the set yet.
    #[inline]
    pub(crate) fn insert(&mut self, node: u32) -> bool {
        let mark = &mut self.marks[node as usize];
        let fresh = *mark != self.generation;
        *mark = self.generation;
        fresh
    }
}

/// A pool of [`Visited`] sets shared by concurrent searches.
#[derive(Debug, Default)]
pub(crate) struct VisitedPool {
    free: Mutex<Vec<Visited>>,
}

impl VisitedPool {
    pub(crate) fn take(&self, nodes: usize) -> Visited {
        let mut visited = self.free.lock().pop().unwrap_or_default();
        visited.reset(nodes);
        visited
    }

    pub(crate) fn give_back(&self, visited: Visited) {
        self.free.lock().push(visited);
    }
}
