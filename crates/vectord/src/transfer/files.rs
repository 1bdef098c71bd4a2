//! The files `vectord import` reads and `vectord export` writes: fvecs, npy
//! (a 2-D little-endian float16, float32 or float64 array in C order) and JSON lines
//! (`{"id": ..., "vector": [...], "metadata": ...}` per line).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use lhv_core::Item;
use serde_json::json;

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Per vector: a little-endian i32 dimension, then that many f32. Ids are row numbers.
    Fvecs,
    /// A NumPy `.npy` 2-D float16/float32/float64 array. Ids are row numbers.
    Npy,
    /// One JSON object per line with `id`, `vector` and optional `metadata`.
    Jsonl,
}

impl Format {
    /// The format a file name's extension names.
    pub fn of_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()? {
            "fvecs" => Some(Self::Fvecs),
            "npy" => Some(Self::Npy),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            _ => None,
        }
    }
}

/// Reads items one at a time and says how far into the file it is.
pub struct ItemReader {
    kind: Kind,
    input: Counting<BufReader<File>>,
    /// Items read so far (the next row number).
    row: usize,
    id_prefix: String,
}

enum Kind {
    Fvecs,
    Npy { dim: usize, rows: usize, component: Component },
    Jsonl { line: String },
}

impl ItemReader {
    /// Opens `path` as `format`; rows of fvecs and npy get the id `<id_prefix><row>`.
    pub fn open(path: &Path, format: Format, id_prefix: &str) -> Result<Self, String> {
        let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let mut input = Counting { inner: BufReader::with_capacity(1 << 20, file), count: 0 };
        let kind = match format {
            Format::Fvecs => Kind::Fvecs,
            Format::Jsonl => Kind::Jsonl { line: String::new() },
            Format::Npy => {
                let (dim, rows, component) =
                    read_npy_header(&mut input).map_err(|e| format!("{}: {e}", path.display()))?;
                Kind::Npy { dim, rows, component }
            }
        };
        Ok(Self { kind, input, row: 0, id_prefix: id_prefix.to_owned() })
    }

    /// Bytes of the file consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.input.count
    }

    /// The next item, or `None` at the end of the file.
    pub fn next_item(&mut self) -> Result<Option<Item>, String> {
        let row = self.row;
        let item = match &mut self.kind {
            Kind::Fvecs => {
                let mut head = [0u8; 4];
                if !read_exact_or_end(&mut self.input, &mut head).map_err(|e| format!("row {row}: {e}"))? {
                    return Ok(None);
                }
                let dim = i32::from_le_bytes(head);
                let dim = usize::try_from(dim).ok().filter(|&d| d > 0 && d <= lhv_core::MAX_DIM);
                let dim =
                    dim.ok_or_else(|| format!("row {row}: dimension {} is not in 1..=4096", i32::from_le_bytes(head)))?;
                let vector =
                    read_floats(&mut self.input, dim, Component::F32).map_err(|e| format!("row {row}: {e}"))?;
                Item { id: format!("{}{row}", self.id_prefix), vector, metadata: None, ..Default::default() }
            }
            Kind::Npy { dim, rows, component } => {
                if row >= *rows {
                    return Ok(None);
                }
                let vector = read_floats(&mut self.input, *dim, *component).map_err(|e| format!("row {row}: {e}"))?;
                Item { id: format!("{}{row}", self.id_prefix), vector, metadata: None, ..Default::default() }
            }
            Kind::Jsonl { line } => loop {
                line.clear();
                let read = self.input.read_line(line).map_err(|e| format!("line {}: {e}", row + 1))?;
                if read == 0 {
                    return Ok(None);
                }
                if line.trim().is_empty() {
                    continue;
                }
                break serde_json::from_str::<Item>(line).map_err(|e| format!("item {}: {e}", row + 1))?;
            },
        };
        self.row += 1;
        Ok(Some(item))
    }
}

/// Fills `buf`, or reports a clean end of file before its first byte.
fn read_exact_or_end(input: &mut impl Read, buf: &mut [u8]) -> Result<bool, String> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err("the file ends inside a record".into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(true)
}

/// How the components of a file's vectors are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Component {
    F16,
    F32,
    F64,
}

fn read_floats(input: &mut impl Read, dim: usize, component: Component) -> Result<Vec<f32>, String> {
    let width = match component {
        Component::F16 => 2,
        Component::F32 => 4,
        Component::F64 => 8,
    };
    let mut bytes = vec![0u8; dim * width];
    input.read_exact(&mut bytes).map_err(|_| "the file ends inside a record".to_owned())?;
    Ok(match component {
        // Every float16 is exactly a float32.
        Component::F16 => bytes.as_chunks::<2>().0.iter().map(|c| half::f16::from_le_bytes(*c).to_f32()).collect(),
        Component::F32 => bytes.as_chunks::<4>().0.iter().map(|c| f32::from_le_bytes(*c)).collect(),
        // Out-of-range values become infinite, which the index rejects with a clear error.
        Component::F64 => bytes.as_chunks::<8>().0.iter().map(|c| f64::from_le_bytes(*c) as f32).collect(),
    })
}

