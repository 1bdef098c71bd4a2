//! Golden version 5 files: an index with named dense and sparse vectors
//! (its snapshot) and upserts of them (operation 8, alone and in a batch).
//! Like `fixtures.rs`, they must keep decoding to the same content and the
//! writer must keep producing them byte for byte; `LHV_BLESS=1` writes them
//! (only for a new fixture). The files of versions 1 to 4 stay as they were:
//! `fixtures.rs` checks that they still decode and are still written as is.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;

use lhv_core::{
    Index, IndexParams, Item, Metric, SearchOptions, SparseModifier, SparseParams, SparseVector, Storage, VectorParams,
};
use lhv_format::{LogOp, LogRecord, decode_log, decode_snapshot, encode_record, encode_snapshot, read_envelope};
use serde_json::json;

fn versioned(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v5").join(name)
}

fn params() -> IndexParams {
    IndexParams::new(3, Metric::L2)
        .with_m(4)
        .with_ef_construction(16)
        .with_exact_search_threshold(0)
        // Versions before 7 keep the ef they are given.
        .with_ef_search(64)
        .with_vector(
            "title",
            VectorParams::new(2, Metric::Cosine).with_m(4).with_storage(Storage::F16).with_ef_search(64),
        )
        .with_sparse_vector("words", SparseParams { modifier: SparseModifier::Idf })
        .with_sparse_vector("tags", SparseParams::default())
}

/// Item `i`: some lack the unnamed vector, the title or a sparse vector.
fn item(i: u32) -> Item {
    let mut item = Item::new(format!("p{i}"), if i % 5 == 4 { Vec::new() } else { vec![i as f32, 1.0, -0.5] });
    if !i.is_multiple_of(3) {
        item.vectors.insert("title".into(), vec![1.0, i as f32]);
    }
    if i % 4 != 1 {
        item.sparse.insert("words".into(), SparseVector::new(vec![i % 7, 100 + i], vec![1.0, 0.5 * i as f32]));
    }
    if i.is_multiple_of(2) {
        item.sparse.insert("tags".into(), SparseVector::new(vec![3], vec![2.0]));
    }
    item.metadata = i.is_multiple_of(3).then(|| json!({ "i": i }));
    item
}

fn named_index() -> Index {
    let index = Index::new(params()).unwrap();
    index.upsert((0..12).map(item).collect()).unwrap();
    index.delete(&["p3"]);
    // A new title for p5: its other vectors move to a new slot with it.
    let mut moved = item(5);
    moved.vectors.insert("title".into(), vec![-1.0, 0.25]);
    index.upsert(vec![moved]).unwrap();
    index
}

fn named_log() -> Vec<LogRecord> {
    vec![
        LogRecord { sequence: 1, op: LogOp::Upsert((0..4).map(item).collect()) },
        LogRecord { sequence: 2, op: LogOp::Upsert(vec![Item::new("plain", vec![1.0, 2.0, 3.0])]) },
        LogRecord {
            sequence: 3,
            op: LogOp::Batch(vec![LogOp::Delete(vec!["p1".into()]), LogOp::Upsert(vec![item(4), item(9)])]),
        },
    ]
}

fn encode_log(records: &[LogRecord]) -> Vec<u8> {
    let mut log = Vec::new();
    for record in records {
        encode_record(record, &mut log).unwrap();
    }
    log
}

#[test]
fn version_5_golden_files_decode_and_are_still_what_the_writer_writes() {
    if std::env::var_os("LHV_BLESS").is_some() {
        std::fs::create_dir_all(versioned("")).unwrap();
        std::fs::write(versioned("named.lhv"), encode_snapshot(&named_index().to_parts(), 17).unwrap()).unwrap();
        std::fs::write(versioned("named.log"), encode_log(&named_log())).unwrap();
    }
    let golden = std::fs::read(versioned("named.lhv")).unwrap();
    assert_eq!(read_envelope(&golden).unwrap().format_version, 5);
    let decoded = decode_snapshot(&golden).unwrap();
    assert_eq!(decoded.last_lsn, 17);
    let index = decoded.index;
    assert_eq!(index.params(), params());
    assert_eq!(index.len(), 11);
    let p5 = index.get("p5").unwrap();
    assert_eq!(p5.vectors["title"], vec![-1.0, 0.25]);
    assert!(!p5.sparse.contains_key("words"));
    assert_eq!(index.get("p6").unwrap().sparse["words"], SparseVector::new(vec![6, 106], vec![1.0, 3.0]));
    assert!(index.get("p4").unwrap().vector.is_empty());
    assert!(!index.get("p6").unwrap().vectors.contains_key("title"));

    let title = index.search(&[1.0, 7.0], 2, &SearchOptions::default().using("title")).unwrap();
    assert_eq!(title.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["p7", "p8"]);
    // Index 0 is held by p0 and p7 (i % 7), index 108 by p8 (weight 4), rarer and so weighted up.
    let query = SparseVector::new(vec![108, 0], vec![1.0, 1.0]);
    let words = index.search_sparse(&query, 3, &SearchOptions::default().using("words"), None).unwrap();
    assert_eq!(words.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["p8", "p0", "p7"]);
    let tags = SparseVector::new(vec![3], vec![1.0]);
    let tagged = index.search_sparse(&tags, 20, &SearchOptions::default().using("tags"), None).unwrap();
    assert_eq!(tagged.len(), 6);
    assert!(tagged.iter().all(|hit| hit.distance == -2.0));
    assert!(encode_snapshot(&index.to_parts(), 17).unwrap() == golden, "the v5 snapshot writer changed");

    let golden = std::fs::read(versioned("named.log")).unwrap();
    assert_eq!(decode_log(&golden).unwrap().records, named_log());
    assert!(encode_log(&named_log()) == golden, "the v5 log writer changed");
    // The plain upsert between them is still written as version 1.
    let plain = encode_log(&named_log()[1..2]);
    assert_eq!(u16::from_be_bytes([plain[4], plain[5]]), 1);
}

#[test]
fn damaged_version_5_snapshots_are_refused() {
    let golden = encode_snapshot(&named_index().to_parts(), 17).unwrap();
    // Every bit of the sections after the head, and every length: refused, never a panic.
    for position in (0..golden.len()).step_by(7) {
        let mut damaged = golden.clone();
        damaged[position] ^= 0x10;
        assert!(decode_snapshot(&damaged).is_err(), "a flipped bit at {position} went unnoticed");
    }
    for length in (0..golden.len()).step_by(13) {
        assert!(decode_snapshot(&golden[..length]).is_err(), "a snapshot cut at {length} decoded");
    }
}

#[test]
fn damaged_version_5_records_are_refused() {
    let golden = encode_log(&named_log());
    for position in 0..golden.len() {
        let mut damaged = golden.clone();
        damaged[position] ^= 0x04;
        if let Ok(contents) = decode_log(&damaged) {
            assert!(contents.records != named_log(), "a flipped bit at {position} went unnoticed");
        }
    }
}
