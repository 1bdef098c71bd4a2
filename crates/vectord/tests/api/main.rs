//! The service end to end: in-process servers on port 0 and the real binary.
//!
//! One test binary for the whole crate (each module was once its own), so that
//! the service and its dependencies are linked once rather than once per file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

mod connections;
#[cfg(feature = "cluster")]
mod etcd_cluster;
#[cfg(feature = "cluster")]
mod etcd_hybrid;
#[cfg(feature = "cluster")]
mod etcd_qdrant_writes;
mod fields;
mod hostile;
mod http;
mod hybrid;
mod logging;
mod on_disk;
mod openapi;
mod qdrant;
mod routes;
mod shards;
mod snapshots;
mod stored_values;
mod transfer;
