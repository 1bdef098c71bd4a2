//! `cargo xtask bench-disk --capped [--vectors N] [--cap-mib M]`: an index
//! kept on disk served by a process capped below its data, against the same
//! data in memory without a cap; into its section of docs/BENCHMARKS.md.
//!
//! N rows (default 2 000 000: 3 GB of float32) grown from minilm-dev (or
//! the dataset `LHV_DATASET_DIR` names, e.g. pydoc-dev, written to a section
//! of its own) by noisy copies (`capped_data`) are imported twice with `vectord import`,
//! once `--on-disk` and once in memory (the import rates are the build
//! throughputs). Each index is then served and searched over HTTP: recall@10
//! of 200 real queries against the exact answer, and QPS, latency and the
//! server's major page faults per query from 1 and 8 clients on noisy
//! variants of the queries (never the same query twice in a run, so the page
//! cache does not answer for the disk), at several `ef`. The on-disk index
//! is served uncapped and then capped (`memory_cap`, default 1 536 MiB,
//! page cache dropped first where possible); without a writable cgroup file
//! system the capped run is skipped with a message. Last, each server ingests
//! 100 000 more rows over HTTP into a new index of its kind (`vectord import
//! --server`), the ingest throughput.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::bench_disk::{drop_caches, status_memory, status_of};
use crate::capped_data::{Data, TOP};
use crate::memory_cap::MemoryCap;
use crate::search_load::{self, Connection, Load};
use crate::servers::free_port;

const USAGE: &str = "usage: cargo xtask bench-disk --capped [--vectors N] [--cap-mib M]";
const INDEX: &str = "capped";
const RECALL_QUERIES: usize = 200;
const EFS: [usize; 4] = [32, 64, 128, 256];
const SINGLE_CLIENT_QUERIES: usize = 1_500;
const EIGHT_CLIENT_QUERIES: usize = 3_000;
const WARM_QUERIES: usize = 500;
const INGESTED: usize = 100_000;

