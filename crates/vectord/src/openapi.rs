//! The OpenAPI description of the API, generated from the handlers'
//! annotations (`GET /openapi.json`; checked in as docs/openapi.json, which a
//! test keeps equal to this).

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::routes;

/// An item as added and returned.
#[derive(Serialize, ToSchema)]
pub struct ItemDoc {
    /// Any non-empty string up to 1024 bytes (percent-encode it in paths).
    pub id: String,
    /// `dim` finite numbers.
    pub vector: Vec<f32>,
    /// Any JSON; omitted or null keeps what is stored.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// One search result.
#[derive(Serialize, ToSchema)]
pub struct HitDoc {
    /// The item's id.
    pub id: String,
    /// Distance under the index metric (smaller is closer).
    pub distance: f32,
    /// The item's metadata.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// The error body of every 4xx and 5xx answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorDoc {
    /// `{"code": "<stable_snake_case>", "message": "...", "item": <position, for a bad item>}`.
    #[schema(value_type = Object)]
    pub error: serde_json::Value,
}

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "vectord", description = "Named indexes of float32 vectors: add, search, read, delete."),
    paths(
        routes::health::healthz,
        routes::health::readyz,
        routes::indexes::create,
        routes::indexes::list,
        routes::indexes::describe,
        routes::indexes::drop,
        routes::items::add,
        routes::items::get,
        routes::items::delete,
        routes::items::list,
        routes::search::one,
        routes::search::batch,
        routes::metrics,
    ),
    components(schemas(ItemDoc, HitDoc, ErrorDoc))
)]
pub struct ApiDoc;

/// The document as pretty JSON, as checked in.
pub fn json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
