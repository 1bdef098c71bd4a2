//! `cargo xtask bench [--quick] [DATASET_DIR ...]`: lhv-core against its ANN
//! peers in one interleaved run of `shared/bench/peers.py` per dataset
//! (default: minilm-dev and pydoc-dev), written up in docs/BENCHMARKS.md
//! (`bench_report`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::bench_report::{Dataset, Report};
use crate::{cargo, run};

/// The peers named by the performance issues, at M=16, efc=200
/// (`lhv-core-int8`: lhv-core storing 8-bit codes with 4-bit residuals).
pub(crate) const PEERS: &str = "lhv-core,lhv-core-int8,hnswlib,faiss-hnsw,svs";
/// lhv-core's own configurations among the peers, each compared with the others.
pub(crate) const OURS: [&str; 2] = ["lhv-core", "lhv-core-int8"];
/// instant-distance builds in minutes and fixes its ef at build: it gets its own
/// run at this one ef, next to lhv-core, on the first dataset only.
pub(crate) const BASELINE_PEERS: &str = "lhv-core,instant-distance";
pub(crate) const BASELINE_EF: &str = "64";
const PYTHON_PEERS: [&str; 4] = ["numpy", "hnswlib", "faiss-cpu", "scalable-vs"];
/// The datasets of `shared/data` a run without arguments measures.
const DEFAULT_DATASETS: [&str; 2] = ["minilm-dev", "pydoc-dev"];
const USAGE: &str = "usage: cargo xtask bench [--quick] [DATASET_DIR ...]";

/// The Python peers of peers.py that the benches compare with.
pub(crate) fn install_python_peers() -> Result<(), String> {
    let mut pip = Command::new("python3");
    pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]).args(PYTHON_PEERS);
    run(&mut pip)
}

/// The ef values and rounds of a run.
pub(crate) struct Settings {
    pub(crate) efs: &'static str,
    pub(crate) rounds: &'static str,
    pub(crate) quick: bool,
}

pub(crate) fn bench(root: &Path, args: &[&str]) -> Result<(), String> {
    let quick = args.contains(&"--quick");
    let settings = if quick {
        Settings { efs: "20,40,80", rounds: "1", quick }
    } else {
        Settings { efs: "10,20,40,80,160,320", rounds: "3", quick }
    };
    let shared = root.join("..").join("shared");
    let mut datasets: Vec<PathBuf> = Vec::new();
    for arg in args.iter().filter(|a| **a != "--quick") {
        if arg.starts_with("--") {
            return Err(USAGE.into());
        }
        datasets.push(PathBuf::from(arg));
    }
    if datasets.is_empty() {
        datasets = DEFAULT_DATASETS.iter().map(|name| shared.join("data").join(name)).collect();
    }
    let peers_py = env_path("LHV_BENCH_DIR", shared.join("bench")).join("peers.py");
    if !peers_py.exists() {
        return Err(format!("{} is missing (set LHV_BENCH_DIR)", peers_py.display()));
    }
    let out_dir = root.join("target").join("bench");
    let prepared: Vec<Dataset> =
        datasets.iter().map(|dir| prepare_dataset(root, dir, &out_dir.join("data"))).collect::<Result<_, _>>()?;
    cargo(&["build", "--release", "-p", "lhv-core", "--examples"], &[])?;
    install_python_peers()?;

    std::fs::create_dir_all(&out_dir).map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let examples = root.join("target").join("release").join("examples");
    let lhv_worker = format!("lhv-core={}", examples.join("peer_worker").display());
    let int8_worker = format!("lhv-core-int8={} --storage int8", examples.join("peer_worker").display());
    let baseline_worker =
        format!("instant-distance={} --ef-search {BASELINE_EF}", examples.join("instant_distance_worker").display());
    let run_peers = |data: &Path, peers: &str, efs: &str, rounds: &str, out: &Path| -> Result<Value, String> {
        let mut command = Command::new("python3");
        command
            .arg(&peers_py)
            .arg("--data")
            .arg(data)
            .args(["--peers", peers, "--modes", "single,batch2", "--M", "16", "--efc", "200"])
            .args(["--ef", efs, "--rounds", rounds, "--ext", &lhv_worker, "--ext", &int8_worker])
            .args(["--ext", &baseline_worker])
            .arg("--out")
            .arg(out);
        run(&mut command)?;
        read_json(out)
    };
    let mut report = Report::new(root, &settings);
    for dataset in &prepared {
        let out = out_dir.join(format!("peers-{}.json", dataset.name));
        let json = run_peers(&dataset.dir, PEERS, settings.efs, settings.rounds, &out)?;
        report.add_dataset(dataset, &json);
    }
    let first = prepared.first().ok_or(USAGE)?;
    let baseline = run_peers(&first.dir, BASELINE_PEERS, BASELINE_EF, "1", &out_dir.join("baseline.json"))?;
    report.add_baseline(first, &baseline);
    let sources: Vec<String> = prepared.iter().map(|d| d.dir.display().to_string()).collect();
    report.push(&crate::bench_insert::insert_section(&examples, &sources)?);
    report.push(&contention_section(&measure_write_contention(&examples, &first.dir)?, &first.name));

    let doc = root.join("docs").join("BENCHMARKS.md");
    let mut text = report.finish();
    // Other commands write these sections: keep them.
    let current = std::fs::read_to_string(&doc).unwrap_or_default();
    for section in &crate::doc_sections::KEPT {
        if let Some(kept) = crate::doc_sections::find(&current, section) {
            text.push('\n');
            text.push_str(kept);
            text.push('\n');
        }
    }
    std::fs::write(&doc, text).map_err(|e| format!("cannot write {}: {e}", doc.display()))?;
    eprintln!("xtask: wrote {}", doc.display());
    Ok(())
}

