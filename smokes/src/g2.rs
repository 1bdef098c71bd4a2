//! g2: real data. MiniLM (50k x 384) in through HTTP in batches of 1 000, its
//! 1 000 queries in one batch search, recall@10 >= 0.95.

use std::path::Path;
use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Steps, Vectord, expect};

const BATCH: usize = 1000;
const K: usize = 10;
const MIN_RECALL: f64 = 0.95;

/// fvecs/ivecs: per record a little-endian i32 dimension, then the values.
fn read_vecs(path: &Path) -> Result<Vec<Vec<[u8; 4]>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut records = Vec::new();
    let mut rest = bytes.as_slice();
    while let Some((head, tail)) = rest.split_first_chunk::<4>() {
        let dim = usize::try_from(i32::from_le_bytes(*head)).map_err(|_| "negative dimension")?;
        let body = tail.get(..4 * dim).ok_or("truncated record")?;
        records.push(body.as_chunks::<4>().0.to_vec());
        rest = &tail[4 * dim..];
    }
    Ok(records)
}

pub async fn run(binary: &Path, data: &Path, dataset: &Path) -> Result<(), String> {
    let floats = |path: &Path| -> Result<Vec<Vec<f32>>, String> {
        Ok(read_vecs(path)?.into_iter().map(|r| r.into_iter().map(f32::from_le_bytes).collect()).collect())
    };
    let base = floats(&dataset.join("base.fvecs"))?;
    let queries = floats(&dataset.join("query.fvecs"))?;
    let truth: Vec<Vec<i32>> = read_vecs(&dataset.join("groundtruth.ivecs"))?
        .into_iter()
        .map(|r| r.into_iter().map(i32::from_le_bytes).collect())
        .collect();
    let dim = base.first().map_or(0, Vec::len);

    let server = Vectord::start(binary, data).await?;
    let mut steps = Steps::default();
    let create = json!({ "name": "minilm", "dim": dim, "distance": "cosine" });
    let (status, _) = server.call(Method::POST, "/v1/vectors/index", Some(&create)).await?;
    steps.check("create index", expect("status", status, StatusCode::CREATED));

    let started = Instant::now();
    let mut ingest = Ok(());
    for (b, chunk) in base.chunks(BATCH).enumerate() {
        let items: Vec<Value> =
            chunk.iter().enumerate().map(|(i, v)| json!({ "id": (b * BATCH + i).to_string(), "vector": v })).collect();
        let (status, body) =
            server.call(Method::POST, "/v1/vectors/index/minilm/add", Some(&json!({ "items": items }))).await?;
        if status != StatusCode::OK {
            ingest = Err(format!("batch {b}: {status} {body}"));
            break;
        }
    }
    let ingest_rate = base.len() as f64 / started.elapsed().as_secs_f64();
    steps.check(&format!("ingest {} vectors ({ingest_rate:.0} vectors/s, durable)", base.len()), ingest);

    let request = json!({ "vectors": queries, "k": K, "ef": 64 });
    let started = Instant::now();
    let (status, body) = server.call(Method::POST, "/v1/vectors/index/minilm/search/batch", Some(&request)).await?;
    let qps = queries.len() as f64 / started.elapsed().as_secs_f64();
    let results = body["results"].as_array().cloned().unwrap_or_default();
    let mut hits = 0usize;
    for (answer, exact) in results.iter().zip(&truth) {
        let exact: Vec<String> = exact.iter().take(K).map(i32::to_string).collect();
        let found = answer.as_array().map(Vec::as_slice).unwrap_or_default();
        hits += found.iter().filter(|h| h["id"].as_str().is_some_and(|id| exact.iter().any(|e| e == id))).count();
    }
    let recall = hits as f64 / (K * queries.len().max(1)) as f64;
    steps.check(
        &format!("batch search of {} queries ({qps:.0} QPS): recall@10 {recall:.4} >= {MIN_RECALL}", queries.len()),
        expect("status", status, StatusCode::OK)
            .and(expect("answers", results.len(), queries.len()))
            .and(if recall >= MIN_RECALL { Ok(()) } else { Err(format!("recall {recall:.4}")) }),
    );
    println!("g2: ingest {ingest_rate:.0} vectors/s, batch search {qps:.0} QPS, recall@10 {recall:.4}");
    steps.finish("g2")
}
