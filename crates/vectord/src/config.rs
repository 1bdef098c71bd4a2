//! Settings: defaults, then a TOML file (`[vectord]` section), then
//! `VECTORD_*` environment variables, then command-line flags.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The original service's port.
pub const DEFAULT_BIND: &str = "127.0.0.1:3215";
/// Request bodies above this many bytes get 413.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 << 20;
/// Snapshot uploads (`PUT .../snapshot`) above this many bytes get 413.
pub const DEFAULT_MAX_SNAPSHOT_BYTES: usize = 1 << 30;
/// Connections served at once; more get 429 and are closed.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Seconds a client has to send a request's headers (idle connections close after it).
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 30;
/// Seconds a client has to send a request's whole body once its headers are in.
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 60;

/// Command-line flags (each also read from its `VECTORD_*` variable).
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(name = "vectord", version, about = "vectord: a vector-search service")]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Without a subcommand, vectord serves.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Address to listen on [default: 127.0.0.1:3215].
    #[arg(long, env = "VECTORD_BIND")]
    pub bind: Option<SocketAddr>,
    /// Where indexes are kept: memory://, file:///dir, s3://bucket/prefix, http(s)://host/prefix
    /// [default: file://./vectord-data].
    #[arg(long, env = "VECTORD_STORAGE_URL")]
    pub storage_url: Option<String>,
    /// A TOML file with a `[vectord]` section.
    #[arg(long, env = "VECTORD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Require `Authorization: Bearer <key>` (or `api-key: <key>`) on the API.
    #[arg(long, env = "VECTORD_API_KEY")]
    pub api_key: Option<String>,
    /// A second key that may only read (search, get, list); writes with it get 403.
    #[arg(long, env = "VECTORD_READ_ONLY_API_KEY")]
    pub read_only_api_key: Option<String>,
    /// Largest request body in bytes [default: 33554432].
    #[arg(long, env = "VECTORD_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Largest snapshot upload (`PUT .../snapshot`) in bytes [default: 1073741824].
    #[arg(long, env = "VECTORD_MAX_SNAPSHOT_BYTES")]
    pub max_snapshot_bytes: Option<usize>,
    /// Write an index's snapshot once its log holds this many bytes [default: 67108864].
    #[arg(long, env = "VECTORD_SNAPSHOT_LOG_BYTES")]
    pub snapshot_log_bytes: Option<u64>,
    /// Shards of an index created without saying how many (1 to 64) [default: 1].
    #[arg(long, env = "VECTORD_DEFAULT_SHARDS")]
    pub default_shards: Option<usize>,
    /// Connections served at once; a connection over the limit gets 429 and is closed [default: 1024].
    #[arg(long, env = "VECTORD_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a client gets to send a request's headers, counted from when it connected or got its
    /// previous answer (so idle keep-alive connections close after it) [default: 30].
    #[arg(long, env = "VECTORD_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// Seconds a client gets to send a request's whole body; slower ones get 408 [default: 60].
    #[arg(long, env = "VECTORD_BODY_TIMEOUT_SECS")]
    pub body_timeout_secs: Option<u64>,
    /// PEM certificate chain: with `--tls-key`, the service speaks HTTPS (rustls) instead of HTTP.
    #[arg(long, env = "VECTORD_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for `--tls-cert`.
    #[arg(long, env = "VECTORD_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Join a cluster of vectord processes sharing the `s3://` storage URL: the URL the other
    /// processes reach this one at (e.g. http://10.0.0.5:3215). Each index then has one writer,
    /// chosen by a lease in the bucket; the others serve it as replicas and forward writes to it.
    #[arg(long, env = "VECTORD_CLUSTER_ADDRESS")]
    pub cluster_address: Option<String>,
    /// Milliseconds a writer's lease holds without renewal: how long a dead writer's indexes
    /// take writes nowhere before another process takes over [default: 3000].
    #[arg(long, env = "VECTORD_LEASE_TTL_MS")]
    pub lease_ttl_ms: Option<u64>,
    /// Milliseconds between a replica's looks at its writers' logs: about how stale a replica's
    /// answers may be [default: 200].
    #[arg(long, env = "VECTORD_FOLLOW_INTERVAL_MS")]
    pub follow_interval_ms: Option<u64>,
    /// Log lines as `text` (coloured only on a terminal) or `json` (one object per line, with the
    /// request's fields, for log shippers) [default: text].
    #[arg(long, env = "VECTORD_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
}

