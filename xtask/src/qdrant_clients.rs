//! `cargo xtask qdrant-clients`: the official Qdrant client for Python and
//! the Qdrant integrations of LangChain, LlamaIndex, Haystack and mem0
//! (pinned, from the package registry, in a venv under `target/test-tools`)
//! run their suites in `smokes/qdrant` against the real
//! binary, with durable file storage. Afterwards vectord must still answer
//! and its metrics must count no 5xx answer.

use std::path::Path;
use std::process::Command;

use crate::run;
use crate::service::Service;

/// The clients the suites are written against, and their test runner.
pub(crate) const PACKAGES: &[&str] = &[
    "qdrant-client==1.20.0",
    "langchain-qdrant==1.1.0",
    "llama-index-core==0.14.25",
    "llama-index-vector-stores-qdrant==0.10.4",
    "haystack-ai==3.4.1",
    "qdrant-haystack==13.1.0",
    "mem0ai==2.2.1",
    "pytest==9.2.0",
];
/// Their venv under `target/test-tools`.
pub(crate) const VENV: &str = "qdrant-clients-venv";

pub(crate) fn qdrant_clients(root: &Path) -> Result<(), String> {
    let python = crate::venv::venv(root, VENV, PACKAGES)?.join("bin").join("python");
    let data = root.join("target").join("qdrant-clients-data");
    let _ = std::fs::remove_dir_all(&data);
    let storage = format!("file://{}", data.display());
    let service = Service::start(root, "qdrant-clients-vectord.log", &["--storage-url", &storage])?;
    run(Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root.join("smokes").join("qdrant"))
        .env("VECTORD_URL", service.url())
        .env(crate::ci::SEED_VAR, crate::ci::seed()?.to_string()))?;
    let requests = service.check_healthy_and_no_server_errors()?;
    eprintln!("xtask: qdrant-clients passed: {requests} requests answered, none with 5xx");
    Ok(())
}
