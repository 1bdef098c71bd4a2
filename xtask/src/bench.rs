//! `cargo xtask bench`: lhv-core against its ANN peers in one interleaved run of
//! `shared/bench/peers.py`, written up in docs/BENCHMARKS.md.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::{cargo, run};

/// The peers named by the performance issue, at M=16, efc=200.
const PEERS: &str = "lhv-core,hnswlib,faiss-hnsw,svs";
/// instant-distance builds in minutes and fixes its ef at build: it gets its own
/// run at this one ef, next to lhv-core.
const BASELINE_PEERS: &str = "lhv-core,instant-distance";
const BASELINE_EF: &str = "64";
const PYTHON_PEERS: [&str; 4] = ["numpy", "hnswlib", "faiss-cpu", "scalable-vs"];

/// The Python peers of peers.py that the benches compare with.
pub(crate) fn install_python_peers() -> Result<(), String> {
    let mut pip = Command::new("python3");
    pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]).args(PYTHON_PEERS);
    run(&mut pip)
}

struct Settings {
    efs: &'static str,
    rounds: &'static str,
}

pub(crate) fn bench(root: &Path, quick: bool) -> Result<(), String> {
    let settings = if quick {
        Settings { efs: "20,40,80", rounds: "1" }
    } else {
        Settings { efs: "10,20,40,80,160,320", rounds: "3" }
    };
    let shared = root.join("..").join("shared");
    let peers_py = env_path("LHV_BENCH_DIR", shared.join("bench")).join("peers.py");
    let data = env_path("LHV_DATASET_DIR", shared.join("data").join("minilm-dev"));
    for needed in [&peers_py, &data.join("base.fvecs")] {
        if !needed.exists() {
            return Err(format!("{} is missing (set LHV_BENCH_DIR / LHV_DATASET_DIR)", needed.display()));
        }
    }
    cargo(&["build", "--release", "-p", "lhv-core", "--examples"], &[])?;
    install_python_peers()?;

    let out_dir = root.join("target").join("bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let examples = root.join("target").join("release").join("examples");
    let lhv_worker = format!("lhv-core={}", examples.join("peer_worker").display());
    let baseline_worker =
        format!("instant-distance={} --ef-search {BASELINE_EF}", examples.join("instant_distance_worker").display());
    let peers_json = out_dir.join("peers.json");
    let baseline_json = out_dir.join("baseline.json");
    let runs =
        [(PEERS, settings.efs, settings.rounds, &peers_json), (BASELINE_PEERS, BASELINE_EF, "1", &baseline_json)];
    for (peers, efs, rounds, out) in runs {
        let mut command = Command::new("python3");
        command
            .arg(&peers_py)
            .arg("--data")
            .arg(&data)
            .args(["--peers", peers, "--modes", "single,batch2", "--M", "16", "--efc", "200"])
            .args(["--ef", efs, "--rounds", rounds, "--ext", &lhv_worker, "--ext", &baseline_worker])
            .arg("--out")
            .arg(out);
        run(&mut command)?;
    }
    let read = |path: &Path| -> Result<Value, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let contention = measure_write_contention(&examples, &data)?;
    let inserts = crate::bench_insert::insert_section(&examples, &data)?;
    let mut report = write_report(&read(&peers_json)?, &read(&baseline_json)?, root, quick)?;
    report.push_str(&inserts);
    report.push_str(&contention_section(&contention));
    let doc = root.join("docs").join("BENCHMARKS.md");
    // Other commands write these sections: keep them.
    let current = std::fs::read_to_string(&doc).unwrap_or_default();
    for section in &crate::doc_sections::KEPT {
        if let Some(kept) = crate::doc_sections::find(&current, section) {
            report.push('\n');
            report.push_str(kept);
            report.push('\n');
        }
    }
    std::fs::write(&doc, report).map_err(|e| format!("cannot write {}: {e}", doc.display()))?;
    eprintln!("xtask: wrote {}", doc.display());
    Ok(())
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

fn contention_section(m: &Value) -> String {
    let f = |key: &str| m[key].as_f64().unwrap_or(f64::NAN);
    format!(
        "\n## Searching during writes\n\n\
         `crates/lhv-core/examples/write_contention.rs`: single searches (k {k}, ef {ef}) on an index of \
         {initial} MiniLM vectors, first idle, then while one writer thread upserts {batches} batches of {batch} \
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

pub(crate) fn git_commit(root: &Path) -> String {
    let output = Command::new("git").arg("-C").arg(root).args(["rev-parse", "--short", "HEAD"]).output();
    output.ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default()
}

/// One measured point: peer, ef, mode -> (recall, qps).
struct Point<'a> {
    peer: &'a str,
    ef: u64,
    mode: &'a str,
    recall: f64,
    qps: f64,
}

fn measured_points(json: &Value) -> Vec<Point<'_>> {
    let best = json["best"].as_array().map(Vec::as_slice).unwrap_or_default();
    best.iter()
        .filter_map(|b| {
            Some(Point {
                peer: b["peer"].as_str()?,
                ef: b["ef"].as_u64()?,
                mode: b["mode"].as_str()?,
                recall: b["recall10"].as_f64()?,
                qps: b["qps"].as_f64()?,
            })
        })
        .collect()
}

/// QPS of `peer` in `mode` at the smallest ef whose recall reaches `target`.
fn qps_at_recall(points: &[Point<'_>], peer: &str, mode: &str, target: f64) -> Option<(u64, f64)> {
    points
        .iter()
        .filter(|p| p.peer == peer && p.mode == mode && p.recall >= target)
        .min_by_key(|p| p.ef)
        .map(|p| (p.ef, p.qps))
}

fn write_report(json: &Value, baseline: &Value, root: &Path, quick: bool) -> Result<String, String> {
    let points = measured_points(json);
    let peers: Vec<&str> = PEERS.split(',').collect();
    let mut md = String::new();
    let w = |md: &mut String, line: String| {
        md.push_str(&line);
        md.push('\n');
    };
    w(&mut md, "# Benchmarks\n".into());
    w(
        &mut md,
        "Regenerate with `cargo xtask bench` (about 15 minutes; `--quick` for a short look). It builds the".into(),
    );
    w(&mut md, "two Rust workers (`crates/lhv-core/examples/peer_worker.rs` and `instant_distance_worker.rs`),".into());
    w(&mut md, "installs the Python peers and runs, from the workspace root:\n".into());
    w(&mut md, "```sh".into());
    w(&mut md, format!("python3 ../shared/bench/peers.py --data ../shared/data/minilm-dev --peers {PEERS} \\"));
    w(&mut md, "  --modes single,batch2 --M 16 --efc 200 --ef 10,20,40,80,160,320 --rounds 3 \\".into());
    w(&mut md, "  --ext lhv-core=target/release/examples/peer_worker".into());
    w(
        &mut md,
        format!("python3 ../shared/bench/peers.py --data ../shared/data/minilm-dev --peers {BASELINE_PEERS} \\"),
    );
    w(&mut md, format!("  --modes single,batch2 --M 16 --efc 200 --ef {BASELINE_EF} --rounds 1 \\"));
    w(&mut md, "  --ext lhv-core=target/release/examples/peer_worker \\".into());
    w(
        &mut md,
        format!("  --ext 'instant-distance=target/release/examples/instant_distance_worker --ef-search {BASELINE_EF}'"),
    );
    w(&mut md, "```\n".into());
    w(
        &mut md,
        "The second run is the instant-distance baseline: that crate fixes ef at build time and M at 32,".into(),
    );
    w(&mut md, "and a build takes minutes, so it is measured at one ef only.\n".into());
    w(
        &mut md,
        "Numbers are only comparable within one run (the machine is shared and noisy): QPS is the best of".into(),
    );
    w(&mut md, "the rounds, recall@10 against the exact top-10. `single` = one query per call on 1 thread,".into());
    w(&mut md, "`batch2` = all queries in one call on 2 threads.\n".into());
    let date = json["date"].as_str().unwrap_or("?");
    w(&mut md, format!("- date: {date}{}", if quick { " (quick run: fewer ef values, one round)" } else { "" }));
    w(
        &mut md,
        format!(
            "- CPU: {} ({} threads available)",
            cpu_model(),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        ),
    );
    w(&mut md, format!("- commit: {}", git_commit(root)));
    w(&mut md, format!("- data: {}\n", json["data"].as_str().unwrap_or("?")));

    w(&mut md, "## Search\n".into());
    w(&mut md, "| peer | ef | recall@10 | QPS single | QPS batch2 |".into());
    w(&mut md, "|---|---:|---:|---:|---:|".into());
    for peer in &peers {
        let mut efs: Vec<u64> = points.iter().filter(|p| p.peer == *peer).map(|p| p.ef).collect();
        efs.sort_unstable();
        efs.dedup();
        for ef in efs {
            let at = |mode: &str| points.iter().find(|p| p.peer == *peer && p.ef == ef && p.mode == mode);
            let qps = |mode: &str| at(mode).map_or_else(String::new, |p| format!("{:.0}", p.qps));
            let recall = at("single").or(at("batch2")).map_or(0.0, |p| p.recall);
            w(&mut md, format!("| {peer} | {ef} | {recall:.4} | {} | {} |", qps("single"), qps("batch2")));
        }
    }

    w(&mut md, "\n## Ratios at equal recall\n".into());
    w(
        &mut md,
        "QPS at the smallest ef that reaches the recall, divided by the peer's at its own smallest such ef.\n".into(),
    );
    w(&mut md, "| recall@10 >= | mode | lhv-core QPS (ef) | / hnswlib | / best float32 graph peer |".into());
    w(&mut md, "|---:|---|---:|---:|---:|".into());
    for target in [0.95, 0.99] {
        for mode in ["single", "batch2"] {
            let Some((ef, ours)) = qps_at_recall(&points, "lhv-core", mode, target) else {
                w(&mut md, format!("| {target} | {mode} | not reached | | |"));
                continue;
            };
            let ratio = |peer: &str| {
                qps_at_recall(&points, peer, mode, target)
                    .map_or_else(|| "n/a".to_owned(), |(_, q)| format!("{:.2}x", ours / q))
            };
            let best_graph = ["hnswlib", "faiss-hnsw", "svs"]
                .iter()
                .filter_map(|p| qps_at_recall(&points, p, mode, target).map(|(_, q)| (*p, q)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let best = best_graph.map_or_else(|| "n/a".to_owned(), |(p, q)| format!("{:.2}x ({p})", ours / q));
            w(&mut md, format!("| {target} | {mode} | {ours:.0} ({ef}) | {} | {best} |", ratio("hnswlib")));
        }
    }

    w(&mut md, "\n## Build and memory\n".into());
    w(
        &mut md,
        "| peer | build s (2 threads) | vectors/s | lhv-core speed-up | peak RSS MiB | index RSS MiB | params |".into(),
    );
    w(&mut md, "|---|---:|---:|---:|---:|---:|---|".into());
    let info = |peer: &str| &json["peers"][peer];
    let ours = info("lhv-core")["build_s_2t"].as_f64().unwrap_or(f64::NAN);
    for peer in &peers {
        let p = info(peer);
        let build = p["build_s_2t"].as_f64().unwrap_or(f64::NAN);
        let n = p["n"].as_f64().unwrap_or(f64::NAN);
        let mib = |key: &str| p[key].as_f64().map_or_else(String::new, |kb| format!("{:.0}", kb / 1024.0));
        w(
            &mut md,
            format!(
                "| {peer} | {build:.1} | {:.0} | {:.2}x | {} | {} | {} |",
                n / build,
                build / ours,
                mib("peak_rss_kb"),
                mib("rss_index_kb"),
                p["params"].as_str().unwrap_or("")
            ),
        );
    }
    w(
        &mut md,
        "\n\"lhv-core speed-up\" is the peer's build time over lhv-core's (above 1: lhv-core builds faster).".into(),
    );

    w(&mut md, format!("\n## Baseline: instant-distance (separate run, ef {BASELINE_EF})\n"));
    w(&mut md, "| peer | build s (2 threads) | recall@10 | QPS single | QPS batch2 | params |".into());
    w(&mut md, "|---|---:|---:|---:|---:|---|".into());
    let baseline_points = measured_points(baseline);
    for peer in BASELINE_PEERS.split(',') {
        let p = &baseline["peers"][peer];
        let at = |mode: &str| baseline_points.iter().find(|x| x.peer == peer && x.mode == mode);
        let qps = |mode: &str| at(mode).map_or_else(String::new, |x| format!("{:.0}", x.qps));
        w(
            &mut md,
            format!(
                "| {peer} | {:.1} | {:.4} | {} | {} | {} |",
                p["build_s_2t"].as_f64().unwrap_or(f64::NAN),
                at("single").map_or(0.0, |x| x.recall),
                qps("single"),
                qps("batch2"),
                p["params"].as_str().unwrap_or("")
            ),
        );
    }
    let build = |peer: &str| baseline["peers"][peer]["build_s_2t"].as_f64().unwrap_or(f64::NAN);
    w(
        &mut md,
        format!(
            "\nlhv-core builds {:.1}x faster than instant-distance.",
            build("instant-distance") / build("lhv-core")
        ),
    );
    Ok(md)
}
