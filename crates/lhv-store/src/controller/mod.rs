//! The controller's decisions: where each shard goes. [`plan`] is a pure
//! function from what the control plane holds (members and their budgets,
//! live indexes, the current placement, the shards' sizes and how far each
//! holder has read its log) to the placement changes to make next; the
//! elected controller applies them with [`ControlPlane::place`], each a
//! transaction against the placement it was computed from, so a plan made
//! on a stale view fails rather than undoing a newer one.
//!
//! The rules, in order, per shard of every live index:
//! 1. Unplaced: its writer and `replication - 1` replicas go to distinct
//!    members, those with the most free budget first (the writer, among
//!    equals, to a member that writes fewest shards).
//! 2. Its writer is gone (its lease expired): the replica that has read the
//!    most of the log becomes the writer (its new token fences the old one);
//!    with no live replica, the member with the most free budget loads it
//!    from object storage, which holds every acknowledged write.
//! 3. Replicas that are gone are dropped, and new ones added on other
//!    members until the shard has `replication` holders (or every member holds it).
//! 4. Then, at most `max_moves` at a time, shards move from the member with
//!    the least free budget to the one with the most, while a move leaves
//!    the target with at least as much free budget as the source (so every
//!    move narrows the gaps and moves stop): the target first joins as an extra
//!    replica, and once it has read as far as the writer it takes over (a
//!    replica is simply dropped from the source).
//! 5. Within the same budget of moves, writes spread: a member that writes
//!    at least two more shards than another hands one over to it, if that
//!    member holds a replica that has read as far as the writer (the two
//!    swap roles; the new writer's token fences the old).
//!
//! [`ControlPlane::place`]: crate::control::ControlPlane::place

mod plan;

pub use plan::{ClusterState, IndexInfo, Move, ShardKey, plan};
