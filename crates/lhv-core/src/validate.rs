//! Checks of caller input, done in full before anything in the index changes.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::index::Item;
use crate::params::{MAX_EF, MAX_ID_BYTES, MAX_K, Metric, check_range};

/// Checks one vector: dimension, finite components, finite norm, non-zero under cosine.
pub(crate) fn vector(item: usize, v: &[f32], dim: usize, metric: Metric) -> Result<()> {
    if v.len() != dim {
        return Err(Error::DimensionMismatch { item, expected: dim, got: v.len() });
    }
    if let Some(component) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFiniteComponent { item, component });
    }
    // Computed in f64 so that the check itself cannot overflow; the index computes in f32.
    let squared_norm: f64 = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
    if squared_norm >= f64::from(f32::MAX) {
        return Err(Error::VectorTooLarge { item });
    }
    if metric == Metric::Cosine && crate::distance::inverse_norm(v) == 0.0 {
        return Err(Error::ZeroVector { item });
    }
    Ok(())
}

/// Checks one id: not empty, not too long.
pub(crate) fn id(item: usize, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::EmptyId { item });
    }
    if id.len() > MAX_ID_BYTES {
        return Err(Error::IdTooLong { item, len: id.len(), max: MAX_ID_BYTES });
    }
    Ok(())
}

/// Checks a whole upsert batch, including that no id appears twice.
pub(crate) fn batch(items: &[Item], dim: usize, metric: Metric) -> Result<()> {
    let mut first_seen: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (position, item) in items.iter().enumerate() {
        id(position, &item.id)?;
        if let Some(&first) = first_seen.get(item.id.as_str()) {
            return Err(Error::DuplicateId { item: position, first, id: item.id.clone() });
        }
        first_seen.insert(&item.id, position);
        vector(position, &item.vector, dim, metric)?;
    }
    Ok(())
}

/// Checks the `k` and `ef` of a search and returns the effective ef, `max(ef, k)`.
pub(crate) fn search_bounds(k: usize, ef: usize) -> Result<usize> {
    check_range("k", k, 1, MAX_K, "an integer in 1..=10000")?;
    check_range("ef", ef, 1, MAX_EF, "an integer in 1..=10000")?;
    Ok(ef.max(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    type ErrorCheck = fn(&Error) -> bool;

    fn item(id: &str, vector: Vec<f32>) -> Item {
        Item { id: id.to_owned(), vector, metadata: None }
    }

    #[test]
    fn each_kind_of_bad_item_is_reported_with_its_position() {
        let good = item("a", vec![1.0, 0.0]);
        let cases: Vec<(Item, ErrorCheck)> = vec![
            (item("b", vec![1.0]), |e| matches!(e, Error::DimensionMismatch { item: 1, expected: 2, got: 1 })),
            (item("b", vec![f32::NAN, 0.0]), |e| matches!(e, Error::NonFiniteComponent { item: 1, component: 0 })),
            (item("b", vec![0.0, f32::INFINITY]), |e| matches!(e, Error::NonFiniteComponent { item: 1, component: 1 })),
            (item("b", vec![f32::MAX, 1.0]), |e| matches!(e, Error::VectorTooLarge { item: 1 })),
            (item("b", vec![0.0, 0.0]), |e| matches!(e, Error::ZeroVector { item: 1 })),
            (item("", vec![1.0, 0.0]), |e| matches!(e, Error::EmptyId { item: 1 })),
            (item(&"x".repeat(1025), vec![1.0, 0.0]), |e| {
                matches!(e, Error::IdTooLong { item: 1, len: 1025, max: 1024 })
            }),
            (item("a", vec![0.0, 1.0]), |e| matches!(e, Error::DuplicateId { item: 1, first: 0, .. })),
        ];
        for (bad, is_expected) in cases {
            let err = batch(&[good.clone(), bad.clone()], 2, Metric::Cosine).unwrap_err();
            assert!(is_expected(&err), "{bad:?} gave {err:?}");
        }
    }

    #[test]
    fn zero_vectors_are_fine_outside_cosine() {
        assert!(batch(&[item("z", vec![0.0, 0.0])], 2, Metric::L2).is_ok());
        assert!(batch(&[item("z", vec![0.0, 0.0])], 2, Metric::Dot).is_ok());
    }

    #[test]
    fn longest_allowed_id_passes() {
        assert!(id(0, &"é".repeat(512)).is_ok());
        assert!(id(0, &"é".repeat(513)).is_err());
    }

    #[test]
    fn search_bounds_take_the_larger_of_ef_and_k() {
        assert_eq!(search_bounds(10, 5).unwrap(), 10);
        assert_eq!(search_bounds(10, 64).unwrap(), 64);
        assert!(search_bounds(0, 64).is_err());
        assert!(search_bounds(10_001, 64).is_err());
        assert!(search_bounds(1, 0).is_err());
    }
}
