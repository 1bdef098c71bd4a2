//! A real process is killed with SIGKILL while it writes; on reopen every
//! batch it reported as acknowledged is there, and no batch is there in part.
//!
//! The writer is this same test binary, started again to run only
//! `writer_child` with `LHV_KILL_TEST_DIR` set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lhv_core::{IndexParams, Item, Metric};
use lhv_store::{Catalog, CatalogOptions};

const DIR_VAR: &str = "LHV_KILL_TEST_DIR";
const CYCLES: u64 = 20;
const BATCH: u64 = 16;

fn batch(b: u64) -> Vec<Item> {
    (0..BATCH)
        .map(|i| Item {
            id: format!("b{b}-{i}"),
            vector: vec![b as f32 + 1.0, i as f32],
            metadata: None,
            ..Default::default()
        })
        .collect()
}

/// Small snapshots thresholds so that kills also land in snapshots.
fn options() -> CatalogOptions {
    CatalogOptions { snapshot_log_bytes: 20_000, ..CatalogOptions::default() }
}

/// The writer: continues after the last batch present, prints `ack B` after each batch.
#[test]
fn writer_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let catalog = Catalog::open(&format!("file://{dir}"), options()).await.unwrap();
        let index = match catalog.get("docs") {
            Ok(index) => index,
            Err(_) => catalog.create("docs", IndexParams::new(2, Metric::L2).with_m(8)).await.unwrap(),
        };
        let mut next = (0..).find(|b| !index.index().contains(&format!("b{b}-0"))).unwrap();
        loop {
            index.upsert(batch(next)).await.unwrap();
            println!("ack {next}");
            next += 1;
        }
    });
}

#[test]
fn acknowledged_batches_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged = 0u64;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for cycle in 0..CYCLES {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "kill::writer_child", "--nocapture", "--test-threads", "1"])
            .env(DIR_VAR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill after a random number of acknowledgements (0..40), or on a timer.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let wait_for = seed % 40;
        let started = Instant::now();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        while seen < wait_for && started.elapsed() < Duration::from_secs(20) {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(b) = line.strip_prefix("ack ") {
                acknowledged = acknowledged.max(b.parse::<u64>().unwrap() + 1);
                seen += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Acknowledgements printed before the kill that were not read yet count too.
        for line in lines.map_while(Result::ok) {
            if let Some(b) = line.strip_prefix("ack ") {
                acknowledged = acknowledged.max(b.parse::<u64>().unwrap() + 1);
            }
        }

        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let catalog = Catalog::open(&format!("file://{}", dir.path().display()), options()).await.unwrap();
            let Ok(index) = catalog.get("docs") else {
                assert_eq!(acknowledged, 0, "cycle {cycle}: the index is gone");
                return;
            };
            for b in 0..acknowledged + 2 {
                let present = (0..BATCH).filter(|i| index.index().contains(&format!("b{b}-{i}"))).count() as u64;
                assert!(present == 0 || present == BATCH, "cycle {cycle}: batch {b} is partial ({present})");
                if b < acknowledged {
                    assert_eq!(present, BATCH, "cycle {cycle}: acknowledged batch {b} is missing");
                }
            }
        });
    }
    assert!(acknowledged > 0, "the writer never acknowledged anything");
}
