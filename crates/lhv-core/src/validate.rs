//! Checks of caller input, done in full before anything in the index changes.

use std::collections::HashMap;

use crate::codes;
use crate::error::{Error, Result};
use crate::index::Item;
use crate::params::{IndexParams, MAX_EF, MAX_ID_BYTES, MAX_K, MAX_NORM, Metric, Storage, check_range};

/// The smallest squared norm a cosine vector may have (as stored): the smallest
/// normal `f32`. Below it `|v|²` is subnormal or zero, so `1/|v|` is imprecise
/// or infinite and the vector has no usable direction.
const MIN_COSINE_SQUARED_NORM: f32 = f32::MIN_POSITIVE;

/// Checks one item's vector as the index would store it in `storage`:
/// dimension, finite components, every component within the storage's range,
/// and then, on the stored values, a norm below [`MAX_NORM`] and, under
/// cosine, one large enough to have a direction. Whatever passes gives finite
/// distances to every query that passes [`query`].
pub(crate) fn vector(item: usize, v: &[f32], dim: usize, metric: Metric, storage: Storage) -> Result<()> {
    query(item, v, dim, metric)?;
    let stored = codes::as_stored(storage, v);
    if let Some(component) = stored.iter().position(|x| !x.is_finite()) {
        return Err(Error::ValueOutOfRange { item, component, max: codes::largest_component(storage) });
    }
    stored_norm(item, &stored, metric)
}

/// Checks a query, or a vector already in its stored form: dimension, finite
/// components, and a norm that distances can be computed from.
pub(crate) fn query(item: usize, v: &[f32], dim: usize, metric: Metric) -> Result<()> {
    query_norm(item, v, dim, metric).map(|_| ())
}

/// [`query`], returning `|v|²` as the index computes it (`distance::dot`),
/// so that loading computes each stored row's norm once.
pub(crate) fn query_norm(item: usize, v: &[f32], dim: usize, metric: Metric) -> Result<f32> {
    if v.len() != dim {
        return Err(Error::DimensionMismatch { item, expected: dim, got: v.len() });
    }
    // One vectorized pass decides almost every vector: a non-finite component
    // makes the f32 sum of squares non-finite, and a sum below half of
    // MAX_NORM² is below it exactly too (the f32 sum of non-negative terms is
    // within a relative n·ε of the exact one). Restarts check every stored
    // vector, so this is on the path of loading a snapshot.
    let squared_norm = crate::distance::dot(v, v);
    if squared_norm.is_finite() && f64::from(squared_norm) < 0.5 * f64::from(MAX_NORM) * f64::from(MAX_NORM) {
        if metric == Metric::Cosine && squared_norm < MIN_COSINE_SQUARED_NORM {
            return Err(Error::ZeroVector { item });
        }
        return Ok(squared_norm);
    }
    if let Some(component) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFiniteComponent { item, component });
    }
    stored_norm(item, v, metric).map(|()| squared_norm)
}

fn stored_norm(item: usize, v: &[f32], metric: Metric) -> Result<()> {
    // Computed in f64 so that the check itself cannot overflow; the index computes in f32.
    let squared_norm: f64 = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
    if squared_norm >= f64::from(MAX_NORM) * f64::from(MAX_NORM) {
        return Err(Error::VectorTooLarge { item });
    }
    // The same f32 sum the index takes `1/|v|` from, so the check and the index
    // agree; finite here, as the components and the norm were checked above.
    if metric == Metric::Cosine && crate::distance::dot(v, v) < MIN_COSINE_SQUARED_NORM {
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

/// Checks a whole upsert batch against the index's vectors, including that
/// no id appears twice; the error is the first bad item's, in batch order.
pub(crate) fn batch(items: &[Item], params: &IndexParams) -> Result<()> {
    let unnamed = params.unnamed();
    let mut first_seen: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (position, item) in items.iter().enumerate() {
        id(position, &item.id)?;
        if let Some(&first) = first_seen.get(item.id.as_str()) {
            return Err(Error::DuplicateId { item: position, first, id: item.id.clone() });
        }
        first_seen.insert(&item.id, position);
        // An empty vector is one the item lacks.
        if !item.vector.is_empty() {
            match &unnamed {
                Some(v) => vector(position, &item.vector, v.dim, v.metric, v.walk_storage())?,
                None => return Err(Error::UnknownVector { item: position, name: String::new() }),
            }
        }
        for (name, sparse) in &item.sparse {
            if !params.sparse_vectors.contains_key(name) {
                return Err(Error::UnknownVector { item: position, name: name.clone() });
            }
            sparse.clone().normalized(position)?;
        }
        for (name, values) in &item.vectors {
            let declared = params.vectors.get(name).filter(|_| !name.is_empty());
            let declared = declared.ok_or_else(|| Error::UnknownVector { item: position, name: name.clone() })?;
            if !values.is_empty() {
                vector(position, values, declared.dim, declared.metric, declared.walk_storage())?;
            }
        }
    }
    Ok(())
}

/// Sorts the sparse vectors of a batch that [`batch`] passed by index, as the index stores them.
pub(crate) fn sort_sparse(items: &mut [Item]) -> Result<()> {
    for (position, item) in items.iter_mut().enumerate() {
        for vector in item.sparse.values_mut() {
            *vector = std::mem::take(vector).normalized(position)?;
        }
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
        Item::new(id, vector)
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
            let err = batch(&[good.clone(), bad.clone()], &IndexParams::new(2, Metric::Cosine)).unwrap_err();
            assert!(is_expected(&err), "{bad:?} gave {err:?}");
        }
    }

    #[test]
    fn zero_vectors_are_fine_outside_cosine() {
        assert!(batch(&[item("z", vec![0.0, 0.0])], &IndexParams::new(2, Metric::L2)).is_ok());
        assert!(batch(&[item("z", vec![0.0, 0.0])], &IndexParams::new(2, Metric::Dot)).is_ok());
    }

    #[test]
    fn values_are_checked_as_the_storage_keeps_them() {
        let check =
            |v: Vec<f32>, metric, storage| batch(&[item("x", v)], &IndexParams::new(2, metric).with_storage(storage));
        // Beyond float16's largest finite value, 65504: an infinity once stored.
        assert!(matches!(
            check(vec![70_000.0, 1.0], Metric::Cosine, Storage::F16),
            Err(Error::ValueOutOfRange { item: 0, component: 0, max }) if max == 65_504.0
        ));
        assert!(check(vec![70_000.0, 1.0], Metric::Cosine, Storage::F32).is_ok());
        assert!(check(vec![65_504.0, -65_504.0], Metric::L2, Storage::F16).is_ok());
        // Below float16's smallest subnormal: zero once stored, which cosine cannot use.
        assert!(matches!(check(vec![1e-8, 1e-8], Metric::Cosine, Storage::F16), Err(Error::ZeroVector { item: 0 })));
        assert!(check(vec![1e-8, 1e-8], Metric::L2, Storage::F16).is_ok());
        assert!(check(vec![1e-8, 1e-8], Metric::Cosine, Storage::F32).is_ok());
        // A norm whose square is subnormal in f32 has no usable direction either.
        assert!(matches!(check(vec![1e-20, 0.0], Metric::Cosine, Storage::F32), Err(Error::ZeroVector { item: 0 })));
        for storage in [Storage::F32, Storage::F16, Storage::Int8] {
            assert!(matches!(check(vec![2e16, 0.0], Metric::Dot, storage), Err(Error::VectorTooLarge { item: 0 })));
        }
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
