//! instant-distance 0.6 as an external worker of `shared/bench/peers.py`: the
//! baseline lhv-core replaced. Its `ef_search` is fixed when the graph is built
//! and its M is fixed at 32, so this worker builds one graph per ef that is asked
//! for (same seed and ef_construction; the build outside the timed searches) and
//! reports the time of the first build.
#![allow(missing_docs)]

#[path = "support/peer_protocol.rs"]
mod peer_protocol;

use std::collections::HashMap;

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
    base: Vec<Vec<f32>>,
    efc: usize,
    graphs: HashMap<usize, HnswMap<Vector, i64>>,
}

fn build_graph(base: &[Vec<f32>], efc: usize, ef: usize) -> HnswMap<Vector, i64> {
    let points = base.iter().cloned().map(Vector).collect();
    let values = (0..base.len() as i64).collect();
    Builder::default().ef_construction(efc).ef_search(ef).seed(42).build(points, values)
}

/// The ef of the graph built during the timed build (peers.py's first ef is usually 10).
const FIRST_EF: usize = 10;

impl Peer for InstantDistance {
    fn build(base: &[Vec<f32>], args: &Args, threads: usize) -> Result<Self, String> {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| e.to_string())?;
        let graph = pool.install(|| build_graph(base, args.efc, FIRST_EF));
        Ok(Self { base: base.to_vec(), efc: args.efc, graphs: HashMap::from([(FIRST_EF, graph)]) })
    }

    fn search(&mut self, queries: &[Vec<f32>], ef: usize, mode: &str) -> Result<Vec<Vec<i64>>, String> {
        let (base, efc) = (&self.base, self.efc);
        let graph = self.graphs.entry(ef).or_insert_with(|| build_graph(base, efc, ef));
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
        format!("M=32 (fixed by the crate), efc={}, one graph per ef", args.efc)
    }
}

fn main() -> Result<(), String> {
    peer_protocol::serve::<InstantDistance>("instant-distance")
}
