//! Settings: defaults, then a TOML file (`[vectord]` section), then
//! `VECTORD_*` environment variables, then command-line flags.

mod cluster;
mod settings;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use self::cluster::cluster_config;
pub use self::cluster::{ClusterConfig, DEFAULT_LEASE_TTL_MS, EtcdConfig};
pub use self::settings::{S3Options, Secret, Settings};

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

/// How log lines are written (to standard error).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines; ANSI colours only when standard error is a terminal.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The effective settings: [`Settings`] layered, checked and with defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Storage URL.
    pub storage_url: String,
    /// Where copies of a remote store's snapshots are kept, if anywhere.
    pub cache_dir: Option<PathBuf>,
    /// API key, if the API requires one.
    pub api_key: Option<Secret>,
    /// Read-only API key (only meaningful with `api_key`).
    pub read_only_api_key: Option<Secret>,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Largest snapshot upload in bytes.
    pub max_snapshot_bytes: usize,
    /// Snapshot threshold per index, in log bytes.
    pub snapshot_log_bytes: u64,
    /// Shards of an index whose create request does not say.
    pub default_shards: usize,
    /// Extra S3 settings.
    pub s3_options: S3Options,
    /// Connections served at once.
    pub max_connections: usize,
    /// Time a client gets to send a request's headers.
    pub header_timeout: Duration,
    /// Time a client gets to send a request's body.
    pub body_timeout: Duration,
    /// Certificate chain and key files: HTTPS when set.
    pub tls: Option<TlsFiles>,
    /// Membership of a cluster on etcd sharing the storage URL.
    pub cluster: Option<ClusterConfig>,
    /// How log lines are written.
    pub log_format: LogFormat,
}

/// The PEM files of the service's TLS identity.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

impl Config {
    /// The settings given (flags and environment, over the file they name)
    /// checked, with defaults for those not given.
    pub fn resolve(given: &Settings) -> Result<Self, String> {
        let settings = given.over_file()?;
        let bind = match settings.bind {
            Some(bind) => bind,
            None => DEFAULT_BIND.parse().map_err(|e| format!("{e}"))?,
        };
        let storage_url = match settings.storage_url.clone() {
            Some(url) if url.is_empty() => "memory://".to_owned(),
            Some(url) => url,
            None => default_storage_url()?,
        };
        let cluster = cluster_config(&settings, &storage_url)?;
        Ok(Self {
            cluster,
            log_format: settings.log_format.unwrap_or_default(),
            bind,
            storage_url,
            cache_dir: settings.cache_dir.clone(),
            api_key: settings.api_key.clone().filter(|k| !k.is_empty()),
            read_only_api_key: settings.read_only_api_key.clone().filter(|k| !k.is_empty()),
            max_body_bytes: settings.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            max_snapshot_bytes: settings.max_snapshot_bytes.unwrap_or(DEFAULT_MAX_SNAPSHOT_BYTES),
            snapshot_log_bytes: settings
                .snapshot_log_bytes
                .unwrap_or(lhv_store::CatalogOptions::default().snapshot_log_bytes),
            default_shards: match settings.default_shards.unwrap_or(1) {
                shards @ 1..=lhv_core::MAX_SHARDS => shards,
                other => return Err(format!("default_shards must be in 1..={}, not {other}", lhv_core::MAX_SHARDS)),
            },
            s3_options: settings.s3.clone(),
            max_connections: positive("max_connections", settings.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS))?,
            header_timeout: seconds(
                "header_timeout_secs",
                settings.header_timeout_secs.unwrap_or(DEFAULT_HEADER_TIMEOUT_SECS),
            )?,
            body_timeout: seconds(
                "body_timeout_secs",
                settings.body_timeout_secs.unwrap_or(DEFAULT_BODY_TIMEOUT_SECS),
            )?,
            tls: match (settings.tls_cert.clone(), settings.tls_key.clone()) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                (None, None) => None,
                _ => return Err("tls_cert and tls_key go together: set both or neither".into()),
            },
        })
    }
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
        let cli = Settings { config: Some(path), ..Settings::default() };
        let config = Config::resolve(&cli).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.storage_url, "memory://");
        assert_eq!(config.bind.port(), 9000);
        assert_eq!(config.api_key.as_deref(), Some("k"));
        let shown = format!("{config:?}");
        assert!(!shown.contains("\"s\"") && !shown.contains("\"k\""), "{shown}");
        let cli = Settings { bind: Some("127.0.0.1:9001".parse().unwrap_or_else(|e| panic!("{e}"))), ..cli };
        assert_eq!(Config::resolve(&cli).unwrap_or_else(|e| panic!("{e}")).bind.port(), 9001);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
