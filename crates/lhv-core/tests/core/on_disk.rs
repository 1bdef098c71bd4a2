//! Vectors kept on disk (`on_disk`): the walk reads codes, but what the
//! index returns is exact. Against a brute-force model over upserts,
//! replacements and deletes: `get` gives the input back bit for bit, an
//! exact search (every slot scored, then rescored from the exact rows)
//! returns the model's nearest with the model's distances, and the parts
//! round-trip. Graph searches keep a recall floor on MiniLM.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use lhv_core::{Index, IndexParams, Item, Metric, SearchOptions, Storage};
use proptest::prelude::*;

const DIM: usize = 10;

fn params(metric: Metric, storage: Storage, exact: bool) -> IndexParams {
    IndexParams::new(DIM, metric)
        .with_m(4)
        .with_ef_construction(16)
        .with_exact_search_threshold(if exact { usize::MAX } else { 0 })
        .with_storage(storage)
        .with_on_disk(true)
}

/// The model's distance, as the index reports it.
fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    (match metric {
        Metric::Cosine => 1.0 - dot / (norm(a) * norm(b)),
        Metric::Dot => 1.0 - dot,
        Metric::L2 => a.iter().zip(b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2)).sum::<f64>().sqrt(),
    }) as f32
}

fn vector() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-4.0f32..4.0, DIM).prop_filter("not zero", |v| v.iter().any(|x| x.abs() > 0.01))
}

fn metric() -> impl Strategy<Value = Metric> {
    prop_oneof![Just(Metric::Cosine), Just(Metric::L2), Just(Metric::Dot)]
}

fn storage() -> impl Strategy<Value = Storage> {
    // Float32 kept on disk walks 8-bit codes.
    prop_oneof![Just(Storage::F32), Just(Storage::F16), Just(Storage::Int8)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn on_disk_indexes_answer_exactly_like_the_model(
        metric in metric(),
        storage in storage(),
        rows in prop::collection::vec((0usize..30, vector()), 1..70),
        deletes in prop::collection::vec(0usize..30, 0..10),
        queries in prop::collection::vec(vector(), 1..4),
    ) {
        let index = Index::new(params(metric, storage, true)).unwrap();
        let mut model: BTreeMap<String, Vec<f32>> = BTreeMap::new();
        for chunk in rows.chunks(6) {
            let batch: BTreeMap<String, Vec<f32>> = chunk.iter().map(|(i, v)| (format!("id-{i}"), v.clone())).collect();
            index.upsert(batch.iter().map(|(id, v)| Item::new(id.clone(), v.clone())).collect()).unwrap();
            model.extend(batch);
        }
        let gone: Vec<String> = deletes.iter().map(|i| format!("id-{i}")).collect();
        index.delete(&gone);
        for id in &gone {
            model.remove(id);
        }
        prop_assert_eq!(index.len(), model.len());
        for (id, v) in &model {
            let stored = index.get(id).unwrap().vector;
            prop_assert!(stored.iter().zip(v).all(|(a, b)| a.to_bits() == b.to_bits()), "{} came back as {:?}", id, stored);
        }
        let restored = Index::from_parts(index.to_parts()).unwrap();
        prop_assert_eq!(restored.to_parts(), index.to_parts());
        for query in &queries {
            let k = 5.min(model.len());
            if k == 0 {
                // Every item deleted: nothing to find.
                prop_assert!(index.search(query, 1, &SearchOptions::default()).unwrap().is_empty());
                continue;
            }
            let hits = index.search(query, k, &SearchOptions::default()).unwrap();
            prop_assert_eq!(&hits, &restored.search(query, k, &SearchOptions::default()).unwrap());
            let mut expected: Vec<f32> = model.values().map(|v| distance(metric, query, v)).collect();
            expected.sort_by(f32::total_cmp);
            prop_assert_eq!(hits.len(), k);
            for (rank, hit) in hits.iter().enumerate() {
                let own = distance(metric, query, &model[&hit.id]);
                let tolerance = 1e-4 * (1.0 + own.abs());
                prop_assert!((hit.distance - own).abs() <= tolerance, "{}: {} reported, {} exact", hit.id, hit.distance, own);
                prop_assert!((own - expected[rank]).abs() <= tolerance, "rank {}: {} is not among the nearest", rank, hit.id);
            }
        }
    }
}

#[test]
fn on_disk_indexes_refuse_what_their_codes_cannot_hold_and_hold_less_in_memory() {
    let f16 = Index::new(params(Metric::L2, Storage::F16, false)).unwrap();
    let mut big = vec![1.0; DIM];
    big[3] = 70_000.0;
    assert!(f16.upsert(vec![Item::new("big", big.clone())]).is_err(), "float16 codes cannot hold 70 000");
    let int8 = Index::new(params(Metric::L2, Storage::F32, false)).unwrap();
    int8.upsert(vec![Item::new("big", big.clone())]).unwrap();
    assert_eq!(int8.get("big").unwrap().vector, big);

    // Rows written since the snapshot are in memory: loaded from parts, they
    // are owned too (only a mapped file shares them); the codes are smaller.
    let items: Vec<Item> =
        (0..500).map(|i| Item::new(format!("{i}"), (0..DIM).map(|d| (i * d) as f32 % 7.0 + 0.5).collect())).collect();
    let in_memory = Index::new(IndexParams::new(DIM, Metric::L2)).unwrap();
    in_memory.upsert(items.clone()).unwrap();
    let on_disk = Index::new(params(Metric::L2, Storage::F32, false)).unwrap();
    on_disk.upsert(items).unwrap();
    assert_eq!(on_disk.stats().disk_bytes, 0, "nothing is on disk before a snapshot maps it");
    assert!(on_disk.params().on_disk);
}

#[test]
fn graph_searches_on_disk_keep_their_recall_on_minilm() {
    let base = crate::minilm::read_fvecs("base.fvecs", 5_000);
    let queries = crate::minilm::read_fvecs("query.fvecs", 200);
    let index = Index::new(IndexParams::new(base[0].len(), Metric::Cosine).with_on_disk(true)).unwrap();
    index.upsert(base.iter().enumerate().map(|(i, v)| Item::new(format!("{i}"), v.clone())).collect()).unwrap();
    let live: Vec<usize> = (0..base.len()).collect();
    let mut found = 0;
    for query in &queries {
        let truth = crate::minilm::ground_truth(&base, &live, query, 10);
        let hits = index.search(query, 10, &SearchOptions::default().with_ef(64)).unwrap();
        found += hits.iter().filter(|hit| truth.contains(&hit.id.parse().unwrap())).count();
    }
    // The walk reads 8-bit codes; the candidates it finds are rescored exactly.
    let recall = found as f64 / (10 * queries.len()) as f64;
    assert!(recall >= 0.97, "recall@10 {recall}");
}