/// `dir` as the workers read it: base.fvecs, query.fvecs and groundtruth.ivecs.
/// A dataset kept as float16 `.npy` (pydoc-dev) is written out as fvecs under
/// `cache` once (exactly: every float16 is a float32).
fn prepare_dataset(root: &Path, dir: &Path, cache: &Path) -> Result<Dataset, String> {
    let name = dir.file_name().map_or_else(|| "data".to_owned(), |n| n.to_string_lossy().into_owned());
    let source = match dir.strip_prefix(root.join("..")) {
        Ok(beside) => format!("../{}", beside.display()),
        Err(_) => dir.display().to_string(),
    };
    let truth = dir.join("groundtruth.ivecs");
    if !truth.exists() {
        return Err(format!("{} is missing (pass a dataset directory)", truth.display()));
    }
    if dir.join("base.fvecs").exists() && dir.join("query.fvecs").exists() {
        return Ok(Dataset { name, dir: dir.to_path_buf(), source });
    }
    let out = cache.join(&name);
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for stem in ["base", "query"] {
        let target = out.join(format!("{stem}.fvecs"));
        if !target.exists() {
            let rows = crate::vector_files::read_dataset_rows(dir, stem)?;
            crate::vector_files::write_fvecs(&target, &rows)?;
        }
    }
    let copied = out.join("groundtruth.ivecs");
    std::fs::copy(&truth, &copied).map_err(|e| format!("cannot copy {}: {e}", truth.display()))?;
    Ok(Dataset { name, dir: out, source })
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs the `write_contention` example and returns its JSON line.
fn measure_write_contention(examples: &Path, data: &Path) -> Result<Value, String> {
    let mut command = Command::new(examples.join("write_contention"));
    command.arg(data);
    eprintln!("xtask: {command:?}");
    let output = command.output().map_err(|e| format!("cannot run write_contention: {e}"))?;
    if !output.status.success() {
        return Err(format!("write_contention failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("write_contention output: {e}"))
}

fn contention_section(m: &Value, dataset: &str) -> String {
    let f = |key: &str| m[key].as_f64().unwrap_or(f64::NAN);
    format!(
        "\n## Searching during writes\n\n\
         `crates/lhv-core/examples/write_contention.rs`: single searches (k {k}, ef {ef}) on an index of \
         {initial} {dataset} vectors, first idle, then while one writer thread upserts {batches} batches of {batch} \
         new vectors (the index grows to {grown}, which accounts for part of the change).\n\n\
         | | p50 us | p99 us |\n|---|---:|---:|\n| idle | {:.0} | {:.0} |\n| during writes | {:.0} | {:.0} |\n\n\
         p99 during writes / idle p99: {:.2}x\n",
        f("idle_p50_us"),
        f("idle_p99_us"),
        f("busy_p50_us"),
        f("busy_p99_us"),
        f("p99_ratio"),
        k = m["k"],
        ef = m["ef"],
        initial = m["initial"],
        batches = m["batches_written"],
        batch = m["batch"],
        grown = m["initial"].as_u64().unwrap_or(0)
            + m["batches_written"].as_u64().unwrap_or(0) * m["batch"].as_u64().unwrap_or(0),
    )
}

fn env_path(var: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(var).map_or(default, PathBuf::from)
}

pub(crate) fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info.lines().find_map(|l| l.strip_prefix("model name")).and_then(|l| l.split(':').nth(1));
    model.map_or_else(|| "unknown".to_owned(), |m| m.trim().to_owned())
}

/// The CPU features the distance kernels choose between at run time, as the
/// kernel reports them (x86: avx2, fma, f16c, the avx512 families; arm: asimd, sve…).
pub(crate) fn cpu_flags() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags").or_else(|| l.strip_prefix("Features")))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or_default();
    let wanted = |f: &&str| {
        matches!(*f, "avx2" | "fma" | "f16c" | "asimd" | "asimdhp" | "sve" | "sve2") || f.starts_with("avx512")
    };
    let kept: Vec<&str> = flags.split_whitespace().filter(wanted).collect();
    if kept.is_empty() { "none of avx2, fma, f16c, avx512*".to_owned() } else { kept.join(" ") }
}

pub(crate) fn git_commit(root: &Path) -> String {
    let output = Command::new("git").arg("-C").arg(root).args(["rev-parse", "--short", "HEAD"]).output();
    output.ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default()
}
