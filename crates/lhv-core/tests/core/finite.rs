//! Whatever magnitudes a caller sends, every storage × metric either refuses
//! the vector with an error naming its item, or stores finite values whose
//! distances to every accepted query are finite and ordered. Parts holding
//! non-finite stored values are refused, never loaded.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use lhv_core::{Error, Index, IndexParams, IndexParts, Item, Metric, SearchOptions, Storage, StoredRows};
use proptest::prelude::*;

const DIM: usize = 3;
const STORAGES: [Storage; 3] = [Storage::F32, Storage::F16, Storage::Int8];
const METRICS: [Metric; 3] = [Metric::Cosine, Metric::L2, Metric::Dot];

fn params(metric: Metric, storage: Storage, exact: bool) -> IndexParams {
    IndexParams::new(DIM, metric)
        .with_m(4)
        .with_ef_construction(16)
        .with_storage(storage)
        .with_exact_search_threshold(if exact { usize::MAX } else { 0 })
}

/// A component from anywhere in f32's range: zero, subnormals, 1e-30 to
/// 1e19 (across float16's limits at 6e-8 and 65504, and the index's norm
/// limit at 1e16), and the largest floats, with either sign.
fn component() -> impl Strategy<Value = f32> {
    let magnitude = prop_oneof![
        1 => Just(0.0f32),
        1 => (1u32..0x0080_0000).prop_map(f32::from_bits),
        6 => (-30i32..=19, 1.0f32..10.0).prop_map(|(e, m)| m * 10f32.powi(e)),
        1 => prop_oneof![Just(3e38f32), Just(f32::MAX), Just(65_504.0), Just(65_520.0), Just(70_000.0), Just(1e-8)],
    ];
    (magnitude, any::<bool>()).prop_map(|(x, negative)| if negative { -x } else { x })
}

fn vector() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(component(), DIM)
}

/// The errors that refuse a vector, with the item they name.
fn refused_item(error: &Error) -> Option<usize> {
    match error {
        Error::ValueOutOfRange { item, .. }
        | Error::VectorTooLarge { item }
        | Error::ZeroVector { item }
        | Error::NonFiniteComponent { item, .. } => Some(*item),
        _ => None,
    }
}

fn item(id: &str, vector: Vec<f32>) -> Item {
    Item::new(id, vector)
}

/// Upserts each candidate behind an accepted anchor; checks all-or-nothing and the item named.
fn fill(index: &Index, candidates: &[Vec<f32>]) -> Result<Vec<String>, TestCaseError> {
    let mut stored = Vec::new();
    for (i, candidate) in candidates.iter().enumerate() {
        let (anchor, id) = (format!("anchor-{i}"), format!("v-{i}"));
        let before = index.len();
        match index.upsert(vec![item(&anchor, vec![1.0, 0.5, -0.25]), item(&id, candidate.clone())]) {
            Ok(_) => stored.extend([anchor, id]),
            Err(e) => {
                prop_assert_eq!(refused_item(&e), Some(1), "{:?} refused with {}", candidate, e);
                prop_assert_eq!(index.len(), before, "a refused batch changed the index");
                prop_assert!(!index.contains(&anchor));
            }
        }
    }
    Ok(stored)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_storage_and_metric_keeps_distances_finite(
        candidates in prop::collection::vec(vector(), 1..8),
        queries in prop::collection::vec(vector(), 1..5),
        exact in any::<bool>(),
    ) {
        for storage in STORAGES {
            for metric in METRICS {
                let index = Index::new(params(metric, storage, exact)).unwrap();
                let stored = fill(&index, &candidates)?;
                for id in &stored {
                    let vector = index.get(id).unwrap().vector;
                    prop_assert!(vector.iter().all(|x| x.is_finite()), "{storage:?} {metric}: {id} reads back as {vector:?}");
                }
                for query in &queries {
                    let hits = match index.search(query, stored.len().max(1), &SearchOptions::default().with_ef(64)) {
                        Ok(hits) => hits,
                        Err(e) => {
                            prop_assert_eq!(refused_item(&e), Some(0), "query {:?} refused with {}", query, e);
                            continue;
                        }
                    };
                    prop_assert!(hits.iter().all(|h| h.distance.is_finite()), "{storage:?} {metric}: {query:?} gave {hits:?}");
                    prop_assert!(hits.windows(2).all(|w| w[0].distance <= w[1].distance), "{storage:?} {metric}: unordered {hits:?}");
                    for id in &stored {
                        let distance = metric.distance(query, &index.get(id).unwrap().vector).unwrap();
                        prop_assert!(distance.is_finite(), "{storage:?} {metric}: {query:?} to {id}: {distance}");
                    }
                }
                let reloaded = Index::from_parts(index.to_parts());
                prop_assert!(reloaded.is_ok(), "{storage:?} {metric}: parts of accepted vectors refused: {:?}", reloaded.err());
            }
        }
    }
}

/// The reproduction of the defect: float16 turned 70000 into infinity and
/// 1e-8 into zero, and searches ranked the NaN distance first.
#[test]
fn float16_refuses_what_it_cannot_hold() {
    let index = Index::new(IndexParams::new(2, Metric::Cosine).with_storage(Storage::F16)).unwrap();
    let out_of_range = index.upsert(vec![item("x", vec![70_000.0, 1.0]), item("a", vec![1.0, 0.0])]).unwrap_err();
    assert_eq!(out_of_range, Error::ValueOutOfRange { item: 0, component: 0, max: 65_504.0 });
    let underflows = index.upsert(vec![item("a", vec![1.0, 0.0]), item("y", vec![1e-8, 1e-8])]).unwrap_err();
    assert_eq!(underflows, Error::ZeroVector { item: 1 });
    assert!(index.is_empty());
    index.upsert(vec![item("a", vec![1.0, 0.0]), item("b", vec![65_504.0, 1.0])]).unwrap();
    let hits = index.search(&[1.0, 0.0], 3, &SearchOptions::default()).unwrap();
    assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert!(hits.iter().all(|h| h.distance.is_finite()));
}

/// Parts whose rows hold `bad` where a good index has its first row.
fn damaged(storage: Storage, damage: impl FnOnce(&mut StoredRows)) -> Result<Index, Error> {
    let index = Index::new(params(Metric::L2, storage, false)).unwrap();
    index.upsert(vec![item("a", vec![1.0, 2.0, 3.0]), item("b", vec![-1.0, 0.5, 2.0])]).unwrap();
    let mut parts: IndexParts = index.to_parts();
    damage(&mut parts.vectors);
    Index::from_parts(parts)
}

#[test]
fn parts_with_non_finite_stored_values_are_refused() {
    let refused = |result: Result<Index, Error>| matches!(result, Err(Error::InvalidParts { .. }));
    assert!(refused(damaged(Storage::F32, |rows| {
        if let StoredRows::F32(v) = rows {
            let mut values = v.to_vec();
            values[1] = f32::NAN;
            *v = values.into();
        }
    })));
    assert!(refused(damaged(Storage::F16, |rows| {
        if let StoredRows::F16(v) = rows {
            let mut bits = v.to_vec();
            bits[0] = 0x7c00; // +infinity
            *v = bits.into();
        }
    })));
    assert!(refused(damaged(Storage::Int8, |rows| {
        if let StoredRows::Int8 { ranges, .. } = rows {
            let mut values = ranges.to_vec();
            values[1] = [-3e38, 3e36];
            *ranges = values.into();
        }
    })));
    assert!(damaged(Storage::F16, |_| ()).is_ok());
}
