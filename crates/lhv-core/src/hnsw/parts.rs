//! The graph as flat arrays and back (see [`GraphParts`]).

use std::sync::atomic::AtomicU64;

use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::SmallRng;

use super::layers::Layers;
use super::{Hnsw, MAX_LEVEL, NO_ENTRY};
use crate::error::Result;
use crate::index::GraphParts;
use crate::index::parts::invalid;

impl Hnsw {
    pub(crate) fn to_parts(&self) -> GraphParts {
        let (levels, bottom, upper) = self.layers.to_parts();
        GraphParts { levels, bottom, upper, entry: self.entry() }
    }

    /// A graph of exactly `nodes` nodes from checked parts. The level generator
    /// is reseeded from `seed` and the node count, so that a restored index
    /// grows deterministically too. A graph has an entry node unless it has
    /// no node or `all_unlinked` (every node is of an item without a vector).
    pub(crate) fn from_parts(
        m: usize,
        ef_construction: usize,
        seed: u64,
        parts: GraphParts,
        nodes: usize,
        all_unlinked: bool,
    ) -> Result<Self> {
        let GraphParts { levels, bottom, upper, entry } = parts;
        if levels.len() != nodes {
            return Err(invalid(format!("{} graph nodes for {nodes} slots", levels.len())));
        }
        let layers = Layers::from_parts(m, MAX_LEVEL, levels, bottom, upper).map_err(invalid)?;
        let entry = match entry {
            None if nodes == 0 || all_unlinked => NO_ENTRY,
            Some(e) if (e as usize) < nodes => u64::from(e),
            None => return Err(invalid(format!("no entry node in a graph of {nodes} nodes"))),
            Some(e) => return Err(invalid(format!("entry node {e} of a graph of {nodes} nodes"))),
        };
        let mut graph = Self::new(m, ef_construction, seed);
        graph.layers = layers;
        graph.entry = AtomicU64::new(entry);
        graph.entry_lock = Mutex::new(());
        graph.rng = SmallRng::seed_from_u64(seed ^ (nodes as u64).rotate_left(32));
        Ok(graph)
    }
}
