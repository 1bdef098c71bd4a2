//! Every route of both APIs, declared once: method, path, who may call it,
//! and the handler. The router is built from this list and nothing else, so
//! a route cannot exist without an access kind.

use axum::http::Method;

use super::route::{Access, BodyLimit, Declared, Dialect, Route};
use crate::{native, qdrant};

/// The declarations with their handlers.
pub(crate) fn declared() -> Vec<Declared> {
    use Access::{Admin, Open, Read, Write};
    use Method as M;
    let ours = |method, path, access| Route::new(Dialect::Native, method, path, access);
    let qdrant_route = |method, path, access| Route::new(Dialect::Qdrant, method, path, access);
    vec![
        // Probes and service documents.
        Declared::new(ours(M::GET, "/healthz", Open), native::health::healthz),
        Declared::new(ours(M::GET, "/readyz", Open), native::health::readyz),
        Declared::new(ours(M::GET, "/metrics", Read), native::service::metrics),
        Declared::new(ours(M::GET, "/openapi.json", Read), native::service::openapi),
        Declared::new(ours(M::GET, "/v1/cluster", Read), native::cluster::status),
        // vectord's own API.
        Declared::new(ours(M::POST, "/v1/vectors/index", Admin), native::indexes::create),
        Declared::new(ours(M::GET, "/v1/vectors/index", Read), native::indexes::list),
        Declared::new(ours(M::GET, "/v1/vectors/index/{name}", Read), native::indexes::describe),
        Declared::new(ours(M::DELETE, "/v1/vectors/index/{name}", Admin), native::indexes::drop),
        Declared::new(ours(M::POST, "/v1/vectors/index/{name}/add", Write), native::items::add),
        Declared::new(ours(M::POST, "/v1/vectors/index/{name}/search", Read), native::search::one).takes_consistency(),
        Declared::new(ours(M::POST, "/v1/vectors/index/{name}/search/batch", Read), native::search::batch)
            .takes_consistency(),
        Declared::new(ours(M::GET, "/v1/vectors/index/{name}/items", Read), native::items::list),
        Declared::new(ours(M::GET, "/v1/vectors/index/{name}/items/{*id}", Read), native::items::get),
        Declared::new(ours(M::DELETE, "/v1/vectors/index/{name}/items/{*id}", Write), native::items::delete),
        Declared::new(ours(M::GET, "/v1/vectors/index/{name}/snapshot", Read), native::snapshots::export),
        Declared::new(ours(M::PUT, "/v1/vectors/index/{name}/snapshot", Admin), native::snapshots::import)
            .body(BodyLimit::Snapshot),
        // Qdrant's API.
        Declared::new(qdrant_route(M::GET, "/", Read), qdrant::root),
        Declared::new(qdrant_route(M::GET, "/collections", Read), qdrant::collections::list),
        Declared::new(qdrant_route(M::PUT, "/collections/{name}", Admin), qdrant::collections::create),
        Declared::new(qdrant_route(M::GET, "/collections/{name}", Read), qdrant::collections::describe),
        Declared::new(qdrant_route(M::DELETE, "/collections/{name}", Admin), qdrant::collections::delete),
        Declared::new(qdrant_route(M::GET, "/collections/{name}/exists", Read), qdrant::collections::exists),
        Declared::new(qdrant_route(M::PUT, "/collections/{name}/points", Write), qdrant::points::upsert),
        Declared::new(qdrant_route(M::POST, "/collections/{name}/points", Read), qdrant::points::retrieve),
        Declared::new(qdrant_route(M::GET, "/collections/{name}/points/{id}", Read), qdrant::points::get_one),
        Declared::new(qdrant_route(M::POST, "/collections/{name}/points/delete", Write), qdrant::points::delete),
        Declared::new(qdrant_route(M::POST, "/collections/{name}/points/scroll", Read), qdrant::points::scroll),
        Declared::new(qdrant_route(M::POST, "/collections/{name}/points/count", Read), qdrant::points::count),
        Declared::new(qdrant_route(M::POST, "/collections/{name}/points/search", Read), qdrant::search::search),
        Declared::new(
            qdrant_route(M::POST, "/collections/{name}/points/search/batch", Read),
            qdrant::search::search_batch,
        ),
        Declared::new(qdrant_route(M::POST, "/collections/{name}/points/query", Read), qdrant::search::query),
        Declared::new(
            qdrant_route(M::POST, "/collections/{name}/points/query/batch", Read),
            qdrant::search::query_batch,
        ),
        Declared::new(qdrant_route(M::POST, "/collections/{name}/points/payload", Write), qdrant::payload::set),
        Declared::new(qdrant_route(M::PUT, "/collections/{name}/points/payload", Write), qdrant::payload::overwrite),
        Declared::new(
            qdrant_route(M::POST, "/collections/{name}/points/payload/delete", Write),
            qdrant::payload::delete_keys,
        ),
        Declared::new(qdrant_route(M::POST, "/collections/{name}/points/payload/clear", Write), qdrant::payload::clear),
    ]
}

/// Every route's declaration, in the order declared.
pub fn route_table() -> Vec<Route> {
    declared().into_iter().map(|declared| declared.route).collect()
}
