//! How this process takes part in a cluster, checked: its address and
//! etcd's endpoints (the cluster of placed shards). `cluster_address`
//! without `etcd` is refused: the older cluster over leases in the bucket
//! is gone.

use super::settings::{Secret, Settings};

/// How this process takes part in a cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The URL the other members reach this one at.
    pub address: String,
    /// How long an etcd membership holds without renewal.
    pub lease_ttl_ms: u64,
    /// The control plane.
    pub etcd: EtcdConfig,
}

/// A cluster coordinated by etcd.
#[derive(Debug, Clone)]
pub struct EtcdConfig {
    /// etcd's client endpoints.
    pub endpoints: Vec<String>,
    /// The key prefix of this cluster (`/vectord/<cluster name>/`).
    pub prefix: String,
    /// This process's name among the members.
    pub node_name: String,
    /// Bytes of shards the controller places here.
    pub memory_budget: u64,
    /// What the members present to each other.
    pub secret: Secret,
    /// Copies per shard of an index created without saying.
    pub replication: u32,
}

/// Default lease length.
pub const DEFAULT_LEASE_TTL_MS: u64 = 3_000;
/// Default memory budget of a cluster member.
const DEFAULT_MEMORY_BUDGET: u64 = 1 << 30;

/// The cluster settings, if `etcd` and `cluster_address` are set; a cluster
/// needs storage with conditional writes that other processes share (S3).
pub(super) fn cluster_config(settings: &Settings, storage_url: &str) -> Result<Option<ClusterConfig>, String> {
    let (address, endpoints) = match (settings.cluster_address.clone(), &settings.etcd) {
        (None, None) => return Ok(None),
        (None, Some(_)) => {
            return Err("etcd needs cluster_address: the URL the other processes reach this one at".into());
        }
        (Some(_), None) => {
            return Err("cluster_address needs etcd (--etcd, VECTORD_ETCD): a cluster is coordinated by etcd; \
                 the cluster over S3 leases was removed (see \"Cluster on etcd\" in docs/OPERATIONS.md)"
                .into());
        }
        (Some(address), Some(endpoints)) => (address, endpoints),
    };
    let parsed = url::Url::parse(&address).map_err(|e| format!("cluster_address {address:?}: {e}"))?;
    let Some(host) = parsed.host_str().filter(|_| matches!(parsed.scheme(), "http" | "https")) else {
        return Err(format!("cluster_address {address:?} must be an http(s)://host:port URL"));
    };
    if !storage_url.starts_with("s3://") && !storage_url.starts_with("memory://") {
        return Err(format!(
            "a cluster needs an s3:// storage URL (shared, with conditional writes), not {storage_url:?}"
        ));
    }
    let lease_ttl_ms = settings.lease_ttl_ms.unwrap_or(DEFAULT_LEASE_TTL_MS);
    if lease_ttl_ms < 300 {
        return Err(format!("lease_ttl_ms must be at least 300, not {lease_ttl_ms}"));
    }
    let default_name = match parsed.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let etcd = etcd_config(settings, endpoints, default_name, lease_ttl_ms)?;
    let address = address.trim_end_matches('/').to_owned();
    Ok(Some(ClusterConfig { address, lease_ttl_ms, etcd }))
}

fn etcd_config(settings: &Settings, endpoints: &str, default_name: String, ttl_ms: u64) -> Result<EtcdConfig, String> {
    if ttl_ms < 1_000 || !ttl_ms.is_multiple_of(1_000) {
        return Err(format!("with etcd, lease_ttl_ms must be whole seconds (etcd's unit), not {ttl_ms}"));
    }
    let endpoints: Vec<String> =
        endpoints.split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned).collect();
    if endpoints.is_empty() {
        return Err("etcd needs at least one endpoint".into());
    }
    let cluster = settings.cluster_name.clone().unwrap_or_else(|| "vectord".to_owned());
    if cluster.is_empty() || cluster.contains('/') {
        return Err(format!("cluster_name {cluster:?} must be non-empty and without '/'"));
    }
    let node_name = settings.node_name.clone().unwrap_or(default_name);
    if node_name.is_empty() || node_name.contains('/') {
        return Err(format!("node_name {node_name:?} must be non-empty and without '/'"));
    }
    let memory_budget = match &settings.memory_budget {
        Some(text) => parse_bytes(text).ok_or_else(|| format!("memory_budget {text:?}: give bytes, or e.g. 512MiB"))?,
        None => DEFAULT_MEMORY_BUDGET,
    };
    let Some(secret) = settings.cluster_secret.clone().filter(|s| !s.is_empty()) else {
        return Err("etcd needs cluster_secret: the members authenticate each other's internal calls with it".into());
    };
    let replication = settings.replication.unwrap_or(1);
    if replication == 0 {
        return Err("replication must be at least 1".into());
    }
    Ok(EtcdConfig { endpoints, prefix: format!("/vectord/{cluster}/"), node_name, memory_budget, secret, replication })
}

