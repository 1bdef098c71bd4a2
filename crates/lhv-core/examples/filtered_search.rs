//! Filtered search on MiniLM (`shared/data/minilm-dev`, 50 000 vectors): items
//! carry synthetic tags that 50 %, 10 %, 1 % and 0.1 % of them hold; for each,
//! recall@10 against a brute-force filtered answer and single-thread QPS, with
//! a field index on the tag, without one, and with the graph walk forced.
//! Unfiltered search in the same run is the baseline. Prints a Markdown
//! section (`cargo xtask bench-filter` puts it into docs/BENCHMARKS.md).
//!
//! `cargo run --release -p lhv-core --example filtered_search -- <dataset dir>`
#![allow(missing_docs)]

#[path = "../tests/support/fvecs.rs"]
mod fvecs;
#[path = "../tests/support/tags.rs"]
mod tags;

use std::path::PathBuf;
use std::time::Instant;

use lhv_core::{Filter, Index, IndexParams, Item, Metric, SearchOptions};
use rayon::prelude::*;
use serde_json::json;
use tags::{SELECTIVITIES, tags};

const K: usize = 10;
/// Exact top-k positions among `live` by cosine distance, in f64, without the library.
fn ground_truth(base: &[Vec<f32>], norms: &[f64], live: &[usize], query: &[f32]) -> Vec<usize> {
    let qn = query.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let mut scored: Vec<(f64, usize)> = live
        .iter()
        .map(|&i| {
            let dot: f64 = base[i].iter().zip(query).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
            (1.0 - dot / (norms[i] * qn), i)
        })
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(K).map(|(_, i)| i).collect()
}

/// (recall@10, queries per second on one thread).
fn measure(
    index: &Index,
    queries: &[Vec<f32>],
    truths: &[Vec<usize>],
    filter: Option<&Filter>,
) -> Result<(f64, f64), String> {
    let started = Instant::now();
    let mut answers = Vec::with_capacity(queries.len());
    for query in queries {
        let hits = match filter {
            Some(filter) => index.search(query, K, &SearchOptions::default().with_filter(filter)),
            None => index.search(query, K, &SearchOptions::default()),
        };
        answers.push(hits.map_err(|e| e.to_string())?);
    }
    let qps = queries.len() as f64 / started.elapsed().as_secs_f64();
    let (mut found, mut wanted) = (0, 0);
    for (hits, truth) in answers.iter().zip(truths) {
        if hits.len() != truth.len() {
            return Err(format!("{} hits where {} items match", hits.len(), truth.len()));
        }
        wanted += truth.len();
        found += hits.iter().filter(|h| h.id.parse::<usize>().is_ok_and(|id| truth.contains(&id))).count();
    }
    Ok((found as f64 / wanted.max(1) as f64, qps))
}

fn main() -> Result<(), String> {
    let dir = std::env::args().nth(1).map(PathBuf::from).ok_or("usage: filtered_search <dataset dir>")?;
    let base = fvecs::read_fvecs(&dir.join("base.fvecs"), usize::MAX)?;
    let queries = fvecs::read_fvecs(&dir.join("query.fvecs"), usize::MAX)?;
    let norms: Vec<f64> = base.iter().map(|v| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt()).collect();
    let items: Vec<Item> = base
        .iter()
        .enumerate()
        .map(|(i, v)| Item {
            id: i.to_string(),
            vector: v.clone(),
            metadata: Some(json!({ "tag": tags(i), "tag_unindexed": tags(i) })),
            ..Default::default()
        })
        .collect();
    let params =
        IndexParams::new(base[0].len(), Metric::Cosine).with_exact_search_threshold(0).with_indexed_fields(["tag"]);
    let started = Instant::now();
    let index = Index::new(params.clone()).map_err(|e| e.to_string())?;
    for chunk in items.chunks(1024) {
        index.upsert(chunk.to_vec()).map_err(|e| e.to_string())?;
    }
    eprintln!("built {} items in {:.1?}", base.len(), started.elapsed());
    // The same graph (same seed, same inserts) with the walk forced for every filter.
    let graph_only = Index::from_parts({
        let mut parts = index.to_parts();
        parts.params = params.with_filter_scan_threshold(0);
        parts
    })
    .map_err(|e| e.to_string())?;

    let all: Vec<usize> = (0..base.len()).collect();
    let truths: Vec<Vec<usize>> = queries.par_iter().map(|q| ground_truth(&base, &norms, &all, q)).collect();
    let (recall, baseline_qps) = measure(&index, &queries, &truths, None)?;
    let mut out = format!(
        "## Filtered search\n\n`cargo xtask bench-filter`: {} MiniLM vectors (d={}), {} queries, k={K}, ef={} (the default), \
         one thread. Items carry tags held by 50 %, 10 %, 1 % and 0.1 % of them; the filter is \
         `{{\"must\": [{{\"key\": \"tag\", \"match\": {{\"value\": <tag>}}}}]}}`. Recall is against a brute-force \
         filtered answer; QPS is also given as a ratio to unfiltered search in the same run \
         (**{baseline_qps:.0} QPS, recall {recall:.4}**). Planner: matches counted by the field index (\"indexed\"), \
         or estimated from a 256-item sample (\"no field index\"); at most 8192 matches are scanned exactly, \
         more go through the graph walk, which the last columns force for every selectivity.\n\n\
         | selectivity | matches | indexed: recall | QPS | x unfiltered | no field index: recall | QPS | x unfiltered | graph walk forced: recall | QPS |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
        base.len(),
        base[0].len(),
        queries.len(),
        index.params().ef_search,
    );
    for (tag, share) in SELECTIVITIES {
        let matching: Vec<usize> = (0..base.len()).filter(|&i| tags(i).contains(&tag)).collect();
        let truths: Vec<Vec<usize>> = queries.par_iter().map(|q| ground_truth(&base, &norms, &matching, q)).collect();
        let filter_on = |key: &str| -> Result<Filter, String> {
            serde_json::from_value(json!({"must": [{"key": key, "match": {"value": tag}}]})).map_err(|e| e.to_string())
        };
        let (indexed_recall, indexed_qps) = measure(&index, &queries, &truths, Some(&filter_on("tag")?))?;
        let (plain_recall, plain_qps) = measure(&index, &queries, &truths, Some(&filter_on("tag_unindexed")?))?;
        let (graph_recall, graph_qps) = measure(&graph_only, &queries, &truths, Some(&filter_on("tag")?))?;
        out.push_str(&format!(
            "| {} % | {} | {indexed_recall:.4} | {indexed_qps:.0} | {:.2} | {plain_recall:.4} | {plain_qps:.0} | {:.2} | {graph_recall:.4} | {graph_qps:.0} |\n",
            share as f64 / 10.0,
            matching.len(),
            indexed_qps / baseline_qps,
            plain_qps / baseline_qps,
        ));
        eprintln!(
            "{tag}: indexed {indexed_recall:.4} {indexed_qps:.0} QPS, plain {plain_recall:.4} {plain_qps:.0} QPS, graph {graph_recall:.4} {graph_qps:.0} QPS"
        );
    }
    print!("{out}");
    Ok(())
}
