//! Golden v1 files: they must keep decoding to the same content, and the
//! current writer must keep producing them byte for byte from that content
//! (re-encoding what it decoded, so that a change in how the graph is built
//! does not count as a format change). A failure here means
//! the format changed: bump `FORMAT_VERSION`, keep reading v1, add v2 fixtures.
//! `LHV_BLESS=1 cargo test -p lhv-format --test fixtures` rewrites them (only
//! for a new fixture, never to paper over a change).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;

use lhv_core::{FieldSchema, Index, IndexParams, IndexedField, Item, Metric, SearchOptions, Storage};
use lhv_format::{
    FieldIndexChange, GraphParams, LogOp, LogRecord, decode_log, decode_snapshot, encode_record, encode_snapshot,
};
use serde_json::json;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1").join(name)
}

/// Twelve points on a line, one batch (linked on one thread, so the graph is
/// deterministic), then a delete and a replacement that leave tombstones.
fn small_index() -> Index {
    small_index_stored(Storage::F32)
}

fn small_index_stored(storage: Storage) -> Index {
    let params = IndexParams::new(3, Metric::L2)
        .with_m(4)
        .with_ef_construction(16)
        .with_exact_search_threshold(0)
        // Versions before 7 keep the ef they are given.
        .with_ef_search(64)
        .with_storage(storage);
    let index = Index::new(params).unwrap();
    let items = (0..12)
        .map(|i| Item {
            id: if i == 7 { "sieben-ß".into() } else { format!("p{i}") },
            vector: vec![i as f32, 1.0, -0.5],
            metadata: (i % 4 == 0).then(|| json!({ "i": i, "tag": "quad" })),
            ..Default::default()
        })
        .collect();
    index.upsert(items).unwrap();
    index.delete(&["p3"]);
    index
        .upsert(vec![Item {
            id: "p5".into(),
            vector: vec![5.0, 2.0, -0.5],
            metadata: Some(json!("moved")),
            ..Default::default()
        }])
        .unwrap();
    index
}

fn small_log() -> Vec<LogRecord> {
    vec![
        LogRecord {
            sequence: 1,
            op: LogOp::Upsert(vec![
                Item { id: "a".into(), vector: vec![1.0, 0.0], metadata: None, ..Default::default() },
                Item {
                    id: "é".into(),
                    vector: vec![0.0, -2.5],
                    metadata: Some(json!({ "k": [1, 2] })),
                    ..Default::default()
                },
            ]),
        },
        LogRecord { sequence: 2, op: LogOp::Delete(vec!["a".into()]) },
        LogRecord {
            sequence: 4,
            op: LogOp::Upsert(vec![Item {
                id: "b".into(),
                vector: vec![0.25, 0.5],
                metadata: Some(json!(7)),
                ..Default::default()
            }]),
        },
    ]
}

fn encoded_log() -> Vec<u8> {
    let mut log = Vec::new();
    for record in small_log() {
        encode_record(&record, &mut log).unwrap();
    }
    log
}

#[test]
fn golden_files_decode_and_are_still_what_the_writer_writes() {
    if std::env::var_os("LHV_BLESS").is_some() {
        std::fs::write(fixture("small.lhv"), encode_snapshot(&small_index().to_parts(), 42).unwrap()).unwrap();
        std::fs::write(fixture("small.log"), encoded_log()).unwrap();
    }
    let golden_snapshot = std::fs::read(fixture("small.lhv")).unwrap();
    let golden_log = std::fs::read(fixture("small.log")).unwrap();

    let decoded = decode_snapshot(&golden_snapshot).unwrap();
    assert_eq!(decoded.last_lsn, 42);
    let index = decoded.index;
    let snapshot = encode_snapshot(&index.to_parts(), 42).unwrap();
    assert_eq!(index.len(), 11);
    assert_eq!(index.stats().tombstones, 2);
    assert!(!index.contains("p3"));
    let moved = index.get("p5").unwrap();
    assert_eq!((moved.vector, moved.metadata), (vec![5.0, 2.0, -0.5], Some(json!("moved"))));
    assert_eq!(index.get("p8").unwrap().metadata, Some(json!({ "i": 8, "tag": "quad" })));
    let hits = index.search(&[7.2, 1.0, -0.5], 3, &SearchOptions::default().with_ef(16)).unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["sieben-ß", "p8", "p6"]);
    assert!((hits[0].distance - 0.2).abs() < 1e-6);

    let contents = decode_log(&golden_log).unwrap();
    assert_eq!(contents.records, small_log());
    let log = encoded_log();
    assert_eq!(contents.torn_tail, 0);

    assert!(snapshot == golden_snapshot, "the snapshot writer no longer writes the v1 golden file");
    assert!(log == golden_log, "the log writer no longer writes the v1 golden file");
}

