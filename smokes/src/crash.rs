//! crash: concurrent writers (upserts and deletes over overlapping ids in
//! several indexes, batches of 1 to 1 000) and searchers against the real
//! binary, killed with SIGKILL at random moments (snapshots are frequent, so
//! kills land in them too), restarted, and checked: every acknowledged write
//! is reflected exactly, every unacknowledged batch is applied whole or not at
//! all, and search works.
//!
//! Each writer owns its ids (`w<writer>-<n>`), so the writes to one id are
//! ordered and the last acknowledged one must win.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::harness::{Endpoint, Rng, Steps, Vectord, expect};

const INDEXES: [&str; 3] = ["alpha", "beta.v2", "gamma"];
const WRITERS: usize = 4;
const IDS_PER_WRITER: usize = 1000;
const DIM: usize = 8;

/// The state of one id: its metadata `{"w", "op"}` when present, or `None`.
type State = Option<Value>;

/// A write that was sent: per id, the state it sets.
#[derive(Debug, Clone)]
struct Batch {
    index: &'static str,
    changes: Vec<(String, State)>,
}

#[derive(Debug, Default)]
struct Model {
    /// (index, id) -> last acknowledged state.
    acked: BTreeMap<(String, String), State>,
    /// Per writer: its write in flight (still there if the process died first).
    pending: BTreeMap<usize, Batch>,
    verified: usize,
}

fn item(id: &str, writer: usize, op: u64) -> Value {
    let vector: Vec<f32> = (0..DIM).map(|c| if c == 0 { op as f32 } else { (writer * 10 + c) as f32 }).collect();
    json!({ "id": id, "vector": vector, "metadata": { "w": writer, "op": op } })
}

async fn writer(server: Endpoint, model: Arc<Mutex<Model>>, writer: usize, seed: u64, first_op: u64) {
    let mut rng = Rng::new(seed);
    let mut op = first_op;
    loop {
        let index = INDEXES[rng.below(INDEXES.len())];
        let largest = if rng.below(4) == 0 { 1000 } else { 50 };
        let size = 1 + rng.below(largest);
        let start = rng.below(IDS_PER_WRITER);
        let ids: Vec<String> = (0..size).map(|i| format!("w{writer}-{}", (start + i) % IDS_PER_WRITER)).collect();
        let delete = rng.below(4) == 0;
        let (path, body, changes) = if delete {
            let changes = ids.iter().map(|id| (id.clone(), None)).collect();
            (format!("/v1/vectors/index/{index}/items/{}", ids[0]), None, changes)
        } else {
            op += 1;
            let items: Vec<Value> = ids.iter().map(|id| item(id, writer, op)).collect();
            let changes = ids.iter().map(|id| (id.clone(), Some(json!({ "w": writer, "op": op })))).collect();
            (format!("/v1/vectors/index/{index}/add"), Some(json!({ "items": items })), changes)
        };
        // A delete goes one id at a time through the item route.
        let batch =
            if delete { Batch { index, changes: vec![(ids[0].clone(), None)] } } else { Batch { index, changes } };
        model.lock().await.pending.insert(writer, batch);
        let method = if delete { Method::DELETE } else { Method::POST };
        let answer = server.call(method, &path, body.as_ref()).await;
        let mut model = model.lock().await;
        match answer {
            Ok((StatusCode::OK, _)) | Ok((StatusCode::NOT_FOUND, _)) if delete => acknowledge(&mut model, writer),
            Ok((StatusCode::OK, _)) => acknowledge(&mut model, writer),
            // The process died (or the request failed): the batch stays pending.
            _ => return,
        }
    }
}

fn acknowledge(model: &mut Model, writer: usize) {
    let Some(batch) = model.pending.remove(&writer) else { return };
    for (id, state) in batch.changes {
        model.acked.insert((batch.index.to_owned(), id), state);
    }
}

/// Everything in the server, by (index, id) -> metadata.
async fn snapshot_of(server: &Vectord) -> Result<BTreeMap<(String, String), Value>, String> {
    let mut found = BTreeMap::new();
    for index in INDEXES {
        for (id, metadata) in server.endpoint.items_in(index).await? {
            found.insert((index.to_owned(), id), metadata);
        }
    }
    Ok(found)
}

