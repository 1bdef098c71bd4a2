//! Where `vectord import` writes and `vectord export` reads: a running
//! server over HTTP, or a storage URL opened directly (the server must then
//! be stopped: a data directory admits one process).

use std::sync::Arc;

use lhv_core::{IndexParams, Item};
use lhv_store::{Catalog, CatalogOptions, DurableIndex};
use serde_json::{Value, json};

/// A server, or the catalog at a storage URL.
pub enum Target {
    /// `http(s)://host:port` of a running vectord.
    Server {
        /// The HTTP client.
        client: reqwest::Client,
        /// The server's base URL, without a trailing slash.
        base: String,
        /// Sent as `api-key` when set.
        api_key: Option<String>,
    },
    /// The catalog itself.
    Local(Box<Catalog>),
}

/// An index as the target describes it.
pub struct IndexSummary {
    /// Its dimension.
    pub dim: usize,
    /// Its live items.
    pub count: usize,
}

impl Target {
    /// The server at `server` if given, else the catalog at `storage_url`.
    pub async fn connect(server: Option<&str>, storage_url: &str, api_key: Option<String>) -> Result<Self, String> {
        match server {
            Some(base) => Ok(Target::Server {
                client: {
                    lhv_store::install_crypto_provider();
                    reqwest::Client::new()
                },
                base: base.trim_end_matches('/').to_owned(),
                api_key,
            }),
            None => {
                let catalog = Catalog::open(storage_url, CatalogOptions::default()).await.map_err(|e| e.to_string())?;
                Ok(Target::Local(Box::new(catalog)))
            }
        }
    }

    /// The index called `name`, if it exists.
    pub async fn describe(&self, name: &str) -> Result<Option<IndexSummary>, String> {
        match self {
            Target::Server { .. } => {
                let (status, body) =
                    self.call(reqwest::Method::GET, &format!("/v1/vectors/index/{name}"), None).await?;
                match status {
                    reqwest::StatusCode::NOT_FOUND => Ok(None),
                    status if status.is_success() => {
                        let number = |key: &str| body[key].as_u64().map(|n| n as usize).unwrap_or_default();
                        Ok(Some(IndexSummary { dim: number("dim"), count: number("count") }))
                    }
                    _ => Err(server_error(status, &body)),
                }
            }
            Target::Local(catalog) => match catalog.get(name) {
                Ok(durable) => {
                    Ok(Some(IndexSummary { dim: durable.index().params().dim, count: durable.index().len() }))
                }
                Err(lhv_store::Error::IndexNotFound { .. }) => Ok(None),
                Err(error) => Err(error.to_string()),
            },
        }
    }

    /// Creates an index.
    pub async fn create(&self, name: &str, params: IndexParams) -> Result<(), String> {
        match self {
            Target::Server { .. } => {
                let body = json!({
                    "name": name,
                    "dim": params.dim,
                    "distance": params.metric,
                    "indexed_fields": params.indexed_fields,
                    "on_disk": params.on_disk,
                });
                let (status, body) = self.call(reqwest::Method::POST, "/v1/vectors/index", Some(&body)).await?;
                if status.is_success() { Ok(()) } else { Err(server_error(status, &body)) }
            }
            Target::Local(catalog) => catalog.create(name, params).await.map(|_| ()).map_err(|e| e.to_string()),
        }
    }

    /// Inserts or replaces a batch, durably.
    pub async fn add(&self, name: &str, items: Vec<Item>) -> Result<(), String> {
        match self {
            Target::Server { .. } => {
                let body = json!({ "items": items });
                let path = format!("/v1/vectors/index/{name}/add");
                let (status, body) = self.call(reqwest::Method::POST, &path, Some(&body)).await?;
                if status.is_success() { Ok(()) } else { Err(server_error(status, &body)) }
            }
            Target::Local(catalog) => {
                let durable: Arc<DurableIndex> = catalog.get(name).map_err(|e| e.to_string())?;
                durable.upsert(items).await.map(|_| ()).map_err(|e| e.to_string())
            }
        }
    }

    /// The index as an LHV1 snapshot frame.
    pub async fn export_frame(&self, name: &str) -> Result<Vec<u8>, String> {
        match self {
            Target::Server { client, base, api_key } => {
                let mut request = client.get(format!("{base}/v1/vectors/index/{name}/snapshot"));
                if let Some(key) = api_key {
                    request = request.header("api-key", key);
                }
                let response = request.send().await.map_err(|e| format!("cannot reach {base}: {e}"))?;
                let status = response.status();
                if !status.is_success() {
                    let body = response.json::<Value>().await.unwrap_or(Value::Null);
                    return Err(server_error(status, &body));
                }
                response.bytes().await.map(|b| b.to_vec()).map_err(|e| format!("reading the snapshot: {e}"))
            }
            Target::Local(catalog) => {
                let durable = catalog.get(name).map_err(|e| e.to_string())?;
                durable.export_snapshot().await.map_err(|e| e.to_string())
            }
        }
    }

    /// Closes a directly opened catalog (writing snapshots).
    pub async fn close(self) -> Result<(), String> {
        match self {
            Target::Server { .. } => Ok(()),
            Target::Local(catalog) => catalog.close().await.map_err(|e| e.to_string()),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(reqwest::StatusCode, Value), String> {
        let Target::Server { client, base, api_key } = self else {
            return Err("not a server".into());
        };
        let mut request = client.request(method, format!("{base}{path}"));
        if let Some(key) = api_key {
            request = request.header("api-key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| format!("cannot reach {base}: {e}"))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| format!("reading the answer from {base}: {e}"))?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }
}

fn server_error(status: reqwest::StatusCode, body: &Value) -> String {
    let code = body["error"]["code"].as_str().unwrap_or("");
    let message = body["error"]["message"].as_str().map_or_else(|| body.to_string(), str::to_owned);
    format!("the server answered {status} {code}: {message}")
}
