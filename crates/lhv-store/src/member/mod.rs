//! What a member of a cluster holds: shards of index incarnations, in
//! object storage under `_cluster/<incarnation>/<shard>` (apart from a
//! single process's `_vectors/`), each loaded as a replica that follows
//! the shard's log or as its writer under the placement token etcd gave it.
//!
//! The token is the storage-side fence: a writer first claims the shard's
//! log head under its token (reading the log to the end), and every commit
//! is a conditional replace of that head, so once a writer with a larger
//! token (a promoted replica) or a drop (whose revision is larger than every
//! token of the incarnation) has replaced the head, nothing the earlier
//! writer does commits, however long it paused and whatever it believes.

mod fence;
mod shard;

pub use shard::{
    ClusterShard, Followed, ShardOptions, create_incarnation, fence_incarnation, member_index, remove_incarnation,
};
