//! The real storage servers the lhv-store tests run against: an S3 server
//! (s3s-fs, from crates.io) and a WebDAV server (WsgiDAV, from PyPI), both
//! pinned, installed when missing, each started on a free local port over a
//! temporary directory and stopped when dropped.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cargo;

/// s3s-fs 0.14.1 is the last release that builds with our pinned rustc.
const S3S_FS: &str = "s3s-fs@0.14.1";
const BUCKET: &str = "lhv-test";
const ACCESS_KEY: &str = "lhv-test-access";
const SECRET_KEY: &str = "lhv-test-secret";

/// Running servers and the environment that points the tests at them.
pub(crate) struct Servers {
    children: Vec<Child>,
    root: PathBuf,
    pub(crate) env: Vec<(String, String)>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The WebDAV server and what it runs on, pinned, in a venv under `target/test-tools`.
const WSGIDAV: &[&str] = &["wsgidav==4.3.3", "cheroot==10.0.1"];
const WSGIDAV_VENV: &str = "wsgidav-venv";

/// Installs both servers into `target/test-tools` where they are missing.
pub(crate) fn install(workspace: &Path) -> Result<(), String> {
    let tools = workspace.join("target").join("test-tools");
    if !tools.join("bin").join("s3s-fs").exists() {
        let root = tools.display().to_string();
        // Unoptimised: it serves small test objects, and an optimised build
        // of it took minutes of CI's two cores.
        let args = ["install", "--debug", "--quiet", S3S_FS, "--locked", "--features", "binary", "--root", &root];
        cargo(&args, &[])?;
    }
    crate::venv::venv(workspace, WSGIDAV_VENV, WSGIDAV)?;
    Ok(())
}

/// Starts both servers (installed by [`install`]).
pub(crate) fn start(workspace: &Path) -> Result<Servers, String> {
    let tools = workspace.join("target").join("test-tools");
    let s3s_fs = tools.join("bin").join("s3s-fs");
    let python = tools.join(WSGIDAV_VENV).join("bin").join("python");
    let root = std::env::temp_dir().join(format!("lhv-test-servers-{}", std::process::id()));
    let (s3_root, dav_root) = (root.join("s3"), root.join("dav"));
    for dir in [&s3_root.join(BUCKET), &dav_root] {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut servers = Servers { children: Vec::new(), root, env: Vec::new() };

    let s3_port = free_port()?;
    let s3 = Command::new(&s3s_fs)
        .args(["--host", "127.0.0.1", "--port", &s3_port.to_string()])
        .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
        .arg(&s3_root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", s3s_fs.display()))?;
    servers.children.push(s3);

    let dav_port = free_port()?;
    let dav = Command::new(&python)
        // The package has no __main__; this is what its `wsgidav` script runs.
        .args(["-c", "from wsgidav.server.server_cli import run; run()"])
        .args(["--host", "127.0.0.1", "--port", &dav_port.to_string()])
        .args(["--auth", "anonymous", "--no-config", "--root"])
        .arg(&dav_root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start wsgidav: {e}"))?;
    servers.children.push(dav);

    for (name, port) in [("s3s-fs", s3_port), ("wsgidav", dav_port)] {
        wait_for(name, port)?;
    }
    let endpoint = format!("http://127.0.0.1:{s3_port}");
    servers.env = vec![
        ("LHV_TEST_S3_URL".into(), format!("s3://{BUCKET}")),
        ("AWS_ENDPOINT".into(), endpoint),
        ("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY".into(), SECRET_KEY.into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_ALLOW_HTTP".into(), "true".into()),
        ("LHV_TEST_HTTP_URL".into(), format!("http://127.0.0.1:{dav_port}")),
    ];
    eprintln!("xtask: S3 (s3s-fs) on port {s3_port}, WebDAV (wsgidav) on port {dav_port}");
    Ok(servers)
}

pub(crate) fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("no free port: {e}"))
}

pub(crate) fn wait_for(name: &str, port: u16) -> Result<(), String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("{name} did not start listening on port {port} within 30 s"))
}
