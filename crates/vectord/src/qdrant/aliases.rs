//! Qdrant's aliases: `POST /collections/aliases` (create, delete and rename
//! actions applied as one change, all or none, durable when answered),
//! `GET /aliases` and `GET /collections/{c}/aliases`. Every collection route
//! but create and delete resolves an alias to its collection (the routes
//! declare it, [`crate::routes`]).

use axum::extract::State;
use lhv_store::AliasChange;
use serde::{Deserialize, Serialize};

use super::answers::{Answer, Reply};
use crate::http::extract::{JsonBody, OnIndex};
use crate::state::AppState;

/// `POST /collections/aliases`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeAliases {
    /// The actions, applied in order.
    actions: Vec<Action>,
}

/// One of Qdrant's alias actions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
enum Action {
    #[serde(rename = "create_alias")]
    Create(CreateAlias),
    #[serde(rename = "delete_alias")]
    Delete(DeleteAlias),
    #[serde(rename = "rename_alias")]
    Rename(RenameAlias),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAlias {
    collection_name: String,
    alias_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteAlias {
    alias_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameAlias {
    old_alias_name: String,
    new_alias_name: String,
}

impl From<Action> for AliasChange {
    fn from(action: Action) -> Self {
        match action {
            Action::Create(a) => AliasChange::Create { alias: a.alias_name, index: a.collection_name },
            Action::Delete(a) => AliasChange::Delete { alias: a.alias_name },
            Action::Rename(a) => AliasChange::Rename { from: a.old_alias_name, to: a.new_alias_name },
        }
    }
}

/// Applies the actions as one change (in a cluster, one etcd transaction).
pub(crate) async fn change(State(state): State<AppState>, JsonBody(body): JsonBody<ChangeAliases>) -> Reply<bool> {
    let changes: Vec<AliasChange> = body.actions.into_iter().map(AliasChange::from).collect();
    #[cfg(feature = "cluster")]
    if let Some(routing) = &state.routing {
        routing.change_aliases(&changes).await?;
        return Ok(Answer(true));
    }
    state.catalog.change_aliases(&changes).await?;
    Ok(Answer(true))
}

/// Every alias with the index it names, by alias.
fn all_aliases(state: &AppState) -> Result<Vec<(String, String)>, crate::error::ApiError> {
    #[cfg(feature = "cluster")]
    if let Some(routing) = &state.routing {
        return Ok(routing.node().aliases());
    }
    Ok(state.catalog.aliases()?)
}

/// Aliases as Qdrant lists them.
#[derive(Debug, Serialize)]
pub(crate) struct AliasList {
    aliases: Vec<AliasDescription>,
}

#[derive(Debug, Serialize)]
struct AliasDescription {
    alias_name: String,
    collection_name: String,
}

fn listed(aliases: Vec<(String, String)>) -> AliasList {
    let aliases =
        aliases.into_iter().map(|(alias_name, collection_name)| AliasDescription { alias_name, collection_name });
    AliasList { aliases: aliases.collect() }
}

/// `GET /aliases`: every alias.
pub(crate) async fn list(State(state): State<AppState>) -> Reply<AliasList> {
    Ok(Answer(listed(all_aliases(&state)?)))
}

/// `GET /collections/{c}/aliases`: the aliases of one collection (which must exist).
pub(crate) async fn of_collection(OnIndex { state, name }: OnIndex) -> Reply<AliasList> {
    crate::ops::handle(&state, &name).await?;
    let mut aliases = all_aliases(&state)?;
    aliases.retain(|(_, index)| *index == name);
    Ok(Answer(listed(aliases)))
}
