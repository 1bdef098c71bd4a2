//! Reader of the fvecs/ivecs files of ANN benchmarks: per record a little-endian
//! i32 dimension followed by that many f32 (fvecs) or i32 (ivecs) values.

use std::path::Path;

/// Reads at most `limit` records of 4-byte values, decoded by `decode`.
fn read_records<T>(path: &Path, limit: usize, decode: fn([u8; 4]) -> T) -> Result<Vec<Vec<T>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut records = Vec::new();
    let mut rest = bytes.as_slice();
    while !rest.is_empty() && records.len() < limit {
        let (head, tail) =
            rest.split_first_chunk::<4>().ok_or_else(|| format!("{}: truncated header", path.display()))?;
        let dim = usize::try_from(i32::from_le_bytes(*head))
            .map_err(|_| format!("{}: negative dimension", path.display()))?;
        let body = tail.get(..4 * dim).ok_or_else(|| format!("{}: truncated record", path.display()))?;
        records.push(body.as_chunks::<4>().0.iter().map(|c| decode(*c)).collect());
        rest = &tail[4 * dim..];
    }
    Ok(records)
}

/// Reads at most `limit` float vectors.
pub fn read_fvecs(path: &Path, limit: usize) -> Result<Vec<Vec<f32>>, String> {
    read_records(path, limit, f32::from_le_bytes)
}

/// Reads at most `limit` integer vectors.
#[allow(dead_code)]
pub fn read_ivecs(path: &Path, limit: usize) -> Result<Vec<Vec<i32>>, String> {
    read_records(path, limit, i32::from_le_bytes)
}
