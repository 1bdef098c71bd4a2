//! Snapshots decoded in place (what a mapped snapshot file is): the rows'
//! norms are checked while their checksum is taken, as the rows arrive, and
//! the index answers exactly as one decoded from a copy; a stored row no
//! index would accept is refused either way; every byte is waited for.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::ops::Range;
use std::sync::Mutex;

mod support;

use lhv_core::{Index, IndexParams, Item, Metric, SearchOptions, StoredRows, VectorParams};
use lhv_format::{Arrival, decode_arriving_snapshot, decode_shared_snapshot, decode_snapshot, encode_snapshot};
use support::aligned;

fn row(i: usize, dim: usize, scale: f32) -> Vec<f32> {
    (0..dim).map(|d| scale * (((i * 31 + d * 7) % 17) as f32 - 8.0 + 0.5)).collect()
}

/// Cosine over the unnamed vector, dot over a named one, rows of many norms.
fn index() -> Index {
    let params = IndexParams::new(6, Metric::Cosine).with_vector("title", VectorParams::new(4, Metric::Dot));
    let index = Index::new(params).unwrap();
    let items = (0..300)
        .map(|i| {
            let mut item = Item::new(format!("item-{i}"), row(i, 6, 1.0 + i as f32 / 10.0));
            item.vectors.insert("title".into(), row(i + 5, 4, 0.5 + i as f32 / 100.0));
            item
        })
        .collect();
    index.upsert(items).unwrap();
    index
}

#[test]
fn an_index_decoded_in_place_answers_as_one_decoded_from_a_copy() {
    let index = index();
    let bytes = encode_snapshot(&index.to_parts(), 9).unwrap();
    let copied = decode_snapshot(&bytes).unwrap().index;
    let (in_place, kept) = decode_shared_snapshot(aligned(&bytes)).unwrap();
    assert!(!kept.is_empty(), "rows are read in place");
    for q in 0..20 {
        for (using, dim) in [("", 6), ("title", 4)] {
            let options = SearchOptions { using, ..SearchOptions::default() };
            let query = row(q * 3 + 1, dim, 0.7);
            let expected = copied.search(&query, 10, &options).unwrap();
            assert_eq!(in_place.index.search(&query, 10, &options).unwrap(), expected, "query {q} over {using:?}");
            assert_eq!(index.search(&query, 10, &options).unwrap(), expected, "query {q} over {using:?}");
        }
    }
}

#[test]
fn a_stored_row_no_index_accepts_is_refused_in_place_too() {
    for (slot, bad) in [(0usize, f32::NAN), (123, f32::INFINITY), (299, 0.0)] {
        let mut parts = index().to_parts();
        let StoredRows::F32(rows) = &parts.vectors else { panic!("float32 rows") };
        let mut values = rows.to_vec();
        let row = &mut values[slot * 6..(slot + 1) * 6];
        if bad == 0.0 {
            // A zero row has no cosine.
            row.fill(0.0);
        } else {
            row[2] = bad;
        }
        parts.vectors = StoredRows::F32(values.into());
        let bytes = encode_snapshot(&parts, 1).unwrap();
        let copied = decode_snapshot(&bytes).map(|_| ()).unwrap_err().to_string();
        let in_place = decode_shared_snapshot(aligned(&bytes)).map(|_| ()).unwrap_err().to_string();
        assert_eq!(in_place, copied);
        assert!(in_place.contains(&slot.to_string()), "{in_place}");
    }
}

/// Records the ranges waited for.
#[derive(Default)]
struct Recorder(Mutex<Vec<Range<usize>>>);

impl Arrival for Recorder {
    fn wait(&self, range: Range<usize>) {
        self.0.lock().unwrap().push(range);
    }
}

#[test]
fn every_byte_after_the_head_is_waited_for_before_it_is_read() {
    let bytes = encode_snapshot(&index().to_parts(), 3).unwrap();
    let envelope = lhv_format::read_envelope(&bytes).unwrap();
    let head_end = envelope.sections.iter().map(|s| s.offset as usize).min().unwrap();
    let recorder = Recorder::default();
    decode_arriving_snapshot(aligned(&bytes), &recorder).unwrap();
    let mut waited = recorder.0.into_inner().unwrap();
    waited.sort_unstable_by_key(|range| range.start);
    let mut covered = head_end;
    for range in waited {
        assert!(range.start <= covered, "bytes {covered}..{} were read without waiting", range.start);
        covered = covered.max(range.end);
    }
    assert_eq!(covered, bytes.len());
}
