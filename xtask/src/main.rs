//! Developer tasks, run as `cargo xtask <task>`:
//!
//! - `ci`: formatting check, clippy with warnings denied, the whole test suite
//!   (optimised, with debug assertions) against real S3 and WebDAV servers that
//!   it installs and starts, the smokes and scenarios below, and the
//!   documentation build; randomized checks take their seed from
//!   `VECTORD_TEST_SEED` (fixed by default, printed), each step's time is printed.
//! - `bench-payload-index`: a payload index built through qdrant-client on a
//!   live collection of each dataset under 4 writers: build time, no write
//!   lost, answers unchanged, filtered QPS with and without it.
//! - `bench-filter`: filtered search on MiniLM at 50/10/1/0.1 % selectivity
//!   (recall@10, QPS, with and without a field index) into docs/BENCHMARKS.md.
//! - `bench-hybrid [--quick] [--url URL]`: sparse (BM25, server-side IDF), dense
//!   and RRF-fused queries over the Qdrant API on MiniLM and its texts
//!   (`xtask/bench_hybrid.py`): QPS and p50/p99 from 1 and 8 clients, sparse
//!   answers checked against a brute force, dense recall@10, memory per point;
//!   against the release binary, or the server at `--url`; into docs/BENCHMARKS.md.
//! - `bench-disk [--vectors N | --store DIR --index NAME] [--rounds R] [--baseline BIN]`:
//!   cold and warm restarts of N random 384-d vectors (or of an index of an
//!   existing store) against a sequential read of the snapshot, peak and
//!   steady RSS, into docs/BENCHMARKS.md.
//! - `bench-disk --capped [--vectors N] [--cap-mib M]`: an on-disk index of N
//!   rows grown from MiniLM served under a cgroup memory cap, against the same
//!   rows in memory: recall@10, QPS from 1 and 8 clients, major faults per
//!   query, build and ingest rates, into docs/BENCHMARKS.md.
//! - `bench-storage`: lhv-core with f32, f16 and int8 storage next to hnswlib and svs-lvq
//!   (recall@10, QPS, memory at recall 0.95) into docs/BENCHMARKS.md.
//! - `bench-shards [--quick]`: vectord over HTTP with indexes of 1, 2 and 4 shards
//!   (`shared/bench/http_bench.py`): ingest and search, into docs/BENCHMARKS.md.
//! - `bench-http`: vectord and the Chroma server over HTTP (`shared/bench/http_bench.py`),
//!   into the HTTP section of docs/BENCHMARKS.md.
//! - `crash [--cycles N] [--storage file|s3]`: SIGKILL the release binary under
//!   concurrent writes and check everything acknowledged (ci: 30 cycles on
//!   file, 10 on S3).
//! - `cluster [--quick]`: vectord processes coordinated by a real etcd over one
//!   bucket of a real S3 server: capacity beyond one member's budget, failover
//!   under SIGKILL, fencing of paused writers, the create/drop race replays,
//!   rebalancing when a member joins, the object-store cost (ci: quick).
//! - `load [--seconds S] [--clients C] [--churn-seconds S]`: mixed HTTP traffic with
//!   percentiles per route and RSS, then churn (ci: 20 s, 8 clients, 60 s churn).
//! - `faults`: the service on a real tmpfs that fills up (507, reads go on,
//!   recovery once space is freed); mounts directly as root, else in a user
//!   namespace (ci: runs where either works, else says SKIPPED).
//! - `api-fuzz [--max-time S]`: schemathesis requests generated from
//!   docs/openapi.json against the binary: no 5xx, every answer as specified
//!   (seeded by `VECTORD_TEST_SEED`; `--max-time` for long runs).
//! - `qdrant-clients`: the official Qdrant Python client and the Qdrant
//!   integrations of LangChain, LlamaIndex, Haystack and mem0 run their suites
//!   (`smokes/qdrant`) against the binary (also in `ci`).
//! - `smoke g1|g1p|g2|all`: the end-to-end scenarios of `smokes/` against the
//!   release binary (also part of `ci`).
//! - `bench [--quick] [DATASET_DIR ...]`: lhv-core against hnswlib, faiss, SVS
//!   and instant-distance on each dataset (default `shared/data/minilm-dev` and
//!   `pydoc-dev`), written to docs/BENCHMARKS.md.

