//! `cargo xtask bench-hybrid [--quick] [--url URL]`: hybrid search over the
//! Qdrant REST API (`xtask/bench_hybrid.py`): one collection of MiniLM with a
//! named dense vector and a BM25 sparse vector (`modifier: "idf"`) made from
//! the texts the vectors were embedded from; QPS and latency of sparse-only,
//! dense-only and RRF-fused queries from 1 and 8 clients, the sparse answers
//! checked against a brute force, dense recall@10, and memory per point;
//! written into its section of docs/BENCHMARKS.md.
//!
//! Without `--url` it builds and starts the release binary with `file://`
//! storage; with `--url` it measures the server already running there (the
//! process listening on that port is found through /proc for its memory).

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::cargo;
use crate::qdrant_clients::{PACKAGES, VENV};
use crate::service::Service;

const USAGE: &str = "usage: cargo xtask bench-hybrid [--quick] [--url URL]";

pub(crate) fn bench_hybrid(root: &Path, args: &[&str]) -> Result<(), String> {
    let (mut quick, mut url) = (false, None);
    let mut rest = args.iter();
    while let Some(&arg) = rest.next() {
        match arg {
            "--quick" => quick = true,
            "--url" => url = Some((*rest.next().ok_or(USAGE)?).to_owned()),
            _ => return Err(USAGE.into()),
        }
    }
    let data = std::env::var_os("LHV_DATASET_DIR")
        .map_or_else(|| root.join("..").join("shared").join("data").join("minilm-dev"), Into::into);
    let python = crate::venv::venv(root, VENV, PACKAGES)?.join("bin").join("python");
    let out = root.join("target").join("bench");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let service = match url {
        Some(_) => None,
        None => {
            cargo(&["build", "--release", "-p", "vectord"], &[])?;
            let storage = out.join("hybrid-data");
            let _ = std::fs::remove_dir_all(&storage);
            let storage = format!("file://{}", storage.display());
            let binary = root.join("target").join("release").join("vectord");
            Some(Service::spawn(root, &binary, "bench-hybrid-vectord.log", &["--storage-url", &storage])?)
        }
    };
    let url = url.or_else(|| service.as_ref().map(Service::url)).unwrap_or_default();
    let json = out.join("hybrid.json");
    let mut command = Command::new(python);
    command
        .arg(root.join("xtask").join("bench_hybrid.py"))
        .args(["--url", &url])
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&json)
        .args(if quick {
            &["--n-base", "5000", "--n-queries", "100", "--seconds", "5"][..]
        } else {
            &["--seconds", "10"][..]
        });
    if let Some(service) = &service {
        command.args(["--server-pid", &service.pid().to_string()]);
    }
    eprintln!("xtask: {command:?}");
    let output = command.stderr(Stdio::inherit()).output().map_err(|e| format!("cannot run bench_hybrid.py: {e}"))?;
    if !output.status.success() {
        return Err(format!("bench_hybrid.py failed ({})", output.status));
    }
    let text = std::fs::read_to_string(&json).map_err(|e| format!("{}: {e}", json.display()))?;
    let result: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json.display()))?;
    let server = match &service {
        Some(_) => format!("the release binary (`file://` storage), commit {}", crate::bench::git_commit(root)),
        None => format!(
            "the server at {url} (`GET /`: {} {}), measured by xtask at commit {}",
            result["server"]["title"].as_str().unwrap_or("?"),
            result["server"]["version"].as_str().unwrap_or("?"),
            crate::bench::git_commit(root)
        ),
    };
    let failed = result["checks"]["failure_count"].as_u64().unwrap_or(0);
    if failed > 0 {
        eprintln!("xtask: {failed} answers failed their check (the first are in {})", json.display());
    }
    let invoked = format!(
        "cargo xtask bench-hybrid{}{}",
        if quick { " --quick" } else { "" },
        if service.is_none() { format!(" --url {url}") } else { String::new() }
    );
    let section = render(&result, &server, &invoked);
    println!("{section}");
    let doc = root.join("docs").join("BENCHMARKS.md");
    crate::doc_sections::write(&doc, &crate::doc_sections::HYBRID, &section)?;
    eprintln!("xtask: wrote the hybrid section of {}", doc.display());
    Ok(())
}

/// A memory figure as bytes per point, or a dash.
fn per_point(bytes: Option<f64>, points: f64) -> String {
    bytes.map_or_else(|| "-".to_owned(), |b| format!("{:.0}", b / points))
}

