//! Field indexes: for the metadata keys declared at index creation, which
//! slots hold which value. A selective filter then finds its few candidates
//! without reading every item's metadata. Candidates are a superset: the
//! search still checks each one against the whole filter.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use serde_json::Value;

use super::{Condition, FieldCheck, FieldKey, FieldSchema, Filter, IndexedField, Match, Range};

/// The indexes of every declared key.
#[derive(Debug, Default)]
pub(crate) struct FieldIndexes {
    fields: Vec<FieldIndex>,
}

/// What the field indexes know about a filter's matches.
#[derive(Debug, PartialEq)]
pub(crate) enum Narrowed {
    /// No condition the indexes can answer restricts the matches.
    Unknown,
    /// The candidates would be more than the limit asked for.
    TooMany,
    /// Every match is among these slots (ascending, unique); if `exact`,
    /// every one of them matches too.
    Slots {
        /// The candidates.
        slots: Vec<u32>,
        /// Whether they are exactly the matches.
        exact: bool,
    },
}

#[derive(Debug)]
struct FieldIndex {
    field: IndexedField,
    /// The field's key, parsed.
    path: FieldKey,
    postings: Postings,
    /// Live slots holding at least one value at the key (what Qdrant reports as the index's `points`).
    points: usize,
}

/// Per value found at one key, the slots that hold it.
#[derive(Debug, Default)]
struct Postings {
    strings: HashMap<String, BTreeSet<u32>>,
    numbers: BTreeMap<Number, BTreeSet<u32>>,
    bools: [BTreeSet<u32>; 2],
}

/// One field index and the items it holds, as [`Index::field_indexes`](crate::Index::field_indexes) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIndexInfo {
    /// The key and the type.
    pub field: IndexedField,
    /// Live items holding at least one value the index keeps.
    pub points: usize,
}

/// A finite number ordered totally, with -0.0 stored as 0.0 so that ranges
/// and equality agree with IEEE comparison.
#[derive(Debug, Clone, Copy)]
struct Number(f64);

