//! `vectord`: the vector-search service.
//!
//! A thin HTTP layer (axum) over the durable indexes of `lhv-store`. The
//! library owns the service, [`serve`] on a listener until a shutdown
//! signal, so that tests run it in-process on port 0; `main.rs` only reads
//! the settings, binds and waits for the signal.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use vectord::config::{Config, Settings};
//!
//! let config = Config::resolve(&Settings { storage_url: Some("memory://".into()), ..Settings::default() })?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! vectord::serve(listener, config, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

pub mod cli;
pub mod config;
mod error;
mod http;
pub mod logging;
mod metrics;
mod native;
mod openapi;
mod ops;
mod qdrant;
mod routes;
#[cfg(feature = "cluster")]
mod routing;
mod state;
mod tls;
pub mod transfer;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lhv_store::{Catalog, CatalogOptions};
use tokio::net::TcpListener;

pub use http::route::{Access, BodyLimit, Dialect, Route};
pub use qdrant::QDRANT_API_VERSION;
pub use routes::route_table;
pub use tls::server_config as tls_server_config;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::state::AppState;

/// The OpenAPI document of the native API (as `GET /openapi.json` serves it).
pub fn openapi_json() -> String {
    openapi::json(&route_table())
}

/// Opens the catalog, loads its indexes in the background, and serves the
/// API on `listener` until `shutdown` completes; then finishes the requests
/// in flight and snapshots every index before returning.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    serve_until(listener, config, Box::pin(shutdown)).await
}

/// A signal that stops the service. Boxed so that the service is compiled
/// once, in this crate, rather than once per caller's shutdown future type
/// (every test binary would otherwise compile the whole HTTP stack again).
type Shutdown = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

async fn serve_until(listener: TcpListener, config: Config, shutdown: Shutdown) -> Result<(), String> {
    if let Some(cluster) = &config.cluster {
        let etcd = cluster.etcd.clone();
        return serve_cluster_member(listener, config, etcd, shutdown).await;
    }
    let options = CatalogOptions {
        snapshot_log_bytes: config.snapshot_log_bytes,
        s3_options: config.s3_options.pairs(),
        cache_dir: config.cache_dir.clone(),
    };
    let catalog = Arc::new(Catalog::open_unloaded(&config.storage_url, options).await.map_err(|e| e.to_string())?);
    let loader = Arc::clone(&catalog);
    tokio::spawn(async move {
        if let Err(error) = loader.load_all().await {
            tracing::error!(%error, "loading the indexes failed");
        }
        tracing::info!("all indexes loaded");
    });
    serve_catalog_until(listener, catalog, config, shutdown).await
}

/// Serves as a member of an etcd cluster: the shards placed here are
/// loaded by the node; the catalog holds nothing (every index is routed).
#[cfg(feature = "cluster")]
async fn serve_cluster_member(
    listener: TcpListener,
    config: Config,
    etcd: config::EtcdConfig,
    shutdown: Shutdown,
) -> Result<(), String> {
    let Some(cluster) = config.cluster.clone() else { return Err("no cluster settings".into()) };
    let store = lhv_store::open_url(&config.storage_url, &config.s3_options.pairs()).map_err(|e| e.to_string())?.store;
    let store: Arc<dyn lhv_store::Store> = match &config.cache_dir {
        Some(dir) => Arc::new(lhv_store::SnapshotCache::new(store, dir).map_err(|e| e.to_string())?),
        None => store,
    };
    // Counted: what the cluster asks of object storage shows in /metrics.
    let counted = Arc::new(lhv_store::CountedStore::new(store));
    let client = forwarder()?;
    let store: Arc<dyn lhv_store::Store> = Arc::clone(&counted) as Arc<dyn lhv_store::Store>;
    let routing = routing::Routing::start(&cluster, &etcd, store, config.snapshot_log_bytes, client).await?;
    let catalog = Arc::new(
        Catalog::open(
            "memory://",
            CatalogOptions { snapshot_log_bytes: config.snapshot_log_bytes, ..CatalogOptions::default() },
        )
        .await
        .map_err(|e| e.to_string())?,
    );
    let (state, listening) = state_and_listening(catalog, config)?;
    let _ = state.metrics.storage.set(counted);
    let state = AppState { routing: Some(Arc::clone(&routing)), ..state };
    http::server::serve(listener, http::router(state, routes::declared()), listening, shutdown).await;
    tracing::info!("shutting down: leaving the cluster");
    routing.leave().await;
    Ok(())
}

#[cfg(not(feature = "cluster"))]
async fn serve_cluster_member(
    _listener: TcpListener,
    _config: Config,
    _etcd: config::EtcdConfig,
    _shutdown: Shutdown,
) -> Result<(), String> {
    Err("this vectord was built without the `cluster` feature: build it with `--features cluster` to use etcd".into())
}

/// [`serve`] over a catalog the caller opened (and loads, or has loaded).
pub async fn serve_catalog(
    listener: TcpListener,
    catalog: Arc<Catalog>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    serve_catalog_until(listener, catalog, config, Box::pin(shutdown)).await
}

async fn serve_catalog_until(
    listener: TcpListener,
    catalog: Arc<Catalog>,
    config: Config,
    shutdown: Shutdown,
) -> Result<(), String> {
    let (state, listening) = state_and_listening(Arc::clone(&catalog), config)?;
    http::server::serve(listener, http::router(state, routes::declared()), listening, shutdown).await;
    tracing::info!("shutting down: writing snapshots");
    catalog.close().await.map_err(|e| e.to_string())
}

/// The service's state and how it listens.
fn state_and_listening(catalog: Arc<Catalog>, config: Config) -> Result<(AppState, http::server::Listening), String> {
    let tls = match &config.tls {
        Some(files) => Some(tokio_rustls::TlsAcceptor::from(tls::server_config(files)?)),
        None => None,
    };
    let metrics = Arc::new(Metrics::default());
    let listening = http::server::Listening {
        max_connections: config.max_connections,
        header_timeout: config.header_timeout,
        tls,
        metrics: Arc::clone(&metrics),
    };
    let state = AppState {
        catalog,
        config: Arc::new(config),
        metrics,
        #[cfg(feature = "cluster")]
        routing: None,
    };
    Ok((state, listening))
}

/// The HTTP client that calls the other members of an etcd cluster.
#[cfg(feature = "cluster")]
fn forwarder() -> Result<reqwest::Client, String> {
    lhv_store::install_crypto_provider();
    reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| format!("cannot build the forwarding HTTP client: {e}"))
}