/// Checks the server against the model, then folds the pending batches in as they turned out.
async fn verify(server: &Vectord, model: &mut Model) -> Result<(), String> {
    let actual = snapshot_of(server).await?;
    let state_of = |key: &(String, String)| actual.get(key).cloned();
    // Pending batches: whole or nothing; later pending writes of the same id are
    // from the same writer, which had only one in flight.
    let pending = std::mem::take(&mut model.pending);
    let mut expected = model.acked.clone();
    for batch in pending.values() {
        let applied: Vec<bool> =
            batch.changes.iter().map(|(id, state)| state_of(&(batch.index.to_owned(), id.clone())) == *state).collect();
        let old_matches: Vec<bool> = batch
            .changes
            .iter()
            .map(|(id, _)| {
                let key = (batch.index.to_owned(), id.clone());
                state_of(&key) == model.acked.get(&key).cloned().flatten()
            })
            .collect();
        let all_new = applied.iter().all(|&a| a);
        if !all_new && !old_matches.iter().all(|&o| o) {
            return Err(format!(
                "an unacknowledged batch of {} ids in {} is half-applied",
                batch.changes.len(),
                batch.index
            ));
        }
        if all_new {
            for (id, state) in &batch.changes {
                expected.insert((batch.index.to_owned(), id.clone()), state.clone());
            }
        }
    }
    for (key, state) in &expected {
        if state_of(key) != *state {
            return Err(format!(
                "{}/{}: expected {:?}, found {:?} (acknowledged write lost)",
                key.0,
                key.1,
                state,
                state_of(key)
            ));
        }
    }
    for key in actual.keys() {
        if !expected.contains_key(key) {
            return Err(format!("{}/{}: present but never acknowledged or pending", key.0, key.1));
        }
    }
    model.verified += expected.len();
    model.acked = expected.into_iter().filter(|(_, s)| s.is_some()).collect();
    Ok(())
}

pub async fn run(binary: &Path, storage_url: &str, cycles: usize, seed: u64) -> Result<(), String> {
    println!("crash scenario, seed {seed}, {cycles} cycles on {storage_url}");
    let mut steps = Steps::default();
    let mut rng = Rng::new(seed);
    let model = Arc::new(Mutex::new(Model::default()));
    // Over object storage, snapshots are also copied to a local cache (mapped,
    // as on local disk), which SIGKILL can interrupt mid-copy too.
    let cache = std::env::temp_dir().join(format!("vectord-crash-cache-{}", std::process::id()));
    let cache_arg = cache.display().to_string();
    let mut extra = vec!["--snapshot-log-bytes", "300000"];
    if !storage_url.starts_with("file:") {
        extra.extend(["--cache-dir", cache_arg.as_str()]);
    }
    let mut acknowledged_total = 0usize;
    for cycle in 0..cycles {
        let mut server = Vectord::start_with(binary, storage_url, &extra).await?;
        if cycle == 0 {
            for index in INDEXES {
                // gamma keeps its exact vectors on disk: read in place from its snapshot after each restart.
                let on_disk = index == "gamma";
                let body = json!({ "name": index, "dim": DIM, "distance": "l2", "m": 8, "ef_construction": 32, "on_disk": on_disk });
                server.call(Method::POST, "/v1/vectors/index", Some(&body)).await?;
            }
        }
        let verified = verify(&server, &mut *model.lock().await).await;
        let failed = verified.is_err();
        steps.check(&format!("cycle {cycle}: every acknowledged write is there, nothing half-applied"), verified);
        if failed {
            break;
        }
        let (status, _) = server
            .call(Method::POST, "/v1/vectors/index/alpha/search", Some(&json!({ "vector": vec![1.0; DIM], "k": 5 })))
            .await?;
        steps
            .check(&format!("cycle {cycle}: search works after the restart"), expect("status", status, StatusCode::OK));

        let before = model.lock().await.acked.len();
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                let first_op = (cycle as u64 + 1) * 1_000_000;
                tokio::spawn(writer(server.endpoint.clone(), Arc::clone(&model), w, rng.next(), first_op))
            })
            .collect();
        let searcher = {
            let server = server.endpoint.clone();
            tokio::spawn(async move {
                loop {
                    let body = json!({ "vector": vec![2.0; DIM], "k": 10, "ef": 32 });
                    if server.call(Method::POST, "/v1/vectors/index/gamma/search", Some(&body)).await.is_err() {
                        return;
                    }
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(100 + rng.below(900) as u64)).await;
        // SIGKILL; the writers see their connections fail and stop.
        server.kill();
        for task in tasks {
            let _ = task.await;
        }
        searcher.abort();
        acknowledged_total += model.lock().await.acked.len().saturating_sub(before);
    }
    let model = model.lock().await;
    println!(
        "crash: {cycles} cycles, {} id states verified, growth of acknowledged ids {acknowledged_total}, 0 lost",
        model.verified
    );
    drop(model);
    let _ = std::fs::remove_dir_all(&cache);
    steps.finish("crash")
}
