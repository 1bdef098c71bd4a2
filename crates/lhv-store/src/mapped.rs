//! Loading a snapshot: a local file is mapped and its rows read in place; a
//! stream (object storage, memory) is read section by section straight into
//! the index's arrays. Either way loading needs little more memory than the
//! index itself, never the snapshot's size on top of it.
//!
//! # Why a mapped snapshot cannot fault
//!
//! A mapped page whose file shrank under it raises `SIGBUS` when touched.
//! Snapshot files are never changed in place: a new snapshot is written to a
//! temporary file and renamed over the old one (`object_store`'s local
//! backend), so a mapping keeps reading the old file's inode, whose length
//! never changes, until the index drops it; a deleted index's file is
//! unlinked, which leaves a mapped inode whole too. The data directory is
//! locked against a second vectord process. What remains is another program
//! truncating a file in the data directory, which is outside what vectord
//! can defend against (as with any database's files); a damaged file is
//! caught by the CRCs when it is loaded.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use lhv_format::{InPlace, Snapshot, decode_arriving_snapshot, decode_shared_snapshot, read_snapshot};
use memmap2::{Advice, Mmap, MmapOptions, UncheckedAdvice};

use lhv_core::{Array, Index, SlotEpoch};

use crate::read_in::ReadIn;
use crate::store::{ObjectBody, Store};

/// Files smaller than a page are read, not mapped (every other one is, so
/// that every test over a local directory takes the mapped path).
const SMALLEST_MAPPED: u64 = 4096;

/// Decodes the snapshot in `body` (of `length` bytes). Blocks: call it on a
/// blocking thread.
pub(crate) fn load_snapshot(body: ObjectBody, length: u64) -> lhv_format::Result<Snapshot> {
    match body {
        ObjectBody::File(file) if length >= SMALLEST_MAPPED => load_mapped(&file, length),
        mut body => read_snapshot(&mut body, length),
    }
}

/// The file mapped, its rows kept in place and the pages of every other
/// section (copied into the index) released from this process. All of it
/// is read in by a thread of its own (`read_in`) while it is decoded, except
/// when it holds the exact rows of a vector kept on disk: those are not read
/// ahead (their CRC pass reads them once, in order), and are left to be read
/// a few rows at a time.
fn load_mapped(file: &std::fs::File, length: u64) -> lhv_format::Result<Snapshot> {
    let read_error = |e: std::io::Error| lhv_format::Error::Read { reason: e.to_string() };
    let length = usize::try_from(length).map_err(|_| read_error(std::io::Error::other("too large to map")))?;
    // SAFETY: the file is never modified in place while mapped (see the
    // module documentation); its length is checked against the mapping's.
    let map = Arc::new(unsafe { MmapOptions::new().len(length).map(file) }.map_err(read_error)?);
    let envelope = lhv_format::read_envelope(&map)?;
    let bytes = Bytes::from_owner(SharedMap(Arc::clone(&map)));
    let (snapshot, kept) = if envelope.params.any_on_disk() {
        let _ = map.advise(Advice::Sequential);
        decode_shared_snapshot(bytes)?
    } else {
        let reading = ReadIn::start(Arc::clone(&map), &envelope);
        decode_arriving_snapshot(bytes, &reading)?
    };
    release_except(&map, &kept);
    Ok(snapshot)
}

/// Releases this process's pages of `map` outside the resident parts (the
/// rest was copied out, or is read a few rows at a time); the page cache
/// keeps them as long as the kernel likes. Rows on disk are then read
/// without read-ahead: a search reads a few scattered rows.
fn release_except(map: &Mmap, kept: &[InPlace]) {
    let page = page_size();
    let mut resident: Vec<Range<usize>> = kept.iter().filter(|k| k.resident).map(|k| k.range.clone()).collect();
    resident.sort_unstable_by_key(|range| range.start);
    let mut from = 0usize;
    for range in resident.iter().chain(std::iter::once(&(map.len()..map.len()))) {
        // Whole pages strictly between the resident ranges.
        let (start, end) = (from.next_multiple_of(page), range.start / page * page);
        if end > start {
            // SAFETY: the mapping is read-only and shared: dropping its pages
            // loses nothing (they are read from the file again if touched).
            let _ = unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, start, end - start) };
        }
        from = from.max(range.end);
    }
    for on_disk in kept.iter().filter(|k| !k.resident) {
        let _ = map.advise_range(Advice::Random, on_disk.range.start, on_disk.range.len());
    }
}

/// Once a snapshot of `index` (its parts taken at `epoch`) is durable at
/// `key`: when it is a local file, the exact rows of vectors kept on disk are
/// read in place from it, and their copies written since the file the index
/// read them from leave memory. A failure only leaves them in memory.
pub(crate) async fn fold_on_disk_rows(store: &dyn Store, key: &str, index: Arc<Index>, epoch: SlotEpoch) {
    let opened = match store.open(key).await {
        Ok(Some(opened)) => opened,
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(%key, %error, "rows kept on disk stay in memory until the next snapshot");
            return;
        }
    };
    let ObjectBody::File(file) = opened.body else { return };
    let length = opened.length;
    let folded = tokio::task::spawn_blocking(move || -> lhv_format::Result<usize> {
        let read_error = |e: std::io::Error| lhv_format::Error::Read { reason: e.to_string() };
        let length = usize::try_from(length).map_err(|_| read_error(std::io::Error::other("too large to map")))?;
        // SAFETY: as in `load_mapped`: the file is never modified in place.
        let map = Arc::new(unsafe { MmapOptions::new().len(length).map(&file) }.map_err(read_error)?);
        let bytes = Bytes::from_owner(SharedMap(Arc::clone(&map)));
        let mut folded = 0;
        for (name, rows) in lhv_format::on_disk_rows(&bytes)? {
            let range = rows.as_ptr() as usize - map.as_ptr() as usize
                ..rows.as_ptr() as usize - map.as_ptr() as usize + rows.len();
            if let Ok(rows) = Array::shared(rows)
                && index.adopt_on_disk_rows(epoch, &name, rows)
            {
                folded += 1;
                let _ = map.advise_range(Advice::Random, range.start, range.len());
            }
        }
        // The checksum pass touched every page: none of them need be this process's now.
        release_except(&map, &[]);
        Ok(folded)
    })
    .await;
    match folded {
        Ok(Ok(vectors)) => tracing::debug!(%key, vectors, "rows kept on disk read from the new snapshot"),
        Ok(Err(error)) => tracing::warn!(%key, %error, "rows kept on disk stay in memory until the next snapshot"),
        Err(error) => tracing::warn!(%key, %error, "rows kept on disk stay in memory until the next snapshot"),
    }
}

fn page_size() -> usize {
    // Every platform vectord runs on has 4 KiB pages or a multiple of them;
    // a smaller assumed size would only release fewer pages.
    4096
}

/// A mapping shared between the buffers an index reads in place.
struct SharedMap(Arc<Mmap>);

impl AsRef<[u8]> for SharedMap {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
