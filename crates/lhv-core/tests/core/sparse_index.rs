//! Sparse vectors held by an index (with a dense vector beside them), against
//! a brute-force model: exact ids and scores after upserts, deletes, re-adds,
//! compactions and a trip through parts, with and without idf and filters.

use std::collections::BTreeMap;

use lhv_core::{
    Filter, Index, IndexParams, Item, Metric, SearchOptions, SparseModifier, SparseParams, SparseStatistics,
    SparseVector, idf,
};
use proptest::prelude::*;
use serde_json::json;

const ID_POOL: usize = 14;

/// What the index should hold: id -> (sparse vectors by name, normalized; the tag).
type Model = BTreeMap<String, (BTreeMap<String, SparseVector>, i64)>;

#[derive(Debug, Clone)]
enum Op {
    Upsert(Vec<Item>),
    Delete(Vec<String>),
    Search { idf_weighted: bool, query: SparseVector, k: usize, tag: Option<i64> },
    Reload,
}

fn params() -> IndexParams {
    IndexParams::new(2, Metric::L2)
        .with_exact_search_threshold(0)
        .with_sparse_vector("w", SparseParams { modifier: SparseModifier::Idf })
        .with_sparse_vector("t", SparseParams::default())
}

/// Few indices and small integer weights (some negative): overlaps and ties are common.
fn sparse() -> impl Strategy<Value = SparseVector> {
    prop::collection::btree_map(0u32..10, (-2i8..=4).prop_map(f32::from), 0..5)
        .prop_map(|pairs| SparseVector::new(pairs.keys().copied().collect(), pairs.values().copied().collect()))
}

