//! The committed fuzz corpus and every input the fuzzer ever flagged
//! (`tests/fixtures/fuzz-regressions/`) go through the decoders on every test
//! run: whatever they return, they must not panic, and what decodes must
//! survive a round trip.
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
        let mut again = Vec::new();
        for record in &contents.records {
            encode_record(record, &mut again).unwrap();
        }
        assert_eq!(decode_log(&again).unwrap().records, contents.records);
    }
}

#[test]
fn the_fuzz_corpus_and_regressions_decode_without_panicking() {
    let snapshots = files(&dir("fuzz/corpus/snapshot"));
    let logs = files(&dir("fuzz/corpus/log"));
    assert!(!snapshots.is_empty() && !logs.is_empty(), "the committed corpus is missing");
    for file in snapshots {
        check_snapshot(&std::fs::read(file).unwrap());
    }
    for file in logs {
        check_log(&std::fs::read(file).unwrap());
    }
    // Regressions are named after the target that found them.
    for file in files(&dir("tests/fixtures/fuzz-regressions")) {
        let bytes = std::fs::read(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("snapshot-") {
            check_snapshot(&bytes);
        } else if name.starts_with("log-") {
            check_log(&bytes);
        } else {
            panic!("{name}: regression files start with snapshot- or log-");
        }
    }
}