impl Number {
    fn of(x: f64) -> Self {
        Number(x + 0.0)
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0).is_eq()
    }
}
impl Eq for Number {}
impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Number {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl FieldIndexes {
    /// Empty indexes for these fields.
    pub(crate) fn new(fields: &[IndexedField]) -> Self {
        Self { fields: fields.iter().map(|field| FieldIndex::new(field.clone())).collect() }
    }

    /// Records the values of `metadata` under `slot`.
    pub(crate) fn insert(&mut self, slot: u32, metadata: &Value) {
        self.fields.iter_mut().for_each(|index| index.insert(slot, metadata));
    }

    /// Forgets the values of `metadata` under `slot`.
    pub(crate) fn remove(&mut self, slot: u32, metadata: &Value) {
        self.fields.iter_mut().for_each(|index| index.remove(slot, metadata));
    }

    /// Forgets every value, keeping the fields (before slots are renumbered).
    pub(crate) fn clear(&mut self) {
        *self = Self::new(&self.fields());
    }

    /// The indexed fields, in the order they were added.
    pub(crate) fn fields(&self) -> Vec<IndexedField> {
        self.fields.iter().map(|index| index.field.clone()).collect()
    }

    /// Each field with the number of items its index holds.
    pub(crate) fn describe(&self) -> Vec<FieldIndexInfo> {
        self.fields.iter().map(|index| FieldIndexInfo { field: index.field.clone(), points: index.points }).collect()
    }

    /// An index of `field` over `slots` (slot, metadata), built apart from
    /// these indexes so that readers are not held up while it is built.
    pub(crate) fn build<'a>(field: IndexedField, slots: impl Iterator<Item = (u32, &'a Value)>) -> BuiltField {
        let mut index = FieldIndex::new(field);
        slots.for_each(|(slot, metadata)| index.insert(slot, metadata));
        BuiltField(index)
    }

    /// Adds a built index, replacing any index of the same key.
    pub(crate) fn put(&mut self, built: BuiltField) {
        match self.fields.iter_mut().find(|index| index.field.key == built.0.field.key) {
            Some(existing) => *existing = built.0,
            None => self.fields.push(built.0),
        }
    }

    /// Drops the index of `key`; whether there was one.
    pub(crate) fn drop_key(&mut self, key: &str) -> bool {
        let before = self.fields.len();
        self.fields.retain(|index| index.field.key != key);
        self.fields.len() != before
    }

    /// Approximate heap bytes held.
    pub(crate) fn memory_bytes(&self) -> usize {
        // A B-tree entry of a u32 costs about 8 bytes with node overhead.
        let per_slot = 8;
        self.fields
            .iter()
            .map(|FieldIndex { postings: p, .. }| {
                let slots: usize =
                    p.strings.values().chain(p.numbers.values()).chain(&p.bools).map(BTreeSet::len).sum();
                slots * per_slot + p.strings.keys().map(|k| k.len() + 64).sum::<usize>() + p.numbers.len() * 48
            })
            .sum()
    }

    /// The slots that can match `filter`, if the indexes restrict them to at
    /// most `limit`. `slot_of` resolves ids for `has_id`.
    pub(crate) fn narrow(&self, filter: &Filter, slot_of: &dyn Fn(&str) -> Option<u32>, limit: usize) -> Narrowed {
        match self.plan(filter, slot_of) {
            None => Narrowed::Unknown,
            Some(plan) if plan.estimate > limit => Narrowed::TooMany,
            Some(plan) => {
                let mut slots = Vec::with_capacity(plan.estimate);
                (plan.collect)(&mut slots);
                slots.sort_unstable();
                slots.dedup();
                Narrowed::Slots { slots, exact: plan.exact }
            }
        }
    }

    /// The cheapest way the indexes know to list a superset of the matches.
    fn plan<'a>(&'a self, filter: &'a Filter, slot_of: &'a dyn Fn(&str) -> Option<u32>) -> Option<Plan<'a>> {
        // Any `must` condition alone bounds the matches: take the smallest.
        let best_must = filter.must.iter().filter_map(|c| self.condition_plan(c, slot_of)).min_by_key(|p| p.estimate);
        if let Some(mut plan) = best_must {
            // Its slots are the filter's matches only if it is the whole filter.
            plan.exact &= filter.must.len() == 1
                && filter.should.is_empty()
                && filter.must_not.is_empty()
                && filter.min_should.is_none();
            return Some(plan);
        }
        // `should` bounds them only if every alternative can be listed.
        if filter.should.is_empty() {
            return None;
        }
        let alternatives: Vec<Plan<'a>> =
            filter.should.iter().map(|c| self.condition_plan(c, slot_of)).collect::<Option<_>>()?;
        let estimate = alternatives.iter().map(|p| p.estimate).sum();
        let exact = filter.must.is_empty()
            && filter.must_not.is_empty()
            && filter.min_should.is_none()
            && alternatives.iter().all(|p| p.exact);
        Some(Plan { estimate, exact, collect: Box::new(move |out| alternatives.iter().for_each(|p| (p.collect)(out))) })
    }

    /// The items equal to one of `values` at `key`, from an index that holds them all.
    fn equality_plan<'a>(&'a self, key: &FieldKey, values: &'a [Value]) -> Option<Plan<'a>> {
        let key = key.as_str();
        // An index answers only if it holds every value that can equal one of these.
        let field =
            self.fields.iter().find(|f| f.field.key == key && values.iter().all(|v| f.field.schema.holds(v)))?;
        let sets: Vec<&BTreeSet<u32>> = values.iter().filter_map(|v| field.postings.set(v)).collect();
        // Numbers are kept as f64, which merges integers beyond 2^53: check those again.
        let exact = values.iter().all(|v| v.is_string() || v.is_boolean());
        Some(Plan { exact, ..Plan::union(sets) })
    }

    /// The index of `key`, if it has this schema.
    fn field_of(&self, key: &FieldKey, schema: FieldSchema) -> Option<&FieldIndex> {
        self.fields.iter().find(|f| f.field.key == key.as_str() && f.field.schema == schema)
    }

    fn condition_plan<'a>(
        &'a self,
        condition: &'a Condition,
        slot_of: &'a dyn Fn(&str) -> Option<u32>,
    ) -> Option<Plan<'a>> {
        match condition {
            Condition::HasId { has_id } => Some(Plan {
                estimate: has_id.len(),
                exact: true,
                collect: Box::new(move |out| out.extend(has_id.iter().filter_map(|id| slot_of(id)))),
            }),
            Condition::Filter(inner) => self.plan(inner, slot_of).map(|plan| Plan { exact: false, ..plan }),
            Condition::Field { key, check: FieldCheck::Match(Match::Value(value)) } => {
                self.equality_plan(key, std::slice::from_ref(value))
            }
            Condition::Field { key, check: FieldCheck::Match(Match::Any(values)) } => self.equality_plan(key, values),

            Condition::Field { key, check: FieldCheck::Match(Match::Text(query) | Match::Phrase(query)) } => {
                // Every word must be there: the rarest word's items are a superset.
                let field = self.field_of(key, FieldSchema::Text)?;
                let words = super::text::tokens(query);
                let sets: Option<Vec<&BTreeSet<u32>>> = words.iter().map(|w| field.postings.strings.get(w)).collect();
                let smallest = sets.unwrap_or_default().into_iter().min_by_key(|set| set.len());
                Some(Plan { exact: words.is_empty(), ..Plan::union(smallest.into_iter().collect()) })
            }
            Condition::Field { key, check: FieldCheck::Match(Match::TextAny(query)) } => {
                let field = self.field_of(key, FieldSchema::Text)?;
                let words = super::text::tokens(query);
                Some(Plan::union(words.iter().filter_map(|w| field.postings.strings.get(w)).collect()))
            }
            Condition::Field { key, check: FieldCheck::DatetimeRange(range) } => {
                let field = self.field_of(key, FieldSchema::Datetime)?;
                let micros = |bound: &Option<super::Datetime>| bound.as_ref().map(|b| b.micros as f64);
                let range = Range {
                    gt: micros(&range.gt),
                    gte: micros(&range.gte),
                    lt: micros(&range.lt),
                    lte: micros(&range.lte),
                };
                Some(Plan::union(field.postings.numbers_within(&range).collect()))
            }
            Condition::Field { key, check: FieldCheck::Range(range) } => {
                let key = key.as_str();
                let field = self.fields.iter().find(|f| f.field.key == key && f.field.schema.holds_all_numbers())?;
                // The sets are those of the loosest bounds: `gt` is taken as `gte`.
                Some(Plan::union(field.postings.numbers_within(range).collect()))
            }
            _ => None,
        }
    }
}

