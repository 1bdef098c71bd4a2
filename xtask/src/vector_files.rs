//! Reading a dataset's vectors: fvecs (the minilm-dev layout) or a 2-D
//! little-endian float16/float32 `.npy` array (the pydoc-dev layout).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The rows of `dataset/<stem>.fvecs`, or else of `<stem>.f16.npy` or `<stem>.npy`.
pub(crate) fn read_dataset_rows(dataset: &Path, stem: &str) -> Result<Vec<Vec<f32>>, String> {
    let candidates = [format!("{stem}.fvecs"), format!("{stem}.f16.npy"), format!("{stem}.npy")];
    let found: Option<PathBuf> = candidates.iter().map(|name| dataset.join(name)).find(|path| path.exists());
    match found {
        Some(path) if path.extension().is_some_and(|e| e == "npy") => read_npy(&path),
        Some(path) => read_fvecs(&path),
        None => Err(format!("{}: none of {}", dataset.display(), candidates.join(", "))),
    }
}

/// Every row of an fvecs file.
pub(crate) fn read_fvecs(path: &Path) -> Result<Vec<Vec<f32>>, String> {
    let bytes = read_all(path)?;
    let mut rows = Vec::new();
    let mut rest = bytes.as_slice();
    while rest.len() >= 4 {
        let dim = i32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let length = usize::try_from(dim).map_err(|_| format!("{}: bad dimension {dim}", path.display()))?;
        let row = rest.get(4..4 + 4 * length).ok_or(format!("{}: truncated", path.display()))?;
        rows.push(row.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect());
        rest = &rest[4 + 4 * length..];
    }
    Ok(rows)
}

/// Appends `rows` to `out` as fvecs records (a little-endian i32 dimension, then the values).
pub(crate) fn append_fvecs(out: &mut impl Write, rows: &[Vec<f32>], path: &Path) -> Result<(), String> {
    for row in rows {
        let dim = i32::try_from(row.len()).map_err(|_| format!("{}: a row of {} values", path.display(), row.len()))?;
        out.write_all(&dim.to_le_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
        for value in row {
            out.write_all(&value.to_le_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Writes `rows` as the fvecs file `path`, whole or not at all (written
/// beside it, then renamed: an interrupted run leaves no short file to reuse).
pub(crate) fn write_fvecs(path: &Path, rows: &[Vec<f32>]) -> Result<(), String> {
    let partial = path.with_extension("partial");
    let file = std::fs::File::create(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    append_fvecs(&mut out, rows, &partial)?;
    out.flush().map_err(|e| format!("{}: {e}", partial.display()))?;
    drop(out);
    std::fs::rename(&partial, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every row of a 2-D C-order `.npy` array of little-endian float16 or float32.
fn read_npy(path: &Path) -> Result<Vec<Vec<f32>>, String> {
    let bytes = read_all(path)?;
    let bad = |what: &str| format!("{}: {what}", path.display());
    if bytes.get(..6) != Some(b"\x93NUMPY".as_slice()) {
        return Err(bad("not an npy file"));
    }
    let (length, start) = match bytes.get(6) {
        Some(1) => (bytes.get(8..10).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]]))), 10),
        Some(2 | 3) => (bytes.get(8..12).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize), 12),
        _ => (None, 0),
    };
    let length = length.ok_or_else(|| bad("unsupported npy version"))?;
    let header = bytes.get(start..start + length).ok_or_else(|| bad("truncated header"))?;
    let header = String::from_utf8_lossy(header);
    let width = if header.contains("'<f2'") {
        2
    } else if header.contains("'<f4'") {
        4
    } else {
        return Err(bad("only little-endian float16 or float32 arrays are read"));
    };
    if header.contains("'fortran_order': True") {
        return Err(bad("Fortran order is not read"));
    }
    let shape = header.split("'shape': (").nth(1).and_then(|s| s.split(')').next()).ok_or_else(|| bad("no shape"))?;
    let dims: Vec<usize> =
        shape.split(',').map(str::trim).filter(|s| !s.is_empty()).filter_map(|s| s.parse().ok()).collect();
    let [rows, dim] = dims[..] else { return Err(bad("not a 2-D array")) };
    let data = bytes.get(start + length..).ok_or_else(|| bad("truncated"))?;
    if dim == 0 || data.len() < rows * dim * width {
        return Err(bad("truncated data"));
    }
    let value = |b: &[u8]| match width {
        2 => half::f16::from_le_bytes([b[0], b[1]]).to_f32(),
        _ => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
    };
    Ok(data[..rows * dim * width]
        .chunks_exact(dim * width)
        .map(|row| row.chunks_exact(width).map(value).collect())
        .collect())
}

fn read_all(path: &Path) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, rows: usize, dim: usize, data: &[u8]) -> Vec<u8> {
        let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {dim}), }}\n");
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend(u16::try_from(header.len()).unwrap_or(0).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.extend(data);
        bytes
    }

    #[test]
    fn float16_and_float32_arrays_read_as_rows() -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!("xtask-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let values = [1.0f32, -0.5, 2.25, 0.0, 3.0, 65504.0];
        let halves: Vec<u8> = values.iter().flat_map(|&v| half::f16::from_f32(v).to_le_bytes()).collect();
        std::fs::write(dir.join("base.f16.npy"), npy("<f2", 2, 3, &halves)).map_err(|e| e.to_string())?;
        let singles: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.join("query.npy"), npy("<f4", 3, 2, &singles)).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("short.npy"), npy("<f4", 4, 2, &singles)).map_err(|e| e.to_string())?;
        let base = read_dataset_rows(&dir, "base");
        let query = read_dataset_rows(&dir, "query");
        let short = read_dataset_rows(&dir, "short");
        let missing = read_dataset_rows(&dir, "none");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(base?, vec![values[..3].to_vec(), values[3..].to_vec()]);
        assert_eq!(query?, vec![values[..2].to_vec(), values[2..4].to_vec(), values[4..].to_vec()]);
        assert!(short.is_err_and(|e| e.contains("truncated")));
        assert!(missing.is_err());
        Ok(())
    }
}
