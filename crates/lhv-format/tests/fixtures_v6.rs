//! The golden version 6 snapshot: an index whose unnamed vector is kept on
//! disk (exact float32 rows in `vectors`, 8-bit codes for the walk) and with
//! a named float16 vector kept on disk too. Like the other fixture tests: it
//! must keep decoding to the same content, the writer must keep producing it
//! byte for byte, `LHV_BLESS=1` writes it (only for a new fixture), and every
//! damage is refused, in memory, from a stream and read in place.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Cursor;
use std::path::PathBuf;

mod support;

use lhv_core::{Index, IndexParams, Item, Metric, SearchOptions, Storage, VectorParams};
use lhv_format::{decode_shared_snapshot, decode_snapshot, encode_snapshot, read_envelope, read_snapshot};
use support::aligned;

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v6/on_disk.lhv")
}

fn params() -> IndexParams {
    IndexParams::new(3, Metric::Cosine)
        .with_m(4)
        .with_ef_construction(16)
        .with_exact_search_threshold(0)
        .with_on_disk(true)
        // Versions before 7 keep the ef they are given.
        .with_ef_search(64)
        .with_vector(
            "title",
            VectorParams::new(2, Metric::L2).with_m(4).with_storage(Storage::F16).with_on_disk(true).with_ef_search(64),
        )
}

/// Values no 8-bit code or float16 holds exactly, so that only the exact
/// rows give them back.
fn item(i: u32) -> Item {
    let x = i as f32;
    let mut item = Item::new(format!("p{i}"), vec![x + 0.123_456_7, 1.000_001, -0.5 - x / 3.0]);
    if i % 4 != 3 {
        item.vectors.insert("title".into(), vec![x * 1.000_1, 0.333_333_3]);
    }
    item
}

fn on_disk_index() -> Index {
    let index = Index::new(params()).unwrap();
    index.upsert((0..12).map(item).collect()).unwrap();
    index.delete(&["p2"]);
    index
}

#[test]
fn the_version_6_golden_file_decodes_and_is_still_what_the_writer_writes() {
    if std::env::var_os("LHV_BLESS").is_some() {
        std::fs::create_dir_all(golden_path().parent().unwrap()).unwrap();
        std::fs::write(golden_path(), encode_snapshot(&on_disk_index().to_parts(), 23).unwrap()).unwrap();
    }
    let golden = std::fs::read(golden_path()).unwrap();
    assert_eq!(read_envelope(&golden).unwrap().format_version, 6);
    let decoded = decode_snapshot(&golden).unwrap();
    assert_eq!(decoded.last_lsn, 23);
    let index = decoded.index;
    assert_eq!(index.params(), params());
    assert_eq!(index.len(), 11);
    // Exact values back, bit for bit, from the rows kept on disk.
    for i in [0, 5, 11] {
        let expected = item(i);
        let got = index.get(&format!("p{i}")).unwrap();
        assert_eq!(got.vector, expected.vector, "p{i}");
        assert_eq!(got.vectors.get("title"), expected.vectors.get("title"), "p{i}");
    }
    // Searches rescore exactly: distances are those of the exact rows.
    let hits = index.search(&item(7).vector, 1, &SearchOptions::default()).unwrap();
    assert_eq!(hits[0].id, "p7");
    assert!(hits[0].distance.abs() < 1e-6, "{}", hits[0].distance);
    let title = index.search(&[8.0008, 0.333_333_3], 1, &SearchOptions::default().using("title")).unwrap();
    assert_eq!(title[0].id, "p8");
    assert_eq!(title[0].distance, 0.0);
    assert!(encode_snapshot(&index.to_parts(), 23).unwrap() == golden, "the v6 snapshot writer changed");

    // Read in place: the exact rows are shared and not resident, the codes are resident.
    let (shared, in_place) = decode_shared_snapshot(aligned(&golden)).unwrap();
    assert_eq!(shared.index.to_parts(), index.to_parts());
    assert_eq!(in_place.iter().filter(|part| !part.resident).count(), 2, "{in_place:?}");
    assert!(shared.index.stats().disk_bytes > 0);
    let streamed = read_snapshot(&mut Cursor::new(&golden), golden.len() as u64).unwrap();
    assert_eq!(streamed.index.to_parts(), index.to_parts());
}

#[test]
fn damaged_version_6_snapshots_are_refused_however_they_are_read() {
    let golden = encode_snapshot(&on_disk_index().to_parts(), 23).unwrap();
    for position in 0..golden.len() {
        let mut damaged = golden.clone();
        damaged[position] ^= 0x10;
        assert!(decode_snapshot(&damaged).is_err(), "a flipped bit at {position} went unnoticed");
        assert!(decode_shared_snapshot(aligned(&damaged)).is_err(), "in place: a flipped bit at {position}");
        let streamed = read_snapshot(&mut Cursor::new(&damaged), damaged.len() as u64);
        assert!(streamed.is_err(), "streamed: a flipped bit at {position}");
    }
    for length in 0..golden.len() {
        assert!(decode_snapshot(&golden[..length]).is_err(), "a snapshot cut at {length} decoded");
    }
}

#[test]
fn an_older_version_cannot_claim_a_vector_on_disk() {
    let golden = encode_snapshot(&on_disk_index().to_parts(), 23).unwrap();
    let json_len = u32::from_be_bytes([golden[4], golden[5], golden[6], golden[7]]) as usize;
    let json =
        std::str::from_utf8(&golden[8..8 + json_len]).unwrap().replace("\"format_version\":6", "\"format_version\":5");
    let mut older = golden[..4].to_vec();
    older.extend_from_slice(&(json.len() as u32).to_be_bytes());
    older.extend_from_slice(json.as_bytes());
    older.extend_from_slice(&crc32c::crc32c(json.as_bytes()).to_be_bytes());
    let error = decode_snapshot(&older).unwrap_err();
    assert!(error.to_string().contains("on disk"), "{error}");
}
