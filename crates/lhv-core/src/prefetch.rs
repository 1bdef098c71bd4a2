//! Cache prefetch hints: a graph walk knows which rows it reads next long
//! before it reads them, so it can have memory latency overlap computation.

/// Asks the CPU to start loading every cache line of `data` into L1.
/// A hint only: it never faults and has no effect on results.
#[inline]
pub(crate) fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        const LINE: usize = 64;
        let pointer = data.as_ptr().cast::<i8>();
        let bytes = size_of_val(data);
        let mut offset = 0;
        while offset < bytes {
            // SAFETY: prefetching is a hint without side effects that never faults;
            // every address is inside `data`.
            unsafe {
                use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
                _mm_prefetch::<_MM_HINT_T0>(pointer.wrapping_add(offset));
            }
            offset += LINE;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}
