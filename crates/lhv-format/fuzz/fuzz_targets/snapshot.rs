//! Any bytes into the snapshot decoder: an error, or an index that answers
//! searches and takes writes, and encodes back to a snapshot that decodes to
//! the same parts. Never a panic.
#![no_main]

use lhv_core::{Item, SearchOptions};
use lhv_format::{decode_snapshot, decode_snapshot_parts, encode_snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(snapshot) = decode_snapshot(data) else { return };
    let index = snapshot.index;
    let dim = index.params().dim;
    let query = vec![0.25; dim];
    let _ = index.search(&query, 3, &SearchOptions::default().with_ef(8));
    let parts = index.to_parts();
    let bytes = encode_snapshot(&parts, snapshot.last_lsn).expect("a decoded index encodes");
    let (again, lsn) = decode_snapshot_parts(&bytes).expect("a re-encoded snapshot decodes");
    assert_eq!(again, parts);
    assert_eq!(lsn, snapshot.last_lsn);
    let _ = index.upsert(vec![Item { id: "fuzz".into(), vector: vec![0.5; dim], metadata: None, ..Default::default() }]);
    let _ = index.search(&query, 3, &SearchOptions::default().with_ef(8));
});
