//! One process per local data directory.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::error::{Error, Result};

/// The lock file's name inside the data directory.
pub(crate) const LOCK_FILE: &str = ".vectord.lock";

/// An exclusive lock on a data directory, held until dropped (or until the
/// process dies: the operating system releases it, so a crash never leaves a
/// stale lock behind).
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    pub(crate) fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::storage("lock", &path.display().to_string(), e))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(Error::Locked { path: dir.display().to_string() }),
            Err(TryLockError::Error(e)) => Err(Error::storage("lock", &path.display().to_string(), e)),
        }
    }
}
