//! Random sequences of operations against a brute-force model of the index.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeMap, HashSet};

use lhv_core::{Error, Index, IndexParams, Item, Metric, SearchOptions};
use proptest::prelude::*;
use serde_json::{Value, json};

const DIM: usize = 3;
const ID_POOL: usize = 12;

/// What the index should hold: id -> (vector, metadata).
type Model = BTreeMap<String, (Vec<f32>, Option<Value>)>;

#[derive(Debug, Clone)]
enum Op {
    Upsert(Vec<Item>),
    Delete(Vec<String>),
    Get(String),
    Search(Vec<f32>, usize),
    Scroll(Option<String>, usize),
}

fn id() -> impl Strategy<Value = String> {
    // Index ID_POOL is the empty id, which must be rejected.
    (0..=ID_POOL).prop_map(|i| if i == ID_POOL { String::new() } else { format!("id-{i}") })
}

/// Small integer components make exact ties (and tie-breaking by id) common.
/// An empty vector is an item without one (never a search hit).
fn vector() -> impl Strategy<Value = Vec<f32>> {
    prop_oneof![
        20 => prop::collection::vec((-3i8..=3).prop_map(f32::from), DIM),
        3 => Just(Vec::new()),
        1 => prop::collection::vec((-3i8..=3).prop_map(f32::from), DIM + 1),
        1 => Just(vec![0.0, f32::NAN, 1.0]),
    ]
}

fn metadata() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![Just(None), Just(Some(json!({}))), (0..5i32).prop_map(|n| Some(json!({ "n": n })))]
}

fn op() -> impl Strategy<Value = Op> {
    let item = (id(), vector(), metadata()).prop_map(|(id, vector, metadata)| Item {
        id,
        vector,
        metadata,
        ..Item::default()
    });
    prop_oneof![
        6 => prop::collection::vec(item, 0..6).prop_map(Op::Upsert),
        2 => prop::collection::vec(id(), 0..4).prop_map(Op::Delete),
        1 => id().prop_map(Op::Get),
        4 => (vector(), 1usize..16).prop_map(|(v, k)| Op::Search(v, k)),
        1 => (prop::option::of(id()), 1usize..5).prop_map(|(a, l)| Op::Scroll(a, l)),
    ]
}

fn metric() -> impl Strategy<Value = Metric> {
    prop_oneof![Just(Metric::Cosine), Just(Metric::L2), Just(Metric::Dot)]
}

/// The position of the first bad item, checked the way the index documents it.
fn first_bad_item(items: &[Item], metric: Metric) -> Option<usize> {
    let mut seen = HashSet::new();
    items.iter().position(|item| {
        item.id.is_empty()
            || !seen.insert(item.id.as_str())
            || (!item.vector.is_empty()
                && (item.vector.len() != DIM
                    || item.vector.iter().any(|x| !x.is_finite())
                    || (metric == Metric::Cosine && item.vector.iter().all(|&x| x == 0.0))))
    })
}

fn bad_item_position(error: &Error) -> Option<usize> {
    match error {
        Error::DimensionMismatch { item, .. }
        | Error::NonFiniteComponent { item, .. }
        | Error::ZeroVector { item }
        | Error::EmptyId { item }
        | Error::DuplicateId { item, .. } => Some(*item),
        _ => None,
    }
}

fn expected_hits(model: &Model, metric: Metric, query: &[f32], k: usize) -> Vec<(String, f32, Option<Value>)> {
    let mut all: Vec<(String, f32, Option<Value>)> = model
        .iter()
        .filter(|(_, (v, _))| !v.is_empty())
        .map(|(id, (v, meta))| (id.clone(), metric.distance(query, v).unwrap(), meta.clone()))
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

fn check_matches_model(index: &Index, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(index.len(), model.len());
    for (id, (vector, metadata)) in model {
        let record = index.get(id).expect("model id missing from index");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&record.vector), bits(vector));
        prop_assert_eq!(&record.metadata, metadata);
    }
    Ok(())
}

