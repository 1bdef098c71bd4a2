//! Search latency while another thread upserts: p50/p99 of single searches on an
//! idle index, then while one writer thread upserts batches of 1024 new vectors.
//!
//! `cargo run --release -p lhv-core --example write_contention -- DATASET_DIR`
//! (a directory with base.fvecs and query.fvecs); prints one JSON line.
#![allow(missing_docs)]

#[path = "../tests/support/fvecs.rs"]
mod fvecs;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lhv_core::{Index, IndexParams, Item, Metric, SearchOptions};
use serde_json::json;

const INITIAL: usize = 10_000;
const BATCH: usize = 1024;
const K: usize = 10;
const EF: usize = 64;

fn items(base: &[Vec<f32>], range: std::ops::Range<usize>) -> Vec<Item> {
    range.map(|i| Item { id: i.to_string(), vector: base[i].clone(), metadata: None, ..Default::default() }).collect()
}

/// The latency at quantile `q` (0..=1) of sorted durations.
fn quantile(sorted: &[Duration], q: f64) -> f64 {
    let at = ((sorted.len().saturating_sub(1)) as f64 * q).round() as usize;
    sorted.get(at).map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
}

fn timed_searches(
    index: &Index,
    queries: &[Vec<f32>],
    keep_going: impl Fn(usize) -> bool,
) -> Result<Vec<Duration>, String> {
    let mut latencies = Vec::new();
    while keep_going(latencies.len()) {
        let query = &queries[latencies.len() % queries.len()];
        let started = Instant::now();
        index.search(query, K, &SearchOptions::default().with_ef(EF)).map_err(|e| e.to_string())?;
        latencies.push(started.elapsed());
    }
    latencies.sort_unstable();
    Ok(latencies)
}

fn main() -> Result<(), String> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: write_contention DATASET_DIR")?);
    let base = fvecs::read_fvecs(&dir.join("base.fvecs"), usize::MAX)?;
    let queries = fvecs::read_fvecs(&dir.join("query.fvecs"), usize::MAX)?;
    if base.len() < INITIAL + BATCH || queries.is_empty() {
        return Err(format!("need at least {} base vectors and one query", INITIAL + BATCH));
    }
    // One writer thread: the batch is linked on a one-thread pool, leaving the other core to the searcher.
    let writer_pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().map_err(|e| e.to_string())?;
    let params = IndexParams::new(base[0].len(), Metric::Cosine).with_exact_search_threshold(0);
    let index = Index::new(params).map_err(|e| e.to_string())?;
    writer_pool.install(|| index.upsert(items(&base, 0..INITIAL))).map_err(|e| e.to_string())?;

    let idle = timed_searches(&index, &queries, |done| done < 3 * queries.len())?;

    let writing = AtomicBool::new(true);
    let (busy, batches) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut batches = 0;
            let mut start = INITIAL;
            while start + BATCH <= base.len() {
                if writer_pool.install(|| index.upsert(items(&base, start..start + BATCH))).is_err() {
                    break;
                }
                start += BATCH;
                batches += 1;
            }
            writing.store(false, Ordering::Release);
            batches
        });
        let busy = timed_searches(&index, &queries, |_| writing.load(Ordering::Acquire));
        (busy, writer.join().unwrap_or(0))
    });
    let busy = busy?;
    let (idle_p99, busy_p99) = (quantile(&idle, 0.99), quantile(&busy, 0.99));
    println!(
        "{}",
        json!({
            "initial": INITIAL, "batch": BATCH, "batches_written": batches, "ef": EF, "k": K,
            "idle_searches": idle.len(), "busy_searches": busy.len(),
            "idle_p50_us": quantile(&idle, 0.5), "idle_p99_us": idle_p99,
            "busy_p50_us": quantile(&busy, 0.5), "busy_p99_us": busy_p99,
            "p99_ratio": busy_p99 / idle_p99,
        })
    );
    Ok(())
}
