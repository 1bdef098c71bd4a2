//! Filtered search against a brute-force model, through every route the
//! planner can take: exact scan of all items, scan of field-index candidates,
//! and the filtered graph walk with its fallback; and the exact scan, listing
//! and counting by filter.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::ops::Bound;

use lhv_core::{FieldSchema, Filter, Index, IndexParams, IndexedField, Item, Metric, SearchOptions};
use proptest::prelude::*;
use serde_json::{Value, json};

const DIM: usize = 3;
const SCHEMAS: [FieldSchema; 5] =
    [FieldSchema::Any, FieldSchema::Keyword, FieldSchema::Integer, FieldSchema::Float, FieldSchema::Bool];
const TAGS: [&str; 3] = ["a", "b", "c"];

/// id -> (vector, metadata).
type Model = BTreeMap<String, (Vec<f32>, Option<Value>)>;

/// The model's upsert: vectors replaced, metadata kept where the new item
/// carries none (the index's rule).
pub(crate) fn upsert_into<'a>(model: &mut Model, items: impl IntoIterator<Item = &'a Item>) {
    for item in items {
        let kept = model.get(&item.id).and_then(|(_, m)| m.clone());
        model.insert(item.id.clone(), (item.vector.clone(), item.metadata.clone().or(kept)));
    }
}

/// The conditions generated, with their own meaning, independent of lhv-core's.
#[derive(Debug, Clone)]
enum Cond {
    TagIs(usize),
    TagAny(Vec<usize>),
    ListHasNone(Vec<usize>),
    NIn(i64, i64),
    IdIn(Vec<usize>),
    Not(Box<Cond>),
}

#[derive(Debug, Clone)]
struct ModelFilter {
    must: Vec<Cond>,
    should: Vec<Cond>,
    must_not: Vec<Cond>,
}

impl Cond {
    fn json(&self) -> Value {
        let tags = |list: &[usize]| list.iter().map(|&t| json!(TAGS[t])).collect::<Vec<_>>();
        match self {
            Cond::TagIs(t) => json!({"key": "tag", "match": {"value": TAGS[*t]}}),
            Cond::TagAny(list) => json!({"key": "tag", "match": {"any": tags(list)}}),
            Cond::ListHasNone(list) => json!({"must_not": [{"key": "list", "match": {"any": tags(list)}}]}),
            Cond::NIn(low, high) => json!({"key": "n", "range": {"gte": low, "lt": high}}),
            Cond::IdIn(ids) => json!({"has_id": ids.iter().map(|i| format!("id-{i}")).collect::<Vec<_>>()}),
            Cond::Not(inner) => json!({"must_not": [inner.json()]}),
        }
    }

    fn holds(&self, id: &str, metadata: Option<&Value>) -> bool {
        let field = |key: &str| metadata.and_then(|m| m.get(key));
        let tag = field("tag").and_then(Value::as_str);
        match self {
            Cond::TagIs(t) => tag == Some(TAGS[*t]),
            Cond::TagAny(list) => list.iter().any(|&t| tag == Some(TAGS[t])),
            Cond::ListHasNone(list) => !field("list")
                .and_then(Value::as_array)
                .is_some_and(|items| items.iter().any(|x| list.iter().any(|&t| x.as_str() == Some(TAGS[t])))),
            Cond::NIn(low, high) => field("n").and_then(Value::as_i64).is_some_and(|n| *low <= n && n < *high),
            Cond::IdIn(ids) => ids.iter().any(|i| format!("id-{i}") == id),
            Cond::Not(inner) => !inner.holds(id, metadata),
        }
    }
}

impl ModelFilter {
    fn filter(&self) -> Filter {
        let list = |conds: &[Cond]| conds.iter().map(Cond::json).collect::<Vec<_>>();
        serde_json::from_value(
            json!({"must": list(&self.must), "should": list(&self.should), "must_not": list(&self.must_not)}),
        )
        .unwrap()
    }

    fn holds(&self, id: &str, metadata: Option<&Value>) -> bool {
        self.must.iter().all(|c| c.holds(id, metadata))
            && (self.should.is_empty() || self.should.iter().any(|c| c.holds(id, metadata)))
            && !self.must_not.iter().any(|c| c.holds(id, metadata))
    }
}

