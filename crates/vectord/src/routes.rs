//! Every route of both APIs, declared once: method, path, who may call it,
//! and the handler. The router ([`crate::http::router`]) is built from this
//! list and nothing else, so a route cannot exist without an access kind.

use axum::http::Method;

use crate::http::route::{Access, BodyLimit, Declared, Dialect, Route};
use crate::{native, qdrant};

/// The declarations with their handlers.
pub(crate) fn declared() -> Vec<Declared> {
    use Access::{Admin, Open, Read, Write};
    use Method as M;
    use native::{cluster, fields, health, indexes, items, service, snapshots};
    use qdrant::{
        aliases, batch, collections, discover, facet, field_index, groups, payload, points, recommend, search,
        update_collection, vectors,
    };
    let ours = |method, path, access| Route::new(Dialect::Native, method, path, access);
    let theirs = |method, path, access| Route::new(Dialect::Qdrant, method, path, access);
    // A Qdrant route on a collection, whose `{name}` may be an alias.
    let collection = |method, path, access| theirs(method, path, access).resolving_aliases();
    let declared = vec![
        // Probes and service documents.
        Declared::new(ours(M::GET, "/healthz", Open), health::healthz),
        Declared::new(ours(M::GET, "/readyz", Open), health::readyz),
        Declared::new(ours(M::GET, "/metrics", Read), service::metrics),
        Declared::new(ours(M::GET, "/openapi.json", Read), || async { crate::openapi::serve(&route_table()) }),
        Declared::new(ours(M::GET, "/v1/cluster", Read), cluster::status),
        // vectord's own API.
        Declared::new(ours(M::POST, "/v1/vectors/index", Admin), indexes::create),
        Declared::new(ours(M::GET, "/v1/vectors/index", Read), indexes::list),
        Declared::new(ours(M::GET, "/v1/vectors/index/{name}", Read), indexes::describe),
        Declared::new(ours(M::DELETE, "/v1/vectors/index/{name}", Admin), indexes::drop),
        Declared::new(ours(M::POST, "/v1/vectors/index/{name}/add", Write), items::add),
        Declared::new(ours(M::POST, "/v1/vectors/index/{name}/search", Read), native::search::one),
        Declared::new(ours(M::POST, "/v1/vectors/index/{name}/search/batch", Read), native::search::batch),
        Declared::new(ours(M::POST, "/v1/vectors/index/{name}/search/hybrid", Read), native::hybrid::hybrid),
        Declared::new(ours(M::GET, "/v1/vectors/index/{name}/items", Read), items::list),
        Declared::new(ours(M::GET, "/v1/vectors/index/{name}/items/{*id}", Read), items::get),
        Declared::new(ours(M::DELETE, "/v1/vectors/index/{name}/items/{*id}", Write), items::delete),
        Declared::new(ours(M::PUT, "/v1/vectors/index/{name}/fields/{key}", Write), fields::create),
        Declared::new(ours(M::DELETE, "/v1/vectors/index/{name}/fields/{key}", Write), fields::drop),
        Declared::new(ours(M::POST, "/v1/vectors/index/{name}/reshard", Admin), native::reshard::reshard),
        Declared::new(ours(M::GET, "/v1/vectors/index/{name}/snapshot", Read), snapshots::export),
        Declared::new(ours(M::PUT, "/v1/vectors/index/{name}/snapshot", Admin), snapshots::import)
            .body(BodyLimit::Snapshot),
        // Qdrant's API.
        Declared::new(theirs(M::GET, "/", Read), qdrant::root),
        Declared::new(theirs(M::GET, "/collections", Read), collections::list),
        Declared::new(theirs(M::POST, "/collections/aliases", Admin), aliases::change),
        Declared::new(theirs(M::GET, "/aliases", Read), aliases::list),
        Declared::new(collection(M::GET, "/collections/{name}/aliases", Read), aliases::of_collection),
        Declared::new(theirs(M::PUT, "/collections/{name}", Admin), collections::create),
        Declared::new(collection(M::GET, "/collections/{name}", Read), collections::describe),
        Declared::new(theirs(M::DELETE, "/collections/{name}", Admin), collections::delete),
        Declared::new(collection(M::PATCH, "/collections/{name}", Admin), update_collection::update),
        Declared::new(collection(M::GET, "/collections/{name}/exists", Read), collections::exists),
        Declared::new(collection(M::PUT, "/collections/{name}/index", Write), field_index::create),
        Declared::new(collection(M::DELETE, "/collections/{name}/index/{key}", Write), field_index::drop),
        Declared::new(collection(M::PUT, "/collections/{name}/points", Write), points::upsert),
        Declared::new(collection(M::POST, "/collections/{name}/points", Read), points::retrieve),
        Declared::new(collection(M::GET, "/collections/{name}/points/{id}", Read), points::get_one),
        Declared::new(collection(M::POST, "/collections/{name}/points/delete", Write), points::delete),
        Declared::new(collection(M::POST, "/collections/{name}/points/scroll", Read), points::scroll),
        Declared::new(collection(M::POST, "/collections/{name}/points/count", Read), points::count),
        Declared::new(collection(M::POST, "/collections/{name}/points/search", Read), search::search),
        Declared::new(collection(M::POST, "/collections/{name}/points/search/batch", Read), search::search_batch),
        Declared::new(collection(M::POST, "/collections/{name}/points/query", Read), search::query),
        Declared::new(collection(M::POST, "/collections/{name}/points/query/batch", Read), search::query_batch),
        Declared::new(collection(M::POST, "/collections/{name}/points/search/groups", Read), groups::search_groups),
        Declared::new(collection(M::POST, "/collections/{name}/facet", Read), facet::facet),
        Declared::new(collection(M::POST, "/collections/{name}/points/recommend", Read), recommend::points_recommend),
        Declared::new(collection(M::POST, "/collections/{name}/points/discover", Read), discover::points_discover),
        Declared::new(collection(M::POST, "/collections/{name}/points/query/groups", Read), groups::query_groups),
        Declared::new(collection(M::POST, "/collections/{name}/points/payload", Write), payload::write),
        Declared::new(collection(M::PUT, "/collections/{name}/points/payload", Write), payload::write),
        Declared::new(collection(M::POST, "/collections/{name}/points/payload/delete", Write), payload::delete_keys),
        Declared::new(collection(M::POST, "/collections/{name}/points/payload/clear", Write), payload::clear),
        Declared::new(collection(M::PUT, "/collections/{name}/points/vectors", Write), vectors::update),
        Declared::new(collection(M::POST, "/collections/{name}/points/vectors/delete", Write), vectors::delete),
        Declared::new(collection(M::POST, "/collections/{name}/points/batch", Write), batch::batch),
    ];
    declared.into_iter().chain(member_routes()).collect()
}

/// Between the members of an etcd cluster.
#[cfg(feature = "cluster")]
fn member_routes() -> Vec<Declared> {
    let route = Route::new(Dialect::Native, Method::POST, "/internal/v1/shards", Access::Member);
    vec![Declared::new(route, crate::routing::serve_shards)]
}

/// Between the members of an etcd cluster: none without the `cluster` feature.
#[cfg(not(feature = "cluster"))]
fn member_routes() -> Vec<Declared> {
    Vec::new()
}

/// Every route's declaration, in the order declared.
pub fn route_table() -> Vec<Route> {
    declared().into_iter().map(|declared| declared.route).collect()
}
