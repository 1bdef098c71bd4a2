//! `cargo xtask api-fuzz [--max-time S]`: schemathesis (from PyPI, in a venv
//! under `target/test-tools`) generates requests from docs/openapi.json and
//! sends them to the real binary. Every check is on except
//! `positive_data_acceptance`: a schema-valid request can still be rightly
//! refused (a vector whose length is not the index's `dim`, a zero vector in
//! a cosine index), which a schema cannot say. Afterwards the service must
//! still answer, and its own metrics must count no 5xx answer.

use std::path::Path;
use std::process::Command;

use crate::run;
use crate::service::Service;

/// Pinned so that a new release cannot change what CI checks.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

pub(crate) fn api_fuzz(root: &Path, args: &[&str]) -> Result<(), String> {
    let max_time = match args {
        [] => None,
        ["--max-time", seconds] => Some(*seconds),
        _ => return Err("usage: cargo xtask api-fuzz [--max-time SECONDS]".into()),
    };
    let schemathesis = install(root)?;
    let service = Service::start(root, "api-fuzz-vectord.log", &["--storage-url", "memory://"])?;
    // An index that the spec's examples name, so that they reach real work.
    let created = service.http("POST", "/v1/vectors/index", r#"{"name":"docs","dim":2,"distance":"cosine"}"#)?;
    if !created.starts_with("HTTP/1.1 201") {
        return Err(format!("creating the example index failed: {created}"));
    }

    let mut command = Command::new(&schemathesis);
    command
        .arg("run")
        .arg(root.join("docs").join("openapi.json"))
        .args(["--url", &service.url()])
        .args(["--checks", "all", "--exclude-checks", "positive_data_acceptance"])
        .env("NO_COLOR", "1");
    if let Some(seconds) = max_time {
        command.args(["--max-time", seconds]);
    }
    run(&mut command)?;

    let requests = service.check_healthy_and_no_server_errors()?;
    eprintln!("xtask: api-fuzz passed: {requests} requests answered, none with 5xx; vectord still healthy");
    Ok(())
}

/// The venv's `schemathesis`, installed on first use.
fn install(root: &Path) -> Result<std::path::PathBuf, String> {
    Ok(crate::venv::venv(root, "schemathesis-venv", &[SCHEMATHESIS])?.join("bin").join("schemathesis"))
}
