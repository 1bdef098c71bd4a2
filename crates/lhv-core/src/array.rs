//! [`Array`]: the rows of an index, whose leading part may live in a buffer
//! the index does not own (a snapshot file mapped into memory) while the
//! rows added since are owned.
//!
//! Loading a snapshot by copying its rows into the heap costs the rows once
//! in the page cache and once more in the heap, and a restart's time is the
//! copy's. With the rows read where they lie, a restart maps the file, checks
//! its CRCs and is done, and the kernel may drop the pages of rows nobody
//! reads (they are clean: a copy is on disk).
//!
//! ```
//! use bytes::Bytes;
//! use lhv_core::Array;
//!
//! let stored: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|x| x.to_le_bytes()).collect();
//! let mut rows = Array::<f32>::shared(Bytes::from(stored)).expect("aligned");
//! rows.extend_from_slice(&[5.0, 6.0]);
//! assert_eq!(&rows[2..4], &[3.0, 4.0]); // from the shared buffer
//! assert_eq!(&rows[4..6], &[5.0, 6.0]); // owned
//! assert_eq!(rows.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
//! ```

use std::fmt;
use std::ops::{Index, Range};

use bytes::Bytes;

/// A growable array of plain values whose first [`shared_len`](Self::shared_len)
/// values are read in place from an immutable buffer (little-endian, aligned
/// for `T`) and the rest are owned. Ranges are indexed as one array; a range
/// must lie wholly in one of the two parts (rows never straddle them, since
/// the shared part holds whole rows).
#[derive(Clone)]
pub struct Array<T: bytemuck::Pod> {
    /// The shared values' bytes (empty when there are none).
    shared: Bytes,
    /// How many values `shared` holds.
    shared_len: usize,
    owned: Vec<T>,
}

impl<T: bytemuck::Pod> Array<T> {
    /// An array whose values are `bytes`, read in place: `bytes` must be
    /// aligned for `T` and a whole number of values (otherwise it is
    /// returned). On a big-endian machine the values are copied (the stored
    /// bytes are little-endian).
    pub fn shared(bytes: Bytes) -> Result<Self, Bytes> {
        let size = size_of::<T>();
        if !(bytes.as_ptr() as usize).is_multiple_of(align_of::<T>()) || !bytes.len().is_multiple_of(size) {
            return Err(bytes);
        }
        if cfg!(target_endian = "big") && size > 1 {
            return Ok(Self::from(little_endian_values(&bytes)));
        }
        let shared_len = bytes.len() / size;
        Ok(Self { shared: bytes, shared_len, owned: Vec::new() })
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        self.shared_len + self.owned.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many of the values are read in place from a shared buffer.
    pub fn shared_len(&self) -> usize {
        self.shared_len
    }

    /// The shared part and the owned part, in order.
    pub fn parts(&self) -> [&[T]; 2] {
        [self.shared_values(), &self.owned]
    }

    /// Every value, owned.
    pub fn to_vec(&self) -> Vec<T> {
        let mut values = Vec::with_capacity(self.len());
        values.extend_from_slice(self.shared_values());
        values.extend_from_slice(&self.owned);
        values
    }

    /// Appends values (to the owned part).
    pub fn extend_from_slice(&mut self, values: &[T]) {
        crate::huge_pages::grow(&mut self.owned, |owned| owned.extend_from_slice(values));
    }

    /// Appends one value (to the owned part).
    pub fn push(&mut self, value: T) {
        crate::huge_pages::grow(&mut self.owned, |owned| owned.push(value));
    }

    /// Room for `additional` more values without reallocating.
    pub fn reserve_exact(&mut self, additional: usize) {
        crate::huge_pages::grow(&mut self.owned, |owned| owned.reserve_exact(additional));
    }

    /// Heap bytes the owned part holds (the shared buffer is not counted:
    /// its pages belong to the page cache, see [`shared_bytes`](Self::shared_bytes)).
    pub fn owned_bytes(&self) -> usize {
        self.owned.capacity() * size_of::<T>()
    }

    /// Bytes of the shared part.
    pub fn shared_bytes(&self) -> usize {
        self.shared.len()
    }

    fn shared_values(&self) -> &[T] {
        if self.shared_len == 0 {
            return &[];
        }
        // Checked aligned and whole when the array was made.
        bytemuck::cast_slice(&self.shared)
    }
}

/// `bytes` as little-endian values, copied (big-endian machines only).
fn little_endian_values<T: bytemuck::Pod>(bytes: &[u8]) -> Vec<T> {
    bytes
        .chunks_exact(size_of::<T>())
        .map(|chunk| {
            let mut reversed = chunk.to_vec();
            reversed.reverse();
            bytemuck::pod_read_unaligned(&reversed)
        })
        .collect()
}

impl<T: bytemuck::Pod> Default for Array<T> {
    fn default() -> Self {
        Self { shared: Bytes::new(), shared_len: 0, owned: Vec::new() }
    }
}

impl<T: bytemuck::Pod> From<Vec<T>> for Array<T> {
    fn from(owned: Vec<T>) -> Self {
        crate::huge_pages::advise(&owned);
        Self { shared: Bytes::new(), shared_len: 0, owned }
    }
}

impl<T: bytemuck::Pod> FromIterator<T> for Array<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self::from(iter.into_iter().collect::<Vec<T>>())
    }
}

