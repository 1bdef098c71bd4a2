//! Inputs the fuzzer found, rebuilt with valid checksums (the fuzz build skips
//! checksum checks, so its raw artifacts would stop at a CRC here).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use lhv_core::{Index, IndexParams, Item, Metric};
use lhv_format::{Error, LogOp, LogRecord, decode_log, decode_snapshot, encode_record, encode_snapshot};

/// Found by the `snapshot` target: a vector section holding a NaN decoded into
/// an index whose parts no longer equalled themselves. Stored vectors are
/// checked like upserted ones now.
#[test]
fn a_snapshot_with_a_nan_or_zero_vector_is_invalid() {
    let index = Index::new(IndexParams::new(2, Metric::Cosine)).unwrap();
    index.upsert(vec![Item { id: "a".into(), vector: vec![1.0, 2.0], metadata: None, ..Default::default() }]).unwrap();
    for bad in [[f32::NAN, 1.0], [f32::INFINITY, 1.0], [0.0, 0.0]] {
        let mut parts = index.to_parts();
        parts.vectors = lhv_core::StoredRows::F32(bad.to_vec().into());
        let bytes = encode_snapshot(&parts, 1).unwrap();
        assert!(matches!(decode_snapshot(&bytes), Err(Error::Invalid { .. })), "{bad:?} was accepted");
    }
}

/// Found by the `log` target: a NaN component made a decoded record unequal to
/// itself. The log carries vectors bit for bit (validation is the index's job
/// on replay), so a record re-encodes to the same bytes.
#[test]
fn log_records_carry_nan_components_bit_for_bit() {
    let nan = f32::from_bits(0x7FC0_1234);
    let record = LogRecord {
        sequence: 9,
        op: LogOp::Upsert(vec![Item { id: "x".into(), vector: vec![nan, 1.0], metadata: None, ..Default::default() }]),
    };
    let mut bytes = Vec::new();
    encode_record(&record, &mut bytes).unwrap();
    let decoded = decode_log(&bytes).unwrap().records;
    let LogOp::Upsert(items) = &decoded[0].op else { panic!("not an upsert") };
    assert_eq!(items[0].vector[0].to_bits(), nan.to_bits());
    let mut again = Vec::new();
    encode_record(&decoded[0], &mut again).unwrap();
    assert_eq!(again, bytes);
}