fn item() -> impl Strategy<Value = Item> {
    (0..ID_POOL, prop::option::of(sparse()), prop::option::of(sparse()), 0i64..3).prop_map(|(id, w, t, tag)| {
        let mut item = Item::new(format!("id-{id}"), vec![id as f32, 1.0]);
        // Unsorted on input: the index sorts.
        if let Some(mut w) = w {
            w.indices.reverse();
            w.values.reverse();
            item.sparse.insert("w".into(), w);
        }
        if let Some(t) = t {
            item.sparse.insert("t".into(), t);
        }
        item.metadata = Some(json!({ "tag": tag }));
        item
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => prop::collection::vec(item(), 0..6).prop_map(|items| {
            // One item per id: a batch with an id twice is refused (tested elsewhere).
            let unique: BTreeMap<String, Item> = items.into_iter().map(|item| (item.id.clone(), item)).collect();
            Op::Upsert(unique.into_values().collect())
        }),
        2 => prop::collection::vec((0..ID_POOL).prop_map(|i| format!("id-{i}")), 0..4).prop_map(Op::Delete),
        6 => (any::<bool>(), sparse(), 1usize..10, prop::option::of(0i64..3))
            .prop_map(|(idf_weighted, query, k, tag)| Op::Search { idf_weighted, query, k, tag }),
        1 => Just(Op::Reload),
    ]
}

fn sorted(vector: &SparseVector) -> SparseVector {
    vector.clone().normalized(0).unwrap()
}

/// The exact answer: items sharing an index with the query, by score, then id.
fn model_hits(model: &Model, name: &str, query: &SparseVector, k: usize, tag: Option<i64>) -> Vec<(String, f32)> {
    let query = sorted(query);
    let weighted = if name == "w" {
        let holders: Vec<&SparseVector> = model.values().filter_map(|(v, _)| v.get(name)).collect();
        let frequency = |index: u32| holders.iter().filter(|v| v.indices.contains(&index)).count() as u64;
        query.idf_weighted(holders.len() as u64, frequency)
    } else {
        query.clone()
    };
    let mut hits: Vec<(String, f32)> = model
        .iter()
        .filter(|(_, (_, t))| tag.is_none_or(|wanted| wanted == *t))
        .filter_map(|(id, (vectors, _))| {
            let vector = vectors.get(name)?;
            vector.indices.iter().any(|i| weighted.indices.contains(i)).then(|| (id.clone(), weighted.dot(vector)))
        })
        .collect();
    hits.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    hits.truncate(k);
    hits
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut index = Index::new(params()).unwrap();
    let mut model = Model::new();
    for op in ops {
        match op {
            Op::Upsert(items) => {
                index.upsert(items.clone()).unwrap();
                for item in items {
                    let vectors = item.sparse.iter().map(|(name, v)| (name.clone(), sorted(v))).collect();
                    let tag = item.metadata.as_ref().and_then(|m| m["tag"].as_i64()).unwrap_or(0);
                    model.insert(item.id, (vectors, tag));
                }
            }
            Op::Delete(ids) => {
                index.delete(&ids);
                for id in &ids {
                    model.remove(id);
                }
            }
            Op::Search { idf_weighted, query, k, tag } => {
                let name = if idf_weighted { "w" } else { "t" };
                let filter: Option<Filter> = tag
                    .map(|t| serde_json::from_value(json!({"must": [{"key": "tag", "match": {"value": t}}]})).unwrap());
                let options = SearchOptions { using: name, filter: filter.as_ref(), ..SearchOptions::default() };
                let hits = index.search_sparse(&query, k, &options, None).unwrap();
                let got: Vec<(String, f32)> = hits.into_iter().map(|h| (h.id, -h.distance)).collect();
                prop_assert_eq!(&got, &model_hits(&model, name, &query, k, tag));
                // Statistics from the index itself give the same answer as none.
                let statistics: SparseStatistics = index.sparse_statistics(name, &query).unwrap();
                let again = index.search_sparse(&query, k, &options, Some(&statistics)).unwrap();
                prop_assert_eq!(again.len(), got.len());
            }
            Op::Reload => index = Index::from_parts(index.to_parts()).unwrap(),
        }
        for (id, (vectors, _)) in &model {
            prop_assert_eq!(&index.get(id).unwrap().sparse, vectors);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn sparse_searches_equal_brute_force(ops in prop::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}

#[test]
fn statistics_of_shards_add_up_to_those_of_the_whole() {
    let whole = Index::new(params()).unwrap();
    let halves = [Index::new(params()).unwrap(), Index::new(params()).unwrap()];
    for i in 0..40u32 {
        let mut item = Item::new(format!("d{i}"), vec![1.0, 0.0]);
        item.sparse.insert("w".into(), SparseVector::new(vec![i % 3, 10 + i % 5], vec![1.0, 2.0]));
        whole.upsert(vec![item.clone()]).unwrap();
        halves[(i % 2) as usize].upsert(vec![item]).unwrap();
    }
    let query = SparseVector::new(vec![1, 12], vec![1.0, 1.0]);
    let mut summed = SparseStatistics::default();
    for half in &halves {
        summed.add(&half.sparse_statistics("w", &query).unwrap());
    }
    assert_eq!(summed, whole.sparse_statistics("w", &query).unwrap());
    assert_eq!(summed.vectors, 40);
    let options = SearchOptions::default().using("w");
    let expected = whole.search_sparse(&query, 5, &options, None).unwrap();
    let mut merged: Vec<_> =
        halves.iter().flat_map(|half| half.search_sparse(&query, 5, &options, Some(&summed)).unwrap()).collect();
    merged.sort_by(|a, b| a.distance.total_cmp(&b.distance).then_with(|| a.id.cmp(&b.id)));
    merged.truncate(5);
    assert_eq!(merged, expected);
    assert!(idf(40, 14) > 0.0);
    // A dense query of a sparse vector, or a sparse query of the dense one: refused by name.
    let dense_of_sparse = whole.search(&[1.0, 0.0], 1, &options);
    assert!(matches!(dense_of_sparse, Err(lhv_core::Error::InvalidParameter { name: "using", .. })));
    let sparse_of_dense = whole.search_sparse(&query, 1, &SearchOptions::default(), None);
    assert!(matches!(sparse_of_dense, Err(lhv_core::Error::InvalidParameter { name: "using", .. })));
}