/// Reads the npy preamble: (columns, rows, how components are stored).
fn read_npy_header(input: &mut impl Read) -> Result<(usize, usize, Component), String> {
    let mut magic = [0u8; 8];
    input.read_exact(&mut magic).map_err(|_| "too short for an npy file".to_owned())?;
    if &magic[..6] != b"\x93NUMPY" {
        return Err("not an npy file (bad magic)".into());
    }
    let header_len = match magic[6] {
        1 => {
            let mut len = [0u8; 2];
            input.read_exact(&mut len).map_err(|_| "truncated npy header".to_owned())?;
            usize::from(u16::from_le_bytes(len))
        }
        2 | 3 => {
            let mut len = [0u8; 4];
            input.read_exact(&mut len).map_err(|_| "truncated npy header".to_owned())?;
            usize::try_from(u32::from_le_bytes(len)).map_err(|_| "npy header too long".to_owned())?
        }
        version => return Err(format!("npy format version {version} is not supported")),
    };
    if header_len > 1 << 20 {
        return Err("npy header too long".into());
    }
    let mut header = vec![0u8; header_len];
    input.read_exact(&mut header).map_err(|_| "truncated npy header".to_owned())?;
    let header = String::from_utf8_lossy(&header);
    let value_of = |key: &str| -> Option<&str> {
        let start = header.find(&format!("'{key}'"))? + key.len() + 2;
        let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
        Some(rest)
    };
    let descr = value_of("descr").and_then(|v| v.split('\'').nth(1)).ok_or("npy header has no descr")?;
    let component = match descr {
        "<f2" | "=f2" => Component::F16,
        "<f4" | "=f4" => Component::F32,
        "<f8" | "=f8" => Component::F64,
        other => {
            return Err(format!("npy dtype {other} is not supported: use little-endian float16, float32 or float64"));
        }
    };
    if value_of("fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err("npy arrays in Fortran order are not supported: save with C order".into());
    }
    let shape = value_of("shape").and_then(|v| v.strip_prefix('(')).and_then(|v| v.split(')').next());
    let dims: Vec<usize> = shape
        .ok_or("npy header has no shape")?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format!("bad npy shape entry {s:?}")))
        .collect::<Result<_, _>>()?;
    match dims.as_slice() {
        [rows, dim] if *dim > 0 => Ok((*dim, *rows, component)),
        _ => Err(format!("npy shape {dims:?} is not (rows, dim)")),
    }
}

/// A reader that counts the bytes it hands out.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.count += amount as u64;
        self.inner.consume(amount);
    }
}

/// Writes one item as `format`: JSON lines, every vector it has (named and
/// sparse ones too, as `vectors` and `sparse`, which `import` reads back);
/// or fvecs, which keeps only the unnamed vector, and so refuses an item
/// without one or with others.
pub fn write_item(out: &mut impl Write, format: Format, id: &str, record: &lhv_core::Record) -> Result<(), String> {
    let vector = &record.vector;
    let result = match format {
        Format::Jsonl => {
            let mut line = json!({ "id": id, "vector": vector, "metadata": record.metadata });
            if !record.vectors.is_empty() {
                line["vectors"] = json!(record.vectors);
            }
            if !record.sparse.is_empty() {
                line["sparse"] = json!(record.sparse);
            }
            writeln!(out, "{line}")
        }
        Format::Fvecs if vector.is_empty() || !record.vectors.is_empty() || !record.sparse.is_empty() => {
            return Err(format!(
                "item {id:?} has no unnamed vector or has named ones, which fvecs cannot hold: export as jsonl"
            ));
        }
        Format::Fvecs => {
            let dim = i32::try_from(vector.len()).unwrap_or(i32::MAX).to_le_bytes();
            out.write_all(&dim).and_then(|()| vector.iter().try_for_each(|x| out.write_all(&x.to_le_bytes())))
        }
        Format::Npy => return Err("export writes jsonl or fvecs".into()),
    };
    result.map_err(|e| format!("cannot write: {e}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use lhv_core::{Item, Record, SparseVector};

    use super::*;

    #[test]
    fn a_json_line_keeps_every_vector_and_fvecs_refuses_named_ones() {
        let record = Record {
            vector: Vec::new(),
            vectors: BTreeMap::from([("title".to_owned(), vec![1.0, 2.5])]),
            sparse: BTreeMap::from([("words".to_owned(), SparseVector::new(vec![3, 9], vec![1.0, 0.5]))]),
            metadata: Some(json!({ "k": 1 })),
        };
        let mut out = Vec::new();
        write_item(&mut out, Format::Jsonl, "x", &record).unwrap();
        let item: Item = serde_json::from_slice(&out).unwrap();
        assert_eq!(item, record.clone().into_item("x"));
        assert!(write_item(&mut Vec::new(), Format::Fvecs, "x", &record).is_err());
    }
}
