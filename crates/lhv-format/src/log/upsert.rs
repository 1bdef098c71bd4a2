//! The payloads of upsert records: operation 1 (every item has the unnamed
//! vector), 7 (some have none; version 4) and 8 (named dense or sparse
//! vectors; version 5). docs/FORMAT.md has the layouts.

use std::collections::BTreeSet;

use lhv_core::{Item, SparseVector};

use crate::arrays::{get_f32s, get_strings, get_u32s, put_f32s, put_strings, take, take_u32};
use crate::error::{Error, Result};

pub(super) const UPSERT: u8 = 1;
pub(super) const UPSERT_VECTORLESS: u8 = 7;
pub(super) const UPSERT_NAMED: u8 = 8;

/// Marks an item without a sparse vector of a name.
const ABSENT: u32 = u32::MAX;

/// The operation an upsert of `items` is written as.
pub(super) fn kind(items: &[Item]) -> u8 {
    if items.iter().any(|i| i.vectors.values().any(|v| !v.is_empty()) || !i.sparse.is_empty()) {
        UPSERT_NAMED
    } else if items.iter().any(|i| i.vector.is_empty()) {
        UPSERT_VECTORLESS
    } else {
        UPSERT
    }
}

fn count(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::invalid(format!("{n} entries, more than a record holds")))
}

/// Appends the payload of an upsert of `items`; its operation code.
pub(super) fn encode(items: &[Item], payload: &mut Vec<u8>) -> Result<u8> {
    let kind = kind(items);
    let vectors: Vec<&[f32]> = items.iter().map(|i| i.vector.as_slice()).collect();
    let dim = common_dim(&vectors, "")?;
    payload.extend_from_slice(&count(items.len())?.to_le_bytes());
    payload.extend_from_slice(&count(dim)?.to_le_bytes());
    put_strings(payload, items.iter().map(|i| Some(i.id.as_str())))?;
    let metadata: Vec<Option<String>> = items.iter().map(|i| i.metadata.as_ref().map(ToString::to_string)).collect();
    put_strings(payload, metadata.iter().map(Option::as_deref))?;
    if kind == UPSERT {
        for vector in vectors {
            put_f32s(payload, vector);
        }
        return Ok(kind);
    }
    // Versions 4 and 5: one byte per item, 1 if it has the vector; only those vectors follow.
    put_present(payload, &vectors);
    if kind == UPSERT_NAMED {
        let dense: BTreeSet<&str> = items
            .iter()
            .flat_map(|i| i.vectors.iter().filter(|(_, v)| !v.is_empty()).map(|(n, _)| n.as_str()))
            .collect();
        payload.extend_from_slice(&count(dense.len())?.to_le_bytes());
        put_strings(payload, dense.iter().map(|name| Some(*name)))?;
        for name in dense {
            let vectors: Vec<&[f32]> = items.iter().map(|i| i.dense(name)).collect();
            payload.extend_from_slice(&count(common_dim(&vectors, name)?)?.to_le_bytes());
            put_present(payload, &vectors);
        }
        let sparse: BTreeSet<&str> = items.iter().flat_map(|i| i.sparse.keys().map(String::as_str)).collect();
        payload.extend_from_slice(&count(sparse.len())?.to_le_bytes());
        put_strings(payload, sparse.iter().map(|name| Some(*name)))?;
        for name in sparse {
            let vectors: Vec<Option<&SparseVector>> = items.iter().map(|i| i.sparse.get(name)).collect();
            put_sparse(payload, &vectors)?;
        }
    }
    Ok(kind)
}

/// The one length of the non-empty vectors.
fn common_dim(vectors: &[&[f32]], name: &str) -> Result<usize> {
    let dim = vectors.iter().map(|v| v.len()).find(|&len| len > 0).unwrap_or(0);
    match vectors.iter().position(|v| v.len() != dim && !v.is_empty()) {
        Some(position) => {
            Err(Error::invalid(format!("upsert item {position}: vector {name:?} differs in length from the others")))
        }
        None => Ok(dim),
    }
}

/// A presence byte per vector, then the present vectors.
fn put_present(payload: &mut Vec<u8>, vectors: &[&[f32]]) {
    payload.extend(vectors.iter().map(|v| u8::from(!v.is_empty())));
    for vector in vectors {
        put_f32s(payload, vector);
    }
}

/// A length per item (`ABSENT` for none), then all indices, then all values.
fn put_sparse(payload: &mut Vec<u8>, vectors: &[Option<&SparseVector>]) -> Result<()> {
    for vector in vectors {
        let length = match vector {
            Some(v) if v.indices.len() != v.values.len() => {
                return Err(Error::invalid("a sparse vector's indices and values differ in number"));
            }
            Some(v) => count(v.indices.len())?,
            None => ABSENT,
        };
        payload.extend_from_slice(&length.to_le_bytes());
    }
    for vector in vectors.iter().flatten() {
        payload.extend(vector.indices.iter().flat_map(|i| i.to_le_bytes()));
    }
    for vector in vectors.iter().flatten() {
        put_f32s(payload, &vector.values);
    }
    Ok(())
}

