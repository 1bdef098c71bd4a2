//! `cargo xtask bench-disk [--vectors N | --store DIR --index NAME] [--rounds R]
//! [--baseline BIN]`: restarts of a large index against the disk's bandwidth,
//! written into its section of docs/BENCHMARKS.md. `--store` restarts an index
//! of an existing `file://` store instead (e.g. one `--capped` imported).
//!
//! N rows (default 1 000 000) grown from minilm-dev's 384-d embeddings by
//! noisy copies (`capped_data`; a fixed seed, `LHV_BENCH_SEED` for another;
//! `LHV_DATASET_DIR` for another dataset) are imported once with `vectord
//! import` into `target/bench/disk/` (kept for later runs; the import's
//! throughput is reported). What a restart reads does not depend on the
//! values, and grown real embeddings build the way real ones do: random
//! vectors, which the first runs used, build about 3 times slower. Then, after one uncounted read of the file, R rounds (default
//! 5) of, interleaved and each round starting with the next of them: `dd`-style
//! sequential reads of the snapshot file with the page cache dropped, a cold
//! restart (page cache dropped) and a warm one, for the release binary and
//! for `--baseline` (an older build, for the before/after) if given. A
//! restart is timed from the process's start to the first answer of
//! `GET /v1/vectors/index/{name}`; peak RSS is the kernel's `VmHWM`, steady
//! RSS `VmRSS` once loaded. Cold runs need a writable
//! `/proc/sys/vm/drop_caches` (root); without it they are skipped with a
//! message.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cargo;
use crate::servers::free_port;

const USAGE: &str =
    "usage: cargo xtask bench-disk [--vectors N | --store DIR --index NAME] [--rounds R] [--baseline BIN]";
const DIM: usize = 384;
const DEFAULT_SEED: u64 = 0x5eed_d15c;

