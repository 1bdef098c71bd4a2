//! Round trips of snapshots and log records over random content.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use lhv_core::{Index, IndexParams, Item, Metric, SearchOptions};
use lhv_format::{
    LogOp, LogRecord, decode_log, decode_snapshot, decode_snapshot_parts, encode_record, encode_snapshot,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Ids from a small pool (so upserts replace and deletes hit), some of them non-ASCII.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..30u32).prop_map(|i| format!("id-{i}")),
        Just("ünïcødé-🦀".to_owned()),
        Just("日本語".to_owned()),
        "[a-z\\u{80}-\\u{2FF}]{1,12}",
    ]
}

fn metadata() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(json!(null))),
        (any::<i64>(), "\\PC{0,10}", any::<f64>().prop_filter("JSON has no NaN or infinity", |x| x.is_finite()))
            .prop_map(|(n, s, x)| Some(json!({ "n": n, "s": s, "list": [x, true] }))),
    ]
}

fn vector(dim: usize) -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-100.0f32..100.0, dim).prop_filter("no zero vectors", |v| v.iter().any(|&x| x != 0.0))
}

#[derive(Debug, Clone)]
enum Write {
    Upsert(Vec<Item>),
    Delete(Vec<String>),
}

fn writes(dim: usize) -> impl Strategy<Value = Vec<Write>> {
    let item = (id(), vector(dim), metadata()).prop_map(|(id, vector, metadata)| Item {
        id,
        vector,
        metadata,
        ..Item::default()
    });
    let write = prop_oneof![
        3 => prop::collection::vec(item, 1..20).prop_map(Write::Upsert),
        1 => prop::collection::vec(id(), 1..6).prop_map(Write::Delete),
    ];
    prop::collection::vec(write, 0..8)
}

fn params() -> impl Strategy<Value = IndexParams> {
    (1usize..8, prop_oneof![Just(Metric::Cosine), Just(Metric::L2), Just(Metric::Dot)], 2usize..8, 0usize..40).prop_map(
        |(dim, metric, m, threshold)| {
            IndexParams::new(dim, metric).with_m(m).with_ef_construction(24).with_exact_search_threshold(threshold)
        },
    )
}

