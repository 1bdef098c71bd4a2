//! One sparse vector: dimension indices with their weights, every other
//! dimension zero (Qdrant's sparse vectors).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::params::MAX_NORM;
use crate::sparse::params::idf;

/// Most entries (indices with a weight) one sparse vector may hold.
///
/// Far above what sparse encoders emit (SPLADE-style models give a few
/// hundred entries, a BM25 vector has one per distinct word of a document),
/// while it bounds what one item costs: 512 KiB stored, and as many postings
/// and multiplications per search that reaches it.
pub const MAX_SPARSE_NNZ: usize = 65_536;

/// A sparse vector: `values[i]` is the weight of dimension `indices[i]`, and
/// every dimension not listed is zero.
///
/// Its JSON is Qdrant's: `{"indices": [6, 1], "values": [0.5, 2.0]}`. As read,
/// indices may come in any order; [`normalized`](Self::normalized) checks the
/// vector and sorts it, and everything that stores or scores sparse vectors
/// takes them normalized. An empty sparse vector is valid: it shares no
/// dimension with anything, so no search finds it and it finds nothing.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SparseVector {
    /// Dimension indices; ascending and distinct once normalized.
    pub indices: Vec<u32>,
    /// The weight of each index, in the same order.
    pub values: Vec<f32>,
}

/// The fields of a [`SparseVector`] as JSON has them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SparseVectorFields {
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl<'de> Deserialize<'de> for SparseVector {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let SparseVectorFields { indices, values } =
            crate::object_only::deserialize_object(deserializer, "a sparse vector object with indices and values")?;
        Ok(SparseVector { indices, values })
    }
}

