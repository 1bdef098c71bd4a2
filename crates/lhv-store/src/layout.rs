//! Where an index's objects live: the snapshot is the file
//! `_vectors/<name>.lhv1` and the log objects are in the directory
//! `_vectors/<name>.wal/`. Names are 1 to 128 of `A-Z a-z 0-9 _ . -`, not
//! starting with `.` and without `/`, so a snapshot (a file) never falls in
//! another index's log directory, and listing a log directory (by whole path
//! segments) never returns another index's objects, whatever dots the names hold.
//!
//! An index of more than one shard keeps each shard's objects under the
//! shard's storage name `<name>@<shard>` (`@` is never in an index name, so
//! these never meet an unsharded index's), and the manifest
//! `_vectors/<name>.shards` (`{"shards": N}`), written after every shard's
//! first snapshot and removed before any of them: without it the shards are
//! leftovers of an interrupted create or drop.

use crate::error::{Error, Result};

/// The directory of all index objects.
pub(crate) const DIR: &str = "_vectors";
const SNAPSHOT_SUFFIX: &str = ".lhv1";
const LOG_SUFFIX: &str = ".wal";
const MANIFEST_SUFFIX: &str = ".shards";
const SHARD_SEPARATOR: char = '@';
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

/// The storage name of shard `shard` of the sharded index `name`.
pub(crate) fn shard_name(name: &str, shard: usize) -> String {
    format!("{name}{SHARD_SEPARATOR}{shard}")
}

/// The manifest of a sharded index.
pub(crate) fn manifest_key(name: &str) -> String {
    format!("{DIR}/{name}{MANIFEST_SUFFIX}")
}

/// An index name, or a shard's storage name split into the index's name and the shard.
fn parse_storage_name(storage: &str) -> Option<(&str, Option<usize>)> {
    match storage.split_once(SHARD_SEPARATOR) {
        None => validate_name(storage).is_ok().then_some((storage, None)),
        Some((name, shard)) => {
            let digits = !shard.is_empty() && shard.len() <= 3 && shard.bytes().all(|b| b.is_ascii_digit());
            let canonical = digits && (shard == "0" || !shard.starts_with('0'));
            (canonical && validate_name(name).is_ok()).then(|| (name, shard.parse().ok())).filter(|(_, s)| s.is_some())
        }
    }
}

/// The snapshot of an index (or, given a shard's storage name, of a shard):
/// the original service's key.
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
    /// `name` is the index's, `shard` set for a shard's snapshot.
    Snapshot {
        name: String,
        shard: Option<usize>,
    },
    Log {
        name: String,
        shard: Option<usize>,
        first_sequence: u64,
    },
    Manifest {
        name: String,
    },
    /// Not ours (or a leftover temporary file): left alone.
    Unknown,
}

pub(crate) fn classify(key: &str) -> Object {
    let Some(rest) = key.strip_prefix(DIR).and_then(|r| r.strip_prefix('/')) else { return Object::Unknown };
    if let Some(name) = rest.strip_suffix(MANIFEST_SUFFIX).filter(|n| validate_name(n).is_ok()) {
        return Object::Manifest { name: name.to_owned() };
    }
    if let Some((name, shard)) = rest.strip_suffix(SNAPSHOT_SUFFIX).and_then(parse_storage_name) {
        return Object::Snapshot { name: name.to_owned(), shard };
    }
    if let Some((dir, file)) = rest.split_once('/')
        && let Some((name, shard)) = dir.strip_suffix(LOG_SUFFIX).and_then(parse_storage_name)
        && file.len() == 20
        && let Ok(first_sequence) = file.parse()
    {
        return Object::Log { name: name.to_owned(), shard, first_sequence };
    }
    Object::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_classify_back() {
        let snapshot = |name: &str, shard| Object::Snapshot { name: name.into(), shard };
        let log = |name: &str, shard, first_sequence| Object::Log { name: name.into(), shard, first_sequence };
        assert_eq!(classify(&snapshot_key("docs")), snapshot("docs", None));
        assert_eq!(classify(&log_key("a-b_1", 42)), log("a-b_1", None, 42));
        assert_eq!(classify(&snapshot_key("x.wal")), snapshot("x.wal", None));
        assert_eq!(classify(&log_key("x.lhv1", 1)), log("x.lhv1", None, 1));
        assert_eq!(classify(&snapshot_key(&shard_name("docs", 3))), snapshot("docs", Some(3)));
        assert_eq!(classify(&log_key(&shard_name("x.shards", 0), 7)), log("x.shards", Some(0), 7));
        assert_eq!(classify(&manifest_key("docs")), Object::Manifest { name: "docs".into() });
        assert_eq!(classify(&manifest_key("a.lhv1")), Object::Manifest { name: "a.lhv1".into() });
        for other in [
            "_vectors/x.lhv1.tmp",
            "other/x.lhv1",
            "_vectors/x.wal/12",
            "_vectors/bad name.lhv1",
            "_vectors/.x.lhv1",
            "_vectors/x@.lhv1",
            "_vectors/x@01.lhv1",
            "_vectors/x@1@2.lhv1",
            "_vectors/x@1000.lhv1",
            "_vectors/@1.lhv1",
            "_vectors/x@1.shards",
        ] {
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
