//! `cargo xtask bench-payload-index`: a payload index created through
//! qdrant-client on a live collection of each dataset (MiniLM 50 000, pydoc
//! 100 000) while 4 writers upsert (`xtask/bench_payload_index.py`, against
//! the release binary with `file://` storage): the build time, the checks
//! that no write was lost and that filtered answers did not change, and
//! filtered QPS without the index, with it, and without it again; written
//! into its section of docs/BENCHMARKS.md.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::cargo;
use crate::qdrant_clients::{PACKAGES, VENV};
use crate::service::Service;

pub(crate) fn bench_payload_index(root: &Path) -> Result<(), String> {
    let shared = root.join("..").join("shared").join("data");
    cargo(&["build", "--release", "-p", "vectord"], &[])?;
    let python = crate::venv::venv(root, VENV, PACKAGES)?.join("bin").join("python");
    let data = root.join("target").join("bench").join("payload-index-data");
    let _ = std::fs::remove_dir_all(&data);
    let storage = format!("file://{}", data.display());
    let binary = root.join("target").join("release").join("vectord");
    let service = Service::spawn(root, &binary, "bench-payload-index-vectord.log", &["--storage-url", &storage])?;
    let minilm = shared.join("minilm-dev").join("base.fvecs");
    let pydoc = shared.join("pydoc-dev").join("base.f16.npy");
    let mut command = Command::new(python);
    command
        .arg(root.join("xtask").join("bench_payload_index.py"))
        .args(["--url", &service.url()])
        .arg(format!("--data=minilm-dev={}", minilm.display()))
        .arg(format!("--data=pydoc-dev={}", pydoc.display()));
    eprintln!("xtask: {command:?}");
    let output = command.output().map_err(|e| format!("cannot run bench_payload_index.py: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "bench_payload_index.py failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let rows: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).map_err(|e| format!("{line}: {e}")))
        .collect::<Result<_, _>>()?;
    let section = render(&rows, root);
    println!("{section}");
    let doc = root.join("docs").join("BENCHMARKS.md");
    crate::doc_sections::write(&doc, &crate::doc_sections::PAYLOAD_INDEX, &section)?;
    eprintln!("xtask: wrote the payload-index section of {}", doc.display());
    Ok(())
}

fn render(rows: &[Value], root: &Path) -> String {
    let mut md = format!(
        "## A payload index built on a live collection\n\n`cargo xtask bench-payload-index`: qdrant-client \
         creates a keyword index on `doc` (1 000 values) while 4 writers upsert batches of 64; 200 queries, \
         each with its own `doc` filter (0.1 % of the points), top 10, 1 client; release binary, `file://` \
         storage. Checked in the run: the filtered answers before, during and after the build are equal, and \
         every acknowledged write is counted, by the index too. commit {}.\n\n\
         | dataset | points | build s | acknowledged writes (from 1 s before the build to 1 s after) | QPS without | QPS with | with / without | \
         QPS without, after drop |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
        crate::bench::git_commit(root)
    );
    for row in rows {
        let number = |key: &str| row[key].as_f64().unwrap_or(f64::NAN);
        md.push_str(&format!(
            "| {} | {} | {:.2} | {} | {:.0} | {:.0} | {:.1} | {:.0} |\n",
            row["dataset"].as_str().unwrap_or("?"),
            number("points"),
            number("build_seconds"),
            number("written_during_build"),
            number("qps_without"),
            number("qps_with"),
            number("qps_with") / number("qps_without"),
            number("qps_without_after_drop"),
        ));
    }
    md
}
