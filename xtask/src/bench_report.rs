//! The main part of docs/BENCHMARKS.md that `cargo xtask bench` writes: per
//! dataset, recall and QPS per ef for every peer, the ratios at equal recall
//! and the builds; then the instant-distance baseline.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::bench::{BASELINE_EF, BASELINE_PEERS, PEERS, Settings};

/// One dataset as the workers read it.
pub(crate) struct Dataset {
    /// Its directory's name (`minilm-dev`).
    pub(crate) name: String,
    /// Where base.fvecs, query.fvecs and groundtruth.ivecs are.
    pub(crate) dir: PathBuf,
    /// The directory it came from (the same, unless converted from `.npy`),
    /// relative to the workspace where it lies beside it.
    pub(crate) source: String,
}

const TARGETS: [f64; 2] = [0.95, 0.99];
const MODES: [&str; 2] = ["single", "batch2"];

/// The document being written, section by section.
pub(crate) struct Report {
    md: String,
}

impl Report {
    /// The heading and how to regenerate.
    pub(crate) fn new(root: &Path, settings: &Settings) -> Self {
        let mut md = String::new();
        md.push_str("# Benchmarks\n\n");
        md.push_str(
            "Regenerate with `cargo xtask bench` (about 20 minutes for both datasets; `--quick` for a short look, \
             dataset directories as arguments for others). It builds the two Rust workers \
             (`crates/lhv-core/examples/peer_worker.rs` and `instant_distance_worker.rs`), installs the Python \
             peers and runs, from the workspace root, for each dataset:\n\n",
        );
        md.push_str("```sh\n");
        md.push_str(&format!("python3 ../shared/bench/peers.py --data ../shared/data/minilm-dev --peers {PEERS} \\\n"));
        md.push_str(&format!(
            "  --modes single,batch2 --M 16 --efc 200 --ef {} --rounds {} \\\n",
            settings.efs, settings.rounds
        ));
        md.push_str("  --ext lhv-core=target/release/examples/peer_worker \\\n");
        md.push_str("  --ext 'lhv-core-int8=target/release/examples/peer_worker --storage int8'\n");
        md.push_str(&format!(
            "python3 ../shared/bench/peers.py --data ../shared/data/minilm-dev --peers {BASELINE_PEERS} \\\n"
        ));
        md.push_str(&format!("  --modes single,batch2 --M 16 --efc 200 --ef {BASELINE_EF} --rounds 1 \\\n"));
        md.push_str("  --ext lhv-core=target/release/examples/peer_worker \\\n");
        md.push_str(&format!(
            "  --ext 'instant-distance=target/release/examples/instant_distance_worker --ef-search {BASELINE_EF}'\n"
        ));
        md.push_str("```\n\n");
        md.push_str(
            "pydoc-dev is kept as float16 `.npy`; the bench writes it out once as fvecs (exactly) under \
             `target/bench/data`. The second command is the instant-distance baseline: that crate fixes ef at \
             build time and M at 32, and a build takes minutes, so it is measured at one ef, on the first dataset.\n\n\
             \"index RSS\" is the growth of the process's resident memory over the build; the Rust workers first \
             return the heap pages freed before and by the build (`malloc_trim`), as the `vectord` binary does every second.\n\n",
        );
        md.push_str(
            "Numbers are only comparable within one run (the machine is shared and noisy): QPS is the best of \
             the rounds, recall@10 against the exact top-10. `single` = one query per call on 1 thread, \
             `batch2` = all queries in one call on 2 threads.\n\n",
        );
        let quick = if settings.quick { " (quick run: fewer ef values, one round)" } else { "" };
        let threads = std::thread::available_parallelism().map_or(0, |n| n.get());
        md.push_str(&format!("- CPU: {} ({threads} threads available)\n", crate::bench::cpu_model()));
        md.push_str(&format!("- CPU features: {}\n", crate::bench::cpu_flags()));
        md.push_str(&format!("- commit: {}{quick}\n", crate::bench::git_commit(root)));
        Self { md }
    }

    /// Appends raw markdown.
    pub(crate) fn push(&mut self, text: &str) {
        self.md.push_str(text);
    }

