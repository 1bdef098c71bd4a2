//! `lhv-store`: durable vectord indexes.
//!
//! - [`Store`]: one small interface over local directories, memory, S3 and
//!   HTTP/WebDAV object storage (on the `object_store` crate), opened from a
//!   URL by [`open_url`].
//! - [`Catalog`]: the indexes under one URL. Each is a [`DurableIndex`]: one
//!   or more shards ([`lhv_core::ShardedIndex`]), each an [`lhv_core::Index`]
//!   whose writes go to its own write-ahead log (group-committed) before they
//!   are applied and acknowledged, with snapshots written in the background
//!   and recovery (snapshot + log replay) on open.
//!
//! - With the `cluster` feature (it needs `protoc` to build etcd's client):
//!   `control`, the control plane of a cluster kept in etcd (indexes by
//!   incarnation, members on etcd leases, shard placement whose revisions are
//!   the writers' fencing tokens, the controller's election, watches),
//!   `member`, the shards a member holds in object storage, each fenced by
//!   its writer's token in its log head, `controller` (the placement plan)
//!   and `node` (a process of such a cluster). The plain path ([`Catalog`])
//!   never uses them.
//!
//! The promise: once a write is acknowledged, it survives a crash of the
//! process at any instant; a damaged object is reported (its index is
//! listed as unavailable), never silently dropped or overwritten.
//! docs/ARCHITECTURE.md describes the object layout and the protocol.
//!
//! See [`Catalog`] for an example.

mod aliases;
mod cache;
mod catalog;
#[cfg(feature = "cluster")]
pub mod control;
#[cfg(feature = "cluster")]
pub mod controller;
mod counted;
mod crypto;
mod discover;
mod durable;
mod error;
mod fence;
mod follow;
mod head;
mod layout;
mod leased;
mod lock;
mod mapped;
#[cfg(feature = "cluster")]
pub mod member;
#[cfg(feature = "cluster")]
pub mod node;
mod read_in;
mod recovery;
mod replay;
mod shard;
mod store;
pub mod testing;
mod url;

pub use aliases::AliasChange;
pub use cache::SnapshotCache;
pub use catalog::{Catalog, CatalogOptions, IndexState, IndexStatus};
pub use counted::{CountedStore, StoreRequests};
pub use crypto::install_crypto_provider;
pub use durable::DurableIndex;
pub use error::{Error, Result};
pub use layout::validate_name;
pub use store::{ObjectBody, ObjectReader, ObjectStoreBackend, ObjectVersion, Store, StoreFuture};
pub use url::{OpenedStore, open_url};
