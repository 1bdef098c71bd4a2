//! lhv-core as an external worker of `shared/bench/peers.py` (`--ext lhv-core=...`);
//! docs/BENCHMARKS.md has the command. Works on any directory with base.fvecs,
//! query.fvecs and groundtruth.ivecs (cosine).
#![allow(missing_docs)]

#[path = "support/peer_protocol.rs"]
mod peer_protocol;

use lhv_core::{Index, IndexParams, Item, Metric, SearchOptions, Storage};
use peer_protocol::{Args, Peer};

/// Vectors per upsert call while building.
const BUILD_BATCH: usize = 1024;

struct LhvCore(Index);

impl LhvCore {
    /// Upserts `base` in batches; each batch is linked on the current rayon pool's threads.
    fn build_in_pool(base: &[Vec<f32>], args: &Args) -> Result<Self, String> {
        let dim = base.first().map_or(0, Vec::len);
        let storage: Storage = match args.storage.as_deref() {
            None => Storage::F32,
            Some(name) => serde_json::from_value(serde_json::Value::String(name.to_owned()))
                .map_err(|_| format!("--storage {name}: use f32, f16 or int8"))?,
        };
        let params = IndexParams::new(dim, Metric::Cosine)
            .with_storage(storage)
            .with_m(args.m)
            .with_ef_construction(args.efc)
            .with_exact_search_threshold(0)
            .with_on_disk(args.on_disk);
        let index = Index::new(params).map_err(|e| e.to_string())?;
        for (start, chunk) in base.chunks(BUILD_BATCH).enumerate() {
            let items = chunk
                .iter()
                .enumerate()
                .map(|(i, v)| Item {
                    id: (start * BUILD_BATCH + i).to_string(),
                    vector: v.clone(),
                    metadata: None,
                    ..Default::default()
                })
                .collect();
            index.upsert(items).map_err(|e| e.to_string())?;
        }
        Ok(Self(index))
    }
}

impl Peer for LhvCore {
    fn build(base: &[Vec<f32>], args: &Args, threads: usize) -> Result<Self, String> {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| e.to_string())?;
        pool.install(|| Self::build_in_pool(base, args))
    }

    fn search(&mut self, queries: &[Vec<f32>], ef: usize, mode: &str) -> Result<Vec<Vec<i64>>, String> {
        let to_ids = |hits: Vec<lhv_core::Hit>| hits.into_iter().map(|h| h.id.parse::<i64>().unwrap_or(-1)).collect();
        match mode {
            "single" => queries
                .iter()
                .map(|q| {
                    self.0.search(q, 10, &SearchOptions::default().with_ef(ef)).map(to_ids).map_err(|e| e.to_string())
                })
                .collect(),
            "batch1" | "batch2" => {
                let threads = if mode == "batch1" { 1 } else { 2 };
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| e.to_string())?;
                let hits = pool
                    .install(|| self.0.search_batch(queries, 10, &SearchOptions::default().with_ef(ef)))
                    .map_err(|e| e.to_string())?;
                Ok(hits.into_iter().map(to_ids).collect())
            }
            other => Err(format!("unknown mode {other}")),
        }
    }

    fn describe(args: &Args) -> String {
        let storage = args.storage.as_deref().unwrap_or("f32");
        let rows = if args.on_disk { ", exact rows apart (on_disk)" } else { "" };
        format!("M={}, efc={}, storage {storage}{rows}, batches of {BUILD_BATCH}", args.m, args.efc)
    }
}

fn main() -> Result<(), String> {
    peer_protocol::serve::<LhvCore>("lhv-core")
}
