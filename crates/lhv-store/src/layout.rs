//! Where an index's objects live: the snapshot is the file
//! `_vectors/<name>.lhv1` and the log objects are in the directory
//! `_vectors/<name>.wal/`. Names are 1 to 128 of `A-Z a-z 0-9 _ . -`, not
//! starting with `.` and without `/`, so a snapshot (a file) never falls in
//! another index's log directory, and listing a log directory (by whole path
//! segments) never returns another index's objects, whatever dots the names hold.

use crate::error::{Error, Result};

/// The directory of all index objects.
pub(crate) const DIR: &str = "_vectors";
const SNAPSHOT_SUFFIX: &str = ".lhv1";
const LOG_SUFFIX: &str = ".wal";
const MAX_NAME_LEN: usize = 128;

/// Rejects names that are not 1 to 128 characters from `A-Z a-z 0-9 _ . -`
/// or that start with `.`.
pub fn validate_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid { Ok(()) } else { Err(Error::InvalidName { name: name.to_owned() }) }
}

/// The snapshot: the original service's key.
pub(crate) fn snapshot_key(name: &str) -> String {
    format!("{DIR}/{name}{SNAPSHOT_SUFFIX}")
}

/// The directory of the index's log objects.
pub(crate) fn log_dir(name: &str) -> String {
    format!("{DIR}/{name}{LOG_SUFFIX}")
}

/// One log object: the records of one group commit, named after the first
/// sequence number, zero-padded so that keys sort in log order.
pub(crate) fn log_key(name: &str, first_sequence: u64) -> String {
    format!("{}/{first_sequence:020}", log_dir(name))
}

/// What a key under [`DIR`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Object {
    Snapshot {
        name: String,
    },
    Log {
        name: String,
        first_sequence: u64,
    },
    /// Not ours (or a leftover temporary file): left alone.
    Unknown,
}

pub(crate) fn classify(key: &str) -> Object {
    let Some(rest) = key.strip_prefix(DIR).and_then(|r| r.strip_prefix('/')) else { return Object::Unknown };
    if let Some(name) = rest.strip_suffix(SNAPSHOT_SUFFIX).filter(|n| validate_name(n).is_ok()) {
        return Object::Snapshot { name: name.to_owned() };
    }
    if let Some((dir, file)) = rest.split_once('/')
        && let Some(name) = dir.strip_suffix(LOG_SUFFIX).filter(|n| validate_name(n).is_ok())
        && file.len() == 20
        && let Ok(first_sequence) = file.parse()
    {
        return Object::Log { name: name.to_owned(), first_sequence };
    }
    Object::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_classify_back() {
        assert_eq!(classify(&snapshot_key("docs")), Object::Snapshot { name: "docs".into() });
        assert_eq!(classify(&log_key("a-b_1", 42)), Object::Log { name: "a-b_1".into(), first_sequence: 42 });
        assert_eq!(classify(&snapshot_key("x.wal")), Object::Snapshot { name: "x.wal".into() });
        assert_eq!(classify(&log_key("x.lhv1", 1)), Object::Log { name: "x.lhv1".into(), first_sequence: 1 });
        for other in
            ["_vectors/x.lhv1.tmp", "other/x.lhv1", "_vectors/x.wal/12", "_vectors/bad name.lhv1", "_vectors/.x.lhv1"]
        {
            assert_eq!(classify(other), Object::Unknown, "{other}");
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(validate_name("docs-2024_v1.2").is_ok());
        assert!(validate_name(&"x".repeat(128)).is_ok());
        for bad in ["", "a/b", ".hidden", "é", "a b", &"x".repeat(129)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
