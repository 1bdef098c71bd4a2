//! `read_snapshot` (from a stream, straight into the index's arrays) and
//! `decode_shared_snapshot` (rows read in place from a kept buffer) decode
//! exactly what `decode_snapshot` (from bytes in memory) does, for every
//! golden file and every storage, and reject every damage the in-memory
//! decoder rejects: truncations, bit flips, bytes past the end, read errors.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::PathBuf;

mod support;

use lhv_core::SearchOptions;
use lhv_core::{Index, IndexParams, Item, Metric, SparseParams, SparseVector, Storage, VectorParams};
use lhv_format::{Error, decode_shared_snapshot, decode_snapshot, encode_snapshot, read_snapshot};
use support::aligned;

fn golden_snapshots() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut found = Vec::new();
    for version in ["v1", "v2", "v3", "v4", "v5", "v6"] {
        for entry in std::fs::read_dir(root.join(version)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "lhv") {
                found.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    assert_eq!(found.len(), 6, "one golden snapshot per version");
    found
}

fn streamed(bytes: &[u8]) -> Result<lhv_format::Snapshot, Error> {
    read_snapshot(&mut Cursor::new(bytes), bytes.len() as u64)
}

/// An index of every kind of section: named dense vectors in each storage,
/// a sparse vector, metadata, deleted slots and items without a vector.
fn every_section(storage: Storage) -> Vec<u8> {
    let mut params = IndexParams::new(8, Metric::Cosine).with_storage(storage);
    params.vectors =
        BTreeMap::from([("small".to_owned(), VectorParams::new(3, Metric::L2).with_storage(Storage::Int8))]);
    params.sparse_vectors = BTreeMap::from([("words".to_owned(), SparseParams::default())]);
    let index = Index::new(params).unwrap();
    let items = (0..300u32).map(|i| {
        let x = i as f32;
        let mut item = Item::new(format!("item-{i}"), (0..8).map(|d| (x * 0.37 + d as f32).sin() + 1.5).collect());
        item.vectors.insert("small".into(), vec![x, -x, 1.0]);
        item.sparse.insert("words".into(), SparseVector::new(vec![i % 7, 100 + i % 5], vec![1.0, x * 0.5 + 0.5]));
        item.metadata = Some(serde_json::json!({ "n": i }));
        if i % 10 == 3 {
            item.vector = Vec::new();
        }
        item
    });
    index.upsert(items.collect()).unwrap();
    index.delete(&["item-5", "item-6"]);
    encode_snapshot(&index.to_parts(), 42).unwrap()
}

#[test]
fn a_stream_decodes_every_golden_snapshot_as_memory_does() {
    for (name, bytes) in golden_snapshots() {
        let expected = decode_snapshot(&bytes).unwrap();
        let got = streamed(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.index.to_parts(), expected.index.to_parts(), "{name}");
        assert_eq!((got.last_lsn, got.epoch), (expected.last_lsn, expected.epoch), "{name}");
    }
}

#[test]
fn a_stream_decodes_every_storage_and_vector_kind() {
    for storage in [Storage::F32, Storage::F16, Storage::Int8] {
        let bytes = every_section(storage);
        let expected = decode_snapshot(&bytes).unwrap();
        let got = streamed(&bytes).unwrap();
        assert_eq!(got.index.to_parts(), expected.index.to_parts(), "{storage:?}");
        assert_eq!(got.last_lsn, 42);
    }
}

#[test]
fn every_truncation_of_a_stream_is_rejected() {
    for (name, bytes) in golden_snapshots() {
        for len in 0..bytes.len() {
            // The stream ends early, whether or not its announced length says so.
            let short = &bytes[..len];
            assert!(read_snapshot(&mut Cursor::new(short), bytes.len() as u64).is_err(), "{name} cut to {len}");
            assert!(read_snapshot(&mut Cursor::new(short), len as u64).is_err(), "{name} announced as {len}");
        }
    }
    let bytes = every_section(Storage::F32);
    let cut = bytes.len() - 5;
    let error = read_snapshot(&mut Cursor::new(&bytes[..cut]), bytes.len() as u64).unwrap_err();
    assert!(matches!(error, Error::Truncated { .. }), "{error}");
}

#[test]
fn every_bit_flip_in_a_stream_is_rejected() {
    for (name, bytes) in golden_snapshots() {
        let mut damaged = bytes.clone();
        for byte in 0..bytes.len() {
            for bit in 0..8 {
                damaged[byte] ^= 1 << bit;
                assert!(streamed(&damaged).is_err(), "{name}: flipping bit {bit} of byte {byte} went unnoticed");
                damaged[byte] ^= 1 << bit;
            }
        }
    }
}

#[test]
fn bytes_past_the_announced_end_are_rejected() {
    let mut bytes = every_section(Storage::F16);
    let length = bytes.len() as u64;
    bytes.push(0);
    let error = read_snapshot(&mut Cursor::new(&bytes), length).unwrap_err();
    assert!(error.to_string().contains("after the last section"), "{error}");
    // Announced longer than its sections: the layout does not tile it.
    assert!(read_snapshot(&mut Cursor::new(&bytes), length + 1).is_err());
}

/// Fails with an I/O error after `left` bytes.
struct FailingReader<'a> {
    bytes: &'a [u8],
    left: usize,
}

