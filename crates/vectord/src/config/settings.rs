//! The settings as given: flags, environment and file, each setting declared
//! once. Layering is generic (flags and environment over the file), so a new
//! setting is one new field.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::LogFormat;

/// Every setting, declared once: its flag (`--max-body-bytes`), its
/// environment variable (`VECTORD_MAX_BODY_BYTES`), its key in the file's
/// `[vectord]` section (`max_body_bytes`) and its help all come from its field.
/// Unset is `None`; [`Config::resolve`](super::Config::resolve) layers them
/// and fills in the defaults.
#[derive(Debug, Clone, Default, clap::Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on [default: 127.0.0.1:3215].
    #[arg(long, env = "VECTORD_BIND", global = true)]
    pub bind: Option<SocketAddr>,
    /// Where indexes are kept: memory://, file:///dir, s3://bucket/prefix, http(s)://host/prefix
    /// [default: file://./vectord-data].
    #[arg(long, env = "VECTORD_STORAGE_URL", global = true)]
    #[serde(alias = "storaged_url")] // the original service's name for it
    pub storage_url: Option<String>,
    /// With a remote storage URL (s3://, http(s)://): a local directory kept with a copy of each
    /// snapshot, mapped like a file:// store's, so vectors kept on disk (`on_disk`) stay out of
    /// memory and restarts read the local disk while the bucket's snapshot is unchanged (one
    /// process per directory; deleting it only costs a download) [default: none].
    #[arg(long, env = "VECTORD_CACHE_DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
    /// A TOML file with a `[vectord]` section.
    #[arg(long, env = "VECTORD_CONFIG", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Require `Authorization: Bearer <key>` (or `api-key: <key>`) on the API.
    #[arg(long, env = "VECTORD_API_KEY", global = true, hide_env_values = true)]
    pub api_key: Option<Secret>,
    /// A second key that may only read (search, get, list); writes with it get 403.
    #[arg(long, env = "VECTORD_READ_ONLY_API_KEY", global = true, hide_env_values = true)]
    pub read_only_api_key: Option<Secret>,
    /// Largest request body in bytes [default: 33554432].
    #[arg(long, env = "VECTORD_MAX_BODY_BYTES", global = true)]
    pub max_body_bytes: Option<usize>,
    /// Largest snapshot upload (`PUT .../snapshot`) in bytes [default: 1073741824].
    #[arg(long, env = "VECTORD_MAX_SNAPSHOT_BYTES", global = true)]
    pub max_snapshot_bytes: Option<usize>,
    /// Write an index's snapshot once its log holds this many bytes [default: 67108864].
    #[arg(long, env = "VECTORD_SNAPSHOT_LOG_BYTES", global = true)]
    pub snapshot_log_bytes: Option<u64>,
    /// Shards of an index created without saying how many (1 to 64) [default: 1].
    #[arg(long, env = "VECTORD_DEFAULT_SHARDS", global = true)]
    pub default_shards: Option<usize>,
    /// Connections served at once; a connection over the limit gets 429 and is closed [default: 1024].
    #[arg(long, env = "VECTORD_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<usize>,
    /// Seconds a client gets to send a request's headers, counted from when it connected or got its
    /// previous answer (so idle keep-alive connections close after it) [default: 30].
    #[arg(long, env = "VECTORD_HEADER_TIMEOUT_SECS", global = true)]
    pub header_timeout_secs: Option<u64>,
    /// Seconds a client gets to send a request's whole body; slower ones get 408 [default: 60].
    #[arg(long, env = "VECTORD_BODY_TIMEOUT_SECS", global = true)]
    pub body_timeout_secs: Option<u64>,
    /// PEM certificate chain: with `--tls-key`, the service speaks HTTPS (rustls) instead of HTTP.
    #[arg(long, env = "VECTORD_TLS_CERT", global = true)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for `--tls-cert`.
    #[arg(long, env = "VECTORD_TLS_KEY", global = true)]
    pub tls_key: Option<PathBuf>,
    /// With `--etcd`: the URL the other processes of the cluster reach this one at (e.g.
    /// http://10.0.0.5:3215). Refused without `--etcd`.
    #[arg(long, env = "VECTORD_CLUSTER_ADDRESS", global = true)]
    pub cluster_address: Option<String>,
    /// With `--etcd`: milliseconds (whole seconds) a member's etcd lease holds without renewal:
    /// how long a dead member's shards wait for a new writer [default: 3000].
    #[arg(long, env = "VECTORD_LEASE_TTL_MS", global = true)]
    pub lease_ttl_ms: Option<u64>,
    /// etcd endpoints, comma-separated (e.g. http://10.0.0.1:2379,http://10.0.0.2:2379): with
    /// `--cluster-address`, this process joins a cluster whose control plane is etcd; each
    /// process holds the shards placed on it and routes every request to their holders.
    #[arg(long, env = "VECTORD_ETCD", global = true)]
    pub etcd: Option<String>,
    /// The cluster's name: its keys in etcd sit under `/vectord/<name>/` [default: vectord].
    #[arg(long, env = "VECTORD_CLUSTER_NAME", global = true)]
    pub cluster_name: Option<String>,
    /// This process's name in the cluster, unique among its live members [default: the host
    /// and port of `--cluster-address`].
    #[arg(long, env = "VECTORD_NODE_NAME", global = true)]
    pub node_name: Option<String>,
    /// How much shard data the controller places on this process: bytes, or with a unit
    /// (`512MiB`, `8GiB`) [default: 1GiB].
    #[arg(long, env = "VECTORD_MEMORY_BUDGET", global = true)]
    pub memory_budget: Option<String>,
    /// The secret the cluster's processes present to each other on their internal route;
    /// the same on every process, required with `--etcd`.
    #[arg(long, env = "VECTORD_CLUSTER_SECRET", global = true, hide_env_values = true)]
    pub cluster_secret: Option<Secret>,
    /// Copies of each shard, on distinct processes, for indexes created without saying
    /// [default: 1].
    #[arg(long, env = "VECTORD_REPLICATION", global = true)]
    pub replication: Option<u32>,
    /// Log lines as `text` (coloured only on a terminal) or `json` (one object per line, with the
    /// request's fields, for log shippers) [default: text].
    #[arg(long, env = "VECTORD_LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormat>,
    /// Extra S3 settings (object_store's names: endpoint, region, access_key_id, ...): only in
    /// the file, as its `[vectord.s3]` table.
    #[arg(skip)]
    #[serde(default, skip_serializing_if = "S3Options::is_empty")]
    pub s3: S3Options,
}

