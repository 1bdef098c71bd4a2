//! Recall of filtered search on real MiniLM embeddings, at 50 %, 10 %, 1 % and
//! 0.1 % selectivity, with the planner's choice and with the graph walk forced.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::minilm;
use crate::tags;

use lhv_core::{Filter, Index, IndexParams, Item, Metric, SearchOptions};
use minilm::{ground_truth, read_fvecs};
use serde_json::json;
use tags::{SELECTIVITIES, tags};

const BASE: usize = 10_000;
const QUERIES: usize = 200;
const K: usize = 10;
#[test]
fn filtered_recall_on_minilm() {
    let base = read_fvecs("base.fvecs", BASE);
    let queries = read_fvecs("query.fvecs", QUERIES);
    let items: Vec<Item> = base
        .iter()
        .enumerate()
        .map(|(i, v)| Item {
            id: i.to_string(),
            vector: v.clone(),
            metadata: Some(json!({ "sel": tags(i) })),
            ..Default::default()
        })
        .collect();
    let params = IndexParams::new(384, Metric::Cosine).with_exact_search_threshold(0).with_indexed_fields(["sel"]);
    let planned = Index::new(params.clone()).unwrap();
    planned.upsert(items.clone()).unwrap();
    let graph_only = Index::new(params.with_filter_scan_threshold(0)).unwrap();
    graph_only.upsert(items).unwrap();

    for (tag, share) in SELECTIVITIES {
        let matching: Vec<usize> = (0..BASE).filter(|&i| tags(i).contains(&tag)).collect();
        let expected = BASE as f64 * share as f64 / 1000.0;
        assert!((matching.len() as f64 - expected).abs() <= expected * 0.3 + 5.0, "{tag}: {} items", matching.len());
        let filter: Filter =
            serde_json::from_value(json!({"must": [{"key": "sel", "match": {"value": tag}}]})).unwrap();
        for (name, index) in [("planned", &planned), ("graph walk", &graph_only)] {
            let results = index.search_batch(&queries, K, &SearchOptions::default().with_filter(&filter)).unwrap();
            let (mut found, mut wanted) = (0, 0);
            for (query, hits) in queries.iter().zip(results) {
                let truth = ground_truth(&base, &matching, query, K);
                assert_eq!(hits.len(), truth.len(), "{tag} {name}: fewer hits than matching items");
                wanted += truth.len();
                found += hits.iter().filter(|h| truth.contains(&h.id.parse::<usize>().unwrap())).count();
            }
            let recall = found as f64 / wanted as f64;
            eprintln!("{tag} ({} items), {name}: recall@10 {recall:.4}", matching.len());
            assert!(recall >= 0.95, "{tag} {name}: recall@10 {recall}");
        }
    }
}
