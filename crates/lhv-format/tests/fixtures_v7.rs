//! The golden version 7 snapshot: an index whose unnamed vector chooses its
//! default ef by measurement (`ef_search_auto`, the choice in `ef_search`)
//! beside a named vector whose ef is fixed. Like the other fixture tests: it
//! must keep decoding to the same content, the writer must keep producing it
//! byte for byte, `LHV_BLESS=1` writes it (only for a new fixture), and
//! damage to what version 7 adds (the envelope) is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;

use lhv_core::{Index, IndexParams, Item, Metric, SearchOptions, VectorParams};
use lhv_format::{decode_snapshot, encode_snapshot, read_envelope};

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v7/chosen_ef.lhv")
}

fn params() -> IndexParams {
    IndexParams::new(2, Metric::L2)
        .with_m(4)
        .with_ef_construction(16)
        .with_exact_search_threshold(0)
        .with_vector("title", VectorParams::new(2, Metric::Cosine).with_m(4).with_ef_search(33))
}

fn item(i: u32) -> Item {
    let x = i as f32;
    let mut item = Item::new(format!("p{i}"), vec![(x * 0.37).sin() * 10.0, (x * 0.113).cos() * 10.0]);
    item.vectors.insert("title".into(), vec![1.0 + x, 0.5]);
    item
}

/// 300 items, enough for the index to measure its ef (it needs 256 live).
fn chosen_ef_index() -> Index {
    let index = Index::new(params()).unwrap();
    index.upsert((0..300).map(item).collect()).unwrap();
    index
}

#[test]
fn the_version_7_golden_file_decodes_and_is_still_what_the_writer_writes() {
    if std::env::var_os("LHV_BLESS").is_some() {
        std::fs::create_dir_all(golden_path().parent().unwrap()).unwrap();
        std::fs::write(golden_path(), encode_snapshot(&chosen_ef_index().to_parts(), 5).unwrap()).unwrap();
    }
    let golden = std::fs::read(golden_path()).unwrap();
    let envelope = read_envelope(&golden).unwrap();
    assert_eq!(envelope.format_version, 7);
    let decoded = decode_snapshot(&golden).unwrap();
    assert_eq!(decoded.last_lsn, 5);
    let index = decoded.index;
    let loaded = index.params();
    assert!(loaded.ef_search_auto);
    assert_eq!(loaded.ef_search, envelope.params.ef_search);
    // The chosen ef replaced the initial 64 (it is the same on every build of this small graph).
    assert_ne!(loaded.ef_search, 64);
    let title = &loaded.vectors["title"];
    assert_eq!((title.ef_search_auto, title.ef_search), (false, 33));
    assert_eq!(IndexParams { ef_search: 64, ef_search_auto: true, ..loaded }, params());
    assert_eq!(index.len(), 300);
    // A search that names no ef runs at the chosen one.
    let query = [3.0, -4.0];
    let chosen = SearchOptions::default().with_ef(envelope.params.ef_search);
    assert_eq!(index.search(&query, 5, &SearchOptions::default()).unwrap(), index.search(&query, 5, &chosen).unwrap());
    assert!(encode_snapshot(&index.to_parts(), 5).unwrap() == golden, "the v7 snapshot writer changed");
}

#[test]
fn damage_to_a_version_7_envelope_is_refused() {
    let golden = encode_snapshot(&chosen_ef_index().to_parts(), 5).unwrap();
    let json_len = u32::from_be_bytes([golden[4], golden[5], golden[6], golden[7]]) as usize;
    for position in 0..8 + json_len + 4 {
        let mut damaged = golden.clone();
        damaged[position] ^= 0x10;
        assert!(decode_snapshot(&damaged).is_err(), "a flipped bit at {position} went unnoticed");
    }
}
