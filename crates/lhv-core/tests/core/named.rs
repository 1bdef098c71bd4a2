//! Indexes with several dense vectors per item (the unnamed one and named
//! ones, each with its own dimension and metric), against a brute-force model.

use std::collections::{BTreeMap, HashSet};

use lhv_core::{Error, Filter, Index, IndexParams, Item, Metric, SearchOptions, VectorParams};
use proptest::prelude::*;
use serde_json::json;

/// The vectors of the index under test: name, dimension, metric.
const SPACES: [(&str, usize, Metric); 3] = [("", 3, Metric::L2), ("a", 2, Metric::Cosine), ("b", 4, Metric::Dot)];
const ID_POOL: usize = 10;

/// What the index should hold: id -> vectors by name (only those it has).
type Model = BTreeMap<String, BTreeMap<String, Vec<f32>>>;

#[derive(Debug, Clone)]
enum Op {
    Upsert(Vec<Item>),
    Delete(Vec<String>),
    Search { using: usize, query: Vec<f32>, k: usize, with_vector: bool },
    Compact,
}

fn params(exact: bool) -> IndexParams {
    let threshold = if exact { usize::MAX } else { 0 };
    let mut params = IndexParams::new(SPACES[0].1, SPACES[0].2).with_m(4).with_ef_construction(16);
    params = params.with_exact_search_threshold(threshold);
    for (name, dim, metric) in &SPACES[1..] {
        params = params.with_vector(*name, VectorParams::new(*dim, *metric).with_m(4));
    }
    params
}

