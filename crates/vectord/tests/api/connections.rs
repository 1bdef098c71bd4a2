//! The connection layer against the real accept loop: the connection limit,
//! slow clients' deadlines, and HTTPS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lhv_store::{Catalog, CatalogOptions, open_url};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use vectord::config::{Config, Settings, TlsFiles};

/// Liveness bound for waits that must end; far above the configured timeouts.
const PATIENCE: Duration = Duration::from_secs(20);

struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<Result<(), String>>,
}

async fn start(configure: impl FnOnce(&mut Config)) -> Server {
    let mut config =
        Config::resolve(&Settings { storage_url: Some("memory://".into()), ..Settings::default() }).unwrap();
    configure(&mut config);
    let store = open_url("memory://", &[]).unwrap().store;
    let catalog = Catalog::open_store(store, CatalogOptions::default()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(vectord::serve_catalog(listener, Arc::new(catalog), config, async {
        let _ = stopped.await;
    }));
    Server { addr, stop, done }
}

impl Server {
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(PATIENCE, self.done).await.unwrap().unwrap().unwrap();
    }
}

/// Writes `request` on a fresh connection and reads until the server closes it.
async fn exchange(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    read_until_closed(&mut stream).await
}

async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server kept the connection open past {PATIENCE:?}");
    String::from_utf8_lossy(&answer).into_owned()
}

/// The JSON body of a raw HTTP/1.1 answer.
fn body_of(answer: &str) -> Value {
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

async fn status_of_healthz(addr: SocketAddr) -> Option<u16> {
    let answer = exchange(addr, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await;
    answer.get(9..12)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_get_429_until_a_slot_frees() {
    let server = start(|config| config.max_connections = 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // The two idle connections hold both slots once the server has accepted them.
    let started = Instant::now();
    let refused = loop {
        let answer = exchange(server.addr, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await;
        if answer.starts_with("HTTP/1.1 429") {
            break answer;
        }
        assert!(started.elapsed() < PATIENCE, "never refused: {answer}");
    };
    assert_eq!(body_of(&refused)["error"]["code"], "too_many_connections", "{refused}");
    assert!(refused.to_ascii_lowercase().contains("retry-after: 1"), "{refused}");
    drop(held);
    let started = Instant::now();
    while status_of_healthz(server.addr).await != Some(200) {
        assert!(started.elapsed() < PATIENCE, "the slots never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let metrics = exchange(server.addr, "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await;
    let refused_total = metrics
        .lines()
        .find_map(|line| line.strip_prefix("vectord_connections_refused_total "))
        .and_then(|count| count.parse::<u64>().ok());
    assert!(refused_total.is_some_and(|count| count >= 1), "{metrics}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off() {
    let server = start(|config| {
        config.header_timeout = Duration::from_secs(1);
        config.body_timeout = Duration::from_secs(1);
    })
    .await;
    // Headers that never finish, and a connection that never says anything.
    let mut partial = TcpStream::connect(server.addr).await.unwrap();
    partial.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n").await.unwrap();
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    let answer = read_until_closed(&mut partial).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    read_until_closed(&mut idle).await;

    // A body that stops arriving: 408 with the error envelope, and nothing created.
    let answer = exchange(
        server.addr,
        "POST /v1/vectors/index HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{\"name\": \"docs\"",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(body_of(&answer)["error"]["code"], "request_timeout", "{answer}");
    let listing = exchange(server.addr, "GET /v1/vectors/index HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await;
    assert!(listing.starts_with("HTTP/1.1 200"), "{listing}");
    assert!(!listing.contains("docs"), "{listing}");
    server.stop().await;
}

/// A client that writes its whole body before reading the answer, as Python's
/// `urllib` does: it must read the 413, not fail on a reset connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_writes_everything_first_reads_its_413() {
    let server = start(|config| config.max_body_bytes = 1024).await;
    let addr = server.addr;
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let body = format!("{{\"items\": [{}]}}", "0,".repeat(4 << 20));
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let head = format!(
            "POST /v1/vectors/index/docs/add HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).expect("the server reset the connection while the body was sent");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("the server reset the connection before the answer was read");
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(body_of(&answer)["error"]["code"], "payload_too_large", "{answer}");
    assert_eq!(status_of_healthz(server.addr).await, Some(200));
    server.stop().await;
}

/// A self-signed identity for `localhost`, written as PEM files.
fn identity(dir: &std::path::Path) -> (TlsFiles, String) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = generated.cert.pem();
    let files = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    std::fs::write(&files.cert, &cert_pem).unwrap();
    std::fs::write(&files.key, generated.signing_key.serialize_pem()).unwrap();
    (files, cert_pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_https_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (files, cert_pem) = identity(dir.path());
    let server = start(|config| config.tls = Some(files)).await;
    lhv_store::install_crypto_provider();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let base = format!("https://localhost:{}", server.addr.port());
    let created = client
        .post(format!("{base}/v1/vectors/index"))
        .json(&serde_json::json!({ "name": "docs", "dim": 2, "distance": "l2" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let listing: Value = client.get(format!("{base}/v1/vectors/index")).send().await.unwrap().json().await.unwrap();
    assert!(listing.to_string().contains("docs"), "{listing}");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = exchange(server.addr, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert!(!plain.starts_with("HTTP/1.1"), "{plain}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tls_settings_are_refused_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let (files, _) = identity(dir.path());
    let cli =
        Settings { storage_url: Some("memory://".into()), tls_cert: Some(files.cert.clone()), ..Settings::default() };
    let half = Config::resolve(&cli).map(|_| ()).unwrap_err();
    assert!(half.contains("tls_cert and tls_key"), "{half}");

    let (other, _) = identity(&{
        let other = dir.path().join("other");
        std::fs::create_dir(&other).unwrap();
        other
    });
    let secret = std::fs::read_to_string(&other.key).unwrap();
    for (files, expected) in [
        (TlsFiles { cert: files.cert.clone(), key: other.key.clone() }, "do not make an identity"),
        (TlsFiles { cert: files.key.clone(), key: files.key.clone() }, "holds no PEM certificate"),
        (TlsFiles { cert: files.cert.clone(), key: dir.path().join("missing.pem") }, "cannot read the TLS private key"),
    ] {
        let error = vectord::tls_server_config(&files).map(|_| ()).unwrap_err();
        assert!(error.contains(expected), "{error}");
        assert!(!error.contains(secret.lines().nth(1).unwrap()), "the key leaked into: {error}");
    }
}
