//! The one error type of `lhv-format`.

/// Why bytes could not be decoded (or a value could not be encoded).
///
/// Decoders never trust a length or a count from their input: anything that
/// does not add up is one of these errors, never a panic and never a value
/// that differs from what was encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input does not start with the magic bytes of this format.
    #[error("bad magic bytes: this is not an LHV1 snapshot or log record")]
    BadMagic,
    /// The input was written by a newer version of the format.
    #[error("format version {found} is not supported (this reader knows version {})", crate::FORMAT_VERSION)]
    UnsupportedVersion {
        /// The version found in the input.
        found: u32,
    },
    /// The input ends before a part it announces.
    #[error("truncated: {needed} bytes needed, {available} available")]
    Truncated {
        /// Bytes the announced part needs, counted from the start of the input.
        needed: u64,
        /// Bytes the input has.
        available: u64,
    },
    /// A part's bytes do not match its CRC32C: the input is damaged.
    #[error("checksum mismatch in {section}")]
    Checksum {
        /// The part: `envelope` or a section name.
        section: String,
    },
    /// The input is well-framed but its content is inconsistent, or a value
    /// cannot be encoded.
    #[error("invalid: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// The input could not be read (a stream's I/O error).
    #[error("cannot read the input: {reason}")]
    Read {
        /// The I/O error.
        reason: String,
    },
    /// A log record is damaged: a checksum fails or its content does not add
    /// up. (An *incomplete* last record is a torn tail instead, see
    /// [`decode_log`](crate::decode_log).)
    #[error("log corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// Where the damaged record starts.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::Invalid { reason: reason.into() }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