/// How log lines are written (to standard error).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines; ANSI colours only when standard error is a terminal.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// What vectord does besides serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Reads vectors from an fvecs, npy or JSON-lines file into an index.
    Import(crate::transfer::ImportArgs),
    /// Writes an index's items to a JSON-lines or fvecs file.
    Export(crate::transfer::ExportArgs),
}

/// The `[vectord]` section of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSection {
    bind: Option<SocketAddr>,
    /// `storaged_url` is the original service's name for it.
    #[serde(alias = "storaged_url")]
    storage_url: Option<String>,
    api_key: Option<String>,
    read_only_api_key: Option<String>,
    max_body_bytes: Option<usize>,
    max_snapshot_bytes: Option<usize>,
    snapshot_log_bytes: Option<u64>,
    default_shards: Option<usize>,
    max_connections: Option<usize>,
    header_timeout_secs: Option<u64>,
    body_timeout_secs: Option<u64>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    cluster_address: Option<String>,
    lease_ttl_ms: Option<u64>,
    follow_interval_ms: Option<u64>,
    log_format: Option<LogFormat>,
    /// Extra S3 settings (object_store's names: endpoint, region, ...).
    #[serde(default)]
    s3: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    vectord: FileSection,
}

/// The effective settings.
#[derive(Clone)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Storage URL.
    pub storage_url: String,
    /// API key, if the API requires one.
    pub api_key: Option<String>,
    /// Read-only API key (only meaningful with `api_key`).
    pub read_only_api_key: Option<String>,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Largest snapshot upload in bytes.
    pub max_snapshot_bytes: usize,
    /// Snapshot threshold per index, in log bytes.
    pub snapshot_log_bytes: u64,
    /// Shards of an index whose create request does not say.
    pub default_shards: usize,
    /// Extra S3 settings.
    pub s3_options: Vec<(String, String)>,
    /// Connections served at once.
    pub max_connections: usize,
    /// Time a client gets to send a request's headers.
    pub header_timeout: Duration,
    /// Time a client gets to send a request's body.
    pub body_timeout: Duration,
    /// Certificate chain and key files: HTTPS when set.
    pub tls: Option<TlsFiles>,
    /// Membership of a cluster sharing the storage URL.
    pub cluster: Option<ClusterConfig>,
    /// How log lines are written.
    pub log_format: LogFormat,
}

/// How this process takes part in a cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The URL the other members reach this one at.
    pub address: String,
    /// How long a lease holds without renewal.
    pub lease_ttl_ms: u64,
    /// Time between follow rounds.
    pub follow_interval: Duration,
}

/// Default lease length.
pub const DEFAULT_LEASE_TTL_MS: u64 = 3_000;
/// Default time between follow rounds.
pub const DEFAULT_FOLLOW_INTERVAL_MS: u64 = 200;

/// The PEM files of the service's TLS identity.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

impl std::fmt::Debug for Config {
    /// Secrets are redacted, so that the config can be logged.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |key: &str| key.contains("secret") || key.contains("token") || key.contains("password");
        let s3: Vec<(String, &str)> = self
            .s3_options
            .iter()
            .map(|(k, v)| (k.clone(), if redacted(k) { "<redacted>" } else { v.as_str() }))
            .collect();
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("storage_url", &self.storage_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("read_only_api_key", &self.read_only_api_key.as_ref().map(|_| "<redacted>"))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_snapshot_bytes", &self.max_snapshot_bytes)
            .field("snapshot_log_bytes", &self.snapshot_log_bytes)
            .field("default_shards", &self.default_shards)
            .field("s3_options", &s3)
            .field("max_connections", &self.max_connections)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("tls", &self.tls)
            .field("cluster", &self.cluster)
            .field("log_format", &self.log_format)
            .finish()
    }
}