/// A field index built apart, ready to [`put`](FieldIndexes::put).
#[derive(Debug)]
pub(crate) struct BuiltField(FieldIndex);

impl FieldIndex {
    fn new(field: IndexedField) -> Self {
        // Keys are checked before an index is made; one from an older version
        // that is no path now is taken as one name.
        let path = FieldKey::parse(&field.key).unwrap_or_else(|_| FieldKey::name(&field.key));
        Self { field, path, postings: Postings::default(), points: 0 }
    }

    fn insert(&mut self, slot: u32, metadata: &Value) {
        let (schema, postings) = (self.field.schema, &mut self.postings);
        let mut held = false;
        self.path.visit(metadata, true, &mut |value| {
            for key in posting_keys(schema, value) {
                postings.set_mut(key).insert(slot);
                held = true;
            }
        });
        self.points += usize::from(held);
    }

    fn remove(&mut self, slot: u32, metadata: &Value) {
        let (schema, postings) = (self.field.schema, &mut self.postings);
        let mut held = false;
        self.path.visit(metadata, true, &mut |value| {
            for key in posting_keys(schema, value) {
                postings.remove(&key, slot);
                held = true;
            }
        });
        self.points = self.points.saturating_sub(usize::from(held));
    }
}

/// What a value found at the key is filed under in an index of `schema`:
/// itself (if the schema holds it), its words (`text`), or its instant (`datetime`).
fn posting_keys(schema: FieldSchema, value: &Value) -> Vec<PostingKey> {
    match (schema, value) {
        (FieldSchema::Text, Value::String(text)) => {
            let mut words = super::text::tokens(text);
            words.sort_unstable();
            words.dedup();
            words.into_iter().map(PostingKey::Str).collect()
        }
        (FieldSchema::Datetime, Value::String(text)) => {
            super::datetime::parse(text).map(|micros| PostingKey::Num(Number::of(micros as f64))).into_iter().collect()
        }
        (schema, value) if schema.holds(value) => PostingKey::of(value).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// A key of the postings.
#[derive(Debug)]
enum PostingKey {
    Str(String),
    Num(Number),
    Bool(bool),
}

impl PostingKey {
    fn of(value: &Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(PostingKey::Str(s.clone())),
            Value::Number(n) => Some(PostingKey::Num(Number::of(n.as_f64()?))),
            Value::Bool(b) => Some(PostingKey::Bool(*b)),
            _ => None,
        }
    }
}

/// Appends a superset of a condition's matching slots.
type Collect<'a> = Box<dyn Fn(&mut Vec<u32>) + 'a>;

/// A superset of a condition's matches: its size bound, whether it is
/// exactly the matches, and how to list it.
struct Plan<'a> {
    estimate: usize,
    exact: bool,
    collect: Collect<'a>,
}

