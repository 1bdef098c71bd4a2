//! `cargo xtask bench-shards [--quick]`: vectord with indexes of 1, 2 and 4
//! shards, each driven over HTTP by `shared/bench/http_bench.py` (the index
//! is created with the server's `default_shards`), in two rounds of opposite
//! order so that drift of the shared machine hits every count alike; the best
//! of the rounds is kept. Written into its section of docs/BENCHMARKS.md.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::cargo;

const SHARDS: [usize; 3] = [1, 2, 4];
const EFS: [u64; 2] = [32, 64];
const CLIENTS: [u64; 2] = [1, 8];

/// The best figures of one shard count over the rounds.
#[derive(Debug, Clone, Default)]
struct Figures {
    ingest: f64,
    /// (ef, clients) -> (recall, QPS).
    search: Vec<((u64, u64), (f64, f64))>,
}

pub(crate) fn bench_shards(root: &Path, args: &[&str]) -> Result<(), String> {
    let quick = match args {
        [] => false,
        ["--quick"] => true,
        _ => return Err("usage: cargo xtask bench-shards [--quick]".into()),
    };
    let shared = root.join("..").join("shared");
    let script =
        std::env::var_os("LHV_BENCH_DIR").map_or_else(|| shared.join("bench"), Into::into).join("http_bench.py");
    let data = std::env::var_os("LHV_DATASET_DIR").map_or_else(|| shared.join("data").join("minilm-dev"), Into::into);
    cargo(&["build", "--release", "-p", "vectord"], &[])?;
    let vectord = root.join("target").join("release").join("vectord");
    let out = root.join("target").join("bench");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut figures = vec![Figures::default(); SHARDS.len()];
    let rounds: &[&[usize]] = if quick { &[&[0, 1, 2]] } else { &[&[0, 1, 2], &[2, 1, 0]] };
    for order in rounds {
        for &slot in *order {
            let shards = SHARDS[slot];
            let json = out.join(format!("shards-{shards}.json"));
            let mut command = Command::new("python3");
            command
                .arg(&script)
                .arg("--data")
                .arg(&data)
                .args(["--target", "vectord", "--vectord-bin"])
                .arg(&vectord)
                .args(["--concurrency", "1,8", "--efs", "32,64", "--seconds", if quick { "2" } else { "5" }])
                .args(if quick { &["--n-base", "10000"][..] } else { &[][..] })
                .arg("--out")
                .arg(&json)
                .env("VECTORD_DEFAULT_SHARDS", shards.to_string());
            eprintln!("xtask: {shards} shards: {command:?}");
            let output = command.output().map_err(|e| format!("cannot run http_bench.py: {e}"))?;
            if !output.status.success() {
                return Err(format!(
                    "http_bench.py ({shards} shards) failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
            let text = std::fs::read_to_string(&json).map_err(|e| format!("{}: {e}", json.display()))?;
            let result: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json.display()))?;
            let shown = result["settings"]["server_index_info"]["shards"].as_u64();
            if shown != Some(shards as u64) {
                return Err(format!("the index was created with {shown:?} shards, not {shards}"));
            }
            keep_best(&mut figures[slot], &result);
        }
    }
    let body = render(&figures, quick, root);
    crate::doc_sections::write(&root.join("docs").join("BENCHMARKS.md"), &crate::doc_sections::SHARDS, &body)?;
    eprintln!("xtask: wrote the shards section of docs/BENCHMARKS.md");
    Ok(())
}

fn keep_best(figures: &mut Figures, result: &Value) {
    let ingest = result["ingest"]["vectors_per_s"].as_f64().unwrap_or(0.0);
    figures.ingest = figures.ingest.max(ingest);
    let queries = result["queries"].as_array().map(Vec::as_slice).unwrap_or_default();
    for query in queries {
        let (Some(ef), Some(recall)) = (query["ef"].as_u64(), query["recall_at_10"].as_f64()) else { continue };
        for run in query["runs"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let (Some(clients), Some(qps)) = (run["concurrency"].as_u64(), run["qps"].as_f64()) else { continue };
            match figures.search.iter_mut().find(|(key, _)| *key == (ef, clients)) {
                Some((_, best)) if best.1 >= qps => {}
                Some((_, best)) => *best = (recall, qps),
                None => figures.search.push(((ef, clients), (recall, qps))),
            }
        }
    }
}

fn render(figures: &[Figures], quick: bool, root: &Path) -> String {
    let mut md = format!(
        "## Shards over HTTP\n\n`cargo xtask bench-shards`{} (`shared/bench/http_bench.py` against vectord, MiniLM{}, \
         `file://` storage, batches of 1 000, k 10; {} rounds in opposite orders, best kept), commit {}, on {} cores. \
         A search asks every shard for its 10 best, so with more shards than cores the fan-out costs QPS; ingest \
         commits the shards' logs in parallel.\n\n",
        if quick { " --quick" } else { "" },
        if quick { " 10 000" } else { " 50 000" },
        if quick { 1 } else { 2 },
        crate::bench::git_commit(root),
        std::thread::available_parallelism().map_or(0, usize::from),
    );
    md.push_str("| shards | ingest vectors/s | x 1 shard |");
    for ef in EFS {
        for clients in CLIENTS {
            md.push_str(&format!(" ef {ef}, {clients} client{}: recall / QPS |", if clients == 1 { "" } else { "s" }));
        }
    }
    md.push_str("\n|---:|---:|---:|");
    md.push_str(&"---|".repeat(EFS.len() * CLIENTS.len()));
    md.push('\n');
    let base = figures.first().map_or(f64::NAN, |f| f.ingest);
    for (shards, f) in SHARDS.iter().zip(figures) {
        md.push_str(&format!("| {shards} | {:.0} | {:.2}x |", f.ingest, f.ingest / base));
        for ef in EFS {
            for clients in CLIENTS {
                match f.search.iter().find(|(key, _)| *key == (ef, clients)) {
                    Some((_, (recall, qps))) => md.push_str(&format!(" {recall:.4} / {qps:.0} |")),
                    None => md.push_str(" - |"),
                }
            }
        }
        md.push('\n');
    }
    md
}