impl Config {
    /// Resolves the flags (and the file they name) into settings.
    pub fn resolve(cli: &Cli) -> Result<Self, String> {
        let file = match &cli.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                toml::from_str::<File>(&text).map_err(|e| format!("{}: {e}", path.display()))?.vectord
            }
            None => FileSection::default(),
        };
        let bind = match cli.bind.or(file.bind) {
            Some(bind) => bind,
            None => DEFAULT_BIND.parse().map_err(|e| format!("{e}"))?,
        };
        let storage_url = match cli.storage_url.clone().or(file.storage_url.clone()) {
            Some(url) if url.is_empty() => "memory://".to_owned(),
            Some(url) => url,
            None => default_storage_url()?,
        };
        let cluster = cluster_config(cli, &file, &storage_url)?;
        Ok(Self {
            cluster,
            log_format: cli.log_format.or(file.log_format).unwrap_or_default(),
            bind,
            storage_url,
            api_key: cli.api_key.clone().or(file.api_key).filter(|k| !k.is_empty()),
            read_only_api_key: cli.read_only_api_key.clone().or(file.read_only_api_key).filter(|k| !k.is_empty()),
            max_body_bytes: cli.max_body_bytes.or(file.max_body_bytes).unwrap_or(DEFAULT_MAX_BODY_BYTES),
            max_snapshot_bytes: cli
                .max_snapshot_bytes
                .or(file.max_snapshot_bytes)
                .unwrap_or(DEFAULT_MAX_SNAPSHOT_BYTES),
            snapshot_log_bytes: cli
                .snapshot_log_bytes
                .or(file.snapshot_log_bytes)
                .unwrap_or(lhv_store::CatalogOptions::default().snapshot_log_bytes),
            default_shards: match cli.default_shards.or(file.default_shards).unwrap_or(1) {
                shards @ 1..=lhv_core::MAX_SHARDS => shards,
                other => return Err(format!("default_shards must be in 1..={}, not {other}", lhv_core::MAX_SHARDS)),
            },
            s3_options: file.s3.into_iter().collect(),
            max_connections: positive(
                "max_connections",
                cli.max_connections.or(file.max_connections).unwrap_or(DEFAULT_MAX_CONNECTIONS),
            )?,
            header_timeout: seconds(
                "header_timeout_secs",
                cli.header_timeout_secs.or(file.header_timeout_secs).unwrap_or(DEFAULT_HEADER_TIMEOUT_SECS),
            )?,
            body_timeout: seconds(
                "body_timeout_secs",
                cli.body_timeout_secs.or(file.body_timeout_secs).unwrap_or(DEFAULT_BODY_TIMEOUT_SECS),
            )?,
            tls: match (cli.tls_cert.clone().or(file.tls_cert), cli.tls_key.clone().or(file.tls_key)) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                (None, None) => None,
                _ => return Err("tls_cert and tls_key go together: set both or neither".into()),
            },
        })
    }
}

