//! `cargo xtask bench-http`: vectord and the Chroma server driven the same way
//! over HTTP by `shared/bench/http_bench.py` in one session, written into the
//! HTTP section of docs/BENCHMARKS.md (which `cargo xtask bench` keeps).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::{cargo, run};

const CHROMA: &str = "chromadb==1.5.9";

pub(crate) fn bench_http(root: &Path) -> Result<(), String> {
    let shared = root.join("..").join("shared");
    let script =
        std::env::var_os("LHV_BENCH_DIR").map_or_else(|| shared.join("bench"), Into::into).join("http_bench.py");
    let data = std::env::var_os("LHV_DATASET_DIR").map_or_else(|| shared.join("data").join("minilm-dev"), Into::into);
    cargo(&["build", "--release", "-p", "vectord"], &[])?;
    let out = root.join("target").join("bench");
    let venv = out.join("chroma-venv");
    if !venv.join("bin").join("chroma").exists() {
        // Its own venv: chromadb moves shared packages around (see http_bench.py).
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        run(Command::new(venv.join("bin").join("pip")).args(["install", "--quiet", CHROMA]))?;
    }
    let vectord = root.join("target").join("release").join("vectord");
    let mut sections = Vec::new();
    let mut results = Vec::new();
    for (target, binary_flag, binary) in
        [("vectord", "--vectord-bin", vectord), ("chroma", "--chroma-bin", venv.join("bin").join("chroma"))]
    {
        let json = out.join(format!("http-{target}.json"));
        let mut command = Command::new("python3");
        command
            .arg(&script)
            .arg("--data")
            .arg(&data)
            .args(["--target", target, binary_flag])
            .arg(&binary)
            .arg("--out")
            .arg(&json);
        eprintln!("xtask: {command:?}");
        let output = command.output().map_err(|e| format!("cannot run http_bench.py: {e}"))?;
        if !output.status.success() {
            return Err(format!("http_bench.py {target} failed: {}", String::from_utf8_lossy(&output.stderr)));
        }
        sections.push(String::from_utf8_lossy(&output.stdout).into_owned());
        let text = std::fs::read_to_string(&json).map_err(|e| format!("{}: {e}", json.display()))?;
        results.push(serde_json::from_str::<Value>(&text).map_err(|e| format!("{}: {e}", json.display()))?);
    }
    let section = render(&results[0], &results[1], &sections, root);
    let doc = root.join("docs").join("BENCHMARKS.md");
    crate::doc_sections::write(&doc, &crate::doc_sections::HTTP, &section)?;
    eprintln!("xtask: wrote the HTTP section of {}", doc.display());
    Ok(())
}

/// (ef, recall, QPS, p50 ms, p99 ms) at `concurrency`, by ef.
fn points(result: &Value, concurrency: u64) -> Vec<(u64, f64, f64, f64, f64)> {
    let queries = result["queries"].as_array().map(Vec::as_slice).unwrap_or_default();
    queries
        .iter()
        .filter_map(|q| {
            let ef = q["ef_effective"].as_u64().or(q["ef"].as_u64())?;
            let recall = q["recall_at_10"].as_f64()?;
            let runs = q["runs"].as_array()?;
            let run = runs.iter().find(|r| r["concurrency"].as_u64() == Some(concurrency))?;
            Some((ef, recall, run["qps"].as_f64()?, run["lat_ms"]["p50"].as_f64()?, run["lat_ms"]["p99"].as_f64()?))
        })
        .collect()
}

fn render(vectord: &Value, chroma: &Value, sections: &[String], root: &Path) -> String {
    let ingest = |r: &Value| r["ingest"]["vectors_per_s"].as_f64().unwrap_or(f64::NAN);
    let mut md = format!(
        "## Over HTTP: vectord and Chroma\n\n`cargo xtask bench-http` (one session, same client, same data; \
         vectord with `file://` storage, every batch durable before its 200; Chroma {CHROMA}). \
         commit {}.\n\n",
        crate::bench::git_commit(root)
    );
    md.push_str(&format!(
        "Ingest: vectord {:.0} vectors/s, Chroma {:.0} vectors/s ({:.2}x).\n\n",
        ingest(vectord),
        ingest(chroma),
        ingest(vectord) / ingest(chroma)
    ));
    md.push_str("With 8 clients, for each Chroma ef: vectord at the smallest ef reaching the same recall@10.\n\n");
    md.push_str("| Chroma ef | recall | QPS | p50 ms | vectord ef | recall | QPS | p99 ms | QPS ratio | vectord p99 / Chroma p50 |\n");
    md.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let ours = points(vectord, 8);
    for (ef, recall, qps, p50, _) in points(chroma, 8) {
        match ours.iter().filter(|p| p.1 >= recall).min_by_key(|p| p.0) {
            Some(&(our_ef, our_recall, our_qps, _, our_p99)) => md.push_str(&format!(
                "| {ef} | {recall:.4} | {qps:.0} | {p50:.2} | {our_ef} | {our_recall:.4} | {our_qps:.0} | {our_p99:.2} | {:.1}x | {:.2} |\n",
                our_qps / qps,
                our_p99 / p50
            )),
            None => md.push_str(&format!("| {ef} | {recall:.4} | {qps:.0} | {p50:.2} | not reached | | | | | |\n")),
        }
    }
    md.push_str("\nThe runs in full (http_bench.py's own report):\n\n");
    for section in sections {
        md.push_str(section.trim());
        md.push_str("\n\n");
    }
    md
}