impl Settings {
    /// These settings over those of the file they name (if any): a setting
    /// given here wins over the file's.
    pub fn over_file(&self) -> Result<Settings, String> {
        match &self.config {
            Some(path) => self.over(read_file(path)?),
            None => Ok(self.clone()),
        }
    }

    /// These settings over `lower`: each one set here replaces `lower`'s.
    fn over(&self, lower: Settings) -> Result<Settings, String> {
        let to_value = |settings: &Settings| serde_json::to_value(settings).map_err(|e| e.to_string());
        let (Value::Object(mut merged), Value::Object(upper)) = (to_value(&lower)?, to_value(self)?) else {
            return Err("settings are not a map".into());
        };
        merged.extend(upper.into_iter().filter(|(_, value)| !value.is_null()));
        let mut layered: Settings = serde_json::from_value(Value::Object(merged)).map_err(|e| e.to_string())?;
        layered.config.clone_from(&self.config);
        Ok(layered)
    }
}

/// The `[vectord]` section of a TOML file.
fn read_file(path: &Path) -> Result<Settings, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        vectord: Settings,
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(toml::from_str::<File>(&text).map_err(|e| format!("{}: {e}", path.display()))?.vectord)
}

/// A key or password: shown as `<redacted>`, so that settings can be logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::ops::Deref for Secret {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(secret: &str) -> Self {
        Self(secret.to_owned())
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(secret: &str) -> Result<Self, Self::Err> {
        Ok(Self(secret.to_owned()))
    }
}

/// Extra S3 settings by object_store's names; the values of secret ones
/// (`secret`, `token`, `password` in the name) are shown as `<redacted>`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct S3Options(BTreeMap<String, String>);

impl S3Options {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The settings as (name, value) pairs.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

impl std::fmt::Debug for S3Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |key: &str| ["secret", "token", "password"].iter().any(|word| key.contains(word));
        let shown = self.0.iter().map(|(k, v)| (k, if secret(k) { "<redacted>" } else { v.as_str() }));
        f.debug_map().entries(shown).finish()
    }
}