mod api_fuzz;
mod bench;
mod bench_capped;
mod bench_disk;
mod bench_filter;
mod bench_http;
mod bench_hybrid;
mod bench_insert;
mod bench_payload_index;
mod bench_report;
mod bench_shards;
mod bench_storage;
mod capped_data;
mod ci;
mod cluster;
mod crash;
mod doc_sections;
mod faults;
mod load;
mod memory_cap;
mod qdrant_clients;
mod search_load;
mod servers;
mod service;
mod smoke;
mod system;
mod vector_files;
mod venv;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["ci"] => ci::ci(&workspace_root()),
        ["bench", rest @ ..] => bench::bench(&workspace_root(), rest),
        ["bench-http"] => bench_http::bench_http(&workspace_root()),
        ["bench-shards", rest @ ..] => bench_shards::bench_shards(&workspace_root(), rest),
        ["bench-filter"] => bench_filter::bench_filter(&workspace_root()),
        ["bench-payload-index"] => bench_payload_index::bench_payload_index(&workspace_root()),
        ["bench-hybrid", rest @ ..] => bench_hybrid::bench_hybrid(&workspace_root(), rest),
        ["bench-storage"] => bench_storage::bench_storage(&workspace_root()),
        ["bench-disk", rest @ ..] if rest.contains(&"--capped") => bench_capped::bench_capped(&workspace_root(), rest),
        ["bench-disk", rest @ ..] => bench_disk::bench_disk(&workspace_root(), rest),
        ["crash", rest @ ..] => crash::crash(&workspace_root(), rest),
        ["cluster", rest @ ..] => cluster::cluster(&workspace_root(), rest),
        ["load", rest @ ..] => load::load(&workspace_root(), rest),
        ["faults", rest @ ..] => faults::faults(&workspace_root(), rest),
        ["api-fuzz", rest @ ..] => api_fuzz::api_fuzz_command(&workspace_root(), rest),
        ["qdrant-clients"] => qdrant_clients::qdrant_clients(&workspace_root()),
        ["smoke", which] => smoke::smoke(&workspace_root(), which),
        _ => Err(
            "usage: cargo xtask ci | bench [--quick] [DATASET_DIR ...] | bench-http | bench-shards [--quick] | bench-filter | bench-payload-index | bench-hybrid [--quick] [--url URL] | bench-storage | bench-disk [--vectors N | --store DIR --index NAME] [--rounds R] [--baseline BIN] | bench-disk --capped [--vectors N] [--cap-mib M] | smoke g1|g1p|g2|all | crash [--cycles N] [--storage file|s3] | cluster [--quick] [--only SCENARIO,...] | load [--seconds S] [--clients C] [--churn-seconds S] | faults | api-fuzz [--max-time S] | qdrant-clients"
                .to_owned(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Builds `vectord` and `smokes` for the end-to-end checks. The `ci` profile
/// (optimised, with debug assertions and overflow checks) catches more than
/// release. The whole workspace with its tests is one build: dependencies get
/// the same features as under `cargo test --workspace --profile ci`, so the
/// test suite, the smokes and the scenarios share one compilation of each
/// crate instead of rebuilding the service with other features.
fn build_service_binaries() -> Result<(), String> {
    cargo(&["build", "--profile", "ci", "--workspace", "--all-features", "--bins", "--tests", "--examples"], &[])
}

/// Where [`build_service_binaries`] puts them.
fn service_binaries_dir(root: &std::path::Path) -> PathBuf {
    root.join("target").join("ci")
}

/// The workspace root: xtask's manifest directory is one level below it.
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map_or(manifest.clone(), PathBuf::from)
}

fn cargo(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.args(args).envs(env.iter().copied());
    run(&mut command)
}

/// Runs a command to completion; an error unless it exits with success.
fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    eprintln!("xtask: {shown}");
    let status = command.status().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{shown} failed: {status}")) }
}
