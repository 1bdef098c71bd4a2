//! Transparent huge pages for the arrays a graph walk reads at random.
//!
//! A search touches a few hundred rows scattered over the whole rows array
//! (and their neighbour lists): with 4 KiB pages nearly every row read misses
//! the TLB and waits for a page walk first. Backed by 2 MiB pages, the rows of
//! 100 000 vectors of 384 dimensions need ~75 translations instead of ~37 500.
//! Measured on pydoc-dev (100 000 × 384, M 16, one interleaved run of
//! peers.py, best of 2 rounds): one thread 7 266 → 9 804 searches/s at ef 20,
//! 4 511 → 5 442 at ef 40, 2 473 → 3 565 at ef 80; two threads 4–17 % more;
//! on minilm-dev (50 000 rows) 5–13 % more on one thread. Builds take as long.
//!
//! Linux gives anonymous memory huge pages either always or, the common
//! default (`/sys/kernel/mm/transparent_hugepage/enabled` = `madvise`), only
//! where asked with `madvise(MADV_HUGEPAGE)`. The advice changes no contents
//! and never fails in a way that matters (it is a hint: without THP the
//! memory stays in 4 KiB pages), so it is given to every large owned array
//! when it grows, before the new part is first written.

/// The huge page size on x86-64 and (with 4 KiB base pages) aarch64.
const HUGE_PAGE: usize = 2 << 20;

/// Arrays smaller than this are not worth a system call.
const MIN_BYTES: usize = 2 * HUGE_PAGE;

/// Asks for huge pages on the 2 MiB-aligned part of `values`' allocation
/// (its whole capacity, the room not yet written included).
pub(crate) fn advise<T>(values: &Vec<T>) {
    let bytes = values.capacity().saturating_mul(size_of::<T>());
    if bytes < MIN_BYTES {
        return;
    }
    let start = (values.as_ptr() as usize).next_multiple_of(HUGE_PAGE);
    let end = (values.as_ptr() as usize + bytes) / HUGE_PAGE * HUGE_PAGE;
    if end > start {
        advise_range(start, end - start);
    }
}

#[cfg(target_os = "linux")]
fn advise_range(start: usize, length: usize) {
    // SAFETY: the range lies inside one live allocation of this process
    // (`advise` rounds inwards), and MADV_HUGEPAGE only changes how its
    // pages are backed, never their contents. The result is ignored: the
    // advice is a hint (EINVAL where THP is not built in).
    unsafe {
        libc::madvise(start as *mut libc::c_void, length, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_range(_start: usize, _length: usize) {}

/// Runs `grow` on `values` and advises huge pages if it reallocated.
pub(crate) fn grow<T, R>(values: &mut Vec<T>, grow: impl FnOnce(&mut Vec<T>) -> R) -> R {
    let before = (values.as_ptr(), values.capacity());
    let result = grow(values);
    if (values.as_ptr(), values.capacity()) != before {
        advise(values);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_keeps_the_values_whatever_the_advice() {
        let mut values: Vec<u32> = Vec::new();
        for round in 0..8u32 {
            let extra: Vec<u32> = (0..1_000_000).map(|i| i ^ round).collect();
            grow(&mut values, |v| v.extend_from_slice(&extra));
        }
        assert_eq!(values.len(), 8_000_000);
        assert!(
            values
                .chunks(1_000_000)
                .enumerate()
                .all(|(round, chunk)| { chunk.iter().enumerate().all(|(i, &v)| v == i as u32 ^ round as u32) })
        );
    }
}