pub(crate) fn bench_capped(root: &Path, args: &[&str]) -> Result<(), String> {
    let (mut vectors, mut cap_mib) = (2_000_000usize, 1536u64);
    let mut rest = args.iter();
    while let Some(&arg) = rest.next() {
        let mut value = || rest.next().copied().ok_or(USAGE);
        match arg {
            "--capped" => {}
            "--vectors" => vectors = value()?.parse().map_err(|_| USAGE)?,
            "--cap-mib" => cap_mib = value()?.parse().map_err(|_| USAGE)?,
            _ => return Err(USAGE.into()),
        }
    }
    let seed = std::env::var("LHV_BENCH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_cafe_u64);
    eprintln!("xtask: bench-disk --capped seed {seed} (LHV_BENCH_SEED to change)");
    let shared = root.join("..").join("shared").join("data").join("minilm-dev");
    let dataset = std::env::var_os("LHV_DATASET_DIR").map_or(shared, PathBuf::from);
    crate::cargo(&["build", "--release", "-p", "vectord"], &[])?;
    let binary = root.join("target").join("release").join("vectord");
    let dir = root.join("target").join("bench").join("disk");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let data = crate::capped_data::prepare(&dir, &dataset, vectors, RECALL_QUERIES, seed)?;
    let ingest_file = dir.join(format!("capped-ingest-{INGESTED}-{}.fvecs", data.stem));
    write_prefix(&data.file, &ingest_file, INGESTED * (4 + 4 * data.dim))?;

    let mut bench = Bench { binary, data, ingest_file, next_query: 0 };
    let in_memory = dir.join(format!("capped-store-{}-memory", bench.data.stem));
    let on_disk = dir.join(format!("capped-store-{}-disk", bench.data.stem));
    let imports = [bench.import(&in_memory, false)?, bench.import(&on_disk, true)?];

    let mut runs = vec![bench.serve("in memory", &in_memory, false, None)?];
    runs.push(bench.serve("on disk", &on_disk, true, None)?);
    let cap = MemoryCap::create(&format!("vectord-bench-{}", std::process::id()), cap_mib << 20);
    let capped = match &cap {
        Ok(cap) => {
            if drop_caches().is_err() {
                eprintln!("xtask: the page cache could not be dropped before the capped run (not root)");
            }
            runs.push(bench.serve("on disk", &on_disk, true, Some(cap))?);
            Ok(cap.describe())
        }
        Err(reason) => {
            eprintln!("xtask: SKIPPED the capped run: no memory cap could be set: {reason}");
            Err(reason.clone())
        }
    };
    let report = report(root, &bench.data, vectors, &imports, &runs, &capped);
    println!("{report}");
    match crate::doc_sections::capped(&bench.data.dataset) {
        Some(section) => crate::doc_sections::write(&root.join("docs").join("BENCHMARKS.md"), &section, &report),
        None => {
            eprintln!("xtask: docs/BENCHMARKS.md keeps runs on minilm-dev and pydoc-dev only; not written");
            Ok(())
        }
    }
}

struct Bench {
    binary: PathBuf,
    data: Data,
    ingest_file: PathBuf,
    /// The next unused load query: runs go through them in turn.
    next_query: usize,
}

/// One served index and what it measured.
struct Served {
    label: &'static str,
    capped: bool,
    ready_seconds: f64,
    steady_rss: u64,
    memory_bytes: u64,
    disk_bytes: u64,
    cgroup_peak: Option<u64>,
    points: Vec<Point>,
    /// Rows per second, or why the ingest failed.
    ingest_per_second: Result<f64, String>,
}

/// The searches at one `ef`.
struct Point {
    ef: usize,
    recall: f64,
    single: Load,
    single_faults: f64,
    eight: Load,
    eight_faults: f64,
}

impl Bench {
    /// Imports the data into `store` once; the rate (rows per second) is kept beside it for later runs.
    fn import(&self, store: &Path, on_disk: bool) -> Result<f64, String> {
        let rate_file = store.with_extension("import-rate");
        if let Some(rate) = std::fs::read_to_string(&rate_file).ok().and_then(|r| r.trim().parse().ok()) {
            return Ok(rate);
        }
        let _ = std::fs::remove_dir_all(store);
        let rows =
            std::fs::metadata(&self.data.file).map_err(|e| e.to_string())?.len() / (4 + 4 * self.data.dim as u64);
        eprintln!("xtask: importing {rows} rows into {} (on disk: {on_disk})", store.display());
        let started = Instant::now();
        let mut command = Command::new(&self.binary);
        command.args(["import", "--index", INDEX, "--storage-url", &format!("file://{}", store.display())]);
        if on_disk {
            command.arg("--on-disk");
        }
        crate::run(command.arg(&self.data.file))?;
        let rate = rows as f64 / started.elapsed().as_secs_f64();
        std::fs::write(&rate_file, format!("{rate}\n")).map_err(|e| format!("{}: {e}", rate_file.display()))?;
        Ok(rate)
    }

    fn serve(
        &mut self,
        label: &'static str,
        store: &Path,
        on_disk: bool,
        cap: Option<&MemoryCap>,
    ) -> Result<Served, String> {
        eprintln!("xtask: serving {label}{}", if cap.is_some() { ", capped" } else { "" });
        let port = free_port()?;
        let mut command = match cap {
            Some(cap) => cap.command(&self.binary),
            None => Command::new(&self.binary),
        };
        command
            .args(["--storage-url", &format!("file://{}", store.display())])
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let started = Instant::now();
        let mut server = ServerProcess(command.spawn().map_err(|e| format!("cannot start vectord: {e}"))?);
        let index_path = format!("/v1/vectors/index/{INDEX}");
        while status_of(port, &index_path) != Some(200) {
            if let Ok(Some(status)) = server.0.try_wait() {
                return Err(format!("vectord exited while loading ({status}){}", oom_hint(cap)));
            }
            if started.elapsed() > Duration::from_secs(1800) {
                return Err(format!("{INDEX} did not load within 1800 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let ready_seconds = started.elapsed().as_secs_f64();
        let (status, info) = Connection::open(port)?.request("GET", &index_path, "")?;
        let info: serde_json::Value = serde_json::from_slice(&info).map_err(|e| format!("{status}: {e}"))?;
        let pid = server.0.id();
        let mut points = Vec::new();
        for ef in EFS {
            let point = self.point(port, pid, ef).map_err(|e| format!("{e}{}", oom_hint(cap)))?;
            eprintln!(
                "xtask:   ef {ef}: recall@10 {:.3}, {:.0} QPS (1 client), {:.0} QPS (8), {:.2} major faults per query",
                point.recall,
                point.single.qps(),
                point.eight.qps(),
                point.eight_faults
            );
            points.push(point);
        }
        let (_, steady_rss) = status_memory(pid)?;
        let ingest_per_second = self.ingest(port, on_disk).map_err(|e| format!("{e}{}", oom_hint(cap)));
        if let Err(error) = &ingest_per_second {
            eprintln!("xtask: the ingest failed: {error}");
        }
        Ok(Served {
            label,
            capped: cap.is_some(),
            ready_seconds,
            steady_rss,
            memory_bytes: info["memory_bytes"].as_u64().unwrap_or(0),
            disk_bytes: info["disk_bytes"].as_u64().unwrap_or(0),
            cgroup_peak: cap.and_then(MemoryCap::peak),
            points,
            ingest_per_second,
        })
    }

    fn point(&mut self, port: u16, pid: u32, ef: usize) -> Result<Point, String> {
        let path = format!("/v1/vectors/index/{INDEX}/search");
        let mut connection = Connection::open(port)?;
        let mut found = 0usize;
        for (query, truth) in self.data.recall_queries.iter().zip(&self.data.ground_truth) {
            let body = search_load::search_body(query, TOP, ef);
            let ids = search_load::search_ids(&mut connection, &path, &body)?;
            found += ids.iter().filter(|id| id.parse().is_ok_and(|n: u32| truth.contains(&n))).count();
        }
        let recall = found as f64 / (TOP * self.data.recall_queries.len()) as f64;
        search_load::run(port, &path, &self.bodies(WARM_QUERIES, ef), 8)?;
        let measure = |bench: &mut Self, count: usize, clients: usize| -> Result<(Load, f64), String> {
            let bodies = bench.bodies(count, ef);
            let before = major_faults(pid)?;
            let load = search_load::run(port, &path, &bodies, clients)?;
            let faults = (major_faults(pid)? - before) as f64 / load.queries as f64;
            Ok((load, faults))
        };
        let (single, single_faults) = measure(self, SINGLE_CLIENT_QUERIES, 1)?;
        let (eight, eight_faults) = measure(self, EIGHT_CLIENT_QUERIES, 8)?;
        Ok(Point { ef, recall, single, single_faults, eight, eight_faults })
    }

    /// The next `count` load queries as search bodies.
    fn bodies(&mut self, count: usize, ef: usize) -> Vec<String> {
        let queries = &self.data.load_queries;
        let bodies = (0..count)
            .map(|i| search_load::search_body(&queries[(self.next_query + i) % queries.len()], TOP, ef))
            .collect();
        self.next_query = (self.next_query + count) % queries.len();
        bodies
    }

    /// Imports the ingest file into a new index of the server over HTTP (then
    /// drops it, leaving the store as it was); rows per second.
    fn ingest(&self, port: u16, on_disk: bool) -> Result<f64, String> {
        let name = "ingested";
        let started = Instant::now();
        let mut command = Command::new(&self.binary);
        command.args(["import", "--index", name, "--server", &format!("http://127.0.0.1:{port}")]);
        if on_disk {
            command.arg("--on-disk");
        }
        crate::run(command.arg(&self.ingest_file).stdout(Stdio::null()))?;
        let rate = INGESTED as f64 / started.elapsed().as_secs_f64();
        let (status, answer) = Connection::open(port)?.request("DELETE", &format!("/v1/vectors/index/{name}"), "")?;
        if status != 200 && status != 204 {
            return Err(format!("dropping {name} answered {status}: {}", String::from_utf8_lossy(&answer)));
        }
        Ok(rate)
    }
}

/// Kills the server when the run ends, however it ends.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn oom_hint(cap: Option<&MemoryCap>) -> String {
    cap.map_or_else(String::new, |cap| format!(" (under {}: killed by the cap?)", cap.describe()))
}

/// The process's major page faults so far (`/proc/PID/stat`, field 12).
fn major_faults(pid: u32) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    after_name.split_whitespace().nth(12 - 3).and_then(|v| v.parse().ok()).ok_or(format!("bad /proc/{pid}/stat"))
}

/// The first `bytes` of `from` written to `to` (once).
fn write_prefix(from: &Path, to: &Path, bytes: usize) -> Result<(), String> {
    if std::fs::metadata(to).is_ok_and(|m| m.len() == bytes as u64) {
        return Ok(());
    }
    let mut reader = std::fs::File::open(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let mut head = vec![0u8; bytes];
    std::io::Read::read_exact(&mut reader, &mut head).map_err(|e| format!("{}: {e}", from.display()))?;
    std::fs::write(to, head).map_err(|e| format!("{}: {e}", to.display()))
}

fn report(
    root: &Path,
    data: &Data,
    vectors: usize,
    imports: &[f64; 2],
    runs: &[Served],
    capped: &Result<String, String>,
) -> String {
    let mb = |bytes: u64| bytes as f64 / 1e6;
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let float_bytes = vectors as u64 * 4 * data.dim as u64;
    let mut out = format!(
        "### An index larger than its memory, {} (`cargo xtask bench-disk --capped`)\n\n\
         {vectors} rows of {} dimensions ({:.0} MB of float32): {}'s {} real embeddings and noisy \
         copies of them (noise of norm 0.5, normalised), cosine, m 16, imported with `vectord import`. Recall@10 of \
         {} real queries against their exact answer; throughput over HTTP on keep-alive connections from 1 and \
         8 client threads, {SINGLE_CLIENT_QUERIES} and {EIGHT_CLIENT_QUERIES} distinct noisy variants of the queries \
         (after {WARM_QUERIES} others to warm up), with the server's major page faults per query. Commit {}, {}, \
         {cores} cores (clients and server share them).\n\n",
        data.dataset,
        data.dim,
        mb(float_bytes),
        data.dataset,
        data.base_rows,
        data.recall_queries.len(),
        crate::bench::git_commit(root),
        crate::bench::cpu_model(),
    );
    match capped {
        Ok(how) => {
            out.push_str(&format!("The capped process: {how}; the page cache was dropped before it started.\n\n"))
        }
        Err(reason) => out.push_str(&format!("**The capped run was skipped**: {reason}.\n\n")),
    }
    out.push_str("| index | memory cap | ready (s) | steady RSS (MB) | `memory_bytes` (MB) | `disk_bytes` (MB) | cgroup peak (MB) | ingest (rows/s) |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for run in runs {
        out.push_str(&format!(
            "| {} | {} | {:.1} | {:.0} | {:.0} | {:.0} | {} | {} |\n",
            run.label,
            if run.capped { "yes" } else { "no" },
            run.ready_seconds,
            mb(run.steady_rss),
            mb(run.memory_bytes),
            mb(run.disk_bytes),
            run.cgroup_peak.map_or_else(|| "-".to_owned(), |p| format!("{:.0}", mb(p))),
            match &run.ingest_per_second {
                Ok(rate) => format!("{rate:.0}"),
                Err(error) => format!("failed: {error}"),
            },
        ));
    }
    out.push_str(
        "\n| index | memory cap | ef | recall@10 | QPS, 1 client | p50 (ms) | QPS, 8 clients | p99 (ms), 8 clients | major faults / query, 1 client | major faults / query, 8 clients |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for run in runs {
        for p in &run.points {
            out.push_str(&format!(
                "| {} | {} | {} | {:.3} | {:.0} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} |\n",
                run.label,
                if run.capped { "yes" } else { "no" },
                p.ef,
                p.recall,
                p.single.qps(),
                p.single.percentile(0.5),
                p.eight.qps(),
                p.eight.percentile(0.99),
                p.single_faults,
                p.eight_faults,
            ));
        }
    }
    out.push_str(&format!(
        "\nBuild (`vectord import` into a stopped store, batches of 1 000, each durable): in memory {:.0} rows/s, \
         on disk {:.0} rows/s. Ingest: {INGESTED} more rows over HTTP (`vectord import --server`) into a new index \
         of the same kind on the running server, the rate in the first table.\n",
        imports[0], imports[1],
    ));
    out
}
