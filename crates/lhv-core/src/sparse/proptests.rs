//! Random sequences of operations on a [`SparseSpace`] against a brute-force
//! model: searches (plain, filtered, scanned) return exactly the model's
//! results and scores, bit for bit; counts are exact; parts round trip.
//!
//! Here rather than in `tests/`, as `SparseSpace` is internal. The seed is
//! proptest's (`PROPTEST_RNG_SEED`, fixed in CI) like every other property test.

use proptest::prelude::*;

use super::{SparseModifier, SparseParams, SparseSpace, SparseVector};

/// A small alphabet, so that vectors overlap and scores tie; plus one far index.
const DIMS: u32 = 10;
const FAR: u32 = u32::MAX;

/// The model of one slot: its vector (as pushed) and whether its item is live.
#[derive(Debug, Clone)]
struct Slot {
    vector: Option<SparseVector>,
    alive: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Push(Option<SparseVector>),
    Bury(usize),
    /// Keeps the live slots and the dead ones whose bit is set.
    Compact(u64),
    Search {
        query: SparseVector,
        k: usize,
        filter: Option<u32>,
    },
    RoundTrip,
}

/// Mostly small integers (exact sums, many ties), some negatives, some
/// tenths (inexact sums: the order of additions shows in the last bit).
fn weight() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => (0i8..=3).prop_map(f32::from),
        2 => (-3i8..=-1).prop_map(f32::from),
        2 => (-30i16..=30).prop_map(|x| f32::from(x) / 10.0),
        1 => prop_oneof![Just(1e7f32), Just(-1e7f32), Just(0.3f32)],
    ]
}

fn vector() -> impl Strategy<Value = SparseVector> {
    let index = prop_oneof![12 => 0..DIMS, 1 => Just(FAR)];
    prop::collection::btree_map(index, weight(), 0..6)
        .prop_map(|pairs| SparseVector::new(pairs.keys().copied().collect(), pairs.values().copied().collect()))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => prop::option::weighted(0.9, vector()).prop_map(Op::Push),
        3 => any::<usize>().prop_map(Op::Bury),
        1 => any::<u64>().prop_map(Op::Compact),
        6 => (vector(), 1usize..7, prop::option::weighted(0.3, 0u32..3))
            .prop_map(|(query, k, filter)| Op::Search { query, k, filter }),
        1 => Just(Op::RoundTrip),
    ]
}

fn live_vectors(model: &[Slot]) -> impl Iterator<Item = &SparseVector> {
    model.iter().filter(|slot| slot.alive).filter_map(|slot| slot.vector.as_ref())
}

fn document_frequency(model: &[Slot], index: u32) -> u64 {
    live_vectors(model).filter(|vector| vector.indices.contains(&index)).count() as u64
}

/// Every live, allowed slot sharing an index with the query, by score, cut
/// after the k-th best score (ties with it kept).
fn expected(model: &[Slot], query: &SparseVector, k: usize, allowed: impl Fn(u32) -> bool) -> Vec<(u32, u32)> {
    let mut all: Vec<(u32, f32)> = (0..model.len() as u32)
        .filter(|&slot| model[slot as usize].alive && allowed(slot))
        .filter_map(|slot| {
            let vector = model[slot as usize].vector.as_ref()?;
            // Overlap, by definition rather than through overlap_dot.
            vector.indices.iter().any(|index| query.indices.contains(index)).then(|| (slot, query.dot(vector)))
        })
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    if let Some(&(_, kth)) = all.get(k - 1) {
        all.retain(|&(_, score)| score >= kth);
    }
    bits(all)
}

fn bits(hits: Vec<(u32, f32)>) -> Vec<(u32, u32)> {
    hits.into_iter().map(|(slot, score)| (slot, score.to_bits())).collect()
}

fn check_counts(space: &SparseSpace, model: &[Slot]) -> Result<(), TestCaseError> {
    prop_assert_eq!(space.slots(), model.len());
    prop_assert_eq!(space.live_vectors(), live_vectors(model).count() as u64);
    for index in (0..DIMS).chain([FAR]) {
        prop_assert_eq!(space.document_frequency(index), document_frequency(model, index), "index {}", index);
    }
    for (slot, expected) in model.iter().enumerate() {
        let expected = expected.vector.as_ref().filter(|_| expected.alive);
        prop_assert_eq!(space.get(slot as u32), expected, "slot {}", slot);
    }
    prop_assert!(space.memory_bytes() >= model.len() * size_of::<Option<SparseVector>>());
    Ok(())
}

