//! A sparse space taken apart into flat arrays and put back together: what a
//! snapshot stores. Putting it back checks everything, so arrays read from a
//! damaged file give an error, never a panic later.

use crate::error::{Error, Result};
use crate::sparse::params::SparseParams;
use crate::sparse::space::SparseSpace;
use crate::sparse::vector::{MAX_SPARSE_NNZ, SparseVector};

/// The sparse vectors of one name, slot after slot, as three flat arrays.
///
/// Slot `s` holds `lengths[s]` entries, taken in order from `indices` and
/// `values` after those of the slots before it; a length of `u32::MAX`
/// ([`SparseParts::NONE`]) means the slot has no vector (its item has none,
/// or it was deleted). The posting lists are not stored: they are rebuilt.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparseParts {
    /// Per slot: its number of entries, or [`SparseParts::NONE`].
    pub lengths: Vec<u32>,
    /// Every slot's indices, ascending within a slot, end to end.
    pub indices: Vec<u32>,
    /// Every slot's values, end to end, one per index.
    pub values: Vec<f32>,
}

impl SparseParts {
    /// The length of a slot without a vector.
    pub const NONE: u32 = u32::MAX;
}

/// Rejects parts that break an invariant.
fn invalid(reason: String) -> Error {
    Error::InvalidParts { reason }
}

impl SparseSpace {
    /// The stored vectors as flat arrays (buried slots have none).
    pub(crate) fn to_parts(&self) -> SparseParts {
        let vectors = self.vectors();
        let entries = vectors.iter().flatten().map(SparseVector::len).sum();
        let mut parts = SparseParts {
            lengths: Vec::with_capacity(vectors.len()),
            indices: Vec::with_capacity(entries),
            values: Vec::with_capacity(entries),
        };
        for vector in vectors {
            match vector {
                // Normalized vectors hold at most MAX_SPARSE_NNZ entries, far below NONE.
                Some(vector) => {
                    parts.lengths.push(vector.len() as u32);
                    parts.indices.extend_from_slice(&vector.indices);
                    parts.values.extend_from_slice(&vector.values);
                }
                None => parts.lengths.push(SparseParts::NONE),
            }
        }
        parts
    }

