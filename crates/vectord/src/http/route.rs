//! What a route declares about itself, once, where it is registered: who may
//! call it, which API it belongs to, how large its body may be. The key
//! guard, the body reader, alias resolution, metrics, error rendering and
//! the OpenAPI document all read these declarations; none of them looks at
//! URL strings to guess.

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a key (liveness and readiness probes).
    Open,
    /// A holder of either key: reads nothing but changes nothing.
    Read,
    /// A holder of the full key: changes items of an index.
    Write,
    /// A holder of the full key: creates, restores or drops indexes.
    Admin,
    /// Another process of the same etcd cluster, presenting the cluster's
    /// secret (no API key): the internal route between members.
    Member,
}

impl Access {
    /// Whether a call changes stored data (so the read-only key may not make
    /// it, and in a cluster it goes to the index's writer).
    pub fn writes(self) -> bool {
        matches!(self, Access::Write | Access::Admin)
    }
}

/// Which API a route belongs to, and so the shape of its answers and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// vectord's own: errors as `{"error": {"code", "message"}}`.
    Native,
    /// Qdrant's: errors as `{"status": {"error"}, "time"}`.
    Qdrant,
}

/// Which limit a route's request body is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLimit {
    /// `max_body_bytes`.
    Request,
    /// `max_snapshot_bytes` (a snapshot upload).
    Snapshot,
}

/// The path parameter that names an index, in every route that has one.
pub const INDEX_PARAM: &str = "name";

/// One route's declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path template as the router matches it (also the metrics label).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Which API it belongs to.
    pub dialect: Dialect,
    /// Its body limit.
    pub body: BodyLimit,
    /// Whether its `{name}` may be an alias, resolved to the index it names
    /// before the request is handled (Qdrant's collection
    /// routes, but for creating and deleting a collection, which name the
    /// collection itself).
    pub resolves_aliases: bool,
}

impl Route {
    /// A route of `dialect` with the usual body limit.
    pub fn new(dialect: Dialect, method: Method, path: &'static str, access: Access) -> Self {
        Self { method, path, access, dialect, body: BodyLimit::Request, resolves_aliases: false }
    }

    /// This route, whose `{name}` may be an alias.
    pub fn resolving_aliases(mut self) -> Self {
        self.resolves_aliases = true;
        self
    }

    /// Whether the path names an index (in its `{name}` parameter).
    pub fn names_index(&self) -> bool {
        self.path.contains("{name}")
    }

    /// The path as OpenAPI writes it (`{*id}` is `{id}` there).
    pub fn documented_path(&self) -> String {
        self.path.replace("{*", "{")
    }
}

/// A route's declaration with its handler: the only way a handler is registered.
pub(crate) struct Declared {
    /// What the route declares.
    pub route: Route,
    /// Its handler, for its method only.
    pub handler: MethodRouter<AppState>,
}

impl Declared {
    /// Declares `route`, answered by `handler`.
    pub(crate) fn new<H, T>(route: Route, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = method_filter(&route.method);
        Self { route, handler: on(filter, handler) }
    }

    /// This route with another body limit.
    pub(crate) fn body(mut self, body: BodyLimit) -> Self {
        self.route.body = body;
        self
    }
}

/// The router's filter for a declared method. Routes are declared with the
/// methods the APIs use; any other would match nothing but OPTIONS, which
/// `every_route_is_declared_once_with_a_routable_method` (tests) rules out.
fn method_filter(method: &Method) -> MethodFilter {
    match *method {
        Method::GET => MethodFilter::GET,
        Method::POST => MethodFilter::POST,
        Method::PUT => MethodFilter::PUT,
        Method::DELETE => MethodFilter::DELETE,
        Method::PATCH => MethodFilter::PATCH,
        _ => MethodFilter::OPTIONS,
    }
}