fn cond() -> impl Strategy<Value = Cond> {
    let tag = 0..TAGS.len();
    let tags = prop::collection::vec(0..TAGS.len(), 0..3);
    let leaf = prop_oneof![
        3 => tag.prop_map(Cond::TagIs),
        1 => tags.clone().prop_map(Cond::TagAny),
        1 => tags.prop_map(Cond::ListHasNone),
        2 => (0i64..8, 0i64..8).prop_map(|(a, b)| Cond::NIn(a.min(b), a.max(b) + 1)),
        1 => prop::collection::vec(0usize..30, 0..6).prop_map(Cond::IdIn),
    ];
    leaf.prop_recursive(2, 8, 1, |inner| inner.prop_map(|c| Cond::Not(Box::new(c))))
}

fn model_filter() -> impl Strategy<Value = ModelFilter> {
    (prop::collection::vec(cond(), 0..3), prop::collection::vec(cond(), 0..3), prop::collection::vec(cond(), 0..2))
        .prop_map(|(must, should, must_not)| ModelFilter { must, should, must_not })
}

fn metadata() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        1 => Just(None),
        6 => (0..TAGS.len(), 0i64..8, prop::collection::vec(0..TAGS.len(), 0..3)).prop_map(|(t, n, list)| {
            Some(json!({"tag": TAGS[t], "n": n, "list": list.iter().map(|&l| TAGS[l]).collect::<Vec<_>>()}))
        }),
        1 => Just(Some(json!({"n": "not a number"}))),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(Vec<(usize, usize, Option<Value>)>),
    Delete(Vec<usize>),
    Search(usize, usize, ModelFilter),
    /// A field index of one of the keys added to the live index.
    IndexField(usize, FieldSchema),
    DropField(usize),
}

const KEYS: [&str; 3] = ["tag", "n", "list"];

/// Items whose value at `key` (or an element of it) an index of `schema` holds.
fn indexed_points(model: &Model, key: &str, schema: FieldSchema) -> usize {
    let holds = |value: &Value| match value {
        Value::Array(items) => items.iter().any(|item| schema.holds(item)),
        value => schema.holds(value),
    };
    model.values().filter(|(_, metadata)| metadata.as_ref().and_then(|m| m.get(key)).is_some_and(holds)).count()
}

/// Few distinct vectors, so that re-upserts often keep the slot and only change metadata.
fn vector(v: usize) -> Vec<f32> {
    vec![(v % 5) as f32 + 1.0, (v / 5) as f32 - 2.0, 1.0]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => prop::collection::vec((0usize..30, 0usize..25, metadata()), 1..12).prop_map(Op::Upsert),
        2 => prop::collection::vec(0usize..30, 1..6).prop_map(Op::Delete),
        5 => (0usize..25, 1usize..12, model_filter()).prop_map(|(q, k, f)| Op::Search(q, k, f)),
        1 => (0..KEYS.len(), prop::sample::select(SCHEMAS.to_vec())).prop_map(|(k, s)| Op::IndexField(k, s)),
        1 => (0..KEYS.len()).prop_map(Op::DropField),
    ]
}

/// How the index is configured to plan filtered searches.
#[derive(Debug, Clone, Copy)]
enum Planner {
    /// Small-index rule: always compare with every item.
    ScanAll,
    /// Field indexes on every key, candidates always scanned.
    FieldIndexes,
    /// Always the graph walk (and its fallback).
    Graph,
}