fn versioned(version: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(version).join(name)
}

/// The small index in float16 rows: what version 2 (codes) added.
fn small_f16_index() -> Index {
    small_index_stored(Storage::F16)
}

/// The small index with typed field indexes added live: what snapshot version 3 added.
fn small_typed_index() -> Index {
    let index = small_index();
    index.create_field_index(IndexedField::new("tag", FieldSchema::Keyword)).unwrap();
    index.create_field_index(IndexedField::new("i", FieldSchema::Integer)).unwrap();
    index
}

/// Field index changes and a batch between writes: what log version 2 added.
fn fields_log() -> Vec<LogRecord> {
    let mut records = small_log();
    records.push(LogRecord {
        sequence: 5,
        op: LogOp::FieldIndex(FieldIndexChange::Create(IndexedField::new("k", FieldSchema::Float))),
    });
    records.push(LogRecord { sequence: 6, op: LogOp::FieldIndex(FieldIndexChange::Create("k".into())) });
    records.push(LogRecord { sequence: 7, op: LogOp::FieldIndex(FieldIndexChange::Drop("k".into())) });
    records.push(LogRecord {
        sequence: 8,
        op: LogOp::Batch(vec![
            LogOp::Delete(vec!["é".into()]),
            LogOp::Upsert(vec![Item {
                id: "c".into(),
                vector: vec![-1.0, 2.0],
                metadata: Some(json!({"k": 2.5})),
                ..Default::default()
            }]),
        ]),
    });
    records
}

/// A change of the graph parameters between writes: what log version 3 added.
fn graph_log() -> Vec<LogRecord> {
    let mut records = fields_log();
    records.push(LogRecord { sequence: 9, op: LogOp::GraphParams(GraphParams { m: 24, ef_construction: 64 }) });
    records.push(LogRecord { sequence: 10, op: LogOp::Delete(vec!["c".into()]) });
    records
}

/// The small index with two items whose vectors were taken away: what snapshot version 4 added.
fn small_vectorless_index() -> Index {
    let index = small_index();
    let bare = |id: &str| Item { id: id.into(), vector: Vec::new(), metadata: None, ..Default::default() };
    index.upsert(vec![bare("p3"), bare("new")]).unwrap();
    index
}

/// Upserts with items without a vector, alone and in a batch: what log version 4 added.
fn vectorless_log() -> Vec<LogRecord> {
    let mut records = graph_log();
    let bare = |id: &str| Item {
        id: id.into(),
        vector: Vec::new(),
        metadata: Some(json!({"bare": id})),
        ..Default::default()
    };
    let full = Item { id: "f".into(), vector: vec![0.5, -0.5], metadata: None, ..Default::default() };
    records.push(LogRecord { sequence: 11, op: LogOp::Upsert(vec![bare("a"), full.clone(), bare("b")]) });
    records.push(LogRecord {
        sequence: 12,
        op: LogOp::Batch(vec![
            LogOp::Upsert(vec![bare("f")]),
            LogOp::Delete(vec!["a".into()]),
            LogOp::Upsert(vec![full]),
        ]),
    });
    records.push(LogRecord { sequence: 13, op: LogOp::Upsert(vec![bare("only")]) });
    records
}

