//! Acknowledged batches per second with persistence off (a bare
//! `lhv_core::Index`), on `memory://`, and on a local directory (every log
//! write fsynced), for 1 and 16 concurrent writers. Group commit is what keeps
//! many writers from paying one fsync each.
//!
//! `cargo run --release -p lhv-store --example durable_writes [BATCHES_PER_WRITER]`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use lhv_core::{Index, IndexParams, Item, Metric};
use lhv_store::{Catalog, CatalogOptions};

const DIM: usize = 64;
const BATCH: usize = 16;

fn batch(writer: usize, b: usize) -> Vec<Item> {
    (0..BATCH)
        .map(|i| {
            let seed = (writer * 1_000_003 + b * 1009 + i) as f32;
            Item {
                id: format!("w{writer}-{b}-{i}"),
                vector: (0..DIM).map(|c| (seed * 0.37 + c as f32).sin()).collect(),
                metadata: None,
                ..Item::default()
            }
        })
        .collect()
}

fn params() -> IndexParams {
    IndexParams::new(DIM, Metric::Cosine)
}

async fn durable(url: &str, writers: usize, per_writer: usize) -> f64 {
    let options = CatalogOptions { snapshot_log_bytes: u64::MAX, ..CatalogOptions::default() };
    let catalog = Catalog::open(url, options).await.unwrap();
    let index = catalog.create("bench", params()).await.unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let index = Arc::clone(&index);
            tokio::spawn(async move {
                for b in 0..per_writer {
                    index.upsert(batch(w, b)).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    (writers * per_writer) as f64 / started.elapsed().as_secs_f64()
}

fn in_memory(writers: usize, per_writer: usize) -> f64 {
    let index = Arc::new(Index::new(params()).unwrap());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..writers {
            let index = Arc::clone(&index);
            scope.spawn(move || {
                for b in 0..per_writer {
                    index.upsert(batch(w, b)).unwrap();
                }
            });
        }
    });
    (writers * per_writer) as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let per_writer: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    println!("| writers | persistence off | memory:// | file:// (fsync) | file / off |");
    println!("|---:|---:|---:|---:|---:|");
    for writers in [1, 16] {
        let per = per_writer / writers.min(4);
        let off = in_memory(writers, per);
        let memory = durable("memory://", writers, per).await;
        let dir = std::env::temp_dir().join(format!("lhv-durable-writes-{}-{writers}", std::process::id()));
        let file = durable(&format!("file://{}", dir.display()), writers, per).await;
        let _ = std::fs::remove_dir_all(&dir);
        println!("| {writers} | {off:.0} | {memory:.0} | {file:.0} | {:.2}x |", file / off);
    }
    println!("\nacknowledged batches of {BATCH} vectors (d={DIM}) per second");
}
