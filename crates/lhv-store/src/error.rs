//! The one error type of `lhv-store`.

/// What went wrong with storage or with a durable index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage URL cannot be used.
    #[error("invalid storage URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A storage operation failed (disk full, permission, network, ...).
    /// Nothing was half-applied; retrying once storage recovers works.
    #[error("storage error during {operation} of {key:?}: {message}")]
    Storage {
        /// `get`, `put`, `put_new`, `delete` or `list`.
        operation: &'static str,
        /// The key (or prefix) involved.
        key: String,
        /// The backend's description of the failure.
        message: String,
        /// Whether the storage is out of space (or quota).
        full: bool,
    },
    /// [`Store::put_new`](crate::Store::put_new) found an object already there.
    #[error("an object already exists at {key:?}")]
    AlreadyExists {
        /// The key.
        key: String,
    },
    /// A conditional write ([`Store::put_if_version`](crate::Store::put_if_version))
    /// found the object changed (or gone) since it was read; nothing was written.
    #[error("the object at {key:?} changed since it was read")]
    VersionChanged {
        /// The key.
        key: String,
    },
    /// The backend cannot do this operation (conditional updates on local
    /// directories and WebDAV).
    #[error("this storage cannot {operation} ({key:?}): it has no conditional updates")]
    Unsupported {
        /// The operation.
        operation: &'static str,
        /// The key.
        key: String,
    },
    /// In a cluster, a later writer (a larger token) claimed the shard's
    /// log head, or a drop fenced it: this process must stop writing the
    /// shard; nothing of the failed write was committed.
    #[error("the lease {key:?} was taken over by another process")]
    LeaseLost {
        /// The key of the log head (or lease) that showed the later writer.
        key: String,
    },
    /// In a cluster, this process is not the writer of the shard (another
    /// process is, or the writer is changing): the write is refused before
    /// anything is written; send it to the writer.
    #[error("this process is not the writer of index {name:?}; another process holds its lease")]
    NotWriter {
        /// The index (or the shard's log head).
        name: String,
    },
    /// A log object could not be written because another writer's object
    /// holds its place (a writer took over, or a write of this process whose
    /// answer was lost landed after all): nothing was acknowledged; the index
    /// catches up with the log before its next write.
    #[error("another write took this log position ({key:?}); retry")]
    LogConflict {
        /// The log object's key.
        key: String,
    },
    /// A log head (`<log>/head`) that is not a head record; it is left as it is.
    #[error("the log head {key:?} is damaged: {reason}")]
    DamagedHead {
        /// The head's key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process holds the data directory.
    #[error("the data directory {path} is in use by another process (lock file {path}/.vectord.lock)")]
    Locked {
        /// The directory.
        path: String,
    },
    /// An index name that is not 1 to 128 of `A-Z a-z 0-9 _ . -`, or starts with `.`.
    #[error(
        "invalid index name {name:?}: use 1 to 128 characters from A-Z, a-z, 0-9, '_', '.' and '-', not starting with '.'"
    )]
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// A snapshot given to [`Catalog::create_from_snapshot`](crate::Catalog::create_from_snapshot)
    /// is not a valid LHV1 frame.
    #[error("invalid snapshot: {reason}")]
    InvalidSnapshot {
        /// What the decoder found wrong.
        reason: String,
    },
    /// `create` of a name that exists.
    #[error("index {name:?} already exists")]
    IndexExists {
        /// The name.
        name: String,
    },
    /// An index cannot be called like an existing alias.
    #[error("an alias is called {name:?}; an index cannot have its name")]
    AliasExists {
        /// The name.
        name: String,
    },
    /// No alias has this name.
    #[error("alias {alias:?} does not exist")]
    AliasNotFound {
        /// The alias.
        alias: String,
    },
    /// The aliases cannot be read (their object is damaged: it is left as it
    /// is); aliases cannot be listed or changed until it is looked at.
    #[error("the aliases are unavailable: {reason}")]
    AliasesUnavailable {
        /// Why.
        reason: String,
    },
    /// Other processes kept changing the aliases while this change was
    /// applied on top of theirs; nothing was changed: retry.
    #[error("the aliases changed under this change too many times; nothing was changed: retry")]
    AliasesBusy,
    /// No index has this name.
    #[error("index {name:?} does not exist")]
    IndexNotFound {
        /// The name.
        name: String,
    },
    /// The index is still being loaded (see [`Catalog::open_unloaded`](crate::Catalog::open_unloaded)).
    #[error("index {name:?} is still loading")]
    Loading {
        /// The name.
        name: String,
    },
    /// The index's stored objects failed their checks when it was loaded: it
    /// is kept out of service and its objects are left exactly as they are.
    #[error("index {name:?} is unavailable: {reason}")]
    Unavailable {
        /// The name.
        name: String,
        /// What failed, naming the object.
        reason: String,
    },
    /// The cluster's control plane (etcd) did not answer: what needs it
    /// (creating, dropping, placing, writing) waits until it is back.
    #[error("the cluster's control plane (etcd) failed during {operation}: {reason}")]
    Control {
        /// What was being done.
        operation: &'static str,
        /// What etcd's client said.
        reason: String,
    },
    /// A record of the control plane does not decode: it is reported and
    /// left as it is.
    #[error("the control-plane record {key:?} is damaged: {reason}")]
    DamagedRecord {
        /// Its etcd key.
        key: String,
        /// Why it does not decode.
        reason: String,
    },
    /// A control-plane record changed since it was read (another process
    /// changed it first): nothing was written.
    #[error("the control-plane record {key:?} changed since it was read")]
    RecordChanged {
        /// Its etcd key.
        key: String,
    },
    /// The request itself is invalid (bad vector, bad parameter, ...).
    #[error(transparent)]
    Index(#[from] lhv_core::Error),
    /// Bytes could not be encoded.
    #[error(transparent)]
    Format(#[from] lhv_format::Error),
}

impl Error {
    pub(crate) fn storage(operation: &'static str, key: &str, error: impl std::fmt::Display) -> Self {
        Self::Storage { operation, key: key.to_owned(), message: error.to_string(), full: false }
    }

    /// A storage error from a backend error, noting whether it says the disk is full.
    pub(crate) fn from_backend(operation: &'static str, key: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        let mut full = false;
        let mut cause = Some(error);
        while let Some(current) = cause {
            if let Some(io) = current.downcast_ref::<std::io::Error>() {
                full |= io.kind() == std::io::ErrorKind::StorageFull || io.kind() == std::io::ErrorKind::QuotaExceeded;
            }
            cause = current.source();
        }
        Self::Storage { operation, key: key.to_owned(), message: error.to_string(), full }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
