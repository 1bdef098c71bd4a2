//! The worker side of `shared/bench/peers.py`'s line protocol (see its docstring),
//! shared by every bench worker: arguments, data loading, the ready line, and the
//! `search` / `rss` / `quit` loop.

#[path = "../../tests/support/fvecs.rs"]
mod fvecs;

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;

/// Command-line arguments peers.py passes to an external worker.
pub struct Args {
    pub data: PathBuf,
    pub m: usize,
    pub efc: usize,
    pub build1: bool,
    /// `--ef-search EF`: for peers whose search ef is fixed when they are built.
    pub ef_search: Option<usize>,
    /// `--storage f32|f16|int8`: how lhv-core keeps the vectors.
    pub storage: Option<String>,
    /// `--on-disk`: lhv-core keeps exact rows apart from the 8-bit codes the
    /// graph walk reads, and rescores from them (never written out here, so
    /// the rows stay in memory: the walk of the on-disk layout, measured alone).
    pub on_disk: bool,
}

/// One peer under test.
pub trait Peer: Sized {
    /// Builds the index; `threads` is the number of threads the build may use.
    fn build(base: &[Vec<f32>], args: &Args, threads: usize) -> Result<Self, String>;
    /// The ids of the 10 nearest neighbours of every query.
    fn search(&mut self, queries: &[Vec<f32>], ef: usize, mode: &str) -> Result<Vec<Vec<i64>>, String>;
    /// What to print as "params" in the ready line.
    fn describe(args: &Args) -> String;
}

fn parse_args() -> Result<Args, String> {
    let mut args =
        Args { data: PathBuf::new(), m: 16, efc: 200, build1: false, ef_search: None, storage: None, on_disk: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => args.data = PathBuf::from(value()?),
            "--M" => args.m = value()?.parse().map_err(|e| format!("--M: {e}"))?,
            "--efc" => args.efc = value()?.parse().map_err(|e| format!("--efc: {e}"))?,
            "--build1" => args.build1 = true,
            "--ef-search" => args.ef_search = Some(value()?.parse().map_err(|e| format!("--ef-search: {e}"))?),
            "--storage" => args.storage = Some(value()?),
            "--on-disk" => args.on_disk = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn status_kb(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn recall10(results: &[Vec<i64>], truth: &[Vec<i32>]) -> f64 {
    let per_query = results.iter().zip(truth).map(|(got, want)| {
        let want = &want[..10.min(want.len())];
        got.iter().take(10).filter(|id| want.iter().any(|w| i64::from(*w) == **id)).count() as f64 / 10.0
    });
    per_query.sum::<f64>() / results.len().max(1) as f64
}

/// Runs the whole worker: load, build (timed), ready line, then the command loop.
pub fn serve<P: Peer>(name: &str) -> Result<(), String> {
    let args = parse_args()?;
    let base = fvecs::read_fvecs(&args.data.join("base.fvecs"), usize::MAX)?;
    let queries = fvecs::read_fvecs(&args.data.join("query.fvecs"), usize::MAX)?;
    let truth = fvecs::read_ivecs(&args.data.join("groundtruth.ivecs"), usize::MAX)?;
    let rss_after_load = status_kb("VmRSS:");
    let build_1t = if args.build1 {
        let started = Instant::now();
        drop(P::build(&base, &args, 1)?);
        Some(started.elapsed().as_secs_f64())
    } else {
        None
    };
    return_freed_memory();
    let rss_before_build = status_kb("VmRSS:");
    let started = Instant::now();
    let mut peer = P::build(&base, &args, 2)?;
    let build_2t = started.elapsed().as_secs_f64();
    return_freed_memory();
    let rss_after_build = status_kb("VmRSS:");
    println!(
        "{}",
        json!({
            "ready": true, "peer": name, "dim": base.first().map_or(0, Vec::len), "n": base.len(),
            "build_s_2t": build_2t, "build_s_1t": build_1t,
            // Neither worker has an on-disk format to measure yet (lhv-format comes later).
            "disk_bytes": 0,
            "rss_after_load_kb": rss_after_load, "rss_after_build_kb": rss_after_build,
            "rss_index_kb": rss_after_build.saturating_sub(rss_before_build),
            "params": P::describe(&args),
        })
    );
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            [] | ["quit", ..] => break,
            ["rss", ..] => println!("{}", json!({"peak_rss_kb": status_kb("VmHWM:"), "rss_kb": status_kb("VmRSS:")})),
            ["search", ef, mode, min_seconds, ..] => {
                let ef: usize = ef.parse().map_err(|e| format!("ef: {e}"))?;
                let min_seconds: f64 = min_seconds.parse().map_err(|e| format!("min seconds: {e}"))?;
                peer.search(&queries[..1], ef, mode)?; // builds whatever the peer needs for this ef, untimed
                let started = Instant::now();
                let mut total = 0;
                let results = loop {
                    let results = peer.search(&queries, ef, mode)?;
                    total += queries.len();
                    if started.elapsed().as_secs_f64() >= min_seconds {
                        break results;
                    }
                };
                let qps = total as f64 / started.elapsed().as_secs_f64();
                let recall = recall10(&results, &truth);
                println!("{}", json!({"ef": ef, "mode": mode, "qps": qps, "recall10": recall, "n": total}));
            }
            _ => return Err(format!("unknown command {line:?}")),
        }
    }
    Ok(())
}

/// Returns the heap pages freed so far to the system, as the `vectord`
/// binary's trimmer does every second: without it the resident memory
/// after a build counts the build's freed scratch space, which glibc keeps.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; glibc makes it thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