impl<T: bytemuck::Pod> Extend<T> for Array<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        crate::huge_pages::grow(&mut self.owned, |owned| owned.extend(iter));
    }
}

impl<T: bytemuck::Pod> Index<Range<usize>> for Array<T> {
    type Output = [T];

    #[inline]
    fn index(&self, range: Range<usize>) -> &[T] {
        match range.start.checked_sub(self.shared_len) {
            Some(start) => &self.owned[start..range.end - self.shared_len],
            None => {
                let size = size_of::<T>();
                // A sub-slice of an aligned buffer at a multiple of the value size: aligned too.
                bytemuck::cast_slice(&self.shared[range.start * size..range.end * size])
            }
        }
    }
}

impl<T: bytemuck::Pod> Index<usize> for Array<T> {
    type Output = T;

    #[inline]
    fn index(&self, index: usize) -> &T {
        match index.checked_sub(self.shared_len) {
            Some(owned) => &self.owned[owned],
            None => &self[index..index + 1][0],
        }
    }
}

impl<T: bytemuck::Pod + PartialEq> PartialEq for Array<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: bytemuck::Pod> Array<T> {
    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.shared_values().iter().chain(&self.owned)
    }
}

impl<T: bytemuck::Pod> fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Array").field("shared", &self.shared_len).field("owned", &self.owned.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared_f32(values: &[f32]) -> Array<f32> {
        let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        // A Vec<u8> of a few bytes comes from the allocator at least 8-aligned.
        Array::shared(Bytes::from(bytes)).unwrap_or_else(|_| Array::from(values.to_vec()))
    }

    #[test]
    fn both_parts_read_as_one_array() {
        let mut array = shared_f32(&[1.0, 2.0, 3.0, 4.0]);
        array.extend_from_slice(&[5.0, 6.0]);
        array.push(7.0);
        assert_eq!(array.len(), 7);
        assert_eq!(&array[0..2], &[1.0, 2.0]);
        assert_eq!(&array[4..7], &[5.0, 6.0, 7.0]);
        assert_eq!(array[3], 4.0);
        assert_eq!(array[6], 7.0);
        assert_eq!(array.to_vec(), (1..=7).map(|x| x as f32).collect::<Vec<_>>());
        assert_eq!(array, Array::from((1..=7).map(|x| x as f32).collect::<Vec<_>>()));
        assert_eq!(array.parts()[1], &[5.0, 6.0, 7.0]);
    }

    #[test]
    fn misaligned_or_partial_buffers_are_refused() {
        let bytes = Bytes::from(vec![0u8; 13]);
        assert!(Array::<f32>::shared(bytes.slice(1..9)).is_err());
        assert!(Array::<f32>::shared(bytes.slice(0..6)).is_err());
        assert!(Array::<u8>::shared(bytes.slice(1..6)).is_ok());
    }
}
