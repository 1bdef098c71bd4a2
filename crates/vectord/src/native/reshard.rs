//! `POST /v1/vectors/index/{name}/reshard`: in a cluster on etcd, doubles an
//! index's shards (an item of shard `s` of `n` goes to `s` or `s + n`, and
//! nowhere else), as a new incarnation loaded from object storage; reads go
//! on meanwhile, writes wait (503, retryable) until it is done.

use serde::Serialize;
use utoipa::ToSchema;

use super::Reply;
use crate::error::ApiError;
use crate::http::extract::OnIndex;

/// The index after resharding.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReshardAnswer {
    /// The index.
    #[schema(example = "docs")]
    pub name: String,
    /// Its shards now (twice as many as before).
    #[schema(example = 8)]
    pub shards: u32,
}

/// Doubles the index's shards (a cluster on etcd only); answers once the
/// new shards serve.
#[utoipa::path(post, path = "/v1/vectors/index/{name}/reshard", operation_id = "reshard",
    params(("name" = String, Path, example = "docs")), responses(
    (status = 200, description = "Resharded: twice the shards", body = ReshardAnswer),
    (status = 400, description = "Already at 64 shards", body = super::docs::ErrorDoc),
    (status = 404, description = "No such index", body = super::docs::ErrorDoc),
    (status = 409, description = "Not a member of a cluster on etcd", body = super::docs::ErrorDoc)))]
pub(crate) async fn reshard(OnIndex { state, name }: OnIndex) -> Reply<ReshardAnswer> {
    #[cfg(feature = "cluster")]
    if let Some(routing) = &state.routing {
        let record = routing.reshard(&name).await?;
        return Ok(axum::Json(ReshardAnswer { name, shards: record.shards }));
    }
    state.catalog.get(&name)?;
    Err(ApiError::new(
        axum::http::StatusCode::CONFLICT,
        "not_in_cluster",
        "resharding is done by a cluster on etcd (docs/OPERATIONS.md); in one process, create an index with more \
         shards and copy the items into it (vectord export, vectord import)",
    ))
}
