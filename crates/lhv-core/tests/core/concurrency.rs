//! Searches running while other threads write: readers see every batch whole or
//! not at all, and never an error or a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use lhv_core::{Index, IndexParams, Item, Metric, SearchOptions};
use proptest::prelude::*;

const DIM: usize = 16;

fn vector(seed: usize) -> Vec<f32> {
    (0..DIM).map(|c| (((seed * 2_654_435_761 + c * 40_503) % 1_000) as f32) / 1_000.0 + 0.001).collect()
}

/// Batch `b` holds ids `b-0 .. b-(size-1)`.
fn batch_of(id: &str) -> usize {
    id.split('-').next().and_then(|b| b.parse().ok()).expect("ids are batch-item")
}

fn run(sizes: Vec<usize>, threshold: usize) {
    let params = IndexParams::new(DIM, Metric::Cosine).with_m(6).with_ef_construction(32);
    let index = Arc::new(Index::new(params.with_exact_search_threshold(threshold)).unwrap());
    // Length of the index once batch b is visible.
    let totals: Arc<Vec<usize>> = Arc::new(
        sizes
            .iter()
            .scan(0, |total, size| {
                *total += size;
                Some(*total)
            })
            .collect(),
    );
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (index, done, totals) = (Arc::clone(&index), Arc::clone(&done), Arc::clone(&totals));
            std::thread::spawn(move || {
                let mut searches = 0usize;
                loop {
                    let finished = done.load(Ordering::Acquire);
                    let len = index.len();
                    assert!(len == 0 || totals.contains(&len), "saw {len} vectors: a batch was half visible");
                    let hits = index.search(&vector(r * 7919 + searches), 10, &SearchOptions::default()).unwrap();
                    // The index only grows here, so it holds at least `len` vectors during the search.
                    assert!(hits.len() >= 10.min(len), "{} hits with {len} vectors stored", hits.len());
                    assert_eq!(hits.len(), hits.iter().map(|h| &h.id).collect::<std::collections::HashSet<_>>().len());
                    for pair in hits.windows(2) {
                        assert!(pair[0].distance <= pair[1].distance);
                    }
                    // A hit from batch b means batch b was already complete: the length now covers it.
                    let newest = hits.iter().map(|h| batch_of(&h.id)).max();
                    if let Some(b) = newest {
                        assert!(index.len() >= totals[b], "returned an id of batch {b} before the batch was whole");
                    }
                    searches += 1;
                    if finished {
                        return searches;
                    }
                }
            })
        })
        .collect();
    let mut seed = 0;
    for (b, &size) in sizes.iter().enumerate() {
        let items = (0..size)
            .map(|i| {
                seed += 1;
                Item { id: format!("{b}-{i}"), vector: vector(seed), metadata: None, ..Default::default() }
            })
            .collect();
        index.upsert(items).unwrap();
    }
    done.store(true, Ordering::Release);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }
    assert_eq!(index.len(), totals.last().copied().unwrap_or(0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn readers_see_whole_batches_during_parallel_writes(
        sizes in prop::collection::vec(1usize..300, 1..12),
        exact in any::<bool>(),
    ) {
        run(sizes, if exact { usize::MAX } else { 0 });
    }
}