fn run(ops: Vec<Op>, planner: Planner) -> Result<(), TestCaseError> {
    let metric = Metric::L2;
    let base = IndexParams::new(DIM, metric).with_m(4).with_ef_construction(16);
    let params = match planner {
        Planner::ScanAll => base.with_exact_search_threshold(usize::MAX),
        Planner::FieldIndexes => base.with_exact_search_threshold(0).with_indexed_fields(["tag", "n", "list"]),
        Planner::Graph => base.with_exact_search_threshold(0).with_filter_scan_threshold(0),
    };
    let index = Index::new(params).unwrap();
    let mut model = Model::new();
    for op in ops {
        match op {
            Op::Upsert(rows) => {
                let mut batch: BTreeMap<String, Item> = BTreeMap::new();
                for (i, v, metadata) in rows {
                    let id = format!("id-{i}");
                    batch.insert(id.clone(), Item { id, vector: vector(v), metadata, ..Default::default() });
                }
                upsert_into(&mut model, batch.values());
                index.upsert(batch.into_values().collect()).unwrap();
            }
            Op::Delete(ids) => {
                let ids: Vec<String> = ids.iter().map(|i| format!("id-{i}")).collect();
                index.delete(&ids);
                ids.iter().for_each(|id| {
                    model.remove(id);
                });
            }
            Op::IndexField(key, schema) => index.create_field_index(IndexedField::new(KEYS[key], schema)).unwrap(),
            Op::DropField(key) => {
                let held = index.field_indexes().iter().any(|info| info.field.key == KEYS[key]);
                prop_assert_eq!(index.drop_field_index(KEYS[key]), held);
            }
            Op::Search(q, k, filter) => {
                let query = vector(q);
                let mut want: Vec<(f32, String)> = model
                    .iter()
                    .filter(|(id, (_, m))| filter.holds(id, m.as_ref()))
                    .map(|(id, (v, _))| (metric.distance(&query, v).unwrap(), id.clone()))
                    .collect();
                want.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
                want.truncate(k);
                let filter_json = filter.filter();
                let hits = index.search(&query, k, &SearchOptions::default().with_filter(&filter_json)).unwrap();
                // An empty filter is a plain search: the graph's, approximate unless every item is scanned.
                let exact = match planner {
                    Planner::ScanAll => true,
                    Planner::FieldIndexes => !filter_json.is_empty(),
                    Planner::Graph => false,
                };
                let got: Vec<(f32, String)> = hits.iter().map(|h| (h.distance, h.id.clone())).collect();
                prop_assert_eq!(got.len(), want.len(), "never fewer than min(k, matches): {:?}", filter);
                for hit in &hits {
                    let (_, metadata) = model.get(&hit.id).expect("hit is not a live id");
                    prop_assert!(filter.holds(&hit.id, metadata.as_ref()), "{} does not pass {:?}", hit.id, filter);
                    prop_assert_eq!(&hit.metadata, metadata);
                }
                if exact {
                    prop_assert_eq!(&got, &want);
                }
                // Asked for, the exact scan is exact on every route.
                let options = SearchOptions { filter: Some(&filter_json), exact: true, ..SearchOptions::default() };
                let scanned = index.search(&query, k, &options).unwrap();
                let scanned: Vec<(f32, String)> = scanned.into_iter().map(|h| (h.distance, h.id)).collect();
                prop_assert_eq!(scanned, want);
                // Listing and counting by filter, in id order from an inclusive start.
                let matching: Vec<&String> =
                    model.keys().filter(|id| filter.holds(id, model[*id].1.as_ref())).collect();
                prop_assert_eq!(index.count_where(Some(&filter_json)).unwrap(), matching.len());
                let start = format!("id-{q}");
                let from: Vec<String> = matching.into_iter().filter(|id| **id >= start).take(k).cloned().collect();
                prop_assert_eq!(index.ids_where(Bound::Included(&start), k, Some(&filter_json)).unwrap(), from);
            }
        }
        for info in index.field_indexes() {
            let want = indexed_points(&model, &info.field.key, info.field.schema);
            prop_assert_eq!(info.points, want, "points of {:?}", info.field);
        }
    }
    Ok(())
}

fn planner() -> impl Strategy<Value = Planner> {
    prop_oneof![Just(Planner::ScanAll), Just(Planner::FieldIndexes), Just(Planner::Graph)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn filtered_search_equals_the_model(planner in planner(), ops in prop::collection::vec(op(), 1..50)) {
        run(ops, planner)?;
    }
}

#[test]
fn field_indexes_survive_parts_and_compaction() {
    let params = IndexParams::new(DIM, Metric::L2).with_exact_search_threshold(0).with_indexed_fields(["tag"]);
    let index = Index::new(params).unwrap();
    let item = |i: usize, tag: &str| Item {
        id: format!("id-{i}"),
        vector: vector(i),
        metadata: Some(json!({"tag": tag})),
        ..Default::default()
    };
    index.upsert((0..20).map(|i| item(i, if i % 2 == 0 { "even" } else { "odd" })).collect()).unwrap();
    // Deleting most items compacts the slots; the field index must follow.
    let gone: Vec<String> = (0..14).map(|i| format!("id-{i}")).collect();
    index.delete(&gone);
    let restored = Index::from_parts(index.to_parts()).unwrap();
    let even: Filter = serde_json::from_value(json!({"must": [{"key": "tag", "match": {"value": "even"}}]})).unwrap();
    for index in [&index, &restored] {
        let hits = index.search(&vector(0), 10, &SearchOptions::default().with_filter(&even)).unwrap();
        let mut ids: Vec<String> = hits.into_iter().map(|h| h.id).collect();
        ids.sort();
        assert_eq!(ids, ["id-14", "id-16", "id-18"]);
    }
}
