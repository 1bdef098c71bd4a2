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
        /// Position of the component inside the vector.
        component: usize,
    },
    /// The squared norm of a vector overflows `f32`, so distances to it are not finite.
    #[error("item {item}: vector components are too large (its squared norm overflows f32)")]
    VectorTooLarge {
        /// Position in the batch.
        item: usize,
    },
    /// A zero vector has no direction, so its cosine distance is undefined.
    #[error("item {item}: zero vector cannot be used with the cosine metric")]
    ZeroVector {
        /// Position in the batch.
        item: usize,
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
    /// [`IndexParts`](crate::IndexParts) that break an invariant of the index
    /// (for example a link to a node that does not exist).
    #[error("inconsistent index parts: {reason}")]
    InvalidParts {
        /// What is inconsistent.
        reason: String,
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
