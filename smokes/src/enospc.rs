//! enospc: the real binary on a small tmpfs that fills up. Writes then answer
//! 507 `storage_full` and change nothing, reads go on, writes work again once
//! space is freed, and a restart finds exactly the acknowledged writes.
//! `cargo xtask faults` mounts the tmpfs and runs this.

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Steps, Vectord, expect};

const DIM: usize = 64;
const BATCH: usize = 200;

fn batch(b: usize) -> Value {
    let items: Vec<Value> = (0..BATCH)
        .map(|i| {
            let n = b * BATCH + i;
            let vector: Vec<f32> = (0..DIM).map(|c| ((n * 31 + c * 7) % 101) as f32 + 1.0).collect();
            json!({ "id": format!("id-{n}"), "vector": vector, "metadata": { "pad": "x".repeat(200) } })
        })
        .collect();
    json!({ "items": items })
}

/// `mount` is the tmpfs; `ballast` a file in it whose removal frees space.
pub async fn run(binary: &Path, mount: &Path, ballast: &Path) -> Result<(), String> {
    let mut steps = Steps::default();
    let url = format!("file://{}", mount.join("data").display());
    let mut server = Vectord::start_with(binary, &url, &["--snapshot-log-bytes", "100000000"]).await?;
    let create = json!({ "name": "full", "dim": DIM, "distance": "l2" });
    server.call(Method::POST, "/v1/vectors/index", Some(&create)).await?;
    let mut acknowledged = 0;
    let mut refused = None;
    for b in 0..10_000 {
        let (status, body) = server.call(Method::POST, "/v1/vectors/index/full/add", Some(&batch(b))).await?;
        if status == StatusCode::OK {
            acknowledged += 1;
        } else {
            refused = Some((b, status, body));
            break;
        }
    }
    let Some((failed_batch, status, body)) = refused else { return Err("the tmpfs never filled up".into()) };
    steps.check(
        &format!("the disk fills after {acknowledged} batches: 507 storage_full"),
        expect("status", status, StatusCode::INSUFFICIENT_STORAGE).and(expect(
            "code",
            &body["error"]["code"],
            &json!("storage_full"),
        )),
    );
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/full", None).await?;
    steps.check("the refused batch changed nothing", expect("count", &info["count"], &json!(acknowledged * BATCH)));
    let query = json!({ "vector": vec![1.0; DIM], "k": 3 });
    let (status, _) = server.call(Method::POST, "/v1/vectors/index/full/search", Some(&query)).await?;
    let (got, _) = server.call(Method::GET, "/v1/vectors/index/full/items/id-0", None).await?;
    steps.check(
        "reads go on while the disk is full",
        expect("search", status, StatusCode::OK).and(expect("get", got, StatusCode::OK)),
    );

    std::fs::remove_file(ballast).map_err(|e| format!("cannot remove the ballast: {e}"))?;
    let (status, _) = server.call(Method::POST, "/v1/vectors/index/full/add", Some(&batch(failed_batch))).await?;
    steps.check("writes work again once space is freed", expect("status", status, StatusCode::OK));
    acknowledged += 1;

    server.kill_and_restart().await?;
    let (_, info) = server.call(Method::GET, "/v1/vectors/index/full", None).await?;
    steps.check(
        "after kill -9 and restart: exactly the acknowledged batches",
        expect("count", &info["count"], &json!(acknowledged * BATCH)),
    );
    server.kill();
    steps.finish("enospc")
}