#[test]
fn later_golden_files_decode_and_are_still_what_the_writer_writes() {
    let encode_log = |records: &[LogRecord]| {
        let mut log = Vec::new();
        records.iter().for_each(|record| encode_record(record, &mut log).unwrap());
        log
    };
    if std::env::var_os("LHV_BLESS").is_some() {
        for dir in ["v2", "v3"] {
            std::fs::create_dir_all(versioned(dir, "")).unwrap();
        }
        std::fs::write(versioned("v2", "small-f16.lhv"), encode_snapshot(&small_f16_index().to_parts(), 9).unwrap())
            .unwrap();
        std::fs::write(versioned("v2", "fields.log"), encode_log(&fields_log())).unwrap();
        std::fs::write(versioned("v3", "typed.lhv"), encode_snapshot(&small_typed_index().to_parts(), 11).unwrap())
            .unwrap();
        std::fs::write(versioned("v3", "graph.log"), encode_log(&graph_log())).unwrap();
        std::fs::create_dir_all(versioned("v4", "")).unwrap();
        std::fs::write(
            versioned("v4", "vectorless.lhv"),
            encode_snapshot(&small_vectorless_index().to_parts(), 13).unwrap(),
        )
        .unwrap();
        std::fs::write(versioned("v4", "vectorless.log"), encode_log(&vectorless_log())).unwrap();
    }
    // Snapshot version 2: float16 rows.
    let golden = std::fs::read(versioned("v2", "small-f16.lhv")).unwrap();
    assert_eq!(lhv_format::read_envelope(&golden).unwrap().format_version, 2);
    let decoded = decode_snapshot(&golden).unwrap();
    assert_eq!((decoded.last_lsn, decoded.index.len()), (9, 11));
    assert_eq!(decoded.index.params().storage, Storage::F16);
    assert_eq!(decoded.index.get("p8").unwrap().vector, vec![8.0, 1.0, -0.5]);
    assert!(encode_snapshot(&decoded.index.to_parts(), 9).unwrap() == golden, "the v2 snapshot writer changed");

    // Log version 2: field index changes among version 1 records.
    let golden = std::fs::read(versioned("v2", "fields.log")).unwrap();
    assert_eq!(decode_log(&golden).unwrap().records, fields_log());
    assert!(encode_log(&fields_log()) == golden, "the v2 log writer changed");
    // Records of version 1 operations are written as they were.
    assert!(golden.starts_with(&encoded_log()));

    // Snapshot version 3: typed field indexes, kept with their counts.
    let golden = std::fs::read(versioned("v3", "typed.lhv")).unwrap();
    assert_eq!(lhv_format::read_envelope(&golden).unwrap().format_version, 3);
    let decoded = decode_snapshot(&golden).unwrap();
    let fields: Vec<(IndexedField, usize)> =
        decoded.index.field_indexes().into_iter().map(|info| (info.field, info.points)).collect();
    assert_eq!(
        fields,
        [(IndexedField::new("tag", FieldSchema::Keyword), 3), (IndexedField::new("i", FieldSchema::Integer), 3)]
    );
    assert!(encode_snapshot(&decoded.index.to_parts(), 11).unwrap() == golden, "the v3 snapshot writer changed");

    // Log version 3: a graph parameter change; the records around it keep their versions.
    let golden = std::fs::read(versioned("v3", "graph.log")).unwrap();
    assert_eq!(decode_log(&golden).unwrap().records, graph_log());
    assert!(encode_log(&graph_log()) == golden, "the v3 log writer changed");
    assert!(golden.starts_with(&encode_log(&fields_log())));

    // Snapshot version 4: items without a vector, kept, listed, never found.
    let golden = std::fs::read(versioned("v4", "vectorless.lhv")).unwrap();
    assert_eq!(lhv_format::read_envelope(&golden).unwrap().format_version, 4);
    let decoded = decode_snapshot(&golden).unwrap();
    assert_eq!(decoded.index.len(), 13);
    assert!(decoded.index.get("p3").unwrap().vector.is_empty());
    assert!(decoded.index.get("new").unwrap().vector.is_empty());
    assert_eq!(decoded.index.get("p4").unwrap().vector.len(), 3);
    let hits = decoded.index.search(&[3.0, 1.0, -0.5], 20, &lhv_core::SearchOptions::default()).unwrap();
    assert_eq!(hits.len(), 11);
    assert!(hits.iter().all(|h| h.id != "p3" && h.id != "new"));
    assert!(encode_snapshot(&decoded.index.to_parts(), 13).unwrap() == golden, "the v4 snapshot writer changed");

    // Log version 4: upserts with items without a vector; the records before keep their versions.
    let golden = std::fs::read(versioned("v4", "vectorless.log")).unwrap();
    assert_eq!(decode_log(&golden).unwrap().records, vectorless_log());
    assert!(encode_log(&vectorless_log()) == golden, "the v4 log writer changed");
    assert!(golden.starts_with(&encode_log(&graph_log())));
}