fn run(modifier: SparseModifier, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let params = SparseParams { modifier };
    let mut space = SparseSpace::new(params);
    let mut model: Vec<Slot> = Vec::new();
    for op in ops {
        match op {
            Op::Push(vector) => {
                let slot = space.push(vector.clone());
                prop_assert_eq!(slot as usize, model.len());
                model.push(Slot { vector, alive: true });
            }
            Op::Bury(pick) => {
                if !model.is_empty() {
                    let slot = pick % model.len();
                    space.bury(slot as u32);
                    model[slot].alive = false;
                }
            }
            Op::Compact(dead_kept) => {
                let kept: Vec<u32> = (0..model.len() as u32)
                    .filter(|&slot| model[slot as usize].alive || dead_kept >> (slot % 64) & 1 == 1)
                    .collect();
                space = space.retain_slots(&kept);
                model = kept.iter().map(|&old| model[old as usize].clone()).collect();
            }
            Op::Search { query, k, filter } => {
                let points = live_vectors(&model).count() as u64;
                let weighted = match modifier {
                    SparseModifier::None => query.clone(),
                    SparseModifier::Idf => query.idf_weighted(points, |index| document_frequency(&model, index)),
                };
                let value_bits = |v: &SparseVector| v.values.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let weighted_here = space.weighted_query(&query);
                prop_assert_eq!(&weighted_here.indices, &weighted.indices);
                prop_assert_eq!(value_bits(&weighted_here), value_bits(&weighted));
                let passes = |slot: u32| filter.is_none_or(|f| slot % 3 != f);
                let want = expected(&model, &weighted, k, passes);
                let alive = |slot: u32| model[slot as usize].alive;
                prop_assert_eq!(bits(space.search(&weighted, k, |slot| alive(slot) && passes(slot))), want.clone());
                // Buried slots are skipped even when the caller lets them through.
                prop_assert_eq!(bits(space.search(&weighted, k, passes)), want.clone());
                let listed = (0..model.len() as u32).filter(|&slot| alive(slot) && passes(slot));
                prop_assert_eq!(bits(space.scan(&weighted, k, listed)), want);
            }
            Op::RoundTrip => {
                let parts = space.to_parts();
                let back = SparseSpace::from_parts(space.params(), parts.clone(), model.len(), |slot| {
                    model[slot as usize].alive
                })
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(back.to_parts(), parts);
                let everything = SparseVector::new((0..DIMS).chain([FAR]).collect(), vec![1.0; DIMS as usize + 1]);
                prop_assert_eq!(back.search(&everything, 3, |_| true), space.search(&everything, 3, |_| true));
                space = back;
            }
        }
        check_counts(&space, &model)?;
    }
    Ok(())
}

fn modifier() -> impl Strategy<Value = SparseModifier> {
    prop_oneof![Just(SparseModifier::None), Just(SparseModifier::Idf)]
}

/// A deterministic stream of numbers from a seed (splitmix64).
struct Numbers(u64);

impl Numbers {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % below
    }

    /// A vector over `dims` dimensions, low ones far more frequent (as words
    /// are), with small integer weights (ties) or arbitrary ones.
    fn vector(&mut self, dims: u64, max_len: u64) -> SparseVector {
        let len = self.next(max_len + 1);
        let mut pairs: Vec<(u32, f32)> = (0..len)
            .map(|_| {
                let skew = self.next(dims);
                let index = self.next(skew + 1) as u32;
                let weight = if self.next(2) == 0 { self.next(4) as f32 } else { self.next(2000) as f32 / 97.0 - 4.0 };
                (index, weight)
            })
            .collect();
        pairs.sort_by_key(|&(index, _)| index);
        pairs.dedup_by_key(|&mut (index, _)| index);
        SparseVector::new(pairs.iter().map(|p| p.0).collect(), pairs.iter().map(|p| p.1).collect())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn sparse_space_equals_the_model(modifier in modifier(), ops in prop::collection::vec(op(), 1..80)) {
        run(modifier, ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Enough items that MaxScore prunes most of them, and long lists that
    /// the cursors gallop through: still exactly the brute-force top k.
    #[test]
    fn large_spaces_search_exactly(seed in any::<u64>()) {
        let mut numbers = Numbers(seed);
        let mut space = SparseSpace::new(SparseParams::default());
        let mut model = Vec::new();
        for _ in 0..3000 {
            let vector = numbers.vector(300, 40);
            space.push(Some(vector.clone()));
            model.push(Slot { vector: Some(vector), alive: true });
            if numbers.next(10) == 0 {
                let slot = numbers.next(model.len() as u64) as usize;
                space.bury(slot as u32);
                model[slot].alive = false;
            }
        }
        check_counts(&space, &model)?;
        for round in 0..20 {
            let query = numbers.vector(300, 12);
            let k = 1 + numbers.next(20) as usize;
            let filtered = round % 4 == 3;
            let passes = |slot: u32| !filtered || !slot.is_multiple_of(7);
            let want = expected(&model, &query, k, passes);
            prop_assert_eq!(bits(space.search(&query, k, passes)), want, "round {}", round);
        }
    }
}
