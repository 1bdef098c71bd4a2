//! `cargo xtask bench-storage`: lhv-core with float32, float16 and 8-bit
//! storage next to hnswlib and SVS's LVQ-4x8 (the quantized peer to beat) in
//! one interleaved run of `shared/bench/peers.py`:
//! recall@10, single-thread QPS and index memory, at the smallest ef that
//! reaches recall 0.95 for each. Written into its section of docs/BENCHMARKS.md.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::{cargo, run};

const TARGET_RECALL: f64 = 0.95;
const EFS: &str = "10,15,20,25,30,40,60,80";

pub(crate) fn bench_storage(root: &Path) -> Result<(), String> {
    let shared = root.join("..").join("shared");
    let peers_py = std::env::var_os("LHV_BENCH_DIR").map_or_else(|| shared.join("bench"), Into::into).join("peers.py");
    let data = std::env::var_os("LHV_DATASET_DIR").map_or_else(|| shared.join("data").join("minilm-dev"), Into::into);
    cargo(&["build", "--release", "-p", "lhv-core", "--example", "peer_worker"], &[])?;
    crate::bench::install_python_peers()?;
    let worker = root.join("target").join("release").join("examples").join("peer_worker");
    let worker = worker.display();
    let out = root.join("target").join("bench").join("storage.json");
    std::fs::create_dir_all(root.join("target").join("bench"))
        .map_err(|e| format!("cannot create target/bench: {e}"))?;
    // SVS runs LVQ on Intel CPUs only (its worker exits elsewhere).
    let peers = if intel_cpu() {
        "lhv-f32,lhv-f16,lhv-int8,svs-lvq,hnswlib"
    } else {
        eprintln!("xtask: not an Intel CPU: svs-lvq is left out (SVS runs LVQ on Intel CPUs only)");
        "lhv-f32,lhv-f16,lhv-int8,hnswlib"
    };
    let mut command = Command::new("python3");
    command
        .arg(&peers_py)
        .arg("--data")
        .arg(&data)
        .args(["--peers", peers, "--modes", "single", "--M", "16", "--efc", "200"])
        .args(["--ef", EFS, "--rounds", "3", "--min-seconds", "0.5"])
        .args(["--ext", &format!("lhv-f32={worker} --storage f32")])
        .args(["--ext", &format!("lhv-f16={worker} --storage f16")])
        .args(["--ext", &format!("lhv-int8={worker} --storage int8")])
        .arg("--out")
        .arg(&out);
    run(&mut command)?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let results: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", out.display()))?;
    let body = render(&results, root);
    crate::doc_sections::write(&root.join("docs").join("BENCHMARKS.md"), &crate::doc_sections::STORAGE, &body)?;
    eprintln!("xtask: wrote the storage section of docs/BENCHMARKS.md");
    Ok(())
}

/// Whether this machine's CPU is Intel's (`vendor_id` in /proc/cpuinfo).
fn intel_cpu() -> bool {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines().any(|line| line.starts_with("vendor_id") && line.contains("GenuineIntel"))
}

