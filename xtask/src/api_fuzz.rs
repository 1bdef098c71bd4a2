//! `cargo xtask api-fuzz [--max-time S]`: schemathesis (from PyPI, in a venv
//! under `target/test-tools`) generates requests from docs/openapi.json and
//! sends them to the real binary. The generation is seeded (`VECTORD_TEST_SEED`,
//! printed) and keeps no example database between runs, so a run repeats;
//! `--max-time` with another seed is the long exploratory run. Every check is on except
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

pub(crate) fn api_fuzz_command(root: &Path, args: &[&str]) -> Result<(), String> {
    let max_time = match args {
        [] => None,
        ["--max-time", seconds] => Some(*seconds),
        _ => return Err("usage: cargo xtask api-fuzz [--max-time SECONDS]".into()),
    };
    let seed = crate::ci::seed()?;
    eprintln!("xtask: api-fuzz seed {seed} (set {} for another)", crate::ci::SEED_VAR);
    api_fuzz(root, seed, max_time)
}

/// One seeded run, for at most `max_time` seconds if given.
pub(crate) fn api_fuzz(root: &Path, seed: u64, max_time: Option<&str>) -> Result<(), String> {
    let schemathesis = install(root)?;
    let service = Service::start(root, "api-fuzz-vectord.log", &["--storage-url", "memory://"])?;
    // An index that the spec's examples name, so that they reach real work.
    let created = service.http("POST", "/v1/vectors/index", r#"{"name":"docs","dim":2,"distance":"cosine"}"#)?;
    if !created.starts_with("HTTP/1.1 201") {
        return Err(format!("creating the example index failed: {created}"));
    }

    let scratch = root.join("target").join("api-fuzz-run");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let mut command = Command::new(&schemathesis);
    command
        .arg("run")
        .arg(root.join("docs").join("openapi.json"))
        .args(["--url", &service.url()])
        .args(["--checks", "all", "--exclude-checks", "positive_data_acceptance"])
        .args(["--seed", &seed.to_string(), "--generation-database", "none"])
        // Its crash cache (`.schemathesis/`) goes to a fresh directory: nothing carries over between runs.
        .current_dir(&scratch)
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
pub(crate) fn install(root: &Path) -> Result<std::path::PathBuf, String> {
    Ok(crate::venv::venv(root, "schemathesis-venv", &[SCHEMATHESIS])?.join("bin").join("schemathesis"))
}