fn run(ops: Vec<Op>, metric: Metric, exact: bool) -> Result<(), TestCaseError> {
    let threshold = if exact { usize::MAX } else { 0 };
    let params =
        IndexParams::new(DIM, metric).with_m(4).with_ef_construction(16).with_exact_search_threshold(threshold);
    let index = Index::new(params).unwrap();
    let mut model = Model::new();
    for op in ops {
        match op {
            Op::Upsert(items) => {
                let bad = first_bad_item(&items, metric);
                match index.upsert(items.clone()) {
                    Ok(outcome) => {
                        prop_assert_eq!(bad, None);
                        let updated = items.iter().filter(|i| model.contains_key(&i.id)).count();
                        prop_assert_eq!((outcome.inserted, outcome.updated), (items.len() - updated, updated));
                        for item in items {
                            let old_meta = model.get(&item.id).and_then(|(_, m)| m.clone());
                            model.insert(item.id, (item.vector, item.metadata.or(old_meta)));
                        }
                    }
                    Err(error) => prop_assert_eq!(bad_item_position(&error), bad, "{}", error),
                }
                check_matches_model(&index, &model)?;
            }
            Op::Delete(ids) => {
                let unique: HashSet<&String> = ids.iter().collect();
                let existing = unique.iter().filter(|id| model.contains_key(id.as_str())).count();
                prop_assert_eq!(index.delete(&ids), existing);
                for id in &ids {
                    model.remove(id);
                }
                check_matches_model(&index, &model)?;
            }
            Op::Get(id) => {
                prop_assert_eq!(index.get(&id).map(|r| r.metadata), model.get(&id).map(|(_, m)| m.clone()));
            }
            Op::Search(query, k) => {
                let valid = query.len() == DIM
                    && query.iter().all(|x| x.is_finite())
                    && !(metric == Metric::Cosine && query.iter().all(|&x| x == 0.0));
                let result = index.search(&query, k, &SearchOptions::default());
                prop_assert_eq!(result.is_ok(), valid);
                let Ok(hits) = result else { continue };
                let want = expected_hits(&model, metric, &query, k);
                prop_assert_eq!(hits.len(), want.len());
                if exact {
                    let got: Vec<_> = hits.into_iter().map(|h| (h.id, h.distance, h.metadata)).collect();
                    prop_assert_eq!(got, want);
                } else {
                    let mut previous: Option<(f32, String)> = None;
                    for hit in &hits {
                        let (vector, metadata) = model.get(&hit.id).expect("hit is not a live id");
                        prop_assert_eq!(hit.distance, metric.distance(&query, vector).unwrap());
                        prop_assert_eq!(&hit.metadata, metadata);
                        if let Some((d, id)) = &previous {
                            prop_assert!((*d, id.as_str()) < (hit.distance, hit.id.as_str()), "hits out of order");
                        }
                        previous = Some((hit.distance, hit.id.clone()));
                    }
                }
            }
            Op::Scroll(after, limit) => {
                let page = index.scroll(after.as_deref(), limit).unwrap();
                let rest: Vec<&String> =
                    model.keys().filter(|id| after.as_ref().is_none_or(|a| id.as_str() > a.as_str())).collect();
                let want: Vec<String> = rest.iter().take(limit).map(|s| s.to_string()).collect();
                prop_assert_eq!(&page.ids, &want);
                prop_assert_eq!(page.next_after.is_some(), rest.len() > limit);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn exact_mode_equals_the_model(metric in metric(), ops in prop::collection::vec(op(), 1..60)) {
        run(ops, metric, true)?;
    }

    #[test]
    fn graph_mode_returns_only_live_correct_hits(metric in metric(), ops in prop::collection::vec(op(), 1..60)) {
        run(ops, metric, false)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Replacing and deleting the same ids forever must not grow the index.
    #[test]
    fn churn_keeps_memory_bounded(seed in any::<u64>()) {
        let params = IndexParams::new(8, Metric::L2).with_m(8).with_ef_construction(32).with_seed(seed);
        let index = Index::new(params).unwrap();
        let vector = |round: usize, i: usize| (0..8).map(|c| ((round * 31 + i * 7 + c) % 17) as f32).collect::<Vec<f32>>();
        let mut high_water = 0;
        for round in 0..60 {
            let items = (0..200).map(|i| Item { id: format!("v{i}"), vector: vector(round, i), metadata: None, ..Default::default() }).collect();
            index.upsert(items).unwrap();
            let half: Vec<String> = (0..200).filter(|i| (i + round) % 2 == 0).map(|i| format!("v{i}")).collect();
            prop_assert_eq!(index.delete(&half), 100);
            let stats = index.stats();
            prop_assert_eq!(stats.live, 100);
            prop_assert!(stats.tombstones * 5 <= stats.live + stats.tombstones, "{:?}", stats);
            if round < 5 {
                high_water = high_water.max(stats.memory_bytes);
            } else {
                prop_assert!(stats.memory_bytes <= 2 * high_water, "round {}: {:?} vs {}", round, stats, high_water);
            }
        }
    }
}
