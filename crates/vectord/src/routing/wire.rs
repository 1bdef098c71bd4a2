//! What one member asks of another on the internal route: an operation on
//! some shards of one incarnation of an index, and its answer. JSON, as the
//! public API (float32 components survive it bit for bit: serde_json writes
//! the shortest text that reads back as the same float).

use std::ops::Bound;

use lhv_core::{
    Filter, Hit, IndexedField, Item, OrderBy, OrderValue, Record, SparseStatistics, SparseVector, UpsertOutcome,
};
use serde::{Deserialize, Serialize};

pub(crate) use crate::ops::Overview;
use crate::ops::{Operation, Query, Scan, Scored};

/// The internal route.
pub(crate) const SHARDS_PATH: &str = "/internal/v1/shards";

pub(crate) use crate::http::key::CLUSTER_SECRET_HEADER as SECRET_HEADER;

/// An operation on shards `shards` of `incarnation` of index `index`, all
/// held by the member asked.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ShardCall {
    /// The index's name.
    pub index: String,
    /// Which incarnation of it (a call about a dropped one is refused).
    pub incarnation: String,
    /// The shard numbers.
    pub shards: Vec<u32>,
    /// Catch the replicas up to their writers' heads first.
    pub strong: bool,
    /// What to do.
    pub op: ShardOp,
}

/// What to do on the shards.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum ShardOp {
    /// Their sizes, parameters and field indexes.
    Describe,
    /// Each query's nearest hits among their items.
    Search {
        /// The queries.
        queries: Vec<Query>,
    },
    /// The counts that weight sparse queries (`modifier: "idf"`), per query vector.
    SparseStatistics {
        /// The sparse vector.
        using: String,
        /// The query vectors.
        vectors: Vec<SparseVector>,
    },
    /// The stored records of these ids (each in one of the shards).
    Get {
        /// The ids.
        ids: Vec<String>,
    },
    /// Items (with their records) in id order from `start`, at most
    /// `limit`, passing `filter`: ids and records read together.
    Scroll {
        /// Where to start.
        start: Bound<String>,
        /// At most this many.
        limit: usize,
        /// Only items that pass.
        filter: Option<Filter>,
    },
    /// The best points of a scan scoring every passing point.
    Scan {
        /// The scan.
        scan: Scan,
    },
    /// The first entries of an order by a payload value.
    Ordered {
        /// The order.
        order: OrderBy,
        /// At most this many.
        limit: usize,
        /// Only items that pass.
        filter: Option<Filter>,
    },
    /// Per distinct value at a key, how many items passing `filter` hold it.
    ValueCounts {
        /// The key.
        key: lhv_core::FieldKey,
        /// Only items that pass.
        filter: Option<Filter>,
    },
    /// How many items pass `filter`.
    CountWhere {
        /// Only items that pass.
        filter: Option<Filter>,
    },
    /// Upserts items, all of the shards written here.
    Upsert {
        /// The items.
        items: Vec<Item>,
    },
    /// Deletes ids, all of the shards written here.
    Delete {
        /// The ids.
        ids: Vec<String>,
    },
    /// Deletes the items that pass `filter`, each shard under its commit
    /// lock (no write in between the selection and the delete).
    DeleteWhere {
        /// Which.
        filter: Filter,
    },
    /// A batch of writes, restricted to the shards, applied in order as
    /// one write under their commit locks.
    Batch {
        /// The operations.
        operations: Vec<Operation>,
        /// Only check that they could be applied now; write nothing.
        check_only: bool,
    },
    /// Builds later insertions of every shard with these graph parameters.
    SetBuildParams {
        /// Out-degree.
        m: usize,
        /// Candidate list while building.
        ef_construction: usize,
    },
    /// Builds a field index on every shard.
    CreateFieldIndex {
        /// The field.
        field: IndexedField,
    },
    /// Drops a field index on every shard.
    DropFieldIndex {
        /// Its key.
        key: String,
    },
}

/// The answer to a [`ShardOp`], of the variant the operation asks for.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ShardReply {
    /// To `Describe`.
    Described(Overview),
    /// To `Search`: per query, per vector, nearest first.
    Hits(Vec<Vec<Vec<Hit>>>),
    /// To `SparseStatistics`: per query vector, added up over the shards asked.
    Statistics(Vec<SparseStatistics>),
    /// To `Get`: per id, in the order asked.
    Records(Vec<Option<Record>>),
    /// To `Scroll`.
    Items(Vec<(String, Record)>),
    /// To `Scan`: best first, ties by id.
    Scanned(Vec<Scored>),
    /// To `Ordered`: in the order.
    Entries(Vec<(String, OrderValue, Record)>),
    /// To `ValueCounts`.
    ValueCounts(Vec<(serde_json::Value, usize)>),
    /// To `CountWhere`.
    Count(usize),
    /// To `Upsert`, with the last sequence number of the shards written.
    Upserted(UpsertOutcome, u64),
    /// To `Delete`: how many were stored, and the last sequence number of the shards written.
    Deleted(usize, u64),
    /// To a `Batch` that writes: the last sequence number of the shards written.
    Written(u64),
    /// To a `Batch` that only checks: it could be applied.
    Checked,
    /// To the field-index changes: whether there was one of the key.
    Changed(bool),
}