impl<'a> Plan<'a> {
    fn union(sets: Vec<&'a BTreeSet<u32>>) -> Self {
        let estimate = sets.iter().map(|s| s.len()).sum();
        Plan {
            estimate,
            exact: false,
            collect: Box::new(move |out| sets.iter().for_each(|s| out.extend(s.iter().copied()))),
        }
    }
}

impl Postings {
    fn set(&self, value: &Value) -> Option<&BTreeSet<u32>> {
        match value {
            Value::String(s) => self.strings.get(s.as_str()),
            Value::Number(n) => self.numbers.get(&Number::of(n.as_f64()?)),
            Value::Bool(b) => Some(&self.bools[usize::from(*b)]),
            _ => None,
        }
    }

    /// Removes `slot` from `key`'s set, and the set once it is empty.
    fn remove(&mut self, key: &PostingKey, slot: u32) {
        match key {
            PostingKey::Str(s) => {
                if let Some(set) = self.strings.get_mut(s.as_str()) {
                    set.remove(&slot);
                    if set.is_empty() {
                        self.strings.remove(s.as_str());
                    }
                }
            }
            PostingKey::Num(number) => {
                if let Some(set) = self.numbers.get_mut(number) {
                    set.remove(&slot);
                    if set.is_empty() {
                        self.numbers.remove(number);
                    }
                }
            }
            PostingKey::Bool(b) => {
                self.bools[usize::from(*b)].remove(&slot);
            }
        }
    }

    fn set_mut(&mut self, key: PostingKey) -> &mut BTreeSet<u32> {
        match key {
            PostingKey::Str(s) => self.strings.entry(s).or_default(),
            PostingKey::Num(number) => self.numbers.entry(number).or_default(),
            PostingKey::Bool(b) => &mut self.bools[usize::from(b)],
        }
    }

