//! Sparse vectors from outside the crate, against a model: normalization
//! accepts exactly the valid vectors (and names the first problem as
//! documented), the dot product is the in-order f32 sum of the shared
//! indices' products, JSON round trips bit for bit.
//!
//! The search engine over sparse vectors is internal; its model test is
//! `src/sparse/proptests.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use lhv_core::{Error, MAX_NORM, SparseVector, idf};
use proptest::prelude::*;

/// Few indices, so that duplicates and shared indices are common.
fn index() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 0u32..8, 1 => Just(u32::MAX)]
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        12 => (-4i8..=4).prop_map(f32::from),
        4 => (-100i16..=100).prop_map(|x| f32::from(x) / 7.0),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(2e16f32),
    ]
}

/// Any pairs, sometimes with one value too few or too many.
fn raw() -> impl Strategy<Value = SparseVector> {
    (prop::collection::vec((index(), value()), 0..8), prop_oneof![8 => Just(0i8), 1 => Just(-1), 1 => Just(1)])
        .prop_map(|(pairs, skew)| {
            let (indices, mut values): (Vec<u32>, Vec<f32>) = pairs.into_iter().unzip();
            match skew {
                -1 => {
                    values.pop();
                }
                1 => values.push(1.0),
                _ => {}
            }
            SparseVector::new(indices, values)
        })
}

/// What `normalized` must answer, worked out the documented way.
fn model_normalized(raw: &SparseVector, item: usize) -> Result<BTreeMap<u32, f32>, Error> {
    if raw.indices.len() != raw.values.len() {
        return Err(Error::SparseLengthMismatch { item, indices: raw.indices.len(), values: raw.values.len() });
    }
    if let Some(component) = raw.values.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFiniteComponent { item, component });
    }
    let mut seen = BTreeSet::new();
    let repeated: BTreeSet<u32> = raw.indices.iter().copied().filter(|&index| !seen.insert(index)).collect();
    if let Some(&index) = repeated.first() {
        return Err(Error::DuplicateSparseIndex { item, index });
    }
    let norm = raw.values.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    if norm >= f64::from(MAX_NORM) {
        return Err(Error::VectorTooLarge { item });
    }
    Ok(raw.indices.iter().copied().zip(raw.values.iter().copied()).collect())
}

fn model_dot(a: &BTreeMap<u32, f32>, b: &BTreeMap<u32, f32>) -> f32 {
    // BTreeMap iterates in ascending index order: the documented order of the sum.
    a.iter().filter_map(|(index, x)| b.get(index).map(|y| x * y)).fold(0.0f32, |sum, product| sum + product)
}

fn bits(v: &SparseVector) -> (Vec<u32>, Vec<u32>) {
    (v.indices.clone(), v.values.iter().map(|x| x.to_bits()).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn normalization_equals_the_model(raw in raw(), item in 0usize..5) {
        let got = raw.clone().normalized(item);
        match model_normalized(&raw, item) {
            Err(expected) => prop_assert_eq!(got, Err(expected)),
            Ok(pairs) => {
                let got = got.unwrap();
                prop_assert_eq!(&got.indices, &pairs.keys().copied().collect::<Vec<_>>());
                prop_assert_eq!(&got.values, &pairs.values().copied().collect::<Vec<_>>());
                prop_assert_eq!(got.len(), pairs.len());
                prop_assert_eq!(got.is_empty(), pairs.is_empty());
                // Normalizing again changes nothing.
                prop_assert_eq!(bits(&got.clone().normalized(item).unwrap()), bits(&got));
                // JSON round trips bit for bit.
                let json = serde_json::to_string(&got).unwrap();
                prop_assert_eq!(bits(&serde_json::from_str::<SparseVector>(&json).unwrap()), bits(&got));
            }
        }
    }

    #[test]
    fn dot_is_the_in_order_sum_of_shared_products(a in raw(), b in raw(), points in 0u64..20, seed in 0u64..20) {
        let (Ok(model_a), Ok(model_b)) = (model_normalized(&a, 0), model_normalized(&b, 0)) else {
            return Ok(());
        };
        let (a, b) = (a.normalized(0).unwrap(), b.normalized(0).unwrap());
        let dot = a.dot(&b);
        prop_assert_eq!(dot.to_bits(), model_dot(&model_a, &model_b).to_bits());
        prop_assert_eq!(dot.to_bits(), b.dot(&a).to_bits());
        prop_assert!(dot.is_finite());
        // Idf weighting multiplies each weight by its index's idf.
        let containing = |index: u32| (u64::from(index) + seed) % (points + 1);
        let weighted = a.idf_weighted(points, containing);
        prop_assert_eq!(&weighted.indices, &a.indices);
        for (i, (&index, &value)) in a.indices.iter().zip(&a.values).enumerate() {
            prop_assert_eq!(weighted.values[i].to_bits(), (value * idf(points, containing(index))).to_bits());
        }
    }
}