    /// The sections of one dataset's run of peers.py.
    pub(crate) fn add_dataset(&mut self, dataset: &Dataset, json: &Value) {
        let points = measured_points(json);
        let peers: Vec<&str> = PEERS.split(',').collect();
        let name = &dataset.name;
        let info = &json["peers"]["lhv-core"];
        self.md.push_str(&format!(
            "\n## {name}: search\n\n`{}`: {} vectors of {} dimensions, cosine; run of {}.\n\n",
            dataset.source,
            info["n"],
            info["dim"],
            json["date"].as_str().unwrap_or("?")
        ));
        self.md.push_str("| peer | ef | recall@10 | QPS single | QPS batch2 |\n|---|---:|---:|---:|---:|\n");
        for peer in &peers {
            for ef in efs_of(&points, peer) {
                let at = |mode: &str| points.iter().find(|p| p.peer == *peer && p.ef == ef && p.mode == mode);
                let qps = |mode: &str| at(mode).map_or_else(String::new, |p| format!("{:.0}", p.qps));
                let recall = at("single").or(at("batch2")).map_or(0.0, |p| p.recall);
                self.md.push_str(&format!("| {peer} | {ef} | {recall:.4} | {} | {} |\n", qps("single"), qps("batch2")));
            }
        }
        self.recall_per_ef(name, &points, &peers);
        for ours in crate::bench::OURS.iter().filter(|ours| peers.contains(ours)) {
            self.ratios(name, &points, ours);
        }
        self.builds(name, json, &peers);
    }

