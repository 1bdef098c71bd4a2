//! Where an index's objects live: the snapshot is the file
//! `_vectors/<key name>.lhv1` and the log objects are in the directory
//! `_vectors/<key name>.wal/`.
//!
//! Names (of indexes and aliases) are what Qdrant allows for collections: 1
//! to 255 characters, no `/` and no control characters. A name of 1 to 128
//! of `A-Z a-z 0-9 _ . -` not starting with `.` is its own key name (every
//! name vectord accepted before); any other is written `!` followed by its
//! UTF-8 bytes with every byte outside `A-Z a-z 0-9 _ -` escaped as `!` and
//! two hex digits, cut into segments of at most [`SEGMENT_BYTES`] bytes
//! joined by `/` (so that a file name stays within what local file systems
//! allow). Key names never meet: the first kind has no `!`, the second
//! starts with one; neither has `@` or, in the second kind, `.`, so a
//! snapshot (a file) never falls in another index's log directory and
//! listing a log directory (by whole path segments) never returns another
//! index's objects.
//!
//! An index of more than one shard keeps each shard's objects under the
//! shard's storage name `<key name>@<shard>`, and the manifest
//! `_vectors/<key name>.shards` (`{"shards": N}`), written after every shard's
//! first snapshot and removed before any of them: without it the shards are
//! leftovers of an interrupted create or drop.

use std::fmt::Write as _;

use crate::error::{Error, Result};

/// The directory of all index objects.
pub(crate) const DIR: &str = "_vectors";
const SNAPSHOT_SUFFIX: &str = ".lhv1";
const LOG_SUFFIX: &str = ".wal";
const MANIFEST_SUFFIX: &str = ".shards";
const SHARD_SEPARATOR: char = '@';
/// Most characters in a name (Qdrant's limit for collection names).
pub const MAX_NAME_CHARS: usize = 255;
/// Most bytes of an escaped key name (S3 keys hold at most 1 024 bytes).
pub const MAX_KEY_NAME_BYTES: usize = 800;
/// Names of at most this many of the plain characters keep their key name.
const MAX_PLAIN_LEN: usize = 128;
/// Most bytes of one segment of an escaped key name.
const SEGMENT_BYTES: usize = 200;
const ESCAPE: char = '!';

/// Whether `name` is its own key name.
fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_PLAIN_LEN
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The key name of a valid name (see the module's documentation).
pub(crate) fn key_name(name: &str) -> String {
    if is_plain(name) {
        return name.to_owned();
    }
    let mut escaped = String::from(ESCAPE);
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-') {
            escaped.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(escaped, "{ESCAPE}{byte:02x}");
        }
    }
    let bytes = escaped.as_bytes();
    // Every byte is ASCII, so any cut is a character boundary.
    bytes.chunks(SEGMENT_BYTES).map(|chunk| String::from_utf8_lossy(chunk).into_owned()).collect::<Vec<_>>().join("/")
}