fn apply(index: &Index, writes: &[Write]) {
    for write in writes {
        match write {
            Write::Upsert(items) => {
                // Batches with a repeated id are rejected as a whole; that is fine here.
                let _ = index.upsert(items.clone());
            }
            Write::Delete(ids) => {
                index.delete(ids);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn snapshots_round_trip(
        (params, writes) in params().prop_flat_map(|p| { let dim = p.dim; (Just(p), writes(dim)) }),
        lsn in any::<u64>(),
    ) {
        let index = Index::new(params).unwrap();
        apply(&index, &writes);
        let parts = index.to_parts();
        let bytes = encode_snapshot(&parts, lsn).unwrap();
        let (decoded, decoded_lsn) = decode_snapshot_parts(&bytes).unwrap();
        prop_assert_eq!(&decoded, &parts);
        prop_assert_eq!(decoded_lsn, lsn);
        let restored = decode_snapshot(&bytes).unwrap().index;
        let query = vec![0.5; index.params().dim];
        prop_assert_eq!(restored.search(&query, 5, &SearchOptions::default()).unwrap(), index.search(&query, 5, &SearchOptions::default()).unwrap());
    }

    #[test]
    fn log_records_round_trip(writes in writes(3), first in 0u64..1_000_000) {
        let records: Vec<LogRecord> = writes
            .into_iter()
            .enumerate()
            .map(|(i, w)| LogRecord {
                sequence: first + 2 * i as u64,
                op: match w { Write::Upsert(items) => LogOp::Upsert(items), Write::Delete(ids) => LogOp::Delete(ids) },
            })
            .collect();
        let mut log = Vec::new();
        for record in &records {
            encode_record(record, &mut log).unwrap();
        }
        let contents = decode_log(&log).unwrap();
        prop_assert_eq!(contents.records, records);
        prop_assert_eq!(contents.valid_len, log.len());
        prop_assert_eq!(contents.torn_tail, 0);
    }
}

#[test]
fn an_upsert_with_vectors_of_different_lengths_is_not_encoded() {
    let items = vec![
        Item { id: "a".into(), vector: vec![1.0, 2.0], metadata: None, ..Default::default() },
        Item { id: "b".into(), vector: vec![1.0], metadata: None, ..Default::default() },
    ];
    let mut log = b"kept".to_vec();
    assert!(encode_record(&LogRecord { sequence: 1, op: LogOp::Upsert(items) }, &mut log).is_err());
    assert_eq!(log, b"kept");
}

#[test]
fn sequence_numbers_must_increase() {
    let mut log = Vec::new();
    for sequence in [5, 5] {
        encode_record(&LogRecord { sequence, op: LogOp::Delete(vec!["x".into()]) }, &mut log).unwrap();
    }
    assert!(matches!(decode_log(&log), Err(lhv_format::Error::Corrupt { .. })));
}

#[test]
fn indexes_with_codes_round_trip_as_version_2_and_f32_stays_version_1() {
    use lhv_core::Storage;
    for storage in [Storage::F32, Storage::F16, Storage::Int8] {
        // A fixed default ef: one the index chooses takes version 7 (below).
        let params = IndexParams::new(5, Metric::Cosine)
            .with_m(4)
            .with_exact_search_threshold(0)
            .with_storage(storage)
            .with_ef_search(64);
        let index = Index::new(params).unwrap();
        let items = (0..40)
            .map(|i| Item {
                id: format!("v{i}"),
                vector: vec![1.0, i as f32 * 0.1, -0.5, (i % 3) as f32, 0.25],
                metadata: None,
                ..Default::default()
            })
            .collect();
        index.upsert(items).unwrap();
        index.delete(&["v3"]);
        let parts = index.to_parts();
        let bytes = encode_snapshot(&parts, 9).unwrap();
        let envelope = lhv_format::read_envelope(&bytes).unwrap();
        let expected =
            if storage == Storage::F32 { lhv_format::FORMAT_VERSION } else { lhv_format::CODES_SNAPSHOT_VERSION };
        assert_eq!(envelope.format_version, expected, "{storage:?}");
        let (decoded, lsn) = lhv_format::decode_snapshot_parts(&bytes).unwrap();
        assert_eq!((decoded, lsn), (parts, 9));
        let restored = decode_snapshot(&bytes).unwrap().index;
        assert_eq!(
            restored.search(&[1.0, 0.5, -0.5, 1.0, 0.25], 3, &SearchOptions::default()).unwrap(),
            index.search(&[1.0, 0.5, -0.5, 1.0, 0.25], 3, &SearchOptions::default()).unwrap()
        );
        // Every truncation is refused.
        for cut in [bytes.len() - 1, bytes.len() / 2, 20] {
            assert!(decode_snapshot(&bytes[..cut]).is_err(), "{storage:?} cut at {cut}");
        }
    }
}

#[test]
fn epoch_records_round_trip_and_damaged_ones_are_refused() {
    let mut log = Vec::new();
    encode_record(&LogRecord { sequence: 7, op: LogOp::Epoch(u64::MAX - 1) }, &mut log).unwrap();
    encode_record(&LogRecord { sequence: 8, op: LogOp::Delete(vec!["x".into()]) }, &mut log).unwrap();
    let decoded = decode_log(&log).unwrap();
    assert_eq!(decoded.records[0], LogRecord { sequence: 7, op: LogOp::Epoch(u64::MAX - 1) });
    assert_eq!(decoded.records.len(), 2);
    // An epoch payload of the wrong length, with valid checksums, is corrupt.
    let mut short = log[..lhv_format::RECORD_HEADER_LEN + 8].to_vec();
    short.truncate(lhv_format::RECORD_HEADER_LEN + 4);
    short[16..20].copy_from_slice(&4u32.to_be_bytes());
    let payload_crc = crc32c::crc32c(&short[lhv_format::RECORD_HEADER_LEN..]);
    short[20..24].copy_from_slice(&payload_crc.to_be_bytes());
    let header_crc = crc32c::crc32c(&short[..24]);
    short[24..28].copy_from_slice(&header_crc.to_be_bytes());
    assert!(matches!(decode_log(&short), Err(lhv_format::Error::Corrupt { .. })));
}

#[test]
fn a_leased_snapshot_keeps_its_epoch_and_an_unleased_one_has_none() {
    let index = Index::new(IndexParams::new(2, Metric::L2)).unwrap();
    index.upsert(vec![Item { id: "a".into(), vector: vec![1.0, 2.0], metadata: None, ..Default::default() }]).unwrap();
    let parts = index.to_parts();
    let leased = lhv_format::encode_leased_snapshot(&parts, 4, 12).unwrap();
    let decoded = decode_snapshot(&leased).unwrap();
    assert_eq!((decoded.last_lsn, decoded.epoch), (4, 12));
    let plain = encode_snapshot(&parts, 4).unwrap();
    assert_eq!(lhv_format::encode_leased_snapshot(&parts, 4, 0).unwrap(), plain);
    assert_eq!(decode_snapshot(&plain).unwrap().epoch, 0);
    assert!(!String::from_utf8_lossy(&plain).contains("\"epoch\""));
}
