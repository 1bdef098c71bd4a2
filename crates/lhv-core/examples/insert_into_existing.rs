//! Batch insert into an existing index: 10 000 vectors are indexed (M=16,
//! ef_construction=200), then one upsert of 1024 more is timed on a pool of 2
//! threads. Repeated on fresh indexes; prints one JSON line with the vectors per
//! second of every repetition. `cargo xtask bench` runs it next to
//! `xtask/src/hnswlib_insert.py`, which does the same with hnswlib.
//!
//! `cargo run --release -p lhv-core --example insert_into_existing -- SOURCE [REPEATS]`
//! where SOURCE is a dataset directory (base.fvecs) or `random:DIM` (uniform in [-1, 1)).
#![allow(missing_docs)]

#[path = "../tests/support/fvecs.rs"]
mod fvecs;

use std::path::PathBuf;
use std::time::Instant;

use lhv_core::{Index, IndexParams, Item, Metric};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde_json::json;

const INITIAL: usize = 10_000;
const BATCH: usize = 1024;
const THREADS: usize = 2;

fn items(base: &[Vec<f32>], range: std::ops::Range<usize>) -> Vec<Item> {
    range.map(|i| Item { id: i.to_string(), vector: base[i].clone(), metadata: None, ..Default::default() }).collect()
}

fn random_vectors(dim: usize) -> Vec<Vec<f32>> {
    let mut rng = SmallRng::seed_from_u64(7);
    (0..INITIAL + BATCH).map(|_| (0..dim).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()).collect()
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let source = args.next().ok_or("usage: insert_into_existing SOURCE [REPEATS]")?;
    let repeats: usize = args.next().map_or(Ok(5), |r| r.parse().map_err(|e| format!("REPEATS: {e}")))?;
    let base = match source.strip_prefix("random:") {
        Some(dim) => random_vectors(dim.parse().map_err(|e| format!("random:DIM: {e}"))?),
        None => fvecs::read_fvecs(&PathBuf::from(&source).join("base.fvecs"), INITIAL + BATCH)?,
    };
    if base.len() < INITIAL + BATCH {
        return Err(format!("need at least {} base vectors", INITIAL + BATCH));
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(THREADS).build().map_err(|e| e.to_string())?;
    let mut vectors_per_s = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let params = IndexParams::new(base[0].len(), Metric::Cosine).with_m(16).with_ef_construction(200);
        let index = Index::new(params).map_err(|e| e.to_string())?;
        pool.install(|| index.upsert(items(&base, 0..INITIAL))).map_err(|e| e.to_string())?;
        let batch = items(&base, INITIAL..INITIAL + BATCH);
        let started = Instant::now();
        pool.install(|| index.upsert(batch)).map_err(|e| e.to_string())?;
        vectors_per_s.push(BATCH as f64 / started.elapsed().as_secs_f64());
    }
    println!(
        "{}",
        json!({ "source": source, "initial": INITIAL, "batch": BATCH, "threads": THREADS, "vectors_per_s": vectors_per_s })
    );
    Ok(())
}
