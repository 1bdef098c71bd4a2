//! Every truncation and every single-bit flip of the golden files: a snapshot
//! is rejected with an error; a log is either cut at a torn tail (returning a
//! prefix of its records) or rejected. Never a panic, never different content.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;

use lhv_core::{Index, IndexParams, Item, Metric, SearchOptions};
use lhv_format::{Error, decode_log, decode_snapshot, encode_snapshot};

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1").join(name)).unwrap()
}

#[test]
fn every_truncated_snapshot_is_rejected() {
    let bytes = golden("small.lhv");
    for len in 0..bytes.len() {
        let result = decode_snapshot(&bytes[..len]);
        assert!(result.is_err(), "a snapshot cut to {len} of {} bytes decoded", bytes.len());
    }
    assert!(matches!(decode_snapshot(&bytes[..3]), Err(Error::Truncated { needed: 8, available: 3 })));
}

#[test]
fn every_bit_flip_in_a_snapshot_is_rejected() {
    let bytes = golden("small.lhv");
    let mut damaged = bytes.clone();
    for byte in 0..bytes.len() {
        for bit in 0..8 {
            damaged[byte] ^= 1 << bit;
            assert!(decode_snapshot(&damaged).is_err(), "flipping bit {bit} of byte {byte} went unnoticed");
            damaged[byte] ^= 1 << bit;
        }
    }
}

#[test]
fn snapshot_errors_are_typed() {
    let bytes = golden("small.lhv");
    let mut bad_magic = bytes.clone();
    bad_magic[0] = b'X';
    assert_eq!(decode_snapshot(&bad_magic).unwrap_err(), Error::BadMagic);
    let mut bad_envelope = bytes.clone();
    bad_envelope[10] ^= 1;
    assert_eq!(decode_snapshot(&bad_envelope).unwrap_err(), Error::Checksum { section: "envelope".into() });
    let mut bad_section = bytes.clone();
    let last = bad_section.len() - 1;
    bad_section[last] ^= 1;
    assert!(matches!(decode_snapshot(&bad_section), Err(Error::Checksum { .. })));
}

#[test]
fn a_newer_snapshot_version_is_reported_as_such() {
    let bytes = golden("small.lhv");
    let json_len = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let json =
        std::str::from_utf8(&bytes[8..8 + json_len]).unwrap().replace("\"format_version\":1", "\"format_version\":8");
    let mut newer = bytes[..4].to_vec();
    newer.extend_from_slice(&(json.len() as u32).to_be_bytes());
    newer.extend_from_slice(json.as_bytes());
    newer.extend_from_slice(&crc32c(json.as_bytes()).to_be_bytes());
    assert_eq!(decode_snapshot(&newer).unwrap_err(), Error::UnsupportedVersion { found: 8 });
}

fn crc32c(bytes: &[u8]) -> u32 {
    // Bitwise CRC32C (Castagnoli, reflected), independent of the crate's implementation.
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn every_truncated_log_is_a_torn_tail_after_a_prefix_of_its_records() {
    let bytes = golden("small.log");
    let whole = decode_log(&bytes).unwrap().records;
    for len in 0..bytes.len() {
        let contents = decode_log(&bytes[..len]).unwrap();
        assert_eq!(contents.valid_len + contents.torn_tail, len);
        assert!(contents.records.len() < whole.len());
        assert_eq!(contents.records[..], whole[..contents.records.len()]);
    }
}

#[test]
fn a_zero_filled_tail_is_torn() {
    let mut bytes = golden("small.log");
    let records = decode_log(&bytes).unwrap().records;
    bytes.extend_from_slice(&[0; 100]);
    let contents = decode_log(&bytes).unwrap();
    assert_eq!((contents.records, contents.torn_tail), (records, 100));
}

#[test]
fn every_bit_flip_in_a_log_is_rejected_with_its_offset() {
    let bytes = golden("small.log");
    let mut damaged = bytes.clone();
    for byte in 0..bytes.len() {
        for bit in 0..8 {
            damaged[byte] ^= 1 << bit;
            match decode_log(&damaged) {
                Err(Error::Corrupt { offset, .. }) => assert!(offset as usize <= byte),
                other => panic!("flipping bit {bit} of byte {byte} gave {other:?}"),
            }
            damaged[byte] ^= 1 << bit;
        }
    }
}

#[test]
fn crc_helper_matches_the_standard_check_value() {
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
}

/// An index that chooses its default ef is written as version 7 and reloads
/// with the ef it chose (so that searches after loading answer alike); the
/// same envelope claiming an older version is refused.
#[test]
fn a_chosen_default_ef_round_trips_as_version_7() {
    let params = IndexParams::new(4, Metric::L2).with_m(6).with_exact_search_threshold(0);
    assert!(params.ef_search_auto);
    let index = Index::new(params).unwrap();
    let items: Vec<Item> = (0..600)
        .map(|i| {
            let x = i as f32;
            Item::new(format!("v{i}"), vec![(x * 0.37).sin(), (x * 0.11).cos(), (x * 0.05).sin(), (i % 7) as f32])
        })
        .collect();
    index.upsert(items).unwrap();
    let chosen = index.params().ef_search;
    let parts = index.to_parts();
    let bytes = encode_snapshot(&parts, 3).unwrap();
    let envelope = lhv_format::read_envelope(&bytes).unwrap();
    assert_eq!(envelope.format_version, lhv_format::CHOSEN_EF_SNAPSHOT_VERSION);
    assert!(envelope.params.ef_search_auto);
    assert_eq!(envelope.params.ef_search, chosen);
    let restored = decode_snapshot(&bytes).unwrap().index;
    assert_eq!(restored.params(), index.params());
    let query = [0.2, 0.9, -0.1, 3.0];
    assert_eq!(
        restored.search(&query, 5, &SearchOptions::default()).unwrap(),
        index.search(&query, 5, &SearchOptions::default()).unwrap()
    );

    let json_len = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let json = std::str::from_utf8(&bytes[8..8 + json_len]).unwrap();
    let older = json.replace("\"format_version\":7", "\"format_version\":6");
    assert_ne!(older, json);
    let mut claimed = bytes[..4].to_vec();
    claimed.extend_from_slice(&(older.len() as u32).to_be_bytes());
    claimed.extend_from_slice(older.as_bytes());
    claimed.extend_from_slice(&crc32c(older.as_bytes()).to_be_bytes());
    assert!(matches!(lhv_format::read_envelope(&claimed), Err(Error::Invalid { .. })));
}