/// The name a key name stands for, if it is the key name of a valid name.
fn name_of_key(key: &str) -> Option<String> {
    let Some(escaped) = key.strip_prefix(ESCAPE) else {
        return is_plain(key).then(|| key.to_owned());
    };
    let joined: String = escaped.split('/').collect();
    let mut bytes = Vec::with_capacity(joined.len());
    let mut rest = joined.as_bytes();
    while let Some((&first, after)) = rest.split_first() {
        if first == ESCAPE as u8 {
            let hex = std::str::from_utf8(after.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &after[2..];
        } else {
            bytes.push(first);
            rest = after;
        }
    }
    let name = String::from_utf8(bytes).ok()?;
    // Only the one canonical spelling of a valid name.
    (validate_name(&name).is_ok() && key_name(&name) == key).then_some(name)
}

/// Rejects names Qdrant would not take for a collection (empty, over 255
/// characters, with `/` or a control character) and those whose key name
/// would be over `MAX_KEY_NAME_BYTES` (800) bytes.
pub fn validate_name(name: &str) -> Result<()> {
    let chars = name.chars().count();
    let valid = (1..=MAX_NAME_CHARS).contains(&chars) && !name.chars().any(|c| c == '/' || c.is_control());
    if valid && (is_plain(name) || key_name(name).len() <= MAX_KEY_NAME_BYTES) {
        Ok(())
    } else {
        Err(Error::InvalidName { name: name.to_owned() })
    }
}

/// The storage name of an unsharded index `name`: the stem of its objects'
/// keys, `_vectors/<key name>`.
pub(crate) fn storage_name(name: &str) -> String {
    format!("{DIR}/{}", key_name(name))
}

/// The storage name of shard `shard` of the sharded index `name`.
pub(crate) fn shard_name(name: &str, shard: usize) -> String {
    format!("{DIR}/{}{SHARD_SEPARATOR}{shard}", key_name(name))
}

/// Where a cluster keeps its shards, apart from `_vectors/` (a process
/// opening the bucket on its own never lists, loads or removes them).
#[cfg(feature = "cluster")]
pub(crate) const CLUSTER_DIR: &str = "_cluster";

/// The storage name of shard `shard` of a cluster index's incarnation
/// `incarnation`: `_cluster/<incarnation>/<shard>`. Incarnation ids are
/// fresh per create, so no two incarnations share a key.
#[cfg(feature = "cluster")]
pub(crate) fn cluster_shard_name(incarnation: &str, shard: u32) -> String {
    format!("{CLUSTER_DIR}/{incarnation}/{shard}")
}

/// The manifest of a sharded index.
pub(crate) fn manifest_key(name: &str) -> String {
    format!("{DIR}/{}{MANIFEST_SUFFIX}", key_name(name))
}

/// An index name, or a shard's storage name split into the index's name and the shard.
fn parse_storage_name(storage: &str) -> Option<(String, Option<usize>)> {
    match storage.split_once(SHARD_SEPARATOR) {
        None => Some((name_of_key(storage)?, None)),
        Some((key, shard)) => {
            let digits = !shard.is_empty() && shard.len() <= 3 && shard.bytes().all(|b| b.is_ascii_digit());
            let canonical = digits && (shard == "0" || !shard.starts_with('0'));
            if !canonical {
                return None;
            }
            Some((name_of_key(key)?, Some(shard.parse().ok()?)))
        }
    }
}

/// The snapshot of an index (or, given a shard's storage name, of a shard):
/// the original service's key.
pub(crate) fn snapshot_key(storage: &str) -> String {
    format!("{storage}{SNAPSHOT_SUFFIX}")
}

/// The directory of the index's log objects.
pub(crate) fn log_dir(storage: &str) -> String {
    format!("{storage}{LOG_SUFFIX}")
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
    if let Some(name) = rest.strip_suffix(MANIFEST_SUFFIX).and_then(name_of_key) {
        return Object::Manifest { name };
    }
    if let Some((name, shard)) = rest.strip_suffix(SNAPSHOT_SUFFIX).and_then(parse_storage_name) {
        return Object::Snapshot { name, shard };
    }
    if let Some((dir, file)) = rest.rsplit_once('/')
        && let Some((name, shard)) = dir.strip_suffix(LOG_SUFFIX).and_then(parse_storage_name)
        && file.len() == 20
        && let Ok(first_sequence) = file.parse()
    {
        return Object::Log { name, shard, first_sequence };
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
        assert_eq!(classify(&snapshot_key(&storage_name("docs"))), snapshot("docs", None));
        assert_eq!(classify(&log_key(&storage_name("a-b_1"), 42)), log("a-b_1", None, 42));
        assert_eq!(classify(&snapshot_key(&storage_name("x.wal"))), snapshot("x.wal", None));
        assert_eq!(classify(&log_key(&storage_name("x.lhv1"), 1)), log("x.lhv1", None, 1));
        assert_eq!(snapshot_key(&storage_name("docs")), "_vectors/docs.lhv1");
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
            "_vectors/a/b.lhv1",
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
        for good in [
            "docs-2024_v1.2",
            &"x".repeat(128),
            &"x".repeat(255),
            ".hidden",
            "é",
            "a b",
            "a:b",
            "日本語",
            "!",
            "@1",
            "..",
        ] {
            assert!(validate_name(good).is_ok(), "{good:?}");
        }
        for bad in ["", "a/b", "a\0b", "tab\there", &"x".repeat(256), &"é".repeat(200)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_name_has_one_key_name_that_classifies_back() {
        let long = "Long name: ".repeat(23);
        for name in
            ["docs", "a b", "a:b", "x.wal", ".hidden", "é", "!21", "a@1", "..", &long, "日本語 ✓", &"x".repeat(200)]
        {
            assert!(validate_name(name).is_ok(), "{name:?}");
            let key = key_name(name);
            assert!(key.split('/').all(|segment| segment.len() <= SEGMENT_BYTES + 9), "{key}");
            assert!(!key.contains('@') && (is_plain(name) || !key.contains('.')), "{key}");
            assert_eq!(name_of_key(&key).as_deref(), Some(name), "{key}");
            let snapshot = |name: &str, shard| Object::Snapshot { name: name.into(), shard };
            assert_eq!(classify(&snapshot_key(&storage_name(name))), snapshot(name, None));
            assert_eq!(classify(&snapshot_key(&shard_name(name, 2))), snapshot(name, Some(2)));
            let log = Object::Log { name: name.into(), shard: Some(0), first_sequence: 9 };
            assert_eq!(classify(&log_key(&shard_name(name, 0), 9)), log);
            assert_eq!(classify(&manifest_key(name)), Object::Manifest { name: name.into() });
        }
        assert!(long.chars().count() > 200 && key_name(&long).contains('/'));
        // Spellings that are not the canonical key of a valid name are not ours.
        for other in
            ["_vectors/!61.lhv1", "_vectors/!zz.lhv1", "_vectors/!a!2.lhv1", "_vectors/!2f.lhv1", "_vectors/!.lhv1"]
        {
            assert_eq!(classify(other), Object::Unknown, "{other}");
        }
    }
}
