//! The index from outside the crate: models, recall, storages, concurrency.
//!
//! One test binary (each module was once its own), linked once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../support/minilm.rs"]
mod minilm;
#[path = "../support/tags.rs"]
mod tags;

mod concurrency;
mod filter_model;
mod filtered_recall;
mod finite;
mod id_order;
mod model;
mod named;
mod on_disk;
mod parts;
mod recall;
mod sharded_model;
mod sparse_index;
mod sparse_model;
mod storage;
