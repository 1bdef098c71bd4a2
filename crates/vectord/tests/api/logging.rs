//! The real binary's log output: no terminal escape codes when standard error
//! is a pipe, and `--log-format json` writes one JSON object per line, with
//! the request id on the lines logged while serving a request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use serde_json::Value;

/// Runs vectord with `args`, sends one request once it listens, stops it,
/// and returns everything it logged.
fn log_of_one_request(args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vectord"))
        .args(["--bind", "127.0.0.1:0", "--storage-url", "memory://"])
        .args(args)
        .env("RUST_LOG", "info,tower_http=debug")
        .env_remove("NO_COLOR")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    let address = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "vectord exited before listening:\n{log}");
        log.push_str(&line);
        if let Some(at) = line.find("127.0.0.1:").filter(|_| line.contains("listening")) {
            let rest = &line[at..];
            let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':')).unwrap_or(rest.len());
            break rest[..end].to_owned();
        }
    };
    let mut stream = TcpStream::connect(&address).unwrap();
    stream.write_all(b"GET /v1/vectors/index/nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    // SAFETY: kill only sends a signal to the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    stderr.read_to_string(&mut log).unwrap();
    assert!(status.success(), "vectord ended with {status}:\n{log}");
    log
}

#[test]
fn text_logs_to_a_pipe_have_no_escape_codes() {
    let log = log_of_one_request(&[]);
    assert!(log.contains("listening") && log.contains("request_id"), "{log}");
    assert!(!log.contains('\u{1b}'), "escape codes in a piped log:\n{log}");
}

#[test]
fn json_logs_are_one_object_per_line_with_the_request_id() {
    let log = log_of_one_request(&["--log-format", "json"]);
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: not a JSON line: {line}")))
        .collect();
    assert!(lines.iter().any(|l| l["fields"]["message"] == "listening"), "{log}");
    let request_ids: Vec<&str> = lines.iter().filter_map(|l| l["span"]["request_id"].as_str()).collect();
    assert!(request_ids.iter().any(|id| id.len() == 36), "no request id on any line:\n{log}");
}

/// The flags of the cluster over S3 leases are gone: clap refuses them as
/// unknown, and `--cluster-address` alone (no `--etcd`) stops the start
/// with a message pointing at the cluster on etcd.
#[test]
fn the_s3_lease_cluster_flags_are_refused() {
    let start = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_vectord"))
            .args(["--bind", "127.0.0.1:0", "--storage-url", "memory://"])
            .args(args)
            .output()
            .unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (code, stderr) = start(&["--follow-interval-ms", "200"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("unexpected argument '--follow-interval-ms'"), "{stderr}");
    let (code, stderr) = start(&["--cluster-address", "http://127.0.0.1:3215"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cluster_address needs etcd") && stderr.contains("Cluster on etcd"), "{stderr}");
}
