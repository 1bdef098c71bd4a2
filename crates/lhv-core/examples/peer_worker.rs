//! lhv-core as an external worker of `shared/bench/peers.py` (`--ext lhv-core=...`).
//!
//! Speaks the protocol in peers.py's docstring: arguments `--data DIR --M M --efc EFC [--build1]`,
//! one JSON "ready" line after the build, then answers `search EF MODE MIN_SECONDS`, `rss`, `quit`
//! on stdin. Works on any directory with base.fvecs, query.fvecs and groundtruth.ivecs.
#![allow(missing_docs)]

#[path = "../tests/support/fvecs.rs"]
mod fvecs;

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

use lhv_core::{Index, IndexParams, Item, Metric};
use serde_json::json;

/// Vectors per upsert call while building.
const BUILD_BATCH: usize = 1024;

struct Args {
    data: PathBuf,
    m: usize,
    efc: usize,
    build1: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { data: PathBuf::new(), m: 16, efc: 200, build1: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => args.data = PathBuf::from(value()?),
            "--M" => args.m = value()?.parse().map_err(|e| format!("--M: {e}"))?,
            "--efc" => args.efc = value()?.parse().map_err(|e| format!("--efc: {e}"))?,
            "--build1" => args.build1 = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn status_kb(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn build(base: &[Vec<f32>], args: &Args) -> Result<Index, String> {
    let dim = base.first().map_or(0, Vec::len);
    let params = IndexParams::new(dim, Metric::Cosine)
        .with_m(args.m)
        .with_ef_construction(args.efc)
        .with_exact_search_threshold(0);
    let index = Index::new(params).map_err(|e| e.to_string())?;
    for (start, chunk) in base.chunks(BUILD_BATCH).enumerate() {
        let items = chunk
            .iter()
            .enumerate()
            .map(|(i, v)| Item { id: (start * BUILD_BATCH + i).to_string(), vector: v.clone(), metadata: None })
            .collect();
        index.upsert(items).map_err(|e| e.to_string())?;
    }
    Ok(index)
}

fn recall10(results: &[Vec<i64>], truth: &[Vec<i32>]) -> f64 {
    let per_query = results.iter().zip(truth).map(|(got, want)| {
        let want = &want[..10.min(want.len())];
        got.iter().take(10).filter(|id| want.iter().any(|w| i64::from(*w) == **id)).count() as f64 / 10.0
    });
    per_query.sum::<f64>() / results.len().max(1) as f64
}

fn run_queries(index: &Index, queries: &[Vec<f32>], ef: usize, mode: &str) -> Result<Vec<Vec<i64>>, String> {
    let to_ids = |hits: Vec<lhv_core::Hit>| hits.into_iter().map(|h| h.id.parse::<i64>().unwrap_or(-1)).collect();
    match mode {
        "single" => {
            queries.iter().map(|q| index.search(q, 10, Some(ef)).map(to_ids).map_err(|e| e.to_string())).collect()
        }
        "batch1" | "batch2" => {
            let threads = if mode == "batch1" { 1 } else { 2 };
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| e.to_string())?;
            let hits = pool.install(|| index.search_batch(queries, 10, Some(ef))).map_err(|e| e.to_string())?;
            Ok(hits.into_iter().map(to_ids).collect())
        }
        other => Err(format!("unknown mode {other}")),
    }
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let base = fvecs::read_fvecs(&args.data.join("base.fvecs"), usize::MAX)?;
    let queries = fvecs::read_fvecs(&args.data.join("query.fvecs"), usize::MAX)?;
    let truth = fvecs::read_ivecs(&args.data.join("groundtruth.ivecs"), usize::MAX)?;
    let rss_after_load = status_kb("VmRSS:");
    let started = Instant::now();
    let index = build(&base, &args)?;
    let build_seconds = started.elapsed().as_secs_f64();
    let rss_after_build = status_kb("VmRSS:");
    println!(
        "{}",
        json!({
            "ready": true, "peer": "lhv-core", "dim": base.first().map_or(0, Vec::len), "n": base.len(),
            // The index inserts one vector at a time so far: the 2-thread and 1-thread builds are the same.
            "build_s_2t": build_seconds, "build_s_1t": if args.build1 { Some(build_seconds) } else { None },
            // No snapshot format yet (lhv-format comes later): nothing is written to disk.
            "disk_bytes": 0,
            "rss_after_load_kb": rss_after_load, "rss_after_build_kb": rss_after_build,
            "rss_index_kb": rss_after_build.saturating_sub(rss_after_load),
            "params": format!("M={}, efc={}, sequential insert", args.m, args.efc),
        })
    );
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            [] | ["quit", ..] => break,
            ["rss", ..] => println!("{}", json!({"peak_rss_kb": status_kb("VmHWM:"), "rss_kb": status_kb("VmRSS:")})),
            ["search", ef, mode, min_seconds, ..] => {
                let ef: usize = ef.parse().map_err(|e| format!("ef: {e}"))?;
                let min_seconds: f64 = min_seconds.parse().map_err(|e| format!("min seconds: {e}"))?;
                let started = Instant::now();
                let mut total = 0;
                let results = loop {
                    let results = run_queries(&index, &queries, ef, mode)?;
                    total += queries.len();
                    if started.elapsed().as_secs_f64() >= min_seconds {
                        break results;
                    }
                };
                let qps = total as f64 / started.elapsed().as_secs_f64();
                println!(
                    "{}",
                    json!({"ef": ef, "mode": mode, "qps": qps, "recall10": recall10(&results, &truth), "n": total})
                );
            }
            _ => return Err(format!("unknown command {line:?}")),
        }
    }
    Ok(())
}
