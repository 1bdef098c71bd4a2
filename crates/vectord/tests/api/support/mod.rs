//! The service in-process on port 0, and assertions on its answers.
#![allow(dead_code)]

use std::sync::Arc;

use lhv_store::{Catalog, CatalogOptions, Store, open_url};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use vectord::config::{Config, Settings};

pub struct Server {
    pub base: String,
    pub client: Client,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<(), String>>,
}

impl Server {
    pub async fn start(catalog: Catalog, configure: impl FnOnce(&mut Config)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(listener, catalog, configure).await
    }

    /// [`start`](Self::start) on a listener bound by the caller (who needs its address first).
    pub async fn start_on(
        listener: tokio::net::TcpListener,
        catalog: Catalog,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config =
            Config::resolve(&Settings { storage_url: Some("memory://".into()), ..Settings::default() }).unwrap();
        configure(&mut config);
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(vectord::serve_catalog(listener, Arc::new(catalog), config, async {
            let _ = stopped.await;
        }));
        lhv_store::install_crypto_provider();
        Self { base, client: Client::new(), stop: Some(stop), done }
    }

    /// The service as `vectord::serve` runs it (opening what `config` says).
    pub async fn serve(listener: tokio::net::TcpListener, config: Config) -> Self {
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(vectord::serve(listener, config, async {
            let _ = stopped.await;
        }));
        lhv_store::install_crypto_provider();
        Self { base, client: Client::new(), stop: Some(stop), done }
    }

    pub async fn on(store: Arc<dyn Store>) -> Self {
        Self::start(Catalog::open_store(store, CatalogOptions::default()).await.unwrap(), |_| {}).await
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(json!(text)) };
        (status, value)
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        self.done.await.unwrap().unwrap();
    }
}

pub fn memory() -> Arc<dyn Store> {
    open_url("memory://", &[]).unwrap().store
}

/// Asserts the status and the error code of an error answer.
pub fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(answer.0, status, "{answer:?}");
    assert_eq!(answer.1["error"]["code"], code, "{answer:?}");
    assert!(answer.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer:?}");
}
