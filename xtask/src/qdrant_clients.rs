//! `cargo xtask qdrant-clients`: the official Qdrant client for Python and
//! the Qdrant integrations of LangChain, LlamaIndex, Haystack and mem0
//! (pinned, from the package registry, in a venv under `target/test-tools`)
//! run their suites in `smokes/qdrant` against the real
//! binary, with durable file storage; in CI also against two members of a
//! cluster on etcd (over the S3 server), through one of them, which routes
//! every request to the shards' holders. Afterwards vectord must still
//! answer and its metrics must count no 5xx answer.

use std::path::Path;
use std::process::Command;

use crate::run;
use crate::servers::Servers;
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

/// The same suites through a member of a two-member cluster on etcd (every
/// shard on both, writers spread over them), with the servers `servers`
/// runs (etcd, the S3 server).
pub(crate) fn qdrant_clients_on_cluster(root: &Path, servers: &Servers) -> Result<(), String> {
    let python = crate::venv::venv(root, VENV, PACKAGES)?.join("bin").join("python");
    let binary = crate::service_binaries_dir(root).join("vectord");
    let cluster = format!("qdrant-clients-{}", std::process::id());
    let storage = format!("{}/{cluster}", servers.var("LHV_TEST_S3_URL"));
    let etcd = servers.var("LHV_TEST_ETCD");
    let mut members = Vec::new();
    for n in 1..=2 {
        let args = |port: u16| -> Vec<String> {
            let address = format!("http://127.0.0.1:{port}");
            let node = format!("m{n}");
            let flags = [
                ("--storage-url", storage.as_str()),
                ("--cluster-address", address.as_str()),
                ("--etcd", etcd.as_str()),
                ("--cluster-name", cluster.as_str()),
                ("--node-name", node.as_str()),
                ("--cluster-secret", "qdrant-clients-cluster"),
                ("--replication", "2"),
            ];
            flags.iter().flat_map(|(flag, value)| [(*flag).to_owned(), (*value).to_owned()]).collect()
        };
        let log = format!("qdrant-clients-cluster-m{n}.log");
        members.push(Service::spawn_with(root, &binary, &log, args, &servers.env)?);
    }
    run(Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root.join("smokes").join("qdrant"))
        .env("VECTORD_URL", members[0].url())
        .env(crate::ci::SEED_VAR, crate::ci::seed()?.to_string()))?;
    let mut requests = 0;
    for member in &members {
        requests += member.check_healthy_and_no_server_errors()?;
    }
    eprintln!("xtask: qdrant-clients on a cluster passed: {requests} requests answered by 2 members, none with 5xx");
    Ok(())
}
