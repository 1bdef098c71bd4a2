//! Starting the real binary and talking to it, with PASS/FAIL per step.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

/// Where to send requests: cheap to clone into client tasks.
#[derive(Clone)]
pub struct Endpoint {
    port: u16,
    client: Client,
}

impl Endpoint {
    /// One request; the status and the JSON body (Null if empty).
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<(StatusCode, Value), String> {
        let mut request = self.client.request(method, format!("http://127.0.0.1:{}{path}", self.port));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).map_err(|e| e.to_string())? };
        Ok((status, value))
    }
}

impl Endpoint {
    /// A GET whose answer is text (`/metrics`): the status and the text.
    pub async fn text(&self, path: &str) -> Result<(StatusCode, String), String> {
        let response =
            self.client.get(format!("http://127.0.0.1:{}{path}", self.port)).send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        Ok((status, response.text().await.map_err(|e| e.to_string())?))
    }

    /// Every item of `index` (id -> metadata), page after page.
    pub async fn items_in(&self, index: &str) -> Result<std::collections::BTreeMap<String, Value>, String> {
        let mut items = std::collections::BTreeMap::new();
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                Some(a) => format!("/v1/vectors/index/{index}/items?limit=10000&after={a}"),
                None => format!("/v1/vectors/index/{index}/items?limit=10000"),
            };
            let (status, body) = self.call(Method::GET, &path, None).await?;
            if status != StatusCode::OK {
                return Err(format!("listing {index}: {status} {body}"));
            }
            for entry in body["items"].as_array().map(Vec::as_slice).unwrap_or_default() {
                items.insert(entry["id"].as_str().unwrap_or_default().to_owned(), entry["metadata"].clone());
            }
            match body["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return Ok(items),
            }
        }
    }
}

/// A running `vectord` process on a free port with its own storage.
pub struct Vectord {
    binary: PathBuf,
    storage_url: String,
    extra: Vec<String>,
    child: Option<Child>,
    log: Option<PathBuf>,
    pub endpoint: Endpoint,
}

impl Vectord {
    /// Starts `binary` with `file://` storage in `data` and waits for /readyz.
    pub async fn start(binary: &Path, data: &Path) -> Result<Self, String> {
        Self::start_with(binary, &format!("file://{}", data.display()), &[]).await
    }

    /// Starts `binary` on `storage_url` with `extra` flags and waits for /readyz.
    pub async fn start_with(binary: &Path, storage_url: &str, extra: &[&str]) -> Result<Self, String> {
        let port = free_port()?;
        let mut vectord = Self {
            binary: binary.to_owned(),
            storage_url: storage_url.to_owned(),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            child: None,
            log: None,
            endpoint: Endpoint { port, client: http_client() },
        };
        vectord.spawn().await?;
        Ok(vectord)
    }

    /// Starts a cluster member on `storage_url` (`--cluster-address` is its
    /// own URL) with `extra` flags, its log in `log`, and waits for /readyz.
    pub async fn start_member(binary: &Path, storage_url: &str, extra: &[&str], log: &Path) -> Result<Self, String> {
        let port = free_port()?;
        let mut args: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        args.extend(["--cluster-address".to_owned(), format!("http://127.0.0.1:{port}")]);
        let mut vectord = Self {
            binary: binary.to_owned(),
            storage_url: storage_url.to_owned(),
            extra: args,
            child: None,
            log: Some(log.to_owned()),
            endpoint: Endpoint { port, client: http_client() },
        };
        vectord.spawn().await?;
        Ok(vectord)
    }

    async fn spawn(&mut self) -> Result<(), String> {
        let stderr = match &self.log {
            Some(path) => Stdio::from(std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?),
            None => Stdio::null(),
        };
        let child = Command::new(&self.binary)
            .args(["--bind", &format!("127.0.0.1:{}", self.endpoint.port)])
            .args(["--storage-url", &self.storage_url])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok((StatusCode::OK, _)) = self.call(Method::GET, "/readyz", None).await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err("vectord did not become ready within 30 s".into())
    }

    /// `kill -9`, then start again on the same port and data.
    pub async fn kill_and_restart(&mut self) -> Result<(), String> {
        self.kill();
        self.spawn().await
    }

    /// SIGTERM, then waits for the exit; whether it exited with status 0.
    pub fn terminate(&mut self) -> Result<bool, String> {
        let Some(mut child) = self.child.take() else { return Err("not running".into()) };
        let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        if !status.is_ok_and(|s| s.success()) {
            let _ = child.kill();
            return Err("cannot send SIGTERM".into());
        }
        child.wait().map(|s| s.success()).map_err(|e| e.to_string())
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// One request; the status and the JSON body (Null if empty).
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<(StatusCode, Value), String> {
        self.endpoint.call(method, path, body).await
    }
}

impl Drop for Vectord {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))
        .map(|a| a.port())
}

/// Sends a write through `members` in turn (from `start`) until one
/// acknowledges it; how many answers on the way were refusals (503: no
/// writer right now) or failures (a dead member). Gives up after `patience`.
pub async fn write_until_acked(
    members: &[Endpoint],
    start: usize,
    path: &str,
    body: &Value,
    patience: Duration,
) -> Result<usize, String> {
    let begun = Instant::now();
    let mut refused = 0;
    for attempt in 0.. {
        let member = &members[(start + attempt) % members.len()];
        let sent = Instant::now();
        // Why the last attempt failed, for the message if patience runs out.
        let last = match member.call(Method::POST, path, Some(body)).await {
            Ok((StatusCode::OK, _)) => return Ok(refused),
            Ok((StatusCode::SERVICE_UNAVAILABLE, answer)) => answer.to_string(),
            Err(error) => error,
            Ok((status, answer)) => return Err(format!("{path}: {status} {answer}")),
        };
        refused += 1;
        if begun.elapsed() > patience {
            return Err(format!(
                "{path}: no member acknowledged a write within {} s ({refused} attempts; the last, to port {}, failed after {:.1} s: {last})",
                patience.as_secs(),
                member.port,
                sent.elapsed().as_secs_f64()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!("{path}: gave up"))
}

/// A tiny deterministic generator (xorshift), so that a failing seed replays.
/// A zero seed would stay zero: seeds are made odd.
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Counts steps and prints PASS/FAIL for each.
#[derive(Default)]
pub struct Steps {
    failed: usize,
    passed: usize,
}

impl Steps {
    /// Records a step.
    pub fn check(&mut self, name: &str, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.passed += 1;
                println!("PASS {name}");
            }
            Err(why) => {
                self.failed += 1;
                println!("FAIL {name}: {why}");
            }
        }
    }

    /// Ok if every step passed.
    pub fn finish(self, scenario: &str) -> Result<(), String> {
        println!("{scenario}: {} passed, {} failed", self.passed, self.failed);
        if self.failed == 0 { Ok(()) } else { Err(format!("{scenario}: {} steps failed", self.failed)) }
    }
}

/// `Ok` if `got == want`, else a message showing both.
pub fn expect<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want { Ok(()) } else { Err(format!("{what}: got {got:?}, want {want:?}")) }
}

/// An HTTP client. Built with the workspace, reqwest can speak HTTPS through
/// rustls and needs a crypto provider installed first (the workspace builds
/// rustls with *ring*; see lhv-store's `install_crypto_provider`).
fn http_client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // A bound on every request: a crash cycle once hung for good in the
    // client's connection pool after the server was killed (no socket
    // open, no timer left); with a timeout that is an error like any other.
    Client::builder().timeout(Duration::from_secs(120)).build().unwrap_or_else(|_| Client::new())
}
