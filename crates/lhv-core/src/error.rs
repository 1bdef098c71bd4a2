//! The one error type of `lhv-core`.

/// Everything that can go wrong when using an [`Index`](crate::Index).
///
/// Every variant describes bad caller input (or, for
/// [`InvalidParts`](Error::InvalidParts), bad stored data): the index itself
/// never fails on valid input. When a batch is rejected, `item` is the zero-based
/// position of the offending entry in the batch (for a single query it is 0),
/// and nothing in the index has changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An index parameter is outside its allowed range.
    #[error("invalid parameter `{name}` = {value}: {allowed}")]
    InvalidParameter {
        /// The parameter's name, as in [`IndexParams`](crate::IndexParams) or the method signature.
        name: &'static str,
        /// The rejected value.
        value: String,
        /// What would have been accepted.
        allowed: &'static str,
    },
    /// A vector's length differs from the index dimension.
    #[error("item {item}: vector has dimension {got}, the index expects {expected}")]
    DimensionMismatch {
        /// Position in the batch.
        item: usize,
        /// The index dimension.
        expected: usize,
        /// The vector's length.
        got: usize,
    },
    /// A vector component is NaN or infinite.
    #[error("item {item}: component {component} is not a finite number")]
    NonFiniteComponent {
        /// Position in the batch.
        item: usize,
        /// Position of the component inside the vector (for a
        /// [`SparseVector`](crate::SparseVector), inside its `values`).
        component: usize,
    },
    /// A component is beyond the range of the index's [`Storage`](crate::Storage)
    /// (float16 holds magnitudes up to 65504): stored, it would be infinite.
    #[error("item {item}: component {component} is beyond ±{max}, the range of this index's storage")]
    ValueOutOfRange {
        /// Position in the batch.
        item: usize,
        /// Position of the component inside the vector.
        component: usize,
        /// The largest magnitude the storage holds.
        max: f32,
    },
    /// The vector's norm (dense or sparse) is [`MAX_NORM`](crate::MAX_NORM)
    /// or more, beyond what the index computes finite distances and scores for.
    #[error("item {item}: the vector's norm is 1e16 or more, too large for finite distances")]
    VectorTooLarge {
        /// Position in the batch.
        item: usize,
    },
    /// A zero vector has no direction, so its cosine distance is undefined; so
    /// is a vector that is zero as the index stores it (float16 rounds values
    /// below 6e-8 to zero) or whose norm is too small to invert (below 1.1e-19).
    #[error(
        "item {item}: zero vector (or one too small to have a direction as stored) cannot be used with the cosine metric"
    )]
    ZeroVector {
        /// Position in the batch.
        item: usize,
    },
    /// An item or a search names a vector the index does not declare (`""`:
    /// the unnamed vector, in an index that has none).
    #[error("item {item}: the index has no vector named {name:?}")]
    UnknownVector {
        /// Position in the batch.
        item: usize,
        /// The name.
        name: String,
    },
    /// An id is the empty string.
    #[error("item {item}: id is empty")]
    EmptyId {
        /// Position in the batch.
        item: usize,
    },
    /// An id is longer than [`MAX_ID_BYTES`](crate::MAX_ID_BYTES).
    #[error("item {item}: id is {len} bytes long, the limit is {max}")]
    IdTooLong {
        /// Position in the batch.
        item: usize,
        /// Length of the id in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The same id appears twice in one batch.
    #[error("item {item}: id {id:?} already appears at position {first} of the batch")]
    DuplicateId {
        /// Position of the second occurrence.
        item: usize,
        /// Position of the first occurrence.
        first: usize,
        /// The repeated id.
        id: String,
    },
    /// A [`SparseVector`](crate::SparseVector) whose `indices` and `values`
    /// differ in length.
    #[error("item {item}: sparse vector has {indices} indices and {values} values")]
    SparseLengthMismatch {
        /// Position in the batch.
        item: usize,
        /// Length of `indices`.
        indices: usize,
        /// Length of `values`.
        values: usize,
    },
    /// A [`SparseVector`](crate::SparseVector) with more entries than
    /// [`MAX_SPARSE_NNZ`](crate::MAX_SPARSE_NNZ).
    #[error("item {item}: sparse vector has {len} entries, the limit is {max}")]
    SparseTooLong {
        /// Position in the batch.
        item: usize,
        /// Its number of entries.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The same index appears twice in one [`SparseVector`](crate::SparseVector).
    #[error("item {item}: sparse vector holds index {index} more than once")]
    DuplicateSparseIndex {
        /// Position in the batch.
        item: usize,
        /// The repeated dimension index.
        index: u32,
    },
    /// [`IndexParts`](crate::IndexParts) (or [`SparseParts`](crate::SparseParts))
    /// that break an invariant of the index (for example a link to a node that
    /// does not exist).
    #[error("inconsistent index parts: {reason}")]
    InvalidParts {
        /// What is inconsistent.
        reason: String,
    },
    /// A write names an item of a shard that this part of a sharded index
    /// does not hold ([`ShardedIndex::subset`](crate::ShardedIndex::subset)):
    /// it belongs to another process of a cluster.
    #[error("item {id:?} belongs to shard {shard}, which is not held here")]
    ShardNotHeld {
        /// The item's id.
        id: String,
        /// Its shard.
        shard: usize,
    },
    /// A search filter is malformed or over a limit.
    #[error("invalid filter: {reason}")]
    InvalidFilter {
        /// What is wrong.
        reason: String,
    },
    /// The index cannot hold more vectors.
    #[error("the index is full: it holds at most {max} vectors")]
    CapacityExceeded {
        /// The most vectors (live and not yet compacted) one index can hold.
        max: usize,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
