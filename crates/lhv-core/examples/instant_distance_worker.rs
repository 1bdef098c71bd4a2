//! instant-distance 0.6 as an external worker of `shared/bench/peers.py`: the
//! baseline lhv-core replaced. Its `ef_search` is fixed when the graph is built
//! (`--ef-search EF`, default 64) and its M is fixed at 32 by the crate. A build
//! of 50k MiniLM vectors takes minutes, so the worker builds one graph and only
//! answers searches at that ef; `cargo xtask bench` runs it in a separate
//! peers.py run at that one ef, next to lhv-core.
#![allow(missing_docs)]

#[path = "support/peer_protocol.rs"]
mod peer_protocol;

use instant_distance::{Builder, HnswMap, Search};
use peer_protocol::{Args, Peer};

/// A vector under cosine distance (the bench vectors are normalised: 1 - dot).
#[derive(Clone)]
struct Vector(Vec<f32>);

impl instant_distance::Point for Vector {
    fn distance(&self, other: &Self) -> f32 {
        1.0 - self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum::<f32>()
    }
}

struct InstantDistance {
    ef_search: usize,
    graph: HnswMap<Vector, i64>,
}

fn build_graph(base: &[Vec<f32>], efc: usize, ef: usize) -> HnswMap<Vector, i64> {
    let points = base.iter().cloned().map(Vector).collect();
    let values = (0..base.len() as i64).collect();
    Builder::default().ef_construction(efc).ef_search(ef).seed(42).build(points, values)
}

const DEFAULT_EF_SEARCH: usize = 64;

impl Peer for InstantDistance {
    fn build(base: &[Vec<f32>], args: &Args, threads: usize) -> Result<Self, String> {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| e.to_string())?;
        let ef_search = args.ef_search.unwrap_or(DEFAULT_EF_SEARCH);
        let graph = pool.install(|| build_graph(base, args.efc, ef_search));
        Ok(Self { ef_search, graph })
    }

    fn search(&mut self, queries: &[Vec<f32>], ef: usize, mode: &str) -> Result<Vec<Vec<i64>>, String> {
        if ef != self.ef_search {
            return Err(format!(
                "built for ef {} (instant-distance fixes it at build); asked for {ef}",
                self.ef_search
            ));
        }
        let graph = &self.graph;
        let one = |q: &Vec<f32>| {
            let mut search = Search::default();
            let point = Vector(q.clone());
            graph.search(&point, &mut search).take(10).map(|item| *item.value).collect::<Vec<i64>>()
        };
        match mode {
            "single" | "batch1" => Ok(queries.iter().map(one).collect()),
            "batch2" => {
                use rayon::prelude::*;
                let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().map_err(|e| e.to_string())?;
                Ok(pool.install(|| queries.par_iter().map(one).collect()))
            }
            other => Err(format!("unknown mode {other}")),
        }
    }

    fn describe(args: &Args) -> String {
        format!("M=32 (fixed by the crate), efc={}, ef fixed at build", args.efc)
    }
}

fn main() -> Result<(), String> {
    peer_protocol::serve::<InstantDistance>("instant-distance")
}
