//! Indexes that keep float16 or 8-bit codes: what they return stays within
//! the codes' precision of the truth, and their parts round-trip exactly.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use lhv_core::{Index, IndexParams, Item, Metric, SearchOptions, Storage};
use proptest::prelude::*;

const DIM: usize = 12;

fn params(metric: Metric, storage: Storage, threshold: usize) -> IndexParams {
    IndexParams::new(DIM, metric)
        .with_m(4)
        .with_ef_construction(16)
        .with_exact_search_threshold(threshold)
        .with_storage(storage)
}

/// How far a stored component may be from the input: float16 keeps 11
/// significant bits; 8-bit codes with 4-bit residuals keep 1/(255*32) of the row's range.
fn tolerance(storage: Storage, v: &[f32]) -> f32 {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let range = v.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) - v.iter().fold(f32::INFINITY, |m, &x| m.min(x));
    match storage {
        Storage::F32 => 0.0,
        Storage::F16 => max / 1024.0,
        Storage::Int8 => range / (255.0 * 32.0) * 1.01 + 1e-6,
    }
}

fn storage() -> impl Strategy<Value = Storage> {
    prop_oneof![Just(Storage::F16), Just(Storage::Int8)]
}

fn metric() -> impl Strategy<Value = Metric> {
    prop_oneof![Just(Metric::Cosine), Just(Metric::L2), Just(Metric::Dot)]
}

fn vector() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-4.0f32..4.0, DIM).prop_filter("not zero", |v| v.iter().any(|x| x.abs() > 0.01))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn codes_stay_within_their_precision(
        storage in storage(),
        metric in metric(),
        exact in any::<bool>(),
        rows in prop::collection::vec((0usize..40, vector()), 1..80),
        queries in prop::collection::vec(vector(), 1..5),
    ) {
        let index = Index::new(params(metric, storage, if exact { usize::MAX } else { 0 })).unwrap();
        let mut model: BTreeMap<String, Vec<f32>> = BTreeMap::new();
        for chunk in rows.chunks(7) {
            let batch: BTreeMap<String, Vec<f32>> = chunk.iter().map(|(i, v)| (format!("id-{i}"), v.clone())).collect();
            index.upsert(batch.iter().map(|(id, v)| Item { id: id.clone(), vector: v.clone(), metadata: None, ..Default::default() }).collect()).unwrap();
            model.extend(batch);
        }
        prop_assert_eq!(index.len(), model.len());
        for (id, v) in &model {
            let stored = index.get(id).unwrap().vector;
            let limit = tolerance(storage, v);
            prop_assert!(stored.iter().zip(v).all(|(s, x)| (s - x).abs() <= limit), "{:?} vs {:?}", stored, v);
            // The same vector again keeps the same codes: nothing changes.
            let before = index.stats();
            index.upsert(vec![Item { id: id.clone(), vector: v.clone(), metadata: None, ..Default::default() }]).unwrap();
            prop_assert_eq!(index.stats().tombstones, before.tombstones);
        }
        for query in &queries {
            let hits = index.search(query, 5, &SearchOptions::default().with_ef(64)).unwrap();
            prop_assert_eq!(hits.len(), model.len().min(5));
            for hit in &hits {
                let stored = index.get(&hit.id).unwrap().vector;
                let truth = metric.distance(query, &stored).unwrap();
                let scale = 1.0 + query.iter().map(|x| x.abs()).sum::<f32>() * 4.0;
                prop_assert!((hit.distance - truth).abs() <= 1e-4 * scale, "{} vs {}", hit.distance, truth);
            }
        }
        let parts = index.to_parts();
        prop_assert_eq!(parts.vectors.storage(), storage);
        let restored = Index::from_parts(parts.clone()).unwrap();
        prop_assert_eq!(restored.to_parts(), parts);
        for query in &queries {
            prop_assert_eq!(restored.search(query, 5, &SearchOptions::default()).unwrap(), index.search(query, 5, &SearchOptions::default()).unwrap());
        }
    }
}

#[test]
fn stored_rows_must_match_the_storage() {
    let index = Index::new(params(Metric::L2, Storage::Int8, 0)).unwrap();
    index.upsert(vec![Item { id: "a".into(), vector: vec![1.0; DIM], metadata: None, ..Default::default() }]).unwrap();
    let mut parts = index.to_parts();
    parts.params.storage = Storage::F16;
    assert!(Index::from_parts(parts).is_err());
    let mut parts = index.to_parts();
    if let lhv_core::StoredRows::Int8 { ranges, .. } = &mut parts.vectors {
        let mut values = ranges.to_vec();
        values[0][1] = f32::NAN;
        *ranges = values.into();
    }
    assert!(Index::from_parts(parts).is_err());
}

#[test]
fn rescoring_is_on_for_int8_unless_turned_off() {
    let index = Index::new(params(Metric::L2, Storage::Int8, 0)).unwrap();
    let items = (0..200)
        .map(|i| Item {
            id: format!("v{i}"),
            vector: (0..DIM).map(|c| ((i * 7 + c * 13) % 31) as f32 * 0.37).collect(),
            metadata: None,
            ..Item::default()
        })
        .collect();
    index.upsert(items).unwrap();
    let query: Vec<f32> = (0..DIM).map(|c| (c % 5) as f32 * 1.3).collect();
    let exactness = |options: SearchOptions<'_>| -> f32 {
        let hits = index.search(&query, 5, &options).unwrap();
        hits.iter()
            .map(|h| (h.distance - Metric::L2.distance(&query, &index.get(&h.id).unwrap().vector).unwrap()).abs())
            .fold(0.0, f32::max)
    };
    let default = exactness(SearchOptions::default());
    let on = exactness(SearchOptions { rescore: Some(true), ..SearchOptions::default() });
    let off = exactness(SearchOptions { rescore: Some(false), ..SearchOptions::default() });
    assert!(default <= 1e-3 && on <= 1e-3, "rescored distances are off by {default} / {on}");
    assert!(off > on, "without rescoring the distances should be coarser: {off} vs {on}");
}
