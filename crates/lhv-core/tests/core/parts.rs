//! Taking an index apart and putting it back: exact round trips, and no
//! panic from parts that were tampered with.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use lhv_core::{Error, Index, IndexParams, IndexParts, Item, Metric, SearchOptions, StoredRows};
use proptest::prelude::*;
use serde_json::json;

const DIM: usize = 4;

fn vector(seed: u64) -> Vec<f32> {
    // A cheap deterministic spread of points; never the zero vector.
    (0..DIM as u64).map(|c| ((seed * 7919 + c * 104_729) % 1000) as f32 / 100.0 - 4.9).collect()
}

/// An index in graph mode with tombstones (deleted and replaced ids), metadata,
/// and items without a vector.
fn churned_index(metric: Metric, count: u64) -> Index {
    let params = IndexParams::new(DIM, metric).with_m(4).with_ef_construction(16).with_exact_search_threshold(0);
    let index = Index::new(params).unwrap();
    let items = (0..count)
        .map(|i| Item {
            id: format!("v{i}-é"),
            vector: if i % 13 == 5 { Vec::new() } else { vector(i) },
            metadata: (i % 3 == 0).then(|| json!({ "i": i })),
            ..Default::default()
        })
        .collect();
    index.upsert(items).unwrap();
    let gone: Vec<String> = (0..count).step_by(11).map(|i| format!("v{i}-é")).collect();
    index.delete(&gone);
    index
        .upsert(vec![Item { id: "v1-é".into(), vector: vector(count + 1), metadata: None, ..Default::default() }])
        .unwrap();
    index
}

fn assert_same_answers(a: &Index, b: &Index, queries: u64) {
    let (sa, sb) = (a.stats(), b.stats());
    assert_eq!((sa.live, sa.tombstones), (sb.live, sb.tombstones));
    assert_eq!(a.scroll(None, 10_000).unwrap(), b.scroll(None, 10_000).unwrap());
    for q in 0..queries {
        let query = vector(q * 31 + 5);
        for ef in [1, 8, 64] {
            let (left, right) = (
                a.search(&query, 5, &SearchOptions::default().with_ef(ef)).unwrap(),
                b.search(&query, 5, &SearchOptions::default().with_ef(ef)).unwrap(),
            );
            assert_eq!(left.len(), right.len());
            for (x, y) in left.iter().zip(&right) {
                assert_eq!((&x.id, x.distance.to_bits(), &x.metadata), (&y.id, y.distance.to_bits(), &y.metadata));
            }
        }
    }
}

#[test]
fn round_trip_answers_bit_identically() {
    for metric in [Metric::Cosine, Metric::L2, Metric::Dot] {
        let index = churned_index(metric, 300);
        let parts = index.to_parts();
        assert!(parts.ids.iter().any(Option::is_none), "the test wants tombstones in the parts");
        let restored = Index::from_parts(parts.clone()).unwrap();
        assert_eq!(restored.to_parts(), parts);
        assert_same_answers(&index, &restored, 40);
        assert_eq!(restored.get("v3-é"), index.get("v3-é"));
    }
}

#[test]
fn an_index_of_items_without_vectors_round_trips_and_takes_vectors() {
    let index = Index::new(IndexParams::new(DIM, Metric::Cosine)).unwrap();
    let bare = (0..5)
        .map(|i| Item { id: format!("b{i}"), vector: Vec::new(), metadata: None, ..Default::default() })
        .collect();
    index.upsert(bare).unwrap();
    let restored = Index::from_parts(index.to_parts()).unwrap();
    assert_eq!(restored.len(), 5);
    assert!(restored.search(&vector(1), 3, &SearchOptions::default()).unwrap().is_empty());
    restored.upsert(vec![Item { id: "b2".into(), vector: vector(1), metadata: None, ..Default::default() }]).unwrap();
    assert_eq!(restored.search(&vector(1), 3, &SearchOptions::default()).unwrap()[0].id, "b2");
    // Parts that claim no entry while some node has a vector are damaged.
    let mut parts = restored.to_parts();
    parts.graph.entry = None;
    assert!(Index::from_parts(parts).is_err());
}

#[test]
fn an_empty_index_round_trips() {
    let index = Index::new(IndexParams::new(DIM, Metric::L2)).unwrap();
    let restored = Index::from_parts(index.to_parts()).unwrap();
    assert!(restored.is_empty());
    restored.upsert(vec![Item { id: "a".into(), vector: vector(1), metadata: None, ..Default::default() }]).unwrap();
    assert_eq!(restored.search(&vector(1), 1, &SearchOptions::default()).unwrap()[0].id, "a");
}