impl Read for FailingReader<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other("the disk went away"));
        }
        let n = buffer.len().min(self.left).min(self.bytes.len());
        buffer[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        self.left -= n;
        Ok(n)
    }
}

#[test]
fn a_read_error_is_reported_as_one() {
    let bytes = every_section(Storage::F32);
    for left in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        let mut reader = FailingReader { bytes: &bytes, left };
        let error = read_snapshot(&mut reader, bytes.len() as u64).unwrap_err();
        assert_eq!(error, Error::Read { reason: "the disk went away".into() }, "after {left} bytes");
    }
}

#[test]
fn a_shared_buffer_decodes_as_memory_does_with_rows_in_place() {
    let mut cases = golden_snapshots();
    for storage in [Storage::F32, Storage::F16, Storage::Int8] {
        cases.push((format!("{storage:?}"), every_section(storage)));
    }
    for (name, bytes) in cases {
        let expected = decode_snapshot(&bytes).unwrap();
        let (got, kept) = decode_shared_snapshot(aligned(&bytes)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.index.to_parts(), expected.index.to_parts(), "{name}");
        assert_eq!(got.last_lsn, expected.last_lsn, "{name}");
        assert!(!kept.is_empty(), "{name}: no rows read in place");
        // Re-encoded (the rows written from where they lie) it is the same file.
        assert_eq!(encode_snapshot(&got.index.to_parts(), got.last_lsn).unwrap(), bytes, "{name}");
    }
}

#[test]
fn an_index_with_rows_in_place_grows_and_searches_as_one_in_memory() {
    for storage in [Storage::F32, Storage::F16, Storage::Int8] {
        let bytes = every_section(storage);
        let shared = decode_shared_snapshot(aligned(&bytes)).unwrap().0.index;
        let owned = decode_snapshot(&bytes).unwrap().index;
        let more: Vec<Item> = (0..50u32)
            .map(|i| Item::new(format!("new-{i}"), (0..8).map(|d| (i as f32 * 0.11 + d as f32).cos() + 1.5).collect()))
            .collect();
        shared.upsert(more.clone()).unwrap();
        owned.upsert(more).unwrap();
        let query: Vec<f32> = (0..8).map(|d| d as f32 * 0.3 + 1.0).collect();
        let options = SearchOptions::default();
        assert_eq!(shared.search(&query, 20, &options).unwrap(), owned.search(&query, 20, &options).unwrap());
        assert_eq!(shared.to_parts(), owned.to_parts(), "{storage:?}");
        assert_eq!(shared.get("new-3"), owned.get("new-3"));
    }
}

#[test]
fn every_bit_flip_in_a_shared_buffer_is_rejected() {
    for (name, bytes) in golden_snapshots() {
        let mut damaged = bytes.clone();
        for byte in 0..bytes.len() {
            for bit in 0..8 {
                damaged[byte] ^= 1 << bit;
                let result = decode_shared_snapshot(aligned(&damaged));
                assert!(result.is_err(), "{name}: flipping bit {bit} of byte {byte} went unnoticed");
                damaged[byte] ^= 1 << bit;
            }
        }
    }
}
