//! `vectord import` and `vectord export`, run as the real binary, against a
//! storage directory and against a running server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::Command;

use crate::support::Server;
use lhv_store::{Catalog, CatalogOptions, open_url};
use reqwest::Method;
use serde_json::{Value, json};

fn vectord(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_vectord")).args(args).output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn vector(i: usize) -> Vec<f32> {
    vec![1.0 + i as f32, (i % 7) as f32, 0.5]
}

fn write_fvecs(path: &Path, rows: usize) {
    let mut bytes = Vec::new();
    for i in 0..rows {
        bytes.extend(3i32.to_le_bytes());
        vector(i).iter().for_each(|x| bytes.extend(x.to_le_bytes()));
    }
    std::fs::write(path, bytes).unwrap();
}

/// An npy file of `rows` vectors, as float64 (`<f8`) or float16 (`<f2`).
fn write_npy(path: &Path, rows: usize, descr: &str) {
    let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, 3), }}");
    let padded = format!("{header:<width$}\n", width = (10 + header.len() + 1).div_ceil(64) * 64 - 10 - 1);
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend(u16::try_from(padded.len()).unwrap().to_le_bytes());
    bytes.extend(padded.as_bytes());
    for x in (0..rows).flat_map(vector) {
        match descr {
            "<f8" => bytes.extend(f64::from(x).to_le_bytes()),
            _ => bytes.extend(half::f16::from_f32(x).to_le_bytes()),
        }
    }
    std::fs::write(path, bytes).unwrap();
}

fn write_jsonl(path: &Path, rows: usize) {
    let lines: Vec<String> = (0..rows)
        .map(|i| json!({ "id": format!("doc-{i}"), "vector": vector(i), "metadata": { "n": i } }).to_string())
        .collect();
    std::fs::write(path, lines.join("\n") + "\n\n").unwrap();
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    let mut rows: Vec<Value> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    rows.sort_by_key(|row| row["id"].as_str().unwrap().to_owned());
    rows
}

