//! The controller: one member at a time decides placement. It is elected by
//! creating the `controller` key on its membership lease in a transaction
//! that succeeds only if the key does not exist; the key's create revision
//! identifies that term of leadership, and every placement change checks it,
//! so a controller whose lease expired (paused, partitioned) cannot change
//! placement after another member took over.

use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp};

use super::members::Membership;
use super::{ControlPlane, Revision, control};
use crate::error::Result;

/// One term of this process as controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leadership {
    revision: Revision,
}

impl Leadership {
    /// The revision the term began at (the `controller` key's create revision).
    pub fn revision(&self) -> Revision {
        self.revision
    }
}

pub(super) fn controller_key() -> &'static str {
    "controller"
}

impl ControlPlane {
    /// Becomes the controller if there is none: the term, or None if another
    /// member leads. The key lives on `member`'s lease, so the term ends
    /// when the member leaves or its lease expires.
    pub async fn try_lead(&self, member: &Membership) -> Result<Option<Leadership>> {
        let key = self.key(controller_key());
        let txn = Txn::new()
            .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key.clone(), member.node(), Some(PutOptions::new().with_lease(member.lease())))])
            .or_else([TxnOp::get(key, None)]);
        let answer = self.client.kv_client().txn(txn).await.map_err(|e| control("elect controller", e))?;
        if !answer.succeeded() {
            // Our own key from an earlier call in this term is ours still.
            if let Some(current) = self.get(controller_key()).await?
                && current.lease() == member.lease()
            {
                return Ok(Some(Leadership { revision: current.create_revision() }));
            }
            return Ok(None);
        }
        Ok(Some(Leadership { revision: answer.header().map_or(0, |h| h.revision()) }))
    }

    /// The controller's node name and term, if there is one.
    pub async fn controller(&self) -> Result<Option<(String, Leadership)>> {
        let Some(kv) = self.get(controller_key()).await? else { return Ok(None) };
        let node = String::from_utf8_lossy(kv.value()).into_owned();
        Ok(Some((node, Leadership { revision: kv.create_revision() })))
    }
}
