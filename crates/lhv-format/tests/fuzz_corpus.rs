//! The committed fuzz corpus goes through the decoders on every test run:
//! whatever they return, they must not panic, and what decodes must survive a
//! round trip. (The fuzz build skips checksums, so in this build most corpus
//! files stop at a checksum; the crashes the fuzzer found are rebuilt with
//! valid checksums in `fuzz_regressions.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};

use lhv_format::{decode_log, decode_snapshot, decode_snapshot_parts, encode_record, encode_snapshot};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

fn dir(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn check_snapshot(bytes: &[u8]) {
    if let Ok(snapshot) = decode_snapshot(bytes) {
        let parts = snapshot.index.to_parts();
        let again = encode_snapshot(&parts, snapshot.last_lsn).unwrap();
        assert_eq!(decode_snapshot_parts(&again).unwrap().0, parts);
    }
}

fn check_log(bytes: &[u8]) {
    if let Ok(contents) = decode_log(bytes) {
        let encode = |records: &[lhv_format::LogRecord]| {
            let mut bytes = Vec::new();
            for record in records {
                encode_record(record, &mut bytes).unwrap();
            }
            bytes
        };
        // Compared as bytes, so that NaN components compare equal.
        let once = encode(&contents.records);
        assert_eq!(encode(&decode_log(&once).unwrap().records), once);
    }
}

#[test]
fn the_fuzz_corpus_decodes_without_panicking() {
    let snapshots = files(&dir("fuzz/corpus/snapshot"));
    let logs = files(&dir("fuzz/corpus/log"));
    assert!(!snapshots.is_empty() && !logs.is_empty(), "the committed corpus is missing");
    for file in snapshots {
        check_snapshot(&std::fs::read(file).unwrap());
    }
    for file in logs {
        check_log(&std::fs::read(file).unwrap());
    }
}