fn render(result: &Value, server: &str, invoked: &str) -> String {
    let number = |value: &Value| value.as_f64().unwrap_or(f64::NAN);
    let points = number(&result["points"]);
    let queries = result["queries"].as_u64().unwrap_or(0);
    let checks = &result["checks"];
    let bm25 = &result["bm25"];
    let mut md = format!(
        "## Hybrid search over the Qdrant API: BM25, dense and RRF\n\n\
         `{invoked}` (`xtask/bench_hybrid.py`; `--quick`: 5 000 points, 100 queries; \
         `--url URL`: a server already running). One collection: `dense` (384, Cosine) and `bm25` \
         (sparse, `modifier: \"idf\"`), loaded over HTTP in batches of {}: {}. BM25: each text lowercased, \
         split on everything but ASCII letters and digits, each term's index the CRC-32 of its bytes; a \
         document sends BM25's saturated term frequency (k1 {}, b {}, mean length {} tokens, {} distinct \
         terms per document on average), a query 1.0 per distinct term (from the query's own text, the \
         string its vector was embedded from), the server multiplies by IDF. Queries through \
         `POST /collections/{{name}}/points/query`, top 10: sparse (`using: \"bm25\"`), dense (`using: \
         \"dense\"`), fused (`prefetch` of both with limit 50, `query: {{\"fusion\": \"rrf\"}}`). Each \
         kind timed for {} s per client count, the queries in turn, one keep-alive connection per client \
         thread; client and server share the machine's cores.\n\n\
         - date: {}\n- machine: {} ({} threads)\n- server: {server}\n- data: {} ({} points, {} queries)\n\n",
        result["batch"],
        result["load"].as_str().unwrap_or("?"),
        bm25["k1"],
        bm25["b"],
        bm25["avgdl"],
        bm25["nnz_mean"],
        result["runs"][0]["seconds"].as_f64().map_or_else(|| "?".to_owned(), |s| format!("{s:.0}")),
        result["date"].as_str().unwrap_or("?"),
        crate::bench::cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        result["data"].as_str().unwrap_or("?"),
        result["points"],
        queries,
    );
    md.push_str(&format!(
        "Checked before the timed runs, every query once: the sparse top 10 against a brute force with Qdrant's \
         IDF ln((N - n + 0.5) / (n + 0.5) + 1) (the same ids, ties in any order, scores within 1e-4 relative): \
         {}/{queries} queries; dense recall@10 against {}: {:.4}; the fused top 10 against Qdrant's RRF \
         (1 / (2 + rank), rank from 0) of the server's own sparse and dense top 50: {}/{queries} queries.\n\n",
        checks["sparse_exact_count"],
        result["groundtruth"].as_str().unwrap_or("?"),
        number(&checks["dense_recall_at_10"]),
        checks["fused_matches_rrf_count"],
    ));
    md.push_str(
        "| query | clients | QPS | p50 ms | p99 ms | requests | checked |\n|---|---:|---:|---:|---:|---:|---|\n",
    );
    let runs = result["runs"].as_array().map(Vec::as_slice).unwrap_or_default();
    for run in runs {
        let (label, checked) = match run["kind"].as_str().unwrap_or("?") {
            "sparse" => ("sparse `bm25`", format!("exact {}/{queries}", checks["sparse_exact_count"])),
            "dense" => ("dense `dense`", format!("recall@10 {:.4}", number(&checks["dense_recall_at_10"]))),
            _ => ("fused: RRF of both top 50", format!("= RRF {}/{queries}", checks["fused_matches_rrf_count"])),
        };
        md.push_str(&format!(
            "| {label} | {} | {:.0} | {:.2} | {:.2} | {} | {checked} |\n",
            run["clients"],
            number(&run["qps"]),
            number(&run["lat_ms"]["p50"]),
            number(&run["lat_ms"]["p99"]),
            run["requests"],
        ));
    }
    let memory = &result["memory"];
    let raw = &result["raw_bytes_per_point"];
    let delta = |after: &str, before: &str| -> Option<f64> { Some(memory[after].as_f64()? - memory[before].as_f64()?) };
    let single = memory.get("rss_after_both").is_some();
    let (dense, sparse, both) = if single {
        (None, None, delta("rss_after_both", "rss_before"))
    } else {
        (
            delta("rss_after_dense", "rss_before"),
            delta("rss_after_bm25", "rss_after_dense"),
            delta("rss_after_bm25", "rss_before"),
        )
    };
    let (server_dense, server_sparse, server_both) = if single {
        (None, None, delta("server_after_both", "server_before"))
    } else {
        (
            delta("server_after_dense", "server_before"),
            delta("server_after_bm25", "server_after_dense"),
            delta("server_after_bm25", "server_before"),
        )
    };
    md.push_str(&format!(
        "\nMemory per point ({} points): the server's own figure (vectord's `vectord_index_memory_bytes` \
         in `/metrics`; \"-\" where the server reports none), the growth of its resident set (VmRSS of its \
         process tree, 1 s after each loading pass; it includes allocator slack, and for a server written \
         in Python its objects), and the raw size of what was sent.\n\n\
         | part | raw bytes | server's figure, bytes | RSS growth, bytes |\n|---|---:|---:|---:|\n\
         | dense (384 x f32) | {} | {} | {} |\n\
         | bm25 (mean {} nnz x (u32 + f32)) | {:.0} | {} | {} |\n\
         | both | {:.0} | {} | {} |\n",
        result["points"],
        raw["dense"],
        per_point(server_dense, points),
        per_point(dense, points),
        bm25["nnz_mean"],
        number(&raw["bm25"]),
        per_point(server_sparse, points),
        per_point(sparse, points),
        number(&raw["dense"]) + number(&raw["bm25"]),
        per_point(server_both, points),
        per_point(both, points),
    ));
    let rates = &result["load_points_per_s"];
    let rate = |part: &str| rates[part].as_f64().map(|r| format!("{r:.0} points/s"));
    let loading = if single {
        format!("upsert of both vectors {}", rate("both").unwrap_or_default())
    } else {
        format!(
            "upsert with the dense vector {}, then the bm25 vectors through `PUT points/vectors` {}",
            rate("dense").unwrap_or_default(),
            rate("bm25").unwrap_or_default()
        )
    };
    md.push_str(&format!("\nLoading: {loading}.\n"));
    if checks["failure_count"].as_u64().unwrap_or(0) > 0 {
        md.push_str(&format!(
            "\nFailed checks ({}), the first: {}\n",
            checks["failure_count"],
            checks["failures"].as_array().and_then(|f| f.first()).map(Value::to_string).unwrap_or_default()
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::render;

    fn result(memory: serde_json::Value, load: serde_json::Value) -> serde_json::Value {
        json!({
            "date": "2026-12-04 00:00:00", "data": "/data/minilm-dev", "points": 1000, "queries": 10, "batch": 256,
            "load": "dense upsert, then bm25 update_vectors", "groundtruth": "groundtruth.ivecs",
            "bm25": {"k1": 1.2, "b": 0.75, "avgdl": 26.0, "nnz_mean": 20.5},
            "raw_bytes_per_point": {"dense": 1536, "bm25": 164.0},
            "memory": memory, "load_points_per_s": load,
            "checks": {"sparse_exact_count": 10, "dense_recall_at_10": 0.987, "fused_matches_rrf_count": 9,
                       "failure_count": 1, "failures": [{"query": 3, "kind": "fused", "why": "rank 2"}]},
            "runs": [
                {"kind": "sparse", "clients": 1, "qps": 100.4, "lat_ms": {"p50": 9.5, "p99": 12.0}, "requests": 1004,
                 "seconds": 10.0},
                {"kind": "fused", "clients": 8, "qps": 50.0, "lat_ms": {"p50": 150.0, "p99": 300.0}, "requests": 500,
                 "seconds": 10.0},
            ],
        })
    }

    #[test]
    fn phased_loading_gives_memory_per_part() {
        let memory = json!({"rss_before": 1_000_000, "server_before": 0, "rss_after_dense": 3_000_000,
                            "server_after_dense": 1_600_000, "rss_after_bm25": 3_500_000, "server_after_bm25": 1_800_000});
        let md =
            render(&result(memory, json!({"dense": 5000.0, "bm25": 9000.0})), "vectord", "cargo xtask bench-hybrid");
        assert!(md.contains("| sparse `bm25` | 1 | 100 | 9.50 | 12.00 | 1004 | exact 10/10 |"), "{md}");
        assert!(md.contains("| fused: RRF of both top 50 | 8 | 50 | 150.00 | 300.00 | 500 | = RRF 9/10 |"), "{md}");
        assert!(md.contains("| dense (384 x f32) | 1536 | 1600 | 2000 |"), "{md}");
        assert!(md.contains("| bm25 (mean 20.5 nnz x (u32 + f32)) | 164 | 200 | 500 |"), "{md}");
        assert!(md.contains("| both | 1700 | 1800 | 2500 |"), "{md}");
        assert!(md.contains("Failed checks (1)"), "{md}");
    }

    #[test]
    fn single_pass_loading_gives_only_the_whole() {
        let memory = json!({"rss_before": 1_000_000, "server_before": null, "rss_after_both": 3_000_000,
                            "server_after_both": null});
        let md = render(&result(memory, json!({"both": 4000.0})), "stand-in", "cargo xtask bench-hybrid");
        assert!(md.contains("| dense (384 x f32) | 1536 | - | - |"), "{md}");
        assert!(md.contains("| both | 1700 | - | 2000 |"), "{md}");
        assert!(md.contains("upsert of both vectors 4000 points/s"), "{md}");
    }
}
