//! A sharded index against a brute-force model of one index: whatever the
//! shard count, exact searches (plain and filtered), counts, listings, scroll
//! pages and lookups answer exactly as the model, and graph searches return
//! `min(k, live)` live hits in order.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::ops::Bound;

use lhv_core::{
    Error, Filter, IndexParams, Item, Metric, SearchOptions, ShardedIndex, compare_ids, merge_hits, shard_of,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const DIM: usize = 3;

/// id -> (vector, metadata).
type Model = BTreeMap<String, (Vec<f32>, Option<Value>)>;

#[derive(Debug, Clone)]
enum Op {
    Upsert(Vec<(usize, usize, Option<usize>)>),
    Delete(Vec<usize>),
    Search { query: usize, k: usize, tag: Option<usize> },
    Scroll(usize),
}

/// Few distinct vectors, so that distances tie across shards and the merge must order them by id.
fn vector(v: usize) -> Vec<f32> {
    vec![(v % 4) as f32 + 1.0, (v / 4) as f32 - 2.0, 1.0]
}

fn tag_filter(tag: usize) -> Filter {
    serde_json::from_value(json!({"must": [{"key": "tag", "match": {"value": tag}}]})).unwrap()
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => prop::collection::vec((0usize..40, 0usize..16, prop::option::of(0usize..3)), 1..16).prop_map(Op::Upsert),
        2 => prop::collection::vec(0usize..40, 1..8).prop_map(Op::Delete),
        5 => (0usize..16, 1usize..15, prop::option::of(0usize..3))
            .prop_map(|(query, k, tag)| Op::Search { query, k, tag }),
        1 => (1usize..9).prop_map(Op::Scroll),
    ]
}

