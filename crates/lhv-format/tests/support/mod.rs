//! What several test files share.

use bytes::Bytes;

/// `bytes` copied into an 8-aligned buffer, as a mapped file is (page-aligned).
pub fn aligned(bytes: &[u8]) -> Bytes {
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
    Bytes::from_owner(AlignedBytes(words, bytes.len()))
}

struct AlignedBytes(Vec<u64>, usize);

impl AsRef<[u8]> for AlignedBytes {
    fn as_ref(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.0)[..self.1]
    }
}