/// Small integer components make ties common; zero vectors under cosine are
/// refused, so they appear rarely.
fn vector(dim: usize) -> impl Strategy<Value = Option<Vec<f32>>> {
    prop_oneof![
        6 => prop::collection::vec((-3i8..=3).prop_map(f32::from), dim).prop_map(Some),
        2 => Just(None),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    (0..ID_POOL, vector(SPACES[0].1), vector(SPACES[1].1), vector(SPACES[2].1)).prop_map(|(id, unnamed, a, b)| {
        let mut item = Item::new(format!("id-{id}"), unnamed.unwrap_or_default());
        for (name, vector) in [("a", a), ("b", b)] {
            if let Some(vector) = vector {
                item.vectors.insert(name.to_owned(), vector);
            }
        }
        item
    })
}

fn op() -> impl Strategy<Value = Op> {
    let search = (0..SPACES.len(), 1usize..12, any::<bool>()).prop_flat_map(|(using, k, with_vector)| {
        prop::collection::vec((-3i8..=3).prop_map(f32::from), SPACES[using].1).prop_map(move |query| Op::Search {
            using,
            query,
            k,
            with_vector,
        })
    });
    prop_oneof![
        6 => prop::collection::vec(item(), 0..6).prop_map(Op::Upsert),
        2 => prop::collection::vec((0..ID_POOL).prop_map(|i| format!("id-{i}")), 0..4).prop_map(Op::Delete),
        5 => search,
        1 => Just(Op::Compact),
    ]
}

fn valid(item: &Item) -> bool {
    let cosine = item.vectors.get("a");
    cosine.is_none_or(|v| v.iter().any(|&x| x != 0.0))
}

fn model_hits(model: &Model, using: usize, query: &[f32], k: usize) -> Vec<(String, f32)> {
    let (name, _, metric) = SPACES[using];
    let mut all: Vec<(String, f32)> = model
        .iter()
        .filter_map(|(id, vectors)| Some((id.clone(), metric.distance(query, vectors.get(name)?).ok()?)))
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

fn check_records(index: &Index, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(index.len(), model.len());
    for (id, vectors) in model {
        let record = index.get(id).expect("a model id is missing");
        let mut held = record.vectors.clone();
        if !record.vector.is_empty() {
            held.insert(String::new(), record.vector.clone());
        }
        prop_assert_eq!(&held, vectors);
    }
    Ok(())
}

fn run(ops: Vec<Op>, exact: bool) -> Result<(), TestCaseError> {
    let mut index = Index::new(params(exact)).unwrap();
    let mut model = Model::new();
    for op in ops {
        match op {
            Op::Upsert(items) => {
                let ids: HashSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
                let acceptable = ids.len() == items.len() && items.iter().all(valid);
                let result = index.upsert(items.clone());
                prop_assert_eq!(result.is_ok(), acceptable, "{:?}", result);
                if acceptable {
                    for item in items {
                        let mut vectors = item.vectors.clone();
                        if !item.vector.is_empty() {
                            vectors.insert(String::new(), item.vector.clone());
                        }
                        model.insert(item.id, vectors);
                    }
                }
                check_records(&index, &model)?;
            }
            Op::Delete(ids) => {
                index.delete(&ids);
                for id in &ids {
                    model.remove(id);
                }
                check_records(&index, &model)?;
            }
            Op::Search { using, query, k, with_vector } => {
                let (name, _, metric) = SPACES[using];
                if metric == Metric::Cosine && query.iter().all(|&x| x == 0.0) {
                    continue;
                }
                // `has_vector` of the searched vector changes nothing; of another one it narrows.
                let other = SPACES[(using + 1) % SPACES.len()].0;
                let filter: Filter = serde_json::from_value(json!({"must": [{"has_vector": other}]})).unwrap();
                let options = SearchOptions::default().using(name);
                let options = if with_vector { options.with_filter(&filter) } else { options };
                let hits = index.search(&query, k, &options).unwrap();
                let mut eligible = model.clone();
                if with_vector {
                    eligible.retain(|_, vectors| vectors.contains_key(other));
                }
                let want = model_hits(&eligible, using, &query, k);
                if exact {
                    let got: Vec<(String, f32)> = hits.into_iter().map(|h| (h.id, h.distance)).collect();
                    prop_assert_eq!(got, want);
                } else {
                    prop_assert_eq!(hits.len(), want.len());
                    for hit in hits {
                        let vector = &eligible.get(&hit.id).expect("a hit that is not eligible")[name];
                        prop_assert_eq!(hit.distance, metric.distance(&query, vector).unwrap());
                    }
                }
            }
            Op::Compact => {
                // Through parts, as a snapshot would: the same index comes back.
                index = Index::from_parts(index.to_parts()).unwrap();
                check_records(&index, &model)?;
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn each_vector_searches_like_the_model(ops in prop::collection::vec(op(), 1..50)) {
        run(ops, true)?;
    }

    #[test]
    fn graph_searches_return_correct_hits_of_each_vector(ops in prop::collection::vec(op(), 1..50)) {
        run(ops, false)?;
    }
}

#[test]
fn an_index_of_named_vectors_only_refuses_the_unnamed_one() {
    let params = IndexParams::named_only().with_vector("text", VectorParams::new(2, Metric::L2));
    let index = Index::new(params.clone()).unwrap();
    let mut item = Item::new("x", Vec::new());
    item.vectors.insert("text".into(), vec![1.0, 2.0]);
    index.upsert(vec![item.clone()]).unwrap();
    let hits = index.search(&[1.0, 2.0], 1, &SearchOptions::default().using("text")).unwrap();
    assert_eq!(hits[0].id, "x");
    assert!(matches!(
        index.search(&[1.0, 2.0], 1, &SearchOptions::default()),
        Err(Error::UnknownVector { name, .. }) if name.is_empty()
    ));
    assert!(matches!(
        index.upsert(vec![Item::new("y", vec![1.0, 2.0])]),
        Err(Error::UnknownVector { item: 0, name }) if name.is_empty()
    ));
    item.vectors.insert("image".into(), vec![1.0]);
    assert!(matches!(
        index.upsert(vec![Item::new("z", Vec::new()), item]),
        Err(Error::UnknownVector { item: 1, name }) if name == "image"
    ));
    let restored = Index::from_parts(index.to_parts()).unwrap();
    assert_eq!(restored.params(), params);
    assert_eq!(restored.get("x").unwrap().vectors["text"], vec![1.0, 2.0]);
    assert!(IndexParams::named_only().validate().is_err(), "an index needs a vector");
}

#[test]
fn changing_one_vector_keeps_the_others_searchable() {
    let index = Index::new(params(false)).unwrap();
    let items: Vec<Item> = (0..300)
        .map(|i| {
            let x = i as f32;
            let mut item = Item::new(format!("p{i}"), vec![x, 1.0, -x]);
            item.vectors.insert("a".into(), vec![1.0, x + 1.0]);
            item.vectors.insert("b".into(), vec![x, 0.0, 1.0, 2.0]);
            item
        })
        .collect();
    index.upsert(items.clone()).unwrap();
    let mut changed = items[7].clone();
    changed.vector = vec![1000.0, 0.0, 0.0];
    index.upsert(vec![changed]).unwrap();
    let hits = index.search(&[1000.0, 0.0, 0.0], 1, &SearchOptions::default()).unwrap();
    assert_eq!(hits[0].id, "p7");
    let query = [1.0, 8.0];
    let hits = index.search(&query, 1, &SearchOptions::default().using("a").with_ef(300)).unwrap();
    assert_eq!(hits[0].id, "p7");
    assert!(hits[0].distance < 1e-6);
    assert_eq!(index.stats().live, 300);
}
