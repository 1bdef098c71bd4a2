//! Recall of the graph on real MiniLM embeddings (`shared/data/minilm-dev`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;

#[path = "support/fvecs.rs"]
mod fvecs;

use lhv_core::{Index, IndexParams, Item, Metric};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;

const BASE: usize = 10_000;
const K: usize = 10;

/// The dataset directory: `$LHV_DATASET_DIR`, else `shared/data/minilm-dev` beside the checkout.
fn dataset_dir() -> PathBuf {
    let dir = std::env::var_os("LHV_DATASET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/minilm-dev"));
    assert!(
        dir.join("base.fvecs").is_file(),
        "the recall test needs the minilm-dev dataset at {} (set LHV_DATASET_DIR to its directory)",
        dir.display()
    );
    dir
}

fn read_fvecs(name: &str, limit: usize) -> Vec<Vec<f32>> {
    fvecs::read_fvecs(&dataset_dir().join(name), limit).unwrap()
}

/// Exact top-k ids among `live` by cosine distance, computed in f64 without the library.
fn ground_truth(base: &[Vec<f32>], live: &[usize], query: &[f32]) -> Vec<usize> {
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let qn = norm(query);
    let mut scored: Vec<(f64, usize)> = live
        .iter()
        .map(|&i| {
            let dot: f64 = base[i].iter().zip(query).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
            (1.0 - dot / (norm(&base[i]) * qn), i)
        })
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(K).map(|(_, i)| i).collect()
}

fn recall(index: &Index, base: &[Vec<f32>], live: &[usize], queries: &[Vec<f32>], ef: usize) -> f64 {
    let results = index.search_batch(queries, K, Some(ef)).unwrap();
    let mut found = 0;
    for (query, hits) in queries.iter().zip(results) {
        let truth = ground_truth(base, live, query);
        found += hits.iter().filter(|h| truth.contains(&h.id.parse::<usize>().unwrap())).count();
    }
    found as f64 / (queries.len() * K) as f64
}

fn items(base: &[Vec<f32>], ids: &[usize]) -> Vec<Item> {
    ids.iter().map(|&i| Item { id: i.to_string(), vector: base[i].clone(), metadata: None }).collect()
}

#[test]
fn graph_recall_on_minilm() {
    let base = read_fvecs("base.fvecs", BASE);
    let queries = read_fvecs("query.fvecs", 1_000);
    assert_eq!((base.len(), queries.len()), (BASE, 1_000));
    let params = IndexParams::new(384, Metric::Cosine).with_exact_search_threshold(0);
    let default_ef = params.ef_search;
    let index = Index::new(params).unwrap();
    let all: Vec<usize> = (0..BASE).collect();
    index.upsert(items(&base, &all)).unwrap();

    let at_default = recall(&index, &base, &all, &queries, default_ef);
    let at_128 = recall(&index, &base, &all, &queries, 128);
    eprintln!("recall@10: {at_default:.4} at ef {default_ef}, {at_128:.4} at ef 128");
    assert!(at_default >= 0.95, "recall@10 at default ef {default_ef} is {at_default}");
    assert!(at_128 >= 0.99, "recall@10 at ef 128 is {at_128}");

    // Delete a random half, then re-add half of what was deleted.
    let mut shuffled = all.clone();
    shuffled.shuffle(&mut SmallRng::seed_from_u64(7));
    let (deleted, kept) = shuffled.split_at(BASE / 2);
    let deleted_ids: Vec<String> = deleted.iter().map(usize::to_string).collect();
    assert_eq!(index.delete(&deleted_ids), BASE / 2);
    let readded = &deleted[..BASE / 4];
    index.upsert(items(&base, readded)).unwrap();
    let live: Vec<usize> = kept.iter().chain(readded).copied().collect();
    assert_eq!(index.len(), live.len());

    let after_churn = recall(&index, &base, &live, &queries, default_ef);
    eprintln!("recall@10 after deleting 50% and re-adding 25%: {after_churn:.4} at ef {default_ef}");
    assert!(after_churn >= 0.95, "recall@10 after churn is {after_churn}");
}
