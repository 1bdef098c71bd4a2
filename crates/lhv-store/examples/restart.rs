//! Restart time of a 100k x 384 index on a local directory: the time for
//! `Catalog::open` to load its snapshot (after a clean close), in seconds and
//! GB/s of snapshot, and for comparison the time to rebuild it from the log
//! alone (after a crash before any snapshot).
//!
//! `cargo run --release -p lhv-store --example restart [COUNT]`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use lhv_core::{IndexParams, Item, Metric};
use lhv_store::{Catalog, CatalogOptions};

const DIM: usize = 384;

fn items(range: std::ops::Range<usize>) -> Vec<Item> {
    range
        .map(|i| Item {
            id: format!("doc-{i}"),
            vector: (0..DIM).map(|c| ((i * 7919 + c * 104_729) % 2003) as f32 / 1001.0 - 1.0).collect(),
            metadata: None,
            ..Item::default()
        })
        .collect()
}

fn options() -> CatalogOptions {
    CatalogOptions { snapshot_log_bytes: u64::MAX, ..CatalogOptions::default() }
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = tempfile_dir();
    let url = format!("file://{}", dir.display());
    let started = Instant::now();
    let catalog = Catalog::open(&url, options()).await.unwrap();
    let index = catalog.create("docs", IndexParams::new(DIM, Metric::Cosine)).await.unwrap();
    for start in (0..count).step_by(1024) {
        index.upsert(items(start..(start + 1024).min(count))).await.unwrap();
    }
    println!("built {count} x {DIM} durably in {:.1} s", started.elapsed().as_secs_f64());
    drop(index);
    drop(catalog); // a crash: only the log is there

    let started = Instant::now();
    let catalog = Catalog::open(&url, options()).await.unwrap();
    let replayed = started.elapsed().as_secs_f64();
    assert_eq!(catalog.get("docs").unwrap().index().len(), count);
    println!("restart from the log alone (rebuilds the graph): {replayed:.2} s");
    catalog.close().await.unwrap(); // writes the snapshot

    let bytes = std::fs::metadata(dir.join("_vectors/docs.lhv1")).unwrap().len();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let catalog = Catalog::open(&url, options()).await.unwrap();
        best = best.min(started.elapsed().as_secs_f64());
        assert_eq!(catalog.get("docs").unwrap().index().len(), count);
    }
    println!(
        "restart from the snapshot ({:.0} MB): {best:.3} s = {:.2} GB/s (best of 3, file in page cache)",
        bytes as f64 / 1e6,
        bytes as f64 / best / 1e9
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lhv-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
