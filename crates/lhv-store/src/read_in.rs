//! Reading a mapped snapshot into memory on a thread of its own while it is
//! decoded, so that a cold restart reads the disk and checks what it read
//! at the same time instead of one after the other.
//!
//! The file is read in chunks in order by populating the mapping
//! (`MADV_POPULATE_READ`), which leaves the reading ahead to the kernel's
//! read-ahead, as one populating pass over the whole file does (measured
//! here, asking for the next chunks with `MADV_WILLNEED` as well made the
//! reading slower, not faster). The head comes first, then the sections from the smallest to the
//! largest: ids, metadata and the graph are decoded while the rows, by far
//! the largest part, are still arriving, and the rows' checksums (taken in
//! order on every core) follow the chunks as they arrive.

use std::ops::Range;
use std::sync::Arc;
use std::thread::JoinHandle;

use lhv_format::{Arrival, Envelope};
use memmap2::{Advice, Mmap};
use parking_lot::{Condvar, Mutex};

/// The unit of reading: what waiting decoders are woken for.
const CHUNK_BYTES: usize = 8 << 20;

/// A mapped snapshot being read in; waits report when its parts are in.
/// Dropping it stops the reading (after the chunk in hand).
pub(crate) struct ReadIn {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    /// The chunks in the order they are read.
    order: Vec<Range<usize>>,
    /// (start of a chunk, its position in `order`), by start: the chunks tile the file.
    by_offset: Vec<(usize, usize)>,
    progress: Mutex<Progress>,
    arrived: Condvar,
}

struct Progress {
    /// Chunks of `order` read in.
    read: usize,
    /// No more will be: waiters read what they need themselves.
    stopped: bool,
}

impl ReadIn {
    /// Starts reading `map`, whose head says its sections are `envelope`'s.
    pub(crate) fn start(map: Arc<Mmap>, envelope: &Envelope) -> Self {
        let order = reading_order(map.len(), envelope);
        let mut by_offset: Vec<(usize, usize)> = order.iter().enumerate().map(|(i, c)| (c.start, i)).collect();
        by_offset.sort_unstable();
        let shared = Arc::new(Shared {
            order,
            by_offset,
            progress: Mutex::new(Progress { read: 0, stopped: false }),
            arrived: Condvar::new(),
        });
        let reader = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("snapshot-read-in".into())
            .spawn(move || {
                let _stop_when_done = StopOnExit(&reader);
                reader.read(&map);
            })
            .ok();
        if thread.is_none() {
            // Without the thread, decoding reads the file as it goes.
            shared.stop();
        }
        Self { shared, thread }
    }
}

impl Arrival for ReadIn {
    fn wait(&self, range: Range<usize>) {
        let Some(last) = self.shared.last_chunk_of(&range) else { return };
        let mut progress = self.shared.progress.lock();
        while progress.read <= last && !progress.stopped {
            self.shared.arrived.wait(&mut progress);
        }
    }
}

impl Drop for ReadIn {
    fn drop(&mut self) {
        self.shared.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn read(&self, map: &Mmap) {
        for (i, chunk) in self.order.iter().enumerate() {
            if self.progress.lock().stopped {
                return;
            }
            if map.advise_range(Advice::PopulateRead, chunk.start, chunk.len()).is_err() {
                // A kernel without MADV_POPULATE_READ (before Linux 5.14):
                // one byte of each page brings it in.
                let touched = map[chunk.clone()].iter().step_by(4096).fold(0u8, |x, &b| x ^ b);
                std::hint::black_box(touched);
            }
            self.progress.lock().read = i + 1;
            self.arrived.notify_all();
        }
    }

    fn stop(&self) {
        self.progress.lock().stopped = true;
        self.arrived.notify_all();
    }

    /// The position in `order` of the last chunk read among those holding `range`.
    fn last_chunk_of(&self, range: &Range<usize>) -> Option<usize> {
        if range.is_empty() {
            return None;
        }
        let first = self.by_offset.partition_point(|&(start, _)| start <= range.start).checked_sub(1)?;
        self.by_offset[first..].iter().take_while(|&&(start, _)| start < range.end).map(|&(_, i)| i).max()
    }
}

/// Marks the reading stopped when the reading thread ends, however it ends.
struct StopOnExit<'a>(&'a Shared);

impl Drop for StopOnExit<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// The chunks of a file of `length` bytes in the order they are read: the
/// head, then each section with the padding after it, from the smallest to
/// the largest (ties in file order).
fn reading_order(length: usize, envelope: &Envelope) -> Vec<Range<usize>> {
    let mut starts: Vec<usize> =
        envelope.sections.iter().map(|s| usize::try_from(s.offset).unwrap_or(length).min(length)).collect();
    starts.push(0);
    starts.sort_unstable();
    starts.dedup();
    let mut parts: Vec<Range<usize>> =
        starts.iter().zip(starts.iter().skip(1).chain(std::iter::once(&length))).map(|(&s, &e)| s..e).collect();
    parts.retain(|part| !part.is_empty());
    // The head (the part at 0) first: decoding has read it already.
    let head = 1.min(parts.len());
    parts[head..].sort_by_key(|part| (part.len(), part.start));
    parts
        .iter()
        .flat_map(|part| part.clone().step_by(CHUNK_BYTES).map(move |s| s..(s + CHUNK_BYTES).min(part.end)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(order: Vec<Range<usize>>) -> Shared {
        let mut by_offset: Vec<(usize, usize)> = order.iter().enumerate().map(|(i, c)| (c.start, i)).collect();
        by_offset.sort_unstable();
        Shared { order, by_offset, progress: Mutex::new(Progress { read: 0, stopped: false }), arrived: Condvar::new() }
    }

    #[test]
    fn a_range_waits_for_the_last_read_of_its_chunks() {
        let reading = shared(vec![0..10, 30..40, 10..20, 20..30]);
        assert_eq!(reading.last_chunk_of(&(0..5)), Some(0));
        assert_eq!(reading.last_chunk_of(&(5..15)), Some(2));
        assert_eq!(reading.last_chunk_of(&(15..35)), Some(3));
        assert_eq!(reading.last_chunk_of(&(25..40)), Some(3));
        assert_eq!(reading.last_chunk_of(&(35..36)), Some(1));
        assert_eq!(reading.last_chunk_of(&(7..7)), None);
    }
}