/// The cluster settings, if `cluster_address` is set; a cluster needs
/// storage with conditional writes that other processes share (S3).
fn cluster_config(cli: &Cli, file: &FileSection, storage_url: &str) -> Result<Option<ClusterConfig>, String> {
    let Some(address) = cli.cluster_address.clone().or_else(|| file.cluster_address.clone()) else {
        return Ok(None);
    };
    let parsed = url::Url::parse(&address).map_err(|e| format!("cluster_address {address:?}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!("cluster_address {address:?} must be an http(s)://host:port URL"));
    }
    if !storage_url.starts_with("s3://") && !storage_url.starts_with("memory://") {
        return Err(format!(
            "a cluster needs an s3:// storage URL (shared, with conditional writes), not {storage_url:?}"
        ));
    }
    let lease_ttl_ms = cli.lease_ttl_ms.or(file.lease_ttl_ms).unwrap_or(DEFAULT_LEASE_TTL_MS);
    if lease_ttl_ms < 300 {
        return Err(format!("lease_ttl_ms must be at least 300, not {lease_ttl_ms}"));
    }
    let follow = cli.follow_interval_ms.or(file.follow_interval_ms).unwrap_or(DEFAULT_FOLLOW_INTERVAL_MS);
    if follow == 0 {
        return Err("follow_interval_ms must be at least 1".into());
    }
    let address = address.trim_end_matches('/').to_owned();
    Ok(Some(ClusterConfig { address, lease_ttl_ms, follow_interval: Duration::from_millis(follow) }))
}

fn positive(name: &str, value: usize) -> Result<usize, String> {
    if value == 0 { Err(format!("{name} must be at least 1")) } else { Ok(value) }
}

fn seconds(name: &str, value: u64) -> Result<Duration, String> {
    if value == 0 { Err(format!("{name} must be at least 1")) } else { Ok(Duration::from_secs(value)) }
}

/// `./vectord-data` as a `file://` URL.
fn default_storage_url() -> Result<String, String> {
    let dir = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?.join("vectord-data");
    Ok(format!("file://{}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_settings_apply_and_flags_win() {
        let dir = std::env::temp_dir().join(format!("vectord-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let path = dir.join("vectord.toml");
        let text = "[vectord]\nstoraged_url = \"\"\nbind = \"127.0.0.1:9000\"\napi_key = \"k\"\n[vectord.s3]\nsecret_access_key = \"s\"\n";
        std::fs::write(&path, text).unwrap_or_default();
        let cli = Cli { config: Some(path), ..Cli::default() };
        let config = Config::resolve(&cli).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.storage_url, "memory://");
        assert_eq!(config.bind.port(), 9000);
        assert_eq!(config.api_key.as_deref(), Some("k"));
        let shown = format!("{config:?}");
        assert!(!shown.contains("\"s\"") && !shown.contains("\"k\""), "{shown}");
        let cli = Cli { bind: Some("127.0.0.1:9001".parse().unwrap_or_else(|e| panic!("{e}"))), ..cli };
        assert_eq!(Config::resolve(&cli).unwrap_or_else(|e| panic!("{e}")).bind.port(), 9001);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_cluster_needs_shared_storage_and_an_http_address() {
        let cli = |url: &str, address: &str| Cli {
            storage_url: Some(url.into()),
            cluster_address: Some(address.into()),
            ..Cli::default()
        };
        let config = Config::resolve(&cli("s3://b/p", "http://10.0.0.5:3215/")).unwrap_or_else(|e| panic!("{e}"));
        let cluster = config.cluster.unwrap_or_else(|| panic!("no cluster"));
        assert_eq!(cluster.address, "http://10.0.0.5:3215");
        assert_eq!(cluster.lease_ttl_ms, DEFAULT_LEASE_TTL_MS);
        for (url, address, says) in [
            ("file:///tmp/x", "http://a:1", "s3://"),
            ("http://dav/x", "http://a:1", "s3://"),
            ("s3://b/p", "a:1", "http(s)://"),
            ("s3://b/p", "not a url", "cluster_address"),
        ] {
            let error = Config::resolve(&cli(url, address)).err().unwrap_or_default();
            assert!(error.contains(says), "{url} {address}: {error}");
        }
        let short = Cli { lease_ttl_ms: Some(10), ..cli("s3://b/p", "http://a:1") };
        assert!(Config::resolve(&short).is_err());
        assert!(Config::resolve(&Cli::default()).is_ok_and(|c| c.cluster.is_none()));
    }
}