impl SparseVector {
    /// A sparse vector of these pairs, unchecked: see [`normalized`](Self::normalized).
    pub fn new(indices: Vec<u32>, values: Vec<f32>) -> Self {
        Self { indices, values }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the vector has no entry (and so matches nothing).
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Checks the vector and sorts its pairs by index: `indices` and `values`
    /// of one length, at most [`MAX_SPARSE_NNZ`] entries, every value finite,
    /// no index twice, and a Euclidean norm below [`MAX_NORM`] (then every
    /// score between two such vectors, even weighted by
    /// [`idf`](crate::idf), stays a finite `f32`). `item` is the
    /// vector's position in its batch, for the error.
    pub fn normalized(self, item: usize) -> Result<SparseVector> {
        let Self { mut indices, mut values } = self;
        if indices.len() != values.len() {
            return Err(Error::SparseLengthMismatch { item, indices: indices.len(), values: values.len() });
        }
        if indices.len() > MAX_SPARSE_NNZ {
            return Err(Error::SparseTooLong { item, len: indices.len(), max: MAX_SPARSE_NNZ });
        }
        if let Some(component) = values.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFiniteComponent { item, component });
        }
        // Most encoders already emit ascending indices: then nothing moves.
        if !indices.is_sorted() {
            let mut pairs: Vec<(u32, f32)> = indices.iter().copied().zip(values.iter().copied()).collect();
            // Unstable is enough: equal indices are rejected just below.
            pairs.sort_unstable_by_key(|&(index, _)| index);
            (indices, values) = pairs.into_iter().unzip();
        }
        if let Some(pair) = indices.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(Error::DuplicateSparseIndex { item, index: pair[0] });
        }
        // In f64, as for dense vectors, so that the check itself cannot overflow.
        let squared_norm: f64 = values.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        if squared_norm >= f64::from(MAX_NORM) * f64::from(MAX_NORM) {
            return Err(Error::VectorTooLarge { item });
        }
        Ok(Self { indices, values })
    }

    /// The dot product of two normalized vectors: the sum of the products of
    /// the weights of the indices both hold (0 when they share none).
    ///
    /// Accumulated in `f32` in ascending index order, so the result does not
    /// depend on anything but the two vectors: a search reports exactly this
    /// number for each hit. On vectors that are not normalized the result is
    /// meaningless, but it is still a number.
    pub fn dot(&self, other: &SparseVector) -> f32 {
        self.overlap_dot(other).unwrap_or(0.0)
    }

    /// [`dot`](Self::dot), or `None` when the vectors share no index: a
    /// sparse search never returns an item that shares no index with the
    /// query (as in Qdrant), whatever its score would be.
    pub(crate) fn overlap_dot(&self, other: &SparseVector) -> Option<f32> {
        let (a_indices, a_values) = self.pairs();
        let (b_indices, b_values) = other.pairs();
        let (mut a, mut b) = (0, 0);
        let mut sum = 0.0f32;
        let mut overlap = false;
        while a < a_indices.len() && b < b_indices.len() {
            match a_indices[a].cmp(&b_indices[b]) {
                std::cmp::Ordering::Less => a += 1,
                std::cmp::Ordering::Greater => b += 1,
                std::cmp::Ordering::Equal => {
                    overlap = true;
                    sum += a_values[a] * b_values[b];
                    a += 1;
                    b += 1;
                }
            }
        }
        overlap.then_some(sum)
    }

    /// This vector (a query) with each weight multiplied by the inverse
    /// document frequency of its index, as Qdrant's `modifier: "idf"` does:
    /// `points` vectors hold this name, `containing(index)` of them hold `index`.
    /// Pass counts over every shard the search covers, or scores differ per shard.
    pub fn idf_weighted(&self, points: u64, containing: impl Fn(u32) -> u64) -> SparseVector {
        let (indices, values) = self.pairs();
        SparseVector {
            indices: indices.to_vec(),
            values: indices.iter().zip(values).map(|(&index, &value)| value * idf(points, containing(index))).collect(),
        }
    }

    /// The indices and values as slices of one length: the fields are public,
    /// so a vector that was never normalized may have two lengths, and reading
    /// it must still not panic.
    fn pairs(&self) -> (&[u32], &[f32]) {
        let len = self.indices.len().min(self.values.len());
        (&self.indices[..len], &self.values[..len])
    }

    /// Bytes held on the heap.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.indices.capacity() * size_of::<u32>() + self.values.capacity() * size_of::<f32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sparse(indices: &[u32], values: &[f32]) -> SparseVector {
        SparseVector::new(indices.to_vec(), values.to_vec())
    }

    #[test]
    fn normalizing_sorts_the_pairs_together() {
        let v = sparse(&[7, 2, 5], &[1.0, 2.0, 3.0]).normalized(0).unwrap();
        assert_eq!(v, sparse(&[2, 5, 7], &[2.0, 3.0, 1.0]));
        let sorted = sparse(&[0, 1, u32::MAX], &[-1.0, 0.0, 1.0]);
        assert_eq!(sorted.clone().normalized(0).unwrap(), sorted);
        assert!(SparseVector::default().normalized(0).unwrap().is_empty());
    }

    #[test]
    fn each_kind_of_bad_sparse_vector_is_reported_with_its_position() {
        let too_long = MAX_SPARSE_NNZ as u32 + 1;
        let cases: Vec<(SparseVector, Error)> = vec![
            (sparse(&[1, 2], &[1.0]), Error::SparseLengthMismatch { item: 3, indices: 2, values: 1 }),
            (sparse(&[], &[1.0]), Error::SparseLengthMismatch { item: 3, indices: 0, values: 1 }),
            (
                SparseVector::new((0..too_long).collect(), vec![1.0; too_long as usize]),
                Error::SparseTooLong { item: 3, len: too_long as usize, max: MAX_SPARSE_NNZ },
            ),
            (sparse(&[4, 1], &[1.0, f32::NAN]), Error::NonFiniteComponent { item: 3, component: 1 }),
            (sparse(&[4], &[f32::NEG_INFINITY]), Error::NonFiniteComponent { item: 3, component: 0 }),
            (sparse(&[9, 4, 9], &[1.0, 2.0, 3.0]), Error::DuplicateSparseIndex { item: 3, index: 9 }),
            (sparse(&[1, 1], &[1.0, 1.0]), Error::DuplicateSparseIndex { item: 3, index: 1 }),
            (sparse(&[1, 2], &[1e16, 0.0]), Error::VectorTooLarge { item: 3 }),
            (sparse(&[1, 2], &[f32::MAX, f32::MAX]), Error::VectorTooLarge { item: 3 }),
        ];
        for (bad, expected) in cases {
            assert_eq!(bad.clone().normalized(3), Err(expected), "{:?}", bad.indices.len());
        }
        assert!(sparse(&[1, 2], &[9e15, 0.0]).normalized(0).is_ok());
        assert_eq!(
            SparseVector::new((0..MAX_SPARSE_NNZ as u32).collect(), vec![1.0; MAX_SPARSE_NNZ])
                .normalized(0)
                .map(|v| v.len()),
            Ok(MAX_SPARSE_NNZ)
        );
    }

    #[test]
    fn dot_sums_the_shared_indices_in_index_order() {
        let a = sparse(&[1, 3, 5, 9], &[1.0, 2.0, 3.0, 4.0]);
        let b = sparse(&[0, 3, 4, 9, 10], &[7.0, -1.0, 7.0, 0.5, 7.0]);
        assert_eq!(a.dot(&b), -2.0 + 2.0);
        assert_eq!(a.overlap_dot(&b), Some(0.0));
        assert_eq!(a.dot(&b).to_bits(), b.dot(&a).to_bits());
        assert_eq!(a.overlap_dot(&sparse(&[2, 4], &[1.0, 1.0])), None);
        assert_eq!(a.dot(&sparse(&[2, 4], &[1.0, 1.0])), 0.0);
        assert_eq!(a.overlap_dot(&SparseVector::default()), None);
        // The order of the additions shows: 1e8 + 1 - 1e8 is 0 in f32, not 1.
        let big = sparse(&[0, 1, 2], &[1e8, 1.0, -1e8]);
        assert_eq!(big.dot(&sparse(&[0, 1, 2], &[1.0, 1.0, 1.0])), 0.0);
        // Two lengths (never normalized): no panic.
        assert_eq!(sparse(&[1, 3], &[2.0]).dot(&a), 2.0);
    }

    #[test]
    fn json_is_qdrants_shape_and_nothing_else() {
        let v: SparseVector = serde_json::from_str(r#"{"indices": [3, 1], "values": [0.5, 2]}"#).unwrap();
        assert_eq!(v, sparse(&[3, 1], &[0.5, 2.0]));
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"indices":[3,1],"values":[0.5,2.0]}"#);
        for bad in [
            r#"{"indices": [1], "values": [1], "extra": 1}"#,
            r#"{"indices": [1]}"#,
            r#"{"indices": [-1], "values": [1]}"#,
            r#"{"indices": [4294967296], "values": [1]}"#,
            r#"[[1], [1.0]]"#,
            r#"[1, 2]"#,
            r#""x""#,
            r#"null"#,
        ] {
            assert!(serde_json::from_str::<SparseVector>(bad).is_err(), "{bad}");
        }
        let error = serde_json::from_str::<SparseVector>("[[1], [1.0]]").unwrap_err().to_string();
        assert!(error.contains("a sparse vector object with indices and values"), "{error}");
    }

    #[test]
    fn idf_weighting_multiplies_each_weight() {
        let query = sparse(&[1, 2], &[2.0, 1.0]);
        let weighted = query.idf_weighted(4, u64::from);
        assert_eq!(weighted.indices, [1, 2]);
        assert_eq!(weighted.values, [2.0 * idf(4, 1), idf(4, 2)]);
    }
}