#[test]
fn import_and_export_through_a_storage_directory() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("data").display());
    let (fvecs, npy, jsonl) = (dir.path().join("a.fvecs"), dir.path().join("b.npy"), dir.path().join("c.jsonl"));
    write_fvecs(&fvecs, 250);
    write_npy(&npy, 40, "<f8");
    let halves = dir.path().join("h.npy");
    write_npy(&halves, 25, "<f2");
    write_jsonl(&jsonl, 30);

    let (ok, stderr) = vectord(&[
        "import",
        "--storage-url",
        &url,
        "--index",
        "vecs",
        "--distance",
        "l2",
        "--batch",
        "64",
        fvecs.to_str().unwrap(),
    ]);
    assert!(ok && stderr.contains("imported 250 items into vecs") && stderr.contains("it now holds 250"), "{stderr}");
    let (ok, stderr) =
        vectord(&["import", "--storage-url", &url, "--index", "vecs", "--id-prefix", "np-", npy.to_str().unwrap()]);
    assert!(ok && stderr.contains("it now holds 290"), "{stderr}");
    let (ok, stderr) = vectord(&["import", "--storage-url", &url, "--index", "halves", halves.to_str().unwrap()]);
    assert!(ok && stderr.contains("imported 25 items"), "{stderr}");
    let out = dir.path().join("halves.jsonl");
    let (ok, stderr) = vectord(&["export", "--storage-url", &url, "--index", "halves", out.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let exported = read_jsonl(&out);
    assert_eq!(exported.len(), 25);
    for row in exported {
        let n: usize = row["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(row["vector"], json!(vector(n)), "float16 row {n} read back exactly");
    }
    let (ok, stderr) =
        vectord(&["import", "--storage-url", &url, "--index", "docs", "--indexed-field", "n", jsonl.to_str().unwrap()]);
    assert!(ok && stderr.contains("imported 30 items"), "{stderr}");

    let out = dir.path().join("docs.jsonl");
    let (ok, stderr) = vectord(&["export", "--storage-url", &url, "--index", "docs", out.to_str().unwrap()]);
    assert!(ok && stderr.contains("exported 30 items"), "{stderr}");
    assert_eq!(read_jsonl(&out), read_jsonl(&jsonl));
    let out = dir.path().join("vecs.fvecs");
    let (ok, _) =
        vectord(&["export", "--storage-url", &url, "--index", "vecs", "--format", "fvecs", out.to_str().unwrap()]);
    assert!(ok);
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 290 * 16);

    // Bad input: a clear message, exit 1, nothing imported.
    std::fs::write(dir.path().join("bad.jsonl"), "{\"id\": \"x\", \"vector\": [1, 2]}\nnot json\n").unwrap();
    let bad = dir.path().join("bad.jsonl");
    let (ok, stderr) = vectord(&["import", "--storage-url", &url, "--index", "docs", bad.to_str().unwrap()]);
    assert!(!ok && stderr.contains("item 2"), "{stderr}");
    let short = dir.path().join("short.jsonl");
    std::fs::write(&short, "{\"id\": \"x\", \"vector\": [1, 2]}\n").unwrap();
    let (ok, stderr) = vectord(&["import", "--storage-url", &url, "--index", "docs", short.to_str().unwrap()]);
    assert!(!ok && stderr.contains("dimension"), "{stderr}");
    let (ok, stderr) =
        vectord(&["import", "--storage-url", &url, "--index", "x", dir.path().join("a.txt").to_str().unwrap()]);
    assert!(!ok && stderr.contains("--format"), "{stderr}");
    let (ok, stderr) = vectord(&["export", "--storage-url", &url, "--index", "nope", "-"]);
    assert!(!ok && stderr.contains("does not exist"), "{stderr}");
    let (ok, stderr) = vectord(&["export", "--storage-url", &url, "--index", "docs", "-"]);
    assert!(ok && stderr.contains("exported 30"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_into_and_export_from_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_url("memory://", &[]).unwrap().store;
    let catalog = Catalog::open_store(store, CatalogOptions::default()).await.unwrap();
    let server = Server::start(catalog, |config| config.api_key = Some("k".into())).await;
    let jsonl = dir.path().join("c.jsonl");
    write_jsonl(&jsonl, 120);
    let base = server.base.clone();
    let path = jsonl.to_str().unwrap().to_owned();
    let (ok, stderr) = tokio::task::spawn_blocking(move || {
        vectord(&["import", "--server", &base, "--api-key", "k", "--index", "docs", "--batch", "50", &path])
    })
    .await
    .unwrap();
    assert!(ok && stderr.contains("it now holds 120"), "{stderr}");
    let info = server
        .client
        .get(format!("{}/v1/vectors/index/docs", server.base))
        .header("api-key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(info.json::<Value>().await.unwrap()["count"], 120);

    let out = dir.path().join("out.jsonl");
    let (base, target) = (server.base.clone(), out.to_str().unwrap().to_owned());
    let (ok, stderr) = tokio::task::spawn_blocking(move || {
        vectord(&["export", "--server", &base, "--api-key", "k", "--index", "docs", &target])
    })
    .await
    .unwrap();
    assert!(ok, "{stderr}");
    assert_eq!(read_jsonl(&out), read_jsonl(&jsonl));
    let base = server.base.clone();
    let (ok, stderr) =
        tokio::task::spawn_blocking(move || vectord(&["export", "--server", &base, "--index", "docs", "-"]))
            .await
            .unwrap();
    assert!(!ok && stderr.contains("401"), "{stderr}");
    assert_eq!(server.call(Method::GET, "/healthz", None).await.0, reqwest::StatusCode::OK);
    server.stop().await;
}

#[test]
fn import_and_export_read_the_servers_config_file_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("from-file").display());
    let config = dir.path().join("vectord.toml");
    std::fs::write(&config, format!("[vectord]\nstorage_url = {url:?}\n")).unwrap();
    let jsonl = dir.path().join("c.jsonl");
    write_jsonl(&jsonl, 12);

    // The file named by the flag.
    let (ok, stderr) =
        vectord(&["import", "--config", config.to_str().unwrap(), "--index", "docs", jsonl.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(dir.path().join("from-file").is_dir(), "the import did not write where the file says");
    // The file named by the environment, as the server reads it.
    let out = dir.path().join("out.jsonl");
    let output = Command::new(env!("CARGO_BIN_EXE_vectord"))
        .args(["export", "--index", "docs", out.to_str().unwrap()])
        .env("VECTORD_CONFIG", &config)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(read_jsonl(&out).len(), 12);
    // A flag still wins over the file.
    let elsewhere = format!("file://{}", dir.path().join("flag").display());
    let (ok, stderr) =
        vectord(&["export", "--config", config.to_str().unwrap(), "--storage-url", &elsewhere, "--index", "docs", "-"]);
    assert!(!ok && stderr.contains("docs"), "the flag's (empty) storage has no index docs: {stderr}");
}