#[test]
fn a_restored_index_keeps_taking_writes() {
    let restored = Index::from_parts(churned_index(Metric::Cosine, 200).to_parts()).unwrap();
    let items = (1000..1300)
        .map(|i| Item { id: format!("n{i}"), vector: vector(i), metadata: None, ..Default::default() })
        .collect();
    restored.upsert(items).unwrap();
    let gone: Vec<String> = (1000..1250).map(|i| format!("n{i}")).collect();
    assert_eq!(restored.delete(&gone), 250);
    assert_eq!(restored.search(&vector(1299), 1, &SearchOptions::default().with_ef(64)).unwrap()[0].id, "n1299");
}

fn rejected(parts: IndexParts) -> bool {
    matches!(Index::from_parts(parts), Err(Error::InvalidParts { .. } | Error::InvalidParameter { .. }))
}

#[test]
fn inconsistent_parts_are_named() {
    let good = churned_index(Metric::L2, 120).to_parts();
    let m = good.params.m;
    let slots = good.ids.len() as u32;
    let mut p = good.clone();
    p.ids.pop();
    assert!(rejected(p));
    let mut p = good.clone();
    if let StoredRows::F32(values) = &mut p.vectors {
        values.push(1.0);
    }
    assert!(rejected(p));
    let mut p = good.clone();
    p.ids[5] = p.ids[6].clone();
    assert!(rejected(p), "duplicate id");
    let mut p = good.clone();
    p.ids[5] = Some(String::new());
    assert!(rejected(p), "empty id");
    let mut p = good.clone();
    p.graph.bottom[0] = 1;
    p.graph.bottom[1] = slots;
    assert!(rejected(p), "link past the last node");
    let mut p = good.clone();
    p.graph.bottom[0] = (2 * m + 1) as u32;
    assert!(rejected(p), "count above capacity");
    let mut p = good.clone();
    p.graph.entry = Some(slots);
    assert!(rejected(p), "entry past the last node");
    let mut p = good.clone();
    p.graph.entry = None;
    assert!(rejected(p), "no entry");
    let mut p = good.clone();
    p.graph.levels[0] = 40;
    assert!(rejected(p), "level above the maximum");
    let mut p = good;
    p.params.m = 0;
    assert!(rejected(p), "bad params");
}

#[test]
fn an_upper_link_to_a_node_without_that_layer_is_rejected() {
    let good = churned_index(Metric::L2, 200).to_parts();
    let m = good.params.m;
    let upper_node = good.graph.levels.iter().position(|&l| l > 0).unwrap();
    let bottom_only = good.graph.levels.iter().position(|&l| l == 0).unwrap() as u32;
    let upper_start: usize = good.graph.levels[..upper_node].iter().map(|&l| usize::from(l) * (1 + m)).sum();
    let mut p = good;
    p.graph.upper[upper_start] = 1;
    p.graph.upper[upper_start + 1] = bottom_only;
    assert!(rejected(p));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever one word of the graph is changed to, the parts are either
    /// rejected or make an index that answers and takes writes without panicking.
    #[test]
    fn tampered_graphs_never_panic(which in 0usize..3, at in any::<prop::sample::Index>(), value in any::<u32>(), small in 0u32..40) {
        let mut parts = churned_index(Metric::Cosine, 60).to_parts();
        let word = if value % 2 == 0 { small } else { value };
        match which {
            0 => { let i = at.index(parts.graph.bottom.len()); parts.graph.bottom[i] = word; }
            1 if !parts.graph.upper.is_empty() => { let i = at.index(parts.graph.upper.len()); parts.graph.upper[i] = word; }
            _ => { let i = at.index(parts.graph.levels.len()); parts.graph.levels[i] = word as u8; }
        }
        if let Ok(index) = Index::from_parts(parts) {
            for q in 0..5 {
                index.search(&vector(q), 3, &SearchOptions::default().with_ef(16)).unwrap();
            }
            let items = (0..80).map(|i| Item { id: format!("w{i}"), vector: vector(i + 500), metadata: None, ..Default::default() }).collect();
            index.upsert(items).unwrap();
            let gone: Vec<String> = (0..60).map(|i| format!("v{i}-é")).collect();
            index.delete(&gone);
            index.search(&vector(1), 3, &SearchOptions::default().with_ef(16)).unwrap();
        }
    }
}