    /// Recall at each ef side by side, and lhv-core's lead over hnswlib's.
    fn recall_per_ef(&mut self, name: &str, points: &[Point<'_>], peers: &[&str]) {
        self.md.push_str(&format!("\n## {name}: recall@10 per ef\n\n| ef |"));
        for peer in peers {
            self.md.push_str(&format!(" {peer} |"));
        }
        self.md.push_str(" lhv-core - hnswlib |\n|---:|");
        self.md.push_str(&"---:|".repeat(peers.len() + 1));
        self.md.push('\n');
        let recall = |peer: &str, ef: u64| {
            points.iter().find(|p| p.peer == peer && p.ef == ef && p.mode == "single").map(|p| p.recall)
        };
        for ef in efs_of(points, "lhv-core") {
            self.md.push_str(&format!("| {ef} |"));
            for peer in peers {
                let cell = recall(peer, ef).map_or_else(String::new, |r| format!("{r:.4}"));
                self.md.push_str(&format!(" {cell} |"));
            }
            let lead = recall("lhv-core", ef).zip(recall("hnswlib", ef)).map(|(a, b)| format!("{:+.4}", a - b));
            self.md.push_str(&format!(" {} |\n", lead.unwrap_or_default()));
        }
    }

    /// QPS at equal recall: at the smallest ef reaching it, and interpolated at exactly it.
    fn ratios(&mut self, name: &str, points: &[Point<'_>], ours_name: &str) {
        self.md.push_str(&format!(
            "\n## {name}: ratios at equal recall, {ours_name}\n\n\
             \"at ef\": {ours_name}'s QPS at the smallest ef that reaches the recall over the peer's at its own \
             smallest such ef. \"interpolated\": each QPS interpolated linearly in recall between the two ef \
             that bracket the target (the step to the next ef favours whoever lands just above it).\n\n\
             | recall@10 >= | mode | {ours_name} QPS (ef) | / hnswlib | / svs | / faiss-hnsw | interpolated / hnswlib | interpolated / svs |\n\
             |---:|---|---:|---:|---:|---:|---:|---:|\n"
        ));
        for target in TARGETS {
            for mode in MODES {
                let Some((ef, ours)) = qps_at_recall(points, ours_name, mode, target) else {
                    self.md.push_str(&format!("| {target} | {mode} | not reached | | | | | |\n"));
                    continue;
                };
                let ratio = |peer: &str| {
                    qps_at_recall(points, peer, mode, target)
                        .map_or_else(|| "n/a".to_owned(), |(_, q)| format!("{:.2}x", ours / q))
                };
                let interpolated = |peer: &str| {
                    interpolated_qps(points, ours_name, mode, target)
                        .zip(interpolated_qps(points, peer, mode, target))
                        .map_or_else(|| "n/a".to_owned(), |(a, b)| format!("{:.2}x", a / b))
                };
                self.md.push_str(&format!(
                    "| {target} | {mode} | {ours:.0} ({ef}) | {} | {} | {} | {} | {} |\n",
                    ratio("hnswlib"),
                    ratio("svs"),
                    ratio("faiss-hnsw"),
                    interpolated("hnswlib"),
                    interpolated("svs")
                ));
            }
        }
    }

    fn builds(&mut self, name: &str, json: &Value, peers: &[&str]) {
        self.md.push_str(&format!(
            "\n## {name}: build and memory\n\n\
             | peer | build s (2 threads) | vectors/s | lhv-core speed-up | peak RSS MiB | index RSS MiB | params |\n\
             |---|---:|---:|---:|---:|---:|---|\n"
        ));
        let info = |peer: &str| &json["peers"][peer];
        let ours = info("lhv-core")["build_s_2t"].as_f64().unwrap_or(f64::NAN);
        for peer in peers {
            let p = info(peer);
            let build = p["build_s_2t"].as_f64().unwrap_or(f64::NAN);
            let n = p["n"].as_f64().unwrap_or(f64::NAN);
            let mib = |key: &str| p[key].as_f64().map_or_else(String::new, |kb| format!("{:.0}", kb / 1024.0));
            self.md.push_str(&format!(
                "| {peer} | {build:.1} | {:.0} | {:.2}x | {} | {} | {} |\n",
                n / build,
                build / ours,
                mib("peak_rss_kb"),
                mib("rss_index_kb"),
                p["params"].as_str().unwrap_or("")
            ));
        }
        self.md.push_str(
            "\n\"lhv-core speed-up\" is the peer's build time over lhv-core's (above 1: lhv-core builds faster).\n",
        );
    }

    /// The instant-distance run on `dataset`.
    pub(crate) fn add_baseline(&mut self, dataset: &Dataset, baseline: &Value) {
        self.md.push_str(&format!(
            "\n## Baseline: instant-distance ({}, separate run, ef {BASELINE_EF})\n\n\
             | peer | build s (2 threads) | recall@10 | QPS single | QPS batch2 | params |\n\
             |---|---:|---:|---:|---:|---|\n",
            dataset.name
        ));
        let points = measured_points(baseline);
        for peer in BASELINE_PEERS.split(',') {
            let p = &baseline["peers"][peer];
            let at = |mode: &str| points.iter().find(|x| x.peer == peer && x.mode == mode);
            let qps = |mode: &str| at(mode).map_or_else(String::new, |x| format!("{:.0}", x.qps));
            self.md.push_str(&format!(
                "| {peer} | {:.1} | {:.4} | {} | {} | {} |\n",
                p["build_s_2t"].as_f64().unwrap_or(f64::NAN),
                at("single").map_or(0.0, |x| x.recall),
                qps("single"),
                qps("batch2"),
                p["params"].as_str().unwrap_or("")
            ));
        }
        let build = |peer: &str| baseline["peers"][peer]["build_s_2t"].as_f64().unwrap_or(f64::NAN);
        self.md.push_str(&format!(
            "\nlhv-core builds {:.1}x faster than instant-distance.\n",
            build("instant-distance") / build("lhv-core")
        ));
    }

    /// The finished document (without the sections other commands write).
    pub(crate) fn finish(self) -> String {
        self.md
    }
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

/// The ef values measured for `peer`, ascending.
fn efs_of(points: &[Point<'_>], peer: &str) -> Vec<u64> {
    let mut efs: Vec<u64> = points.iter().filter(|p| p.peer == peer).map(|p| p.ef).collect();
    efs.sort_unstable();
    efs.dedup();
    efs
}

/// QPS of `peer` in `mode` at the smallest ef whose recall reaches `target`.
fn qps_at_recall(points: &[Point<'_>], peer: &str, mode: &str, target: f64) -> Option<(u64, f64)> {
    points
        .iter()
        .filter(|p| p.peer == peer && p.mode == mode && p.recall >= target)
        .min_by_key(|p| p.ef)
        .map(|p| (p.ef, p.qps))
}

/// QPS of `peer` in `mode` at exactly `target` recall: linear in recall
/// between the last ef below it and the first at or above it; the first
/// point's QPS if even the smallest ef reaches it; `None` if no ef does.
fn interpolated_qps(points: &[Point<'_>], peer: &str, mode: &str, target: f64) -> Option<f64> {
    let mut curve: Vec<&Point<'_>> = points.iter().filter(|p| p.peer == peer && p.mode == mode).collect();
    curve.sort_by_key(|p| p.ef);
    let above = curve.iter().position(|p| p.recall >= target)?;
    let Some(below) = above.checked_sub(1).map(|i| curve[i]) else {
        return Some(curve[above].qps);
    };
    let above = curve[above];
    let share = (target - below.recall) / (above.recall - below.recall);
    Some(below.qps + share.clamp(0.0, 1.0) * (above.qps - below.qps))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve() -> Vec<Point<'static>> {
        [(10, 0.90, 1000.0), (20, 0.94, 800.0), (40, 0.96, 600.0), (80, 0.99, 300.0)]
            .into_iter()
            .map(|(ef, recall, qps)| Point { peer: "p", ef, mode: "single", recall, qps })
            .collect()
    }

    #[test]
    fn equal_recall_is_read_at_the_first_ef_reaching_it_or_interpolated() {
        let points = curve();
        assert_eq!(qps_at_recall(&points, "p", "single", 0.95), Some((40, 600.0)));
        // Halfway between 0.94 (800) and 0.96 (600).
        let at = interpolated_qps(&points, "p", "single", 0.95).unwrap_or_default();
        assert!((at - 700.0).abs() < 1e-6, "{at}");
        assert_eq!(interpolated_qps(&points, "p", "single", 0.85), Some(1000.0));
        assert_eq!(interpolated_qps(&points, "p", "single", 0.995), None);
        assert_eq!(interpolated_qps(&points, "p", "batch2", 0.95), None);
    }
}
