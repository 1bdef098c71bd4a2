//! Creating, listing, describing and dropping indexes.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use lhv_core::{IndexParams, Metric};
use lhv_store::{DurableIndex, IndexState};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// `POST /v1/vectors/index`.
#[derive(Debug, Deserialize)]
pub struct CreateIndex {
    name: String,
    dim: usize,
    distance: Metric,
    m: Option<usize>,
    ef_construction: Option<usize>,
    ef_search: Option<usize>,
}

/// What the API says about an index.
#[derive(Debug, Serialize)]
pub struct IndexInfo {
    name: String,
    dim: usize,
    distance: Metric,
    count: usize,
    m: usize,
    ef_construction: usize,
    ef_search: usize,
    status: &'static str,
}

impl IndexInfo {
    pub(crate) fn of(durable: &DurableIndex) -> Self {
        let index = durable.index();
        let params = index.params();
        Self {
            name: durable.name().to_owned(),
            dim: params.dim,
            distance: params.metric,
            count: index.len(),
            m: params.m,
            ef_construction: params.ef_construction,
            ef_search: params.ef_search,
            status: "ready",
        }
    }
}

pub(crate) async fn create(
    State(state): State<AppState>,
    body: Result<Json<CreateIndex>, JsonRejection>,
) -> Result<(StatusCode, Json<IndexInfo>), ApiError> {
    let Json(request) = body?;
    let mut params = IndexParams::new(request.dim, request.distance);
    if let Some(m) = request.m {
        params = params.with_m(m);
    }
    if let Some(ef) = request.ef_construction {
        params = params.with_ef_construction(ef);
    }
    if let Some(ef) = request.ef_search {
        params = params.with_ef_search(ef);
    }
    let durable = state.catalog.create(&request.name, params).await?;
    Ok((StatusCode::CREATED, Json(IndexInfo::of(&durable))))
}

pub(crate) async fn list(State(state): State<AppState>) -> Json<Value> {
    let indexes: Vec<Value> = state
        .catalog
        .list()
        .into_iter()
        .map(|status| match status.state {
            IndexState::Ready => match state.catalog.get(&status.name) {
                Ok(durable) => json!(IndexInfo::of(&durable)),
                Err(e) => json!({ "name": status.name, "status": "unavailable", "reason": e.to_string() }),
            },
            IndexState::Loading => json!({ "name": status.name, "status": "loading" }),
            IndexState::Unavailable(reason) => {
                json!({ "name": status.name, "status": "unavailable", "reason": reason })
            }
        })
        .collect();
    Json(json!({ "indexes": indexes }))
}

pub(crate) async fn describe(
    State(state): State<AppState>,
    name: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<IndexInfo>, ApiError> {
    let Path(name) = name?;
    let durable = state.catalog.get(&name)?;
    Ok(Json(IndexInfo::of(&durable)))
}

pub(crate) async fn drop(
    State(state): State<AppState>,
    name: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(name) = name?;
    state.catalog.drop_index(&name).await?;
    Ok(Json(json!({ "deleted": name })))
}
