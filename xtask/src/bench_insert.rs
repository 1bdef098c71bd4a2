//! The batch-insert comparison of `cargo xtask bench`: 1024 vectors upserted into
//! an existing 10 000-vector index on 2 threads, lhv-core
//! (`crates/lhv-core/examples/insert_into_existing.rs`) against hnswlib
//! (`hnswlib_insert.py`), alternating so that machine noise hits both alike.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The hnswlib side, run with `python3 -c`.
const HNSWLIB_SCRIPT: &str = include_str!("hnswlib_insert.py");
/// Fresh indexes per program call, and alternating calls per program.
const REPEATS: &str = "3";
const ROUNDS: usize = 2;

/// Measures both on random d=768 vectors (the shape the performance issue
/// names) and on each dataset directory (fvecs); returns the Markdown section.
pub(crate) fn insert_section(examples: &Path, datasets: &[String]) -> Result<String, String> {
    let sources: Vec<String> = std::iter::once("random:768".to_owned()).chain(datasets.iter().cloned()).collect();
    let mut md = String::from(
        "\n## Batch insert into an existing index\n\n\
         One upsert of 1024 vectors into an index of 10 000 (M=16, ef_construction=200) on 2 threads, \
         on fresh indexes: `crates/lhv-core/examples/insert_into_existing.rs` against `xtask/src/hnswlib_insert.py` \
         (hnswlib `add_items`, `num_threads=2`). Best of the repetitions.\n\n\
         | vectors | lhv-core vectors/s | hnswlib vectors/s | lhv-core / hnswlib |\n|---|---:|---:|---:|\n",
    );
    for source in &sources {
        let (mut ours, mut theirs) = (0.0_f64, 0.0_f64);
        for _ in 0..ROUNDS {
            let mut lhv = Command::new(examples.join("insert_into_existing"));
            lhv.args([source.as_str(), REPEATS]);
            ours = ours.max(best_rate(&mut lhv)?);
            let mut hnswlib = Command::new("python3");
            hnswlib.args(["-c", HNSWLIB_SCRIPT, source.as_str(), REPEATS]);
            theirs = theirs.max(best_rate(&mut hnswlib)?);
        }
        // A dataset by its directory's name (a converted one sits under target/).
        let label = std::path::Path::new(source).file_name().map_or(source.clone(), |n| n.to_string_lossy().into());
        md.push_str(&format!("| {label} | {ours:.0} | {theirs:.0} | {:.2}x |\n", ours / theirs));
    }
    Ok(md)
}

/// Runs a program that prints `{"vectors_per_s": [...]}` and returns the best rate.
fn best_rate(command: &mut Command) -> Result<f64, String> {
    eprintln!("xtask: {:?}", command.get_program());
    let output = command.output().map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    if !output.status.success() {
        return Err(format!("{:?} failed: {}", command.get_program(), String::from_utf8_lossy(&output.stderr)));
    }
    let json: Value = serde_json::from_slice(&output.stdout).map_err(|e| format!("insert benchmark output: {e}"))?;
    let rates = json["vectors_per_s"].as_array().ok_or("insert benchmark output has no vectors_per_s")?;
    Ok(rates.iter().filter_map(Value::as_f64).fold(0.0, f64::max))
}