fn check(index: &ShardedIndex, model: &Model, op: &Op, metric: Metric, graph: bool) -> Result<(), TestCaseError> {
    prop_assert_eq!(index.len(), model.len());
    match *op {
        Op::Search { query, k, tag } => {
            let query = vector(query);
            let filter = tag.map(tag_filter);
            let passes =
                |m: &Option<Value>| tag.is_none_or(|t| m.as_ref().and_then(|m| m.get("tag")) == Some(&json!(t)));
            let mut want: Vec<(f32, String)> = model
                .iter()
                .filter(|(_, (_, m))| passes(m))
                .map(|(id, (v, _))| (metric.distance(&query, v).unwrap(), id.clone()))
                .collect();
            want.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
            want.truncate(k);
            let exact = SearchOptions { filter: filter.as_ref(), exact: true, ..SearchOptions::default() };
            let got: Vec<(f32, String)> =
                index.search(&query, k, &exact).unwrap().into_iter().map(|h| (h.distance, h.id)).collect();
            prop_assert_eq!(&got, &want);
            let batch = index.search_batch(&[query.clone(), query.clone()], k, &exact).unwrap();
            for hits in batch {
                let hits: Vec<(f32, String)> = hits.into_iter().map(|h| (h.distance, h.id)).collect();
                prop_assert_eq!(&hits, &want);
            }
            let walked = index.search(&query, k, &SearchOptions { filter: filter.as_ref(), ..Default::default() });
            let walked = walked.unwrap();
            prop_assert_eq!(walked.len(), want.len(), "never fewer than min(k, matches)");
            for pair in walked.windows(2) {
                prop_assert!((pair[0].distance, &pair[0].id) <= (pair[1].distance, &pair[1].id), "out of order");
            }
            for hit in &walked {
                let (_, metadata) = model.get(&hit.id).expect("a hit that is not live");
                prop_assert!(passes(metadata));
                prop_assert_eq!(&hit.metadata, metadata);
            }
            if !graph {
                let walked: Vec<(f32, String)> = walked.into_iter().map(|h| (h.distance, h.id)).collect();
                prop_assert_eq!(walked, want);
            }
            let matching: Vec<&String> = model.keys().filter(|id| passes(&model[*id].1)).collect();
            prop_assert_eq!(index.count_where(filter.as_ref()).unwrap(), matching.len());
            let start = format!("id-{}", k * 3);
            let listed = index.ids_where(Bound::Included(&start), k, filter.as_ref()).unwrap();
            let from: Vec<String> = matching.into_iter().filter(|id| **id >= start).take(k).cloned().collect();
            prop_assert_eq!(listed, from);
        }
        Op::Scroll(limit) => {
            let mut seen = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = index.scroll(after.as_deref(), limit).unwrap();
                prop_assert!(page.ids.len() <= limit);
                seen.extend(page.ids.iter().cloned());
                match page.next_after {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            prop_assert_eq!(seen, model.keys().cloned().collect::<Vec<_>>());
        }
        Op::Upsert(_) | Op::Delete(_) => {
            for i in 0..40 {
                let id = format!("id-{i}");
                let got = index.get(&id).map(|r| (r.vector, r.metadata));
                prop_assert_eq!(got.as_ref(), model.get(&id));
                prop_assert_eq!(index.contains(&id), model.contains_key(&id));
            }
        }
    }
    Ok(())
}

/// Two processes of a cluster, holding the shards `mask` picks and the
/// others: each loads its shards back on their own, the two hold every item
/// once between them, each id is found where its shard is, and their
/// answers merged (as a routing process merges them) are the whole index's.
fn check_split(index: &ShardedIndex, model: &Model, mask: u64) -> Result<(), TestCaseError> {
    let total = index.shard_count();
    let (mine, theirs): (Vec<usize>, Vec<usize>) = (0..total).partition(|n| mask >> n & 1 == 1);
    if mine.is_empty() || theirs.is_empty() {
        prop_assert_eq!(index.subset(&(0..total).collect::<Vec<_>>()).unwrap().len(), index.len());
        return Ok(());
    }
    let parts = [index.subset(&mine).unwrap(), index.subset(&theirs).unwrap()];
    for part in &parts {
        prop_assert_eq!(part.shard_count(), total);
        prop_assert!(!part.is_whole());
        let held = part.numbers().iter().copied().zip(part.shards().iter().cloned()).collect();
        prop_assert_eq!(ShardedIndex::from_subset(total, held).unwrap().len(), part.len());
    }
    prop_assert_eq!(parts[0].len() + parts[1].len(), model.len());
    for i in 0..40 {
        let id = format!("id-{i}");
        let holder = usize::from(!mine.contains(&shard_of(&id, total)));
        let got = parts[holder].get(&id).map(|r| (r.vector, r.metadata));
        prop_assert_eq!(got.as_ref(), model.get(&id));
        prop_assert!(parts[1 - holder].get(&id).is_none() && !parts[1 - holder].contains(&id));
        let item = Item { id: id.clone(), vector: vector(i), metadata: None, ..Default::default() };
        let refused = parts[1 - holder].split_items(vec![item]);
        prop_assert!(matches!(refused, Err(Error::ShardNotHeld { .. })), "{:?}", refused);
    }
    let exact = SearchOptions { exact: true, ..SearchOptions::default() };
    for (query, k) in [(0usize, 1usize), (5, 7), (11, 40)] {
        let query = vector(query);
        let answers = parts.iter().map(|p| p.search(&query, k, &exact).unwrap()).collect();
        let merged: Vec<(f32, String)> = merge_hits(answers, k).into_iter().map(|h| (h.distance, h.id)).collect();
        let whole: Vec<(f32, String)> =
            index.search(&query, k, &exact).unwrap().into_iter().map(|h| (h.distance, h.id)).collect();
        prop_assert_eq!(merged, whole);
    }
    let mut listed: Vec<String> = parts.iter().flat_map(|p| p.ids_where(Bound::Unbounded, 9, None).unwrap()).collect();
    listed.sort_by(|a, b| compare_ids(a, b));
    listed.truncate(9);
    prop_assert_eq!(listed, index.ids_where(Bound::Unbounded, 9, None).unwrap());
    Ok(())
}

fn run_split(shards: usize, graph: bool, ops: Vec<Op>, mask: u64) -> Result<(), TestCaseError> {
    let metric = Metric::L2;
    let base = IndexParams::new(DIM, metric).with_m(4).with_ef_construction(16);
    let params = if graph { base.with_exact_search_threshold(0) } else { base.with_exact_search_threshold(usize::MAX) };
    let index = ShardedIndex::new(params, shards).unwrap();
    let mut model = Model::new();
    for op in &ops {
        match op {
            Op::Upsert(rows) => {
                let mut batch: BTreeMap<String, Item> = BTreeMap::new();
                for &(i, v, tag) in rows {
                    let id = format!("id-{i}");
                    let metadata = tag.map(|t| json!({"tag": t}));
                    batch.insert(id.clone(), Item { id, vector: vector(v), metadata, ..Default::default() });
                }
                crate::filter_model::upsert_into(&mut model, batch.values());
                index.upsert(batch.into_values().collect()).unwrap();
            }
            Op::Delete(ids) => {
                let ids: Vec<String> = ids.iter().map(|i| format!("id-{i}")).collect();
                let stored = ids.iter().collect::<std::collections::BTreeSet<_>>();
                let want = stored.iter().filter(|id| model.contains_key(id.as_str())).count();
                prop_assert_eq!(index.delete(&ids), want);
                ids.iter().for_each(|id| {
                    model.remove(id);
                });
            }
            Op::Search { .. } | Op::Scroll(_) => {}
        }
        check(&index, &model, op, metric, graph)?;
    }
    // Every shard holds exactly its own ids, so the shards load back as one index.
    for (number, shard) in index.shards().iter().enumerate() {
        let ids = shard.ids_where(Bound::Unbounded, usize::MAX, None).unwrap();
        prop_assert!(ids.iter().all(|id| shard_of(id, shards) == number));
    }
    let reloaded = ShardedIndex::from_shards(index.shards().to_vec()).unwrap();
    prop_assert_eq!(reloaded.len(), model.len());
    check_split(&index, &model, mask)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_sharded_index_answers_as_one_index(
        shards in 1usize..6,
        graph in any::<bool>(),
        ops in prop::collection::vec(op(), 1..40),
        mask in 0u64..64,
    ) {
        run_split(shards, graph, ops, mask)?;
    }
}

#[test]
fn subsets_take_only_shards_held_and_numbers_in_order() {
    let index = ShardedIndex::new(IndexParams::new(DIM, Metric::L2), 4).unwrap();
    let part = index.subset(&[3, 1, 3]).unwrap();
    assert_eq!(part.numbers(), [1, 3]);
    assert!(part.subset(&[0]).is_err(), "shard 0 is not held by the part");
    assert!(index.subset(&[]).is_err());
    let shards = index.shards().to_vec();
    let reversed = vec![(2, shards[2].clone()), (1, shards[1].clone())];
    assert!(ShardedIndex::from_subset(4, reversed).is_err(), "numbers must increase");
    assert!(ShardedIndex::from_subset(4, vec![(4, shards[0].clone())]).is_err(), "a number past the count");
    assert!(ShardedIndex::from_subset(4, Vec::new()).is_err());
    // A shard holding another shard's id does not load as that shard.
    index
        .upsert(
            (0..20)
                .map(|i| Item { id: format!("id-{i}"), vector: vector(i), metadata: None, ..Default::default() })
                .collect(),
        )
        .unwrap();
    assert!(ShardedIndex::from_subset(4, vec![(0, shards[1].clone())]).is_err());
}

#[test]
fn a_bad_item_changes_no_shard() {
    let index = ShardedIndex::new(IndexParams::new(DIM, Metric::Cosine), 4).unwrap();
    let good = |i: usize| Item { id: format!("id-{i}"), vector: vector(i), metadata: None, ..Default::default() };
    let mut batch: Vec<Item> = (0..20).map(good).collect();
    batch.push(Item { id: "zero".into(), vector: vec![0.0; DIM], metadata: None, ..Default::default() });
    assert!(index.upsert(batch).is_err());
    assert_eq!(index.len(), 0);
    assert!(index.shards().iter().all(|s| s.is_empty()));
}