    /// The slot sets of the numbers that may lie in `range` (the tighter
    /// bound is checked later, with the whole filter).
    fn numbers_within(&self, range: &Range) -> impl Iterator<Item = &BTreeSet<u32>> {
        let lower = range.gt.into_iter().chain(range.gte).reduce(f64::max);
        let upper = range.lt.into_iter().chain(range.lte).reduce(f64::min);
        let empty = matches!((lower, upper), (Some(l), Some(u)) if l > u);
        let bound = |b: Option<f64>| b.map_or(Bound::Unbounded, |x| Bound::Included(Number::of(x)));
        let sets = if empty { None } else { Some(self.numbers.range((bound(lower), bound(upper)))) };
        sets.into_iter().flatten().map(|(_, set)| set)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn indexes() -> FieldIndexes {
        let mut indexes = FieldIndexes::new(&["tag".into(), "n".into()]);
        let rows = [json!({"tag": "a", "n": 1}), json!({"tag": ["a", "b"], "n": -0.0}), json!({"tag": "c", "n": 2.5})];
        for (slot, metadata) in rows.iter().enumerate() {
            indexes.insert(slot as u32, metadata);
        }
        indexes
    }

    fn narrow(indexes: &FieldIndexes, filter: serde_json::Value, limit: usize) -> Narrowed {
        let filter: Filter = serde_json::from_value(filter).unwrap();
        indexes.narrow(&filter, &|id| id.strip_prefix("id").and_then(|n| n.parse().ok()), limit)
    }

    #[test]
    fn indexed_conditions_list_their_slots() {
        let indexes = indexes();
        let tag = |v: &str| json!({"must": [{"key": "tag", "match": {"value": v}}]});
        assert_eq!(narrow(&indexes, tag("a"), 10), Narrowed::Slots { slots: vec![0, 1], exact: true });
        assert_eq!(narrow(&indexes, tag("zzz"), 10), Narrowed::Slots { slots: vec![], exact: true });
        assert_eq!(narrow(&indexes, tag("a"), 1), Narrowed::TooMany);
        let zero = json!({"must": [{"key": "n", "range": {"gte": 0.0, "lt": 2}}]});
        assert_eq!(narrow(&indexes, zero, 10), Narrowed::Slots { slots: vec![0, 1], exact: false });
        let ids = json!({"must": [{"has_id": ["id2", "nope"]}, {"key": "tag", "match": {"any": ["a", "c"]}}]});
        assert_eq!(narrow(&indexes, ids, 10), Narrowed::Slots { slots: vec![2], exact: false });
        let either = json!({"should": [{"key": "tag", "match": {"value": "c"}}, {"key": "n", "match": {"value": 1}}]});
        assert_eq!(narrow(&indexes, either, 10), Narrowed::Slots { slots: vec![0, 2], exact: false });
        let strings = json!({"should": [{"key": "tag", "match": {"value": "c"}}, {"has_id": ["id0"]}]});
        assert_eq!(narrow(&indexes, strings, 10), Narrowed::Slots { slots: vec![0, 2], exact: true });
    }

    #[test]
    fn unindexed_or_negative_conditions_do_not_narrow() {
        let indexes = indexes();
        assert_eq!(narrow(&indexes, json!({"must": [{"key": "other", "match": {"value": 1}}]}), 10), Narrowed::Unknown);
        assert_eq!(
            narrow(&indexes, json!({"must_not": [{"key": "tag", "match": {"value": "a"}}]}), 10),
            Narrowed::Unknown
        );
        let partly = json!({"should": [{"key": "tag", "match": {"value": "a"}}, {"key": "x", "match": {"value": 1}}]});
        assert_eq!(narrow(&indexes, partly, 10), Narrowed::Unknown);
    }

    #[test]
    fn text_and_datetime_indexes_list_candidates() {
        let mut indexes = FieldIndexes::new(&[
            IndexedField::new("t", FieldSchema::Text),
            IndexedField::new("d", FieldSchema::Datetime),
        ]);
        let rows = [
            json!({"t": "The quick fox", "d": "2024-01-01T00:00:00Z"}),
            json!({"t": ["a QUICK dog", "lazy"], "d": "2024-06-01"}),
            json!({"t": 7, "d": "not a date"}),
        ];
        for (slot, metadata) in rows.iter().enumerate() {
            indexes.insert(slot as u32, metadata);
        }
        let points: Vec<usize> = indexes.describe().iter().map(|info| info.points).collect();
        assert_eq!(points, [2, 2]);
        let text = |kind: &str, q: &str| json!({"must": [{"key": "t", "match": {kind: q}}]});
        assert_eq!(narrow(&indexes, text("text", "quick fox"), 10), Narrowed::Slots { slots: vec![0], exact: false });
        assert_eq!(narrow(&indexes, text("text", "quick"), 10), Narrowed::Slots { slots: vec![0, 1], exact: false });
        assert_eq!(narrow(&indexes, text("text", "cat"), 10), Narrowed::Slots { slots: vec![], exact: false });
        assert_eq!(narrow(&indexes, text("text", " "), 10), Narrowed::Slots { slots: vec![], exact: true });
        assert_eq!(
            narrow(&indexes, text("text_any", "fox lazy"), 10),
            Narrowed::Slots { slots: vec![0, 1], exact: false }
        );
        // A text index does not answer equality: its keys are words.
        assert_eq!(
            narrow(&indexes, json!({"must": [{"key": "t", "match": {"value": "lazy"}}]}), 10),
            Narrowed::Unknown
        );
        let after = json!({"must": [{"key": "d", "range": {"gte": "2024-03-01"}}]});
        assert_eq!(narrow(&indexes, after, 10), Narrowed::Slots { slots: vec![1], exact: false });
        indexes.remove(1, &rows[1]);
        assert_eq!(indexes.describe().iter().map(|info| info.points).collect::<Vec<_>>(), [1, 1]);
    }

    #[test]
    fn removal_forgets_values() {
        let mut indexes = indexes();
        indexes.remove(1, &json!({"tag": ["a", "b"], "n": -0.0}));
        let tag_a = json!({"must": [{"key": "tag", "match": {"value": "a"}}]});
        assert_eq!(narrow(&indexes, tag_a, 10), Narrowed::Slots { slots: vec![0], exact: true });
    }
}
