//! Decoding a buffer whose bytes arrive while it is decoded: a snapshot file
//! mapped into memory and read in by another thread. Decoding waits for each
//! part just before it checks it, so that checking the first parts overlaps
//! with reading the rest, and checksums are taken in chunks in file order on
//! every core, each chunk as soon as it has arrived.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Tells decoding when parts of its buffer are in memory.
pub trait Arrival: Sync {
    /// Returns once bytes `range` of the buffer are in memory, or once they
    /// never will be by other means (decoding then reads them itself). Must
    /// return eventually for every range inside the buffer.
    fn wait(&self, range: Range<usize>);
}

/// A buffer wholly in memory already: nothing to wait for.
pub(crate) struct Present;

impl Arrival for Present {
    fn wait(&self, _range: Range<usize>) {}
}

/// Below this, a checksum is taken on one thread.
const PARALLEL_CRC_BYTES: usize = 64 << 20;

/// The unit of work of a checksum over several threads: small enough that the
/// threads follow the bytes arriving closely, large enough that combining
/// the parts' checksums costs nothing.
const CHUNK_BYTES: usize = 8 << 20;

/// CRC32C of `bytes`, which sit at `offset` of the buffer `arrival` reports
/// on. Large ones are taken in chunks in order over the machine's cores (a
/// restart checks gigabytes of vectors) and the chunks' checksums combined.
pub(crate) fn crc32c(bytes: &[u8], offset: usize, arrival: &dyn Arrival) -> u32 {
    crc32c_then(bytes, offset, arrival, 1, &|_, _| ()).0
}

/// [`crc32c`], and `then(start, chunk)` on each chunk right after its
/// checksum, on the same thread while it is in the cache (`start`: where the
/// chunk begins in `bytes`); chunks are whole multiples of `unit` bytes
/// (the last one aside). Returns the checksum and what `then` returned,
/// chunk after chunk.
pub(crate) fn crc32c_then<T: Send>(
    bytes: &[u8],
    offset: usize,
    arrival: &dyn Arrival,
    unit: usize,
    then: &(dyn Fn(usize, &[u8]) -> T + Sync),
) -> (u32, Vec<T>) {
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(8);
    if bytes.len() < PARALLEL_CRC_BYTES || threads < 2 {
        arrival.wait(offset..offset + bytes.len());
        return (crate::checksum::crc32c(bytes), vec![then(0, bytes)]);
    }
    let chunk_bytes = (CHUNK_BYTES / unit.max(1)).max(1) * unit.max(1);
    let chunks: Vec<&[u8]> = bytes.chunks(chunk_bytes).collect();
    let next = AtomicUsize::new(0);
    // Each thread takes the next chunk in order, so that all of them work
    // just behind the bytes arriving.
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(chunk) = chunks.get(i) else { return done };
            let start = i * chunk_bytes;
            arrival.wait(offset + start..offset + start + chunk.len());
            done.push((i, crate::checksum::crc32c(chunk), then(start, chunk)));
        }
    };
    let mut results: Vec<Option<(u32, T)>> = std::iter::repeat_with(|| None).take(chunks.len()).collect();
    std::thread::scope(|scope| {
        // A thread that cannot start leaves its share to the others.
        let helpers: Vec<_> =
            (1..threads).filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok()).collect();
        let mut done = work();
        for helper in helpers {
            // `work` does not panic unless `then` does; the chunks of a
            // thread that did are taken again below.
            done.extend(helper.join().unwrap_or_default());
        }
        for (i, crc, result) in done {
            results[i] = Some((crc, result));
        }
    });
    let mut crc = 0;
    let mut outputs = Vec::with_capacity(chunks.len());
    for ((i, chunk), result) in chunks.iter().enumerate().zip(results) {
        let (part, output) = result.unwrap_or_else(|| (crate::checksum::crc32c(chunk), then(i * chunk_bytes, chunk)));
        crc = crate::checksum::crc32c_combine(crc, part, chunk.len());
        outputs.push(output);
    }
    (crc, outputs)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Records what was waited for.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Range<usize>>>);

    impl Arrival for Recorder {
        fn wait(&self, range: Range<usize>) {
            if let Ok(mut waited) = self.0.lock() {
                waited.push(range);
            }
        }
    }

    #[test]
    fn a_checksum_over_several_threads_is_the_checksum_and_waits_for_every_byte() {
        let bytes: Vec<u8> = (0..PARALLEL_CRC_BYTES + 12_345).map(|i| (i * 7 % 251) as u8).collect();
        let recorder = Recorder::default();
        assert_eq!(crc32c(&bytes, 100, &recorder), ::crc32c::crc32c(&bytes));
        let mut waited = recorder.0.into_inner().unwrap();
        waited.sort_unstable_by_key(|range| range.start);
        let mut covered = 100;
        for range in waited {
            assert_eq!(range.start, covered, "chunks waited for back to back");
            covered = range.end;
        }
        assert_eq!(covered, 100 + bytes.len());
    }

    #[test]
    fn chunks_are_whole_units_and_each_is_handed_on_once() {
        let bytes: Vec<u8> = (0..PARALLEL_CRC_BYTES + 999).map(|i| (i * 13 % 251) as u8).collect();
        let (crc, starts) = crc32c_then(&bytes, 0, &Present, 1536, &|start, chunk| (start, chunk.len()));
        assert_eq!(crc, ::crc32c::crc32c(&bytes));
        let mut covered = 0;
        for (start, len) in starts {
            assert_eq!(start, covered);
            assert!(start % 1536 == 0);
            covered += len;
        }
        assert_eq!(covered, bytes.len());
    }

    #[test]
    fn a_small_checksum_waits_for_its_bytes_once() {
        let recorder = Recorder::default();
        assert_eq!(crc32c(b"abc", 7, &recorder), ::crc32c::crc32c(b"abc"));
        assert_eq!(recorder.0.into_inner().unwrap(), vec![7..10]);
    }
}
