//! `cargo xtask api-fuzz [--max-time S]`: schemathesis (from PyPI, in a venv
//! under `target/test-tools`) generates requests from docs/openapi.json and
//! sends them to the real binary. Every check is on except
//! `positive_data_acceptance`: a schema-valid request can still be rightly
//! refused (a vector whose length is not the index's `dim`, a zero vector in
//! a cosine index), which a schema cannot say. Afterwards the service must
//! still answer, and its own metrics must count no 5xx answer.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::run;
use crate::servers::{free_port, wait_for};

/// Pinned so that a new release cannot change what CI checks.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn api_fuzz(root: &Path, args: &[&str]) -> Result<(), String> {
    let max_time = match args {
        [] => None,
        ["--max-time", seconds] => Some(*seconds),
        _ => return Err("usage: cargo xtask api-fuzz [--max-time SECONDS]".into()),
    };
    let schemathesis = install(root)?;
    crate::build_service_binaries()?;
    let port = free_port()?;
    let log_path = root.join("target").join("api-fuzz-vectord.log");
    let log = std::fs::File::create(&log_path).map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let stderr = log.try_clone().map_err(|e| format!("cannot share the log file: {e}"))?;
    let child = Command::new(crate::service_binaries_dir(root).join("vectord"))
        .args(["--storage-url", "memory://", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(log)
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start vectord: {e}"))?;
    let _service = Service(child);
    wait_for("vectord", port)?;
    // An index that the spec's examples name, so that they reach real work.
    let created = http(port, "POST", "/v1/vectors/index", r#"{"name":"docs","dim":2,"distance":"cosine"}"#)?;
    if !created.starts_with("HTTP/1.1 201") {
        return Err(format!("creating the example index failed: {created}"));
    }

    let mut command = Command::new(&schemathesis);
    command
        .arg("run")
        .arg(root.join("docs").join("openapi.json"))
        .args(["--url", &format!("http://127.0.0.1:{port}")])
        .args(["--checks", "all", "--exclude-checks", "positive_data_acceptance"])
        .env("NO_COLOR", "1");
    if let Some(seconds) = max_time {
        command.args(["--max-time", seconds]);
    }
    run(&mut command)?;

    let health = http(port, "GET", "/healthz", "")?;
    if !health.starts_with("HTTP/1.1 200") {
        return Err(format!("vectord stopped answering after the run: {health}"));
    }
    let metrics = http(port, "GET", "/metrics", "")?;
    let server_errors: Vec<&str> = metrics
        .lines()
        .filter(|line| line.starts_with("vectord_http_request_duration_seconds_count") && line.contains("status=\"5"))
        .collect();
    if !server_errors.is_empty() {
        return Err(format!("vectord answered 5xx (log: {}):\n{}", log_path.display(), server_errors.join("\n")));
    }
    let requests: u64 = metrics
        .lines()
        .filter(|line| line.starts_with("vectord_http_request_duration_seconds_count"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    eprintln!("xtask: api-fuzz passed: {requests} requests answered, none with 5xx; vectord still healthy");
    Ok(())
}

/// The venv's `schemathesis`, installed on first use.
fn install(root: &Path) -> Result<std::path::PathBuf, String> {
    let venv = root.join("target").join("test-tools").join("schemathesis-venv");
    let schemathesis = venv.join("bin").join("schemathesis");
    let installed = Command::new(&schemathesis)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        let pip = venv.join("bin").join("pip");
        run(Command::new(pip).args(["install", "--quiet", "--disable-pip-version-check", SCHEMATHESIS]))?;
    }
    Ok(schemathesis)
}

/// One HTTP/1.1 exchange on its own connection; the whole answer as text.
fn http(port: u16, method: &str, path: &str, body: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).map_err(|e| format!("cannot connect: {e}"))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).map_err(|e| format!("cannot send {method} {path}: {e}"))?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(|e| format!("cannot read the answer to {method} {path}: {e}"))?;
    Ok(answer)
}