    /// Puts a space of `slots` slots back together, after checking that
    /// there is one length per slot, that the lengths add up to the arrays,
    /// and that every slot's vector is normalized (ascending distinct
    /// indices, finite values, at most [`MAX_SPARSE_NNZ`] entries, a norm
    /// below [`MAX_NORM`](crate::MAX_NORM)). A slot for which `live` is false
    /// is a tombstone: its vector, checked all the same, is dropped, so it
    /// counts in no document frequency.
    pub(crate) fn from_parts(
        params: SparseParams,
        parts: SparseParts,
        slots: usize,
        live: impl Fn(u32) -> bool,
    ) -> Result<Self> {
        let SparseParts { lengths, indices, values } = parts;
        if slots >= SparseParts::NONE as usize {
            return Err(invalid(format!("{slots} sparse slots, more than slots are numbered for")));
        }
        if lengths.len() != slots {
            return Err(invalid(format!("{} sparse vector lengths for {slots} slots", lengths.len())));
        }
        if indices.len() != values.len() {
            return Err(invalid(format!("{} sparse indices but {} values", indices.len(), values.len())));
        }
        let mut space = SparseSpace::new(params);
        let mut start = 0;
        for (slot, &length) in lengths.iter().enumerate() {
            let slot = slot as u32;
            if length == SparseParts::NONE {
                space.push(None);
                continue;
            }
            if length as usize > MAX_SPARSE_NNZ {
                return Err(invalid(format!("slot {slot}: {length} sparse entries, the limit is {MAX_SPARSE_NNZ}")));
            }
            let end = start + length as usize;
            let (Some(slot_indices), Some(slot_values)) = (indices.get(start..end), values.get(start..end)) else {
                return Err(invalid(format!(
                    "slot {slot}: sparse lengths add up to more than the {} entries",
                    indices.len()
                )));
            };
            start = end;
            // Normalizing would sort them: stored indices must already be in order.
            if slot_indices.windows(2).any(|pair| pair[0] >= pair[1]) {
                return Err(invalid(format!("slot {slot}: sparse indices are not strictly ascending")));
            }
            let vector = SparseVector::new(slot_indices.to_vec(), slot_values.to_vec())
                .normalized(slot as usize)
                .map_err(|e| invalid(format!("stored sparse vectors (items are slots): {e}")))?;
            space.push(live(slot).then_some(vector));
        }
        if start != indices.len() {
            return Err(invalid(format!("sparse lengths add up to {start} of the {} entries", indices.len())));
        }
        Ok(space)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> SparseSpace {
        let mut space = SparseSpace::new(SparseParams::default());
        space.push(Some(SparseVector::new(vec![1, 4], vec![0.5, -2.0])));
        space.push(None);
        space.push(Some(SparseVector::default()));
        space.push(Some(SparseVector::new(vec![4], vec![3.0])));
        space
    }

    #[test]
    fn parts_are_flat_arrays_and_round_trip() {
        let parts = space().to_parts();
        assert_eq!(parts.lengths, [2, SparseParts::NONE, 0, 1]);
        assert_eq!(parts.indices, [1, 4, 4]);
        assert_eq!(parts.values, [0.5, -2.0, 3.0]);
        let back = SparseSpace::from_parts(SparseParams::default(), parts.clone(), 4, |_| true).unwrap();
        assert_eq!(back.to_parts(), parts);
        assert_eq!((back.live_vectors(), back.document_frequency(4)), (3, 2));
        let without_last = SparseSpace::from_parts(SparseParams::default(), parts, 4, |slot| slot != 3).unwrap();
        assert_eq!((without_last.live_vectors(), without_last.document_frequency(4)), (2, 1));
        assert_eq!(without_last.get(3), None);
    }

    #[test]
    fn damaged_parts_are_rejected() {
        let good = space().to_parts();
        let damaged: Vec<(&str, SparseParts, usize)> = vec![
            ("slot count", good.clone(), 5),
            ("too many slots", good.clone(), u32::MAX as usize),
            ("lengths past the end", SparseParts { lengths: vec![2, SparseParts::NONE, 0, 2], ..good.clone() }, 4),
            ("entries left over", SparseParts { lengths: vec![2, SparseParts::NONE, 0, 0], ..good.clone() }, 4),
            ("one value short", SparseParts { values: vec![0.5, -2.0], ..good.clone() }, 4),
            ("unsorted", SparseParts { indices: vec![4, 1, 4], ..good.clone() }, 4),
            ("duplicate", SparseParts { indices: vec![4, 4, 4], ..good.clone() }, 4),
            ("not finite", SparseParts { values: vec![0.5, f32::NAN, 3.0], ..good.clone() }, 4),
            ("too large", SparseParts { values: vec![0.5, 1e17, 3.0], ..good.clone() }, 4),
            (
                "too long",
                SparseParts {
                    lengths: vec![MAX_SPARSE_NNZ as u32 + 1],
                    indices: (0..MAX_SPARSE_NNZ as u32 + 1).collect(),
                    values: vec![1.0; MAX_SPARSE_NNZ + 1],
                },
                1,
            ),
            ("huge length", SparseParts { lengths: vec![u32::MAX - 1], ..SparseParts::default() }, 1),
        ];
        for (what, parts, slots) in damaged {
            match SparseSpace::from_parts(SparseParams::default(), parts, slots, |_| true) {
                Err(Error::InvalidParts { reason }) => assert!(!reason.is_empty()),
                other => panic!("{what}: expected InvalidParts, got {other:?}"),
            }
        }
        assert!(SparseSpace::from_parts(SparseParams::default(), SparseParts::default(), 0, |_| true).is_ok());
    }
}
