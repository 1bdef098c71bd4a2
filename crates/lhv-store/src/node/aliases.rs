//! A node's aliases: changed in etcd (see [`crate::control`]), read from the
//! node's watched view.

use crate::aliases::AliasChange;
use crate::control::Revision;
use crate::error::Result;
use crate::node::Node;

impl Node {
    /// Applies `changes` in order, all or none; the revision they were made at.
    pub async fn change_aliases(&self, changes: &[AliasChange]) -> Result<Revision> {
        self.control.change_aliases(changes).await
    }

    /// The index `name` stands for: the one an alias `name` names, else
    /// `name` itself (as this node's view has them).
    pub fn resolve(&self, name: &str) -> String {
        self.view.read().aliases.get(name).cloned().unwrap_or_else(|| name.to_owned())
    }

    /// Every alias naming a live index, with that index, by alias (as this
    /// node's view has them).
    pub fn aliases(&self) -> Vec<(String, String)> {
        let view = self.view.read();
        view.aliases
            .iter()
            .filter(|(_, index)| view.live_index(index).is_some())
            .map(|(alias, index)| (alias.clone(), index.clone()))
            .collect()
    }

    /// The etcd revision this node's view is current to.
    pub fn revision(&self) -> Revision {
        self.view.read().revision
    }
}