/// Decodes the payload of an upsert of operation `kind`.
pub(super) fn decode(kind: u8, payload: &[u8]) -> Result<Vec<Item>> {
    let (count, rest) = take_u32(payload, "entry count")?;
    let count = count as usize;
    let (dim, rest) = take_u32(rest, "dimension")?;
    let (ids, rest) = get_strings(rest, count, "ids")?;
    let (metadata, rest) = get_strings(rest, count, "metadata")?;
    let mut items = Vec::with_capacity(count);
    for (i, (id, metadata)) in ids.into_iter().zip(metadata).enumerate() {
        let id = id.ok_or_else(|| Error::invalid(format!("upsert item {i} has no id")))?;
        let metadata = metadata
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| Error::invalid(format!("metadata of item {i} is not JSON: {e}")))?;
        items.push(Item { id: id.to_owned(), metadata, ..Item::default() });
    }
    let (unnamed, rest) = match kind {
        UPSERT => (vec![true; count], rest),
        _ => take_present(rest, count)?,
    };
    let with_vector = unnamed.iter().filter(|&&p| p).count();
    if kind == UPSERT_VECTORLESS && (with_vector == count || (dim == 0 && with_vector > 0)) {
        return Err(Error::invalid("an upsert of operation 7 has items without a vector and a dimension"));
    }
    let rest = if kind == UPSERT_NAMED {
        let (rows, rest) = take_rows(rest, &unnamed, dim as usize, "")?;
        for (item, vector) in items.iter_mut().zip(rows) {
            item.vector = vector;
        }
        decode_named(rest, &mut items)?
    } else {
        let (rows, rest) = take_rows(rest, &unnamed, dim as usize, "")?;
        for (item, vector) in items.iter_mut().zip(rows) {
            item.vector = vector;
        }
        rest
    };
    if !rest.is_empty() {
        return Err(Error::invalid(format!("{} bytes after the upsert's vectors", rest.len())));
    }
    Ok(items)
}

/// The named dense and sparse vectors of operation 8, into `items`; the bytes after them.
fn decode_named<'a>(rest: &'a [u8], items: &mut [Item]) -> Result<&'a [u8]> {
    let count = items.len();
    let (names, mut rest) = take_names(rest, "dense vector names")?;
    for name in names {
        let (dim, after) = take_u32(rest, "dimension")?;
        let (present, after) = take_present(after, count)?;
        if dim == 0 || !present.contains(&true) {
            return Err(Error::invalid(format!("named vector {name:?} is listed without a vector")));
        }
        let (rows, after) = take_rows(after, &present, dim as usize, &name)?;
        for (item, vector) in items.iter_mut().zip(rows) {
            if !vector.is_empty() {
                item.vectors.insert(name.clone(), vector);
            }
        }
        rest = after;
    }
    let (names, mut rest) = take_names(rest, "sparse vector names")?;
    for name in names {
        let (lengths, after) = take(rest, count.saturating_mul(4), "sparse lengths")?;
        let lengths = get_u32s(lengths, "sparse lengths")?;
        let total = lengths.iter().filter(|&&l| l != ABSENT).try_fold(0usize, |sum, &l| sum.checked_add(l as usize));
        let bytes = total.and_then(|t| t.checked_mul(4)).ok_or_else(|| Error::invalid("sparse lengths overflow"))?;
        let (indices, after) = take(after, bytes, "sparse indices")?;
        let (values, after) = take(after, bytes, "sparse values")?;
        let (indices, values) = (get_u32s(indices, "sparse indices")?, get_f32s(values, "sparse values")?);
        let mut start = 0;
        for (item, &length) in items.iter_mut().zip(&lengths) {
            if length == ABSENT {
                continue;
            }
            // In bounds: the lengths were added up to the arrays' sizes above.
            let end = start + length as usize;
            let vector = SparseVector::new(indices[start..end].to_vec(), values[start..end].to_vec());
            item.sparse.insert(name.clone(), vector);
            start = end;
        }
        rest = after;
    }
    Ok(rest)
}

/// A count and a string table of that many names, none absent, none twice.
fn take_names<'a>(bytes: &'a [u8], what: &str) -> Result<(Vec<String>, &'a [u8])> {
    let (count, rest) = take_u32(bytes, what)?;
    let (names, rest) = get_strings(rest, count as usize, what)?;
    let names: Vec<String> = names
        .into_iter()
        .map(|name| name.map(str::to_owned).ok_or_else(|| Error::invalid(format!("{what}: an absent name"))))
        .collect::<Result<_>>()?;
    if names.windows(2).any(|pair| pair[0] >= pair[1]) || names.first().is_some_and(String::is_empty) {
        return Err(Error::invalid(format!("{what}: not distinct non-empty names in order")));
    }
    Ok((names, rest))
}

/// `count` presence bytes (0 or 1).
fn take_present(bytes: &[u8], count: usize) -> Result<(Vec<bool>, &[u8])> {
    let (flags, rest) = take(bytes, count, "vector flags")?;
    if let Some(bad) = flags.iter().find(|&&f| f > 1) {
        return Err(Error::invalid(format!("vector flag {bad}, not 0 or 1")));
    }
    Ok((flags.iter().map(|&f| f == 1).collect(), rest))
}

/// The vectors of `dim` components of the present items (empty for the others).
fn take_rows<'a>(bytes: &'a [u8], present: &[bool], dim: usize, name: &str) -> Result<(Vec<Vec<f32>>, &'a [u8])> {
    let with_vector = present.iter().filter(|&&p| p).count();
    let length = with_vector.checked_mul(dim).and_then(|c| c.checked_mul(4));
    let length = length.ok_or_else(|| Error::invalid("vector bytes overflow"))?;
    let (bytes, rest) = take(bytes, length, "vectors")?;
    let components = get_f32s(bytes, "vectors")?;
    let mut rows = components.chunks_exact(dim.max(1));
    let vectors = present
        .iter()
        .map(|&p| if p { rows.next().map(<[f32]>::to_vec).unwrap_or_default() } else { Vec::new() })
        .collect();
    if dim == 0 && with_vector > 0 {
        return Err(Error::invalid(format!("vector {name:?}: present vectors of dimension 0")));
    }
    Ok((vectors, rest))
}
