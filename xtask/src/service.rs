//! vectord started for a check that talks to it from outside (schemathesis,
//! the Qdrant client suites): the ci-profile binary on a free port, its log
//! in `target/`, killed when dropped; and the questions asked of it after.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use crate::servers::{free_port, wait_for};

/// A running vectord.
pub(crate) struct Service {
    child: Child,
    pub(crate) port: u16,
    pub(crate) log: PathBuf,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Service {
    /// Builds the service binaries and starts vectord with `args` (plus `--bind`).
    pub(crate) fn start(root: &Path, log_name: &str, args: &[&str]) -> Result<Self, String> {
        crate::build_service_binaries()?;
        Self::spawn(root, &crate::service_binaries_dir(root).join("vectord"), log_name, args)
    }

    /// Starts the vectord `binary` with `args` (plus `--bind`), its log in `target/{log_name}`.
    pub(crate) fn spawn(root: &Path, binary: &Path, log_name: &str, args: &[&str]) -> Result<Self, String> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        Self::spawn_with(root, binary, log_name, |_| args.clone(), &[])
    }

    /// [`spawn`](Self::spawn) with the arguments made from the port it
    /// will listen on (a cluster member announces its address) and `env`.
    pub(crate) fn spawn_with(
        root: &Path,
        binary: &Path,
        log_name: &str,
        args: impl Fn(u16) -> Vec<String>,
        env: &[(String, String)],
    ) -> Result<Self, String> {
        let port = free_port()?;
        let log_path = root.join("target").join(log_name);
        let log = std::fs::File::create(&log_path).map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let stderr = log.try_clone().map_err(|e| format!("cannot share the log file: {e}"))?;
        let child = Command::new(binary)
            .args(args(port))
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start vectord: {e}"))?;
        let service = Service { child, port, log: log_path };
        wait_for("vectord", port)?;
        Ok(service)
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its base URL.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One HTTP/1.1 exchange on its own connection; the whole answer as text.
    pub(crate) fn http(&self, method: &str, path: &str, body: &str) -> Result<String, String> {
        let mut stream =
            TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).map_err(|e| format!("cannot connect: {e}"))?;
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

    /// That it still answers and its own metrics count no 5xx answer; how
    /// many requests it answered.
    pub(crate) fn check_healthy_and_no_server_errors(&self) -> Result<u64, String> {
        let health = self.http("GET", "/healthz", "")?;
        if !health.starts_with("HTTP/1.1 200") {
            return Err(format!("vectord stopped answering after the run: {health}"));
        }
        let metrics = self.http("GET", "/metrics", "")?;
        let counts = || metrics.lines().filter(|line| line.starts_with("vectord_http_request_duration_seconds_count"));
        // A member's 503 to another on the internal route says "shard moved,
        // retry" and the asking member retries: part of the protocol.
        let retryable = |line: &&str| line.contains("route=\"/internal/") && line.contains("status=\"503\"");
        let server_errors: Vec<&str> =
            counts().filter(|line| line.contains("status=\"5")).filter(|line| !retryable(line)).collect();
        if !server_errors.is_empty() {
            return Err(format!("vectord answered 5xx (log: {}):\n{}", self.log.display(), server_errors.join("\n")));
        }
        Ok(counts().filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok()).sum())
    }
}