/// (ef, recall, QPS) of `peer`'s best rounds, by ef.
fn points(results: &Value, peer: &str) -> Vec<(u64, f64, f64)> {
    let best = results["best"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut points: Vec<(u64, f64, f64)> = best
        .iter()
        .filter(|p| p["peer"] == peer)
        .filter_map(|p| Some((p["ef"].as_u64()?, p["recall10"].as_f64()?, p["qps"].as_f64()?)))
        .collect();
    points.sort_by_key(|p| p.0);
    points
}

/// QPS at exactly `target` recall, read off the straight line between the two
/// measured efs around it: the smallest ef that reaches the recall overshoots
/// it by a different margin for each index, so only this compares at equal recall.
fn qps_at_recall(points: &[(u64, f64, f64)], target: f64) -> Option<f64> {
    points.windows(2).find_map(|pair| {
        let ((_, r0, q0), (_, r1, q1)) = (pair[0], pair[1]);
        (r0 < target && target <= r1).then(|| q0 + (q1 - q0) * (target - r0) / (r1 - r0))
    })
}

fn render(results: &Value, root: &Path) -> String {
    let at_target = |peer: &str| points(results, peer).into_iter().find(|p| p.1 >= TARGET_RECALL);
    let hnswlib_qps = at_target("hnswlib").map_or(f64::NAN, |p| p.2);
    let mut md = format!(
        "## Storage: float32, float16, 8-bit\n\n`cargo xtask bench-storage` (peers.py, MiniLM 50 000 × 384, M=16, efc=200, \
         one thread, best of 3 rounds), commit {}. Each row is at the smallest ef whose recall@10 reaches {TARGET_RECALL}; \
         \"QPS at {TARGET_RECALL}\" is interpolated between the efs on either side of it; \
         memory is the RSS the build added (`rss_index_kb`). `int8` searches on the 8-bit codes and rescores its \
         candidates with the 4-bit residuals; `svs-lvq` is SVS Vamana over LVQ-4x8 codes (4-bit codes walk the \
         graph, 8-bit residuals re-rank; SVS runs LVQ on Intel CPUs only).\n\n\
         | index | storage | ef | recall@10 | QPS | x hnswlib | QPS at {TARGET_RECALL} | index MiB | bytes per vector |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|\n",
        crate::bench::git_commit(root)
    );
    for (peer, storage) in
        [("lhv-f32", "f32"), ("lhv-f16", "f16"), ("lhv-int8", "int8"), ("svs-lvq", "LVQ-4x8"), ("hnswlib", "f32")]
    {
        let kib = results["peers"][peer]["rss_index_kb"].as_f64().unwrap_or(f64::NAN);
        let n = results["peers"][peer]["n"].as_f64().unwrap_or(f64::NAN);
        match at_target(peer) {
            Some((ef, recall, qps)) => md.push_str(&format!(
                "| {peer} | {storage} | {ef} | {recall:.4} | {qps:.0} | {:.2} | {} | {:.1} | {:.0} |\n",
                qps / hnswlib_qps,
                qps_at_recall(&points(results, peer), TARGET_RECALL).map_or("-".to_owned(), |q| format!("{q:.0}")),
                kib / 1024.0,
                kib * 1024.0 / n
            )),
            None if results["peers"][peer].is_null() => {
                md.push_str(&format!("| {peer} | {storage} | - | not run on this CPU | | | | | |\n"));
            }
            None => md.push_str(&format!("| {peer} | {storage} | - | below {TARGET_RECALL} at every ef | | | | | |\n")),
        }
    }
    md.push_str("\nEvery ef measured (recall@10 / QPS):\n\n| ef |");
    let peers = ["lhv-f32", "lhv-f16", "lhv-int8", "svs-lvq", "hnswlib"];
    for peer in peers {
        md.push_str(&format!(" {peer} |"));
    }
    md.push_str("\n|---:|---|---|---|---|---|\n");
    for ef in EFS.split(',').filter_map(|e| e.parse::<u64>().ok()) {
        md.push_str(&format!("| {ef} |"));
        for peer in peers {
            match points(results, peer).into_iter().find(|p| p.0 == ef) {
                Some((_, recall, qps)) => md.push_str(&format!(" {recall:.4} / {qps:.0} |")),
                None => md.push_str(" - |"),
            }
        }
        md.push('\n');
    }
    md
}

#[cfg(test)]
mod tests {
    use super::qps_at_recall;

    #[test]
    fn qps_is_interpolated_between_the_efs_around_the_recall() {
        let points = [(10, 0.90, 30_000.0), (20, 0.94, 25_000.0), (30, 0.96, 21_000.0)];
        let qps = qps_at_recall(&points, 0.95).unwrap_or(f64::NAN);
        assert!((qps - 23_000.0).abs() < 1e-6, "{qps}");
        assert_eq!(qps_at_recall(&points, 0.97), None);
        assert_eq!(qps_at_recall(&points, 0.85), None);
    }
}
