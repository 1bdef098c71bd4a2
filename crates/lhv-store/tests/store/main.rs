//! The durable catalog and its storage backends, from outside the crate.
//!
//! One test binary (each module was once its own), linked once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

mod aliases;
mod cache;
mod catalog;
mod computed_writes;
mod conformance;
#[cfg(feature = "cluster")]
mod control;
#[cfg(feature = "cluster")]
mod controller;
mod crash;
mod field_indexes;
mod graph_params;
mod kill;
mod mapped;
#[cfg(feature = "cluster")]
mod member;
#[cfg(feature = "cluster")]
mod node;
mod sharded;
mod vectorless;
