//! `cargo xtask bench-filter`: the `filtered_search` example of lhv-core on
//! MiniLM (recall@10 and QPS per selectivity, with and without a field
//! index), written into its section of docs/BENCHMARKS.md.

use std::path::Path;
use std::process::Command;

use crate::cargo;

pub(crate) fn bench_filter(root: &Path) -> Result<(), String> {
    let shared = root.join("..").join("shared");
    let data = std::env::var_os("LHV_DATASET_DIR").map_or_else(|| shared.join("data").join("minilm-dev"), Into::into);
    cargo(&["build", "--release", "-p", "lhv-core", "--example", "filtered_search"], &[])?;
    let mut command = Command::new(root.join("target").join("release").join("examples").join("filtered_search"));
    command.arg(&data);
    eprintln!("xtask: {command:?}");
    let output = command.output().map_err(|e| format!("cannot run filtered_search: {e}"))?;
    if !output.status.success() {
        return Err(format!("filtered_search failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let body =
        format!("{}\ncommit {}.\n", String::from_utf8_lossy(&output.stdout).trim_end(), crate::bench::git_commit(root));
    let doc = root.join("docs").join("BENCHMARKS.md");
    crate::doc_sections::write(&doc, &crate::doc_sections::FILTER, &body)?;
    eprintln!("xtask: wrote the filtered-search section of {}", doc.display());
    Ok(())
}