/// `1048576`, `512MiB`, `8GiB`, `64KiB` (also `MB`-style units, read as
/// powers of 1000) as bytes; None if malformed, zero or too large.
fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(multiplier).filter(|bytes| *bytes > 0)
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    /// A member of an etcd cluster on `url`, reached at `address`.
    fn cli(url: &str, address: &str) -> Settings {
        Settings {
            storage_url: Some(url.into()),
            cluster_address: Some(address.into()),
            etcd: Some("http://e1:2379".into()),
            cluster_secret: Some(Secret::from("s")),
            ..Settings::default()
        }
    }

    #[test]
    fn a_cluster_needs_shared_storage_and_an_http_address() {
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
        let short = Settings { lease_ttl_ms: Some(10), ..cli("s3://b/p", "http://a:1") };
        assert!(Config::resolve(&short).is_err());
        assert!(Config::resolve(&Settings::default()).is_ok_and(|c| c.cluster.is_none()));
    }

    #[test]
    fn a_cluster_address_without_etcd_is_refused() {
        let alone = Settings { etcd: None, ..cli("s3://b/p", "http://10.0.0.5:3215") };
        let error = Config::resolve(&alone).err().unwrap_or_default();
        assert!(error.contains("cluster_address needs etcd"), "{error}");
        assert!(error.contains("Cluster on etcd"), "{error}");
    }

    #[test]
    fn an_etcd_cluster_names_its_node_and_needs_a_secret() {
        let etcd = |secret: Option<&str>| Settings {
            etcd: Some("http://e1:2379, http://e2:2379".into()),
            cluster_secret: secret.map(Secret::from),
            memory_budget: Some("96MiB".into()),
            ..cli("s3://b/p", "http://10.0.0.5:3215")
        };
        let config = Config::resolve(&etcd(Some("s"))).unwrap_or_else(|e| panic!("{e}"));
        let etcd_config = config.cluster.map(|c| c.etcd).unwrap_or_else(|| panic!("no etcd"));
        assert_eq!(etcd_config.endpoints, ["http://e1:2379", "http://e2:2379"]);
        assert_eq!(etcd_config.node_name, "10.0.0.5:3215");
        assert_eq!(etcd_config.memory_budget, 96 << 20);
        assert_eq!(etcd_config.prefix, "/vectord/vectord/");
        let error = Config::resolve(&etcd(None)).err().unwrap_or_default();
        assert!(error.contains("cluster_secret"), "{error}");
        let no_address = Settings { cluster_address: None, ..etcd(Some("s")) };
        assert!(Config::resolve(&no_address).err().unwrap_or_default().contains("cluster_address"));
        let odd_ttl = Settings { lease_ttl_ms: Some(1_500), ..etcd(Some("s")) };
        assert!(Config::resolve(&odd_ttl).err().unwrap_or_default().contains("whole seconds"));
    }

    #[test]
    fn byte_sizes_parse_with_units() {
        assert_eq!(parse_bytes("1048576"), Some(1 << 20));
        assert_eq!(parse_bytes("96MiB"), Some(96 << 20));
        assert_eq!(parse_bytes("2 GiB"), Some(2 << 30));
        assert_eq!(parse_bytes("5MB"), Some(5_000_000));
        for bad in ["", "MiB", "0", "12XB", "-1", "99999999999999TiB"] {
            assert_eq!(parse_bytes(bad), None, "{bad}");
        }
    }
}
