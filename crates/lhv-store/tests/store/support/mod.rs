//! Shared helpers of the lhv-store tests: the backends under test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use lhv_store::{Store, open_url};

/// The environment variables `cargo xtask ci` sets after starting the servers.
pub const S3_URL_VAR: &str = "LHV_TEST_S3_URL";
pub const HTTP_URL_VAR: &str = "LHV_TEST_HTTP_URL";
pub const ETCD_VAR: &str = "LHV_TEST_ETCD";

/// A fresh, empty location on the backend `kind`: `memory`, `file`, `s3` or `http`.
/// Keeps the temporary directory of `file` alive with the store.
pub struct Backend {
    pub url: String,
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

pub fn unique() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!("t{}-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst), rand_suffix())
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos().into())
}

/// The base URL of a real server, or a failure that says how to get one.
pub fn server_url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: this test needs a real server. Run the tests with `cargo xtask ci` (it installs \
             and starts an S3 server and a WebDAV server), or start them yourself and set {S3_URL_VAR} \
             (e.g. s3://bucket with AWS_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP=true) \
             and {HTTP_URL_VAR} (e.g. http://127.0.0.1:8080); the cluster tests also need etcd ({ETCD_VAR}, e.g. \
             http://127.0.0.1:2379)"
        )
    })
}

pub fn backend(kind: &str) -> Backend {
    let (url, dir) = match kind {
        "memory" => ("memory://".to_owned(), None),
        "file" => {
            let dir = tempfile::tempdir().unwrap();
            (format!("file://{}", dir.path().display()), Some(dir))
        }
        "s3" => (format!("{}/{}", server_url(S3_URL_VAR).trim_end_matches('/'), unique()), None),
        "http" => (format!("{}/{}", server_url(HTTP_URL_VAR).trim_end_matches('/'), unique()), None),
        other => panic!("unknown backend {other}"),
    };
    let opened = open_url(&url, &[]).unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    // The lock of a file store is released here; tests that need it open the catalog by URL.
    Backend { url, store: opened.store, _dir: dir }
}
