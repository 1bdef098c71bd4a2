//! Searches running while another thread writes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use lhv_core::{Index, IndexParams, Item, Metric};

fn vector(seed: usize) -> Vec<f32> {
    (0..16).map(|c| (((seed * 2_654_435_761 + c * 40_503) % 1_000) as f32) / 1_000.0 + 0.001).collect()
}

#[test]
fn readers_see_whole_batches_during_writes() {
    let index = Arc::new(Index::new(IndexParams::new(16, Metric::Cosine).with_exact_search_threshold(64)).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (index, done) = (Arc::clone(&index), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut searches = 0;
                while !done.load(Ordering::Relaxed) {
                    let len = index.len();
                    // Batches are 50 items: a reader never sees a part of one.
                    assert_eq!(len % 50, 0, "saw a half-applied batch: {len}");
                    let hits = index.search(&vector(r + searches), 10, None).unwrap();
                    assert!(hits.len() <= 10);
                    for hit in &hits {
                        assert!(hit.distance.is_finite());
                    }
                    searches += 1;
                }
                searches
            })
        })
        .collect();
    for batch in 0..40 {
        let items = (0..50)
            .map(|i| Item {
                id: format!("{}", (batch * 50 + i) % 1_500),
                vector: vector(batch * 50 + i),
                metadata: None,
            })
            .collect();
        index.upsert(items).unwrap();
        if batch % 5 == 4 {
            // 50 distinct ids that all exist, deleted and then put back: lengths stay multiples of 50.
            let stored = ((batch + 1) * 50).min(1_500);
            let ids: Vec<String> = (0..50).map(|i| ((batch * 7 + i) % stored).to_string()).collect();
            assert_eq!(index.delete(&ids), 50);
            let again = ids.iter().map(|id| Item { id: id.clone(), vector: vector(id.len() + batch), metadata: None });
            index.upsert(again.collect()).unwrap();
        }
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }
}