pub(crate) fn bench_disk(root: &Path, args: &[&str]) -> Result<(), String> {
    let (mut vectors, mut rounds, mut baseline) = (1_000_000usize, 5usize, None);
    let (mut existing, mut existing_index) = (None, None);
    let mut rest = args.iter();
    while let Some(&arg) = rest.next() {
        let mut value = || rest.next().copied().ok_or(USAGE);
        match arg {
            "--vectors" => vectors = value()?.parse().map_err(|_| USAGE)?,
            "--rounds" => rounds = value()?.parse().map_err(|_| USAGE)?,
            "--baseline" => baseline = Some(PathBuf::from(value()?)),
            "--store" => {
                // A `file://` URL needs an absolute path.
                let store = PathBuf::from(value()?);
                existing = Some(store.canonicalize().map_err(|e| format!("{}: {e}", store.display()))?);
            }
            "--index" => existing_index = Some(value()?.to_owned()),
            _ => return Err(USAGE.into()),
        }
    }
    let seed = std::env::var("LHV_BENCH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED);
    eprintln!("xtask: bench-disk seed {seed} (LHV_BENCH_SEED to change)");
    let shared = root.join("..").join("shared").join("data").join("minilm-dev");
    let dataset = std::env::var_os("LHV_DATASET_DIR").map_or(shared, PathBuf::from);
    cargo(&["build", "--release", "-p", "vectord"], &[])?;
    let binary = root.join("target").join("release").join("vectord");
    let dir = root.join("target").join("bench").join("disk");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let given_store = existing.is_some();
    let (name, store, data) = match (existing, existing_index) {
        (Some(store), Some(index)) => {
            let data = format!("the index `{index}` of an existing store (`{}`)", store.display());
            (index, store, data)
        }
        (None, None) => {
            let name = dataset.file_name().map_or_else(|| "data".into(), |n| n.to_string_lossy().into_owned());
            let data = format!(
                "{vectors} rows grown from {name} (its embeddings and noisy copies of them; f32, cosine, m 16), \
                 imported with `vectord import`"
            );
            (format!("grown{vectors}"), dir.join(format!("store-{name}-{vectors}-{seed}")), data)
        }
        _ => return Err(USAGE.into()),
    };
    let snapshot = store.join("_vectors").join(format!("{name}.lhv1"));
    let import = if snapshot.exists() {
        None
    } else if given_store {
        return Err(format!("no snapshot of {name} at {}", snapshot.display()));
    } else {
        let data = crate::capped_data::prepare(&dir, &dataset, vectors, 0, seed)?;
        Some(import_index(&binary, &store, &name, &data.file)?)
    };
    let size = std::fs::metadata(&snapshot).map_err(|e| format!("{}: {e}", snapshot.display()))?.len();
    let can_drop = drop_caches().is_ok();
    if !can_drop {
        eprintln!("xtask: SKIPPED cold runs: /proc/sys/vm/drop_caches is not writable (run as root)");
    }
    let mut binaries = vec![("this build".to_owned(), binary.clone())];
    if let Some(old) = &baseline {
        let name = old.file_name().map_or_else(|| old.display().to_string(), |n| n.to_string_lossy().into_owned());
        binaries.insert(0, (format!("baseline `{name}`"), old.clone()));
    }
    let mut dd = Vec::new();
    let mut results: Vec<Vec<Restart>> = vec![Vec::new(); binaries.len() * 2];
    if can_drop {
        // Not counted: the first read after a build or an import is often off.
        sequential_read(&snapshot)?;
    }
    for round in 0..rounds {
        eprintln!("xtask: round {} of {rounds}", round + 1);
        // The sequential read and each binary take turns at going first: on
        // a virtual machine one read after another can be systematically
        // faster or slower than the one before it.
        let steps = binaries.len() + 1;
        for step in (0..steps).map(|s| (s + round) % steps) {
            match step.checked_sub(1) {
                None if can_drop => dd.push(sequential_read(&snapshot)?),
                None => {}
                Some(b) => {
                    let bin = &binaries[b].1;
                    if can_drop {
                        results[2 * b].push(restart(bin, &store, &name, true)?);
                    }
                    results[2 * b + 1].push(restart(bin, &store, &name, false)?);
                }
            }
        }
    }
    let report = report(&Report { data, size, import, dd, binaries: &binaries, results: &results, root });
    println!("{report}");
    crate::doc_sections::write(&root.join("docs").join("BENCHMARKS.md"), &crate::doc_sections::DISK, &report)
}

/// One restart: seconds until the index answered, peak and steady RSS in bytes.
#[derive(Debug, Clone, Copy)]
struct Restart {
    seconds: f64,
    peak: u64,
    steady: u64,
}

/// Imports `data` into a new store; returns items per second.
fn import_index(binary: &Path, store: &Path, name: &str, data: &Path) -> Result<f64, String> {
    let started = Instant::now();
    let status = Command::new(binary)
        .args(["import", "--index", name, "--storage-url", &format!("file://{}", store.display())])
        .arg(data)
        .status()
        .map_err(|e| format!("cannot run vectord import: {e}"))?;
    if !status.success() {
        return Err(format!("vectord import failed ({status})"));
    }
    let lines = std::fs::metadata(data).map_err(|e| e.to_string())?.len() / (4 * (DIM as u64 + 1));
    Ok(lines as f64 / started.elapsed().as_secs_f64())
}

pub(crate) fn drop_caches() -> Result<(), String> {
    let _ = Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3").map_err(|e| format!("cannot drop the page cache: {e}"))
}

/// Reads the file once with 4 MiB reads after dropping the page cache (what
/// `dd bs=4M` does); returns bytes per second.
fn sequential_read(path: &Path) -> Result<f64, String> {
    drop_caches()?;
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut buffer = vec![0u8; 4 << 20];
    let started = Instant::now();
    let mut total = 0u64;
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

fn restart(binary: &Path, store: &Path, name: &str, cold: bool) -> Result<Restart, String> {
    if cold {
        drop_caches()?;
    }
    let port = free_port()?;
    // Its log, for when it exits early.
    let log_path = store.with_extension("restart.log");
    let log = std::fs::File::create(&log_path).map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(["--storage-url", &format!("file://{}", store.display())])
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start vectord: {e}"))?;
    let path = format!("/v1/vectors/index/{name}");
    let answered = loop {
        if status_of(port, &path) == Some(200) {
            break Ok(started.elapsed().as_secs_f64());
        }
        if started.elapsed() > Duration::from_secs(600) {
            break Err(format!("{name} did not load within 600 s"));
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            break Err(format!("vectord exited while loading ({status}); its log ({}):\n{log}", log_path.display()));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // What the process holds once loaded, after its allocator settled.
    std::thread::sleep(Duration::from_millis(300));
    let memory = status_memory(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let seconds = answered?;
    let (peak, steady) = memory?;
    Ok(Restart { seconds, peak, steady })
}

/// The HTTP status of a GET, or `None` if nothing answered.
pub(crate) fn status_of(port: u16, path: &str) -> Option<u16> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// `VmHWM` and `VmRSS` of a process, in bytes.
pub(crate) fn status_memory(pid: u32) -> Result<(u64, u64), String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| format!("/proc/{pid}: {e}"))?;
    let field = |name: &str| -> Result<u64, String> {
        let line = status.lines().find(|l| l.starts_with(name)).ok_or(format!("no {name} in /proc/{pid}/status"))?;
        let kib: u64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).ok_or("bad status line")?;
        Ok(kib * 1024)
    };
    Ok((field("VmHWM:")?, field("VmRSS:")?))
}

struct Report<'a> {
    /// What was restarted.
    data: String,
    size: u64,
    import: Option<f64>,
    dd: Vec<f64>,
    binaries: &'a [(String, PathBuf)],
    results: &'a [Vec<Restart>],
    root: &'a Path,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn report(r: &Report<'_>) -> String {
    let mb = |bytes: f64| bytes / 1e6;
    let dd = median(r.dd.clone());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let machine = format!("{}, {cores} cores", crate::bench::cpu_model());
    let mut out = format!(
        "### Restarts of a large index (`cargo xtask bench-disk`)\n\n\
         {}; the snapshot is {:.0} MB. \
         Commit {}, {}. Medians of {} rounds, run interleaved (each round starting with the next of them): a sequential read of the snapshot file with 4 MiB reads \
         (what `dd bs=4M` does) and cold restarts with the page cache dropped before each, warm restarts right after one. \
         Ready: from the process's start to the index's first answer.\n\n",
        r.data,
        mb(r.size as f64),
        crate::bench::git_commit(r.root),
        machine,
        r.dd.len().max(r.results.first().map_or(0, Vec::len)),
    );
    if r.dd.is_empty() {
        out.push_str("Cold runs were skipped: `/proc/sys/vm/drop_caches` was not writable.\n\n");
    } else {
        out.push_str(&format!("Sequential read of the file, page cache dropped: **{:.0} MB/s**.\n\n", mb(dd)));
    }
    out.push_str("| binary | restart | ready (s) | MB/s | of the sequential read | peak RSS (MB) | steady RSS (MB) | peak / steady |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (b, (label, _)) in r.binaries.iter().enumerate() {
        for (kind, runs) in [("cold", &r.results[2 * b]), ("warm", &r.results[2 * b + 1])] {
            if runs.is_empty() {
                continue;
            }
            let seconds = median(runs.iter().map(|x| x.seconds).collect());
            let peak = median(runs.iter().map(|x| x.peak as f64).collect());
            let steady = median(runs.iter().map(|x| x.steady as f64).collect());
            let rate = r.size as f64 / seconds;
            let fraction = if kind == "cold" && dd > 0.0 { format!("{:.0} %", 100.0 * rate / dd) } else { "-".into() };
            out.push_str(&format!(
                "| {label} | {kind} | {seconds:.2} | {:.0} | {fraction} | {:.0} | {:.0} | {:.2} |\n",
                mb(rate),
                mb(peak),
                mb(steady),
                peak / steady
            ));
        }
    }
    if let Some(rate) = r.import {
        out.push_str(&format!("\nImport (`vectord import`, batches of 1 000): {rate:.0} vectors/s.\n"));
    }
    out
}
