//! Index parameters, their defaults and their limits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::filter::IndexedField;
use crate::sparse::SparseParams;

/// Largest vector dimension an index accepts.
pub const MAX_DIM: usize = 4096;
/// Vectors (as stored) and queries must have a Euclidean norm below this:
/// then every distance the index computes, in every storage and metric and
/// for every dimension up to [`MAX_DIM`], stays a finite `f32`.
pub const MAX_NORM: f32 = 1e16;
/// Largest `k` a search accepts.
pub const MAX_K: usize = 10_000;
/// Largest `ef` (search or construction) accepted.
pub const MAX_EF: usize = 10_000;
/// Largest `m` accepted; hnswlib warns above 100 as well, beyond it memory grows with no recall gain.
pub const MAX_M: usize = 100;
/// Longest id, in bytes.
pub const MAX_ID_BYTES: usize = 1024;
/// Largest page a [`scroll`](crate::Index::scroll) returns.
pub const MAX_SCROLL_LIMIT: usize = 10_000;
/// Most metadata keys one index may declare in [`IndexParams::indexed_fields`].
pub const MAX_INDEXED_FIELDS: usize = 32;
/// Most named vectors (dense and sparse together) one index may declare.
pub const MAX_NAMED_VECTORS: usize = 16;
/// Longest vector name, in bytes.
pub const MAX_VECTOR_NAME_BYTES: usize = 128;

/// How distances between vectors are measured. Smaller is closer for all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// `1 - cos(a, b)`: in `[0, 2]`, independent of vector length. Zero vectors are rejected.
    Cosine,
    /// Euclidean distance `|a - b|` (not squared).
    L2,
    /// `1 - a·b`: for vectors that are already normalised this equals the cosine distance.
    Dot,
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Metric::Cosine => "cosine",
            Metric::L2 => "l2",
            Metric::Dot => "dot",
        })
    }
}

/// How an index keeps its vectors in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// 4 bytes per component, exact.
    #[default]
    F32,
    /// 2 bytes per component (IEEE half precision, about 3 significant digits).
    F16,
    /// About 1.5 bytes per component: an 8-bit code per component (with a
    /// range per vector) that the graph walk reads, and a 4-bit residual that
    /// refines the distances of the candidates a search returns.
    Int8,
}

impl Storage {
    fn is_f32(&self) -> bool {
        *self == Storage::F32
    }
}

/// Parameters of an [`Index`](crate::Index), fixed at creation.
///
/// The flat fields `dim` to `storage` describe the index's unnamed vector
/// (the vector named `""`, the only one of an index created without names).
/// [`vectors`](Self::vectors) declares named dense vectors besides it, each
/// with its own dimension, metric, storage and graph; an index whose
/// vectors are all named has `dim` 0 and no unnamed vector.
///
/// ```
/// use lhv_core::{IndexParams, Metric};
/// let params = IndexParams::new(384, Metric::Cosine).with_m(32).with_ef_search(100);
/// assert!(params.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexParams {
    /// Dimension of the unnamed vector, `1..=4096`; 0 for an index without
    /// one, which must then declare named [`vectors`](Self::vectors).
    pub dim: usize,
    /// Distance function.
    pub metric: Metric,
    /// Graph out-degree on the upper layers (twice this on the bottom layer), `2..=100`. Default 16.
    #[serde(default = "defaults::m")]
    pub m: usize,
    /// Candidate list size while inserting, `1..=10000`. Default 200.
    #[serde(default = "defaults::ef_construction")]
    pub ef_construction: usize,
    /// Candidate list size of a search that names none, `1..=10000`. A query's
    /// effective ef is `max(ef, k)`. Default: chosen by the index
    /// ([`ef_search_auto`](Self::ef_search_auto)), 64 until it holds enough
    /// vectors to measure.
    #[serde(default = "defaults::ef_search")]
    pub ef_search: usize,
    /// Whether the index chooses [`ef_search`](Self::ef_search) itself: as it
    /// grows (each time its live count has grown by a quarter), the smallest ef at which
    /// searches for its own vectors, each left out of the graph, reach
    /// recall@10 0.96 against a brute-force answer (see docs/ARCHITECTURE.md).
    /// True for new parameters; [`with_ef_search`](Self::with_ef_search)
    /// turns it off. Absent from parameters written before it existed: false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ef_search_auto: bool,
    /// While the index holds fewer live vectors than this, searches compare the query
    /// with every vector (exact results) instead of walking the graph. Default 1024:
    /// below that a full scan costs about as many distance computations as a graph
    /// search at the default ef, and it is exact. `0` always uses the graph.
    #[serde(default = "defaults::exact_search_threshold")]
    pub exact_search_threshold: usize,
    /// Seed of the random layer assignment, so that the same inserts build the same graph.
    #[serde(default = "defaults::seed")]
    pub seed: u64,
    /// How vectors are kept. Default [`Storage::F32`]. With codes, searches
    /// rank by distances to the codes, and [`Index::get`](crate::Index::get)
    /// returns the values the codes hold rather than the exact input.
    #[serde(default, skip_serializing_if = "Storage::is_f32")]
    pub storage: Storage,
    /// Keeps the unnamed vector's full-precision (float32) rows on disk, in
    /// the snapshot file, rather than in memory: memory holds the codes the
    /// graph walk reads (the `storage`'s, or 8-bit codes when `storage` is
    /// float32) and searches rescore their candidates exactly from the file.
    /// [`Index::get`](crate::Index::get) returns the exact input. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub on_disk: bool,
    /// Metadata keys (dot-separated paths, at most [`MAX_INDEXED_FIELDS`]) to
    /// keep value-to-items indexes for, so that filtered searches on them find
    /// their matches without reading every item's metadata. Default none.
    /// [`Index::create_field_index`](crate::Index::create_field_index) adds
    /// more to a live index; [`Index::params`](crate::Index::params) lists
    /// those it holds now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexed_fields: Vec<IndexedField>,
    /// A filtered search whose matches number at most this many (counted
    /// through field indexes, or estimated from a sample of the items)
    /// compares the query with every match, exactly, instead of walking the
    /// graph, where few matches make the walk long. Default 8192.
    #[serde(default = "defaults::filter_scan_threshold", skip_serializing_if = "defaults::is_filter_scan_threshold")]
    pub filter_scan_threshold: usize,
    /// Named dense vectors besides the unnamed one, by name (non-empty, at
    /// most [`MAX_VECTOR_NAME_BYTES`]). An item may have any of them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vectors: BTreeMap<String, VectorParams>,
    /// Named sparse vectors (index → weight pairs, searched exactly by dot
    /// product), by name; names are shared with [`vectors`](Self::vectors)
    /// and must differ from them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sparse_vectors: BTreeMap<String, SparseParams>,
}

/// Parameters of one named dense vector ([`IndexParams::vectors`]): what the
/// flat fields of [`IndexParams`] are for the unnamed vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorParams {
    /// Dimension, `1..=4096`.
    pub dim: usize,
    /// Distance function (`distance` in JSON too, as vectord's API names it).
    #[serde(alias = "distance")]
    pub metric: Metric,
    /// Graph out-degree, as [`IndexParams::m`]. Default 16.
    #[serde(default = "defaults::m")]
    pub m: usize,
    /// Candidate list size while inserting, as [`IndexParams::ef_construction`]. Default 200.
    #[serde(default = "defaults::ef_construction")]
    pub ef_construction: usize,
    /// Candidate list size of a search that names none, as [`IndexParams::ef_search`].
    #[serde(default = "defaults::ef_search")]
    pub ef_search: usize,
    /// Whether the index chooses `ef_search`, as [`IndexParams::ef_search_auto`].
    #[serde(default, skip_serializing_if = "is_false")]
    pub ef_search_auto: bool,
    /// How the vectors are kept, as [`IndexParams::storage`].
    #[serde(default, skip_serializing_if = "Storage::is_f32")]
    pub storage: Storage,
    /// Full-precision rows on disk, as [`IndexParams::on_disk`].
    #[serde(default, skip_serializing_if = "is_false")]
    pub on_disk: bool,
}

// serde's skip_serializing_if passes a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(value: &bool) -> bool {
    !*value
}

impl VectorParams {
    /// Parameters with the defaults for everything but dimension and metric.
    pub fn new(dim: usize, metric: Metric) -> Self {
        Self {
            dim,
            metric,
            m: defaults::m(),
            ef_construction: defaults::ef_construction(),
            ef_search: defaults::ef_search(),
            ef_search_auto: true,
            storage: Storage::F32,
            on_disk: false,
        }
    }

    /// Sets [`m`](Self::m).
    pub fn with_m(mut self, m: usize) -> Self {
        self.m = m;
        self
    }

    /// Sets [`on_disk`](Self::on_disk).
    pub fn with_on_disk(mut self, on_disk: bool) -> Self {
        self.on_disk = on_disk;
        self
    }

    /// Sets [`ef_search`](Self::ef_search), which the index then keeps
    /// ([`ef_search_auto`](Self::ef_search_auto) off).
    pub fn with_ef_search(mut self, ef_search: usize) -> Self {
        self.ef_search = ef_search;
        self.ef_search_auto = false;
        self
    }

    /// What the graph walk reads: the storage's codes, or 8-bit codes of
    /// float32 rows (kept apart, in memory or on disk, to rescore exactly).
    pub fn walk_storage(&self) -> Storage {
        if self.storage == Storage::F32 { Storage::Int8 } else { self.storage }
    }

    /// Whether exact float32 rows are kept apart from what the walk reads:
    /// for float32 storage (the walk reads 8-bit codes of them, a quarter of
    /// the bytes, and rescores its candidates from them) and for any vector
    /// kept on disk.
    pub fn keeps_exact_rows(&self) -> bool {
        self.storage == Storage::F32 || self.on_disk
    }

    /// How [`DenseParts::vectors`](crate::DenseParts::vectors) (and so a
    /// snapshot) holds the rows: as the storage, except that a vector kept on
    /// disk holds the walk's codes there (its exact rows are apart). Float32
    /// rows in memory are held alone: the codes their walk reads are made
    /// again when they load.
    pub fn stored_rows_storage(&self) -> Storage {
        if self.on_disk { self.walk_storage() } else { self.storage }
    }

    /// Sets [`storage`](Self::storage).
    pub fn with_storage(mut self, storage: Storage) -> Self {
        self.storage = storage;
        self
    }

    /// Checks every parameter against its range.
    pub fn validate(&self) -> Result<()> {
        check_range("dim", self.dim, 1, MAX_DIM, "an integer in 1..=4096")?;
        check_graph(self.m, self.ef_construction, self.ef_search)
    }
}

mod defaults {
    pub fn m() -> usize {
        16
    }
    pub fn ef_construction() -> usize {
        200
    }
    pub fn ef_search() -> usize {
        64
    }
    pub fn exact_search_threshold() -> usize {
        1024
    }
    pub fn seed() -> u64 {
        0x5eed_1e55_c0ff_ee00
    }
    pub fn filter_scan_threshold() -> usize {
        8192
    }
    // serde's skip_serializing_if passes a reference.
    pub fn is_filter_scan_threshold(value: &usize) -> bool {
        *value == filter_scan_threshold()
    }
}

impl IndexParams {
    /// Parameters with the defaults for everything but dimension and metric.
    pub fn new(dim: usize, metric: Metric) -> Self {
        Self {
            dim,
            metric,
            m: defaults::m(),
            ef_construction: defaults::ef_construction(),
            ef_search: defaults::ef_search(),
            ef_search_auto: true,
            exact_search_threshold: defaults::exact_search_threshold(),
            seed: defaults::seed(),
            storage: Storage::F32,
            on_disk: false,
            indexed_fields: Vec::new(),
            filter_scan_threshold: defaults::filter_scan_threshold(),
            vectors: BTreeMap::new(),
            sparse_vectors: BTreeMap::new(),
        }
    }

    /// Parameters of an index without an unnamed vector: add named ones with
    /// [`with_vector`](Self::with_vector).
    pub fn named_only() -> Self {
        Self::new(0, Metric::Cosine)
    }

    /// Declares the named dense vector `name` (replacing one of that name).
    pub fn with_vector(mut self, name: impl Into<String>, params: VectorParams) -> Self {
        self.vectors.insert(name.into(), params);
        self
    }

    /// Declares the named sparse vector `name` (replacing one of that name).
    pub fn with_sparse_vector(mut self, name: impl Into<String>, params: SparseParams) -> Self {
        self.sparse_vectors.insert(name.into(), params);
        self
    }

    /// The parameters of the unnamed vector, if the index has one.
    pub fn unnamed(&self) -> Option<VectorParams> {
        (self.dim > 0).then_some(VectorParams {
            dim: self.dim,
            metric: self.metric,
            m: self.m,
            ef_construction: self.ef_construction,
            ef_search: self.ef_search,
            ef_search_auto: self.ef_search_auto,
            storage: self.storage,
            on_disk: self.on_disk,
        })
    }

    /// Whether a dense vector (the unnamed one or a named one) is kept on disk.
    pub fn any_on_disk(&self) -> bool {
        (self.on_disk && self.dim > 0) || self.vectors.values().any(|vector| vector.on_disk)
    }

    /// The parameters of the dense vector `name` (`""`: the unnamed one), if declared.
    pub fn vector(&self, name: &str) -> Option<VectorParams> {
        if name.is_empty() { self.unnamed() } else { self.vectors.get(name).cloned() }
    }

    /// Every dense vector with its name, the unnamed one (`""`) first, then by name.
    pub fn dense_vectors(&self) -> Vec<(String, VectorParams)> {
        let unnamed = self.unnamed().map(|params| (String::new(), params));
        unnamed.into_iter().chain(self.vectors.iter().map(|(name, params)| (name.clone(), params.clone()))).collect()
    }

    /// Sets [`m`](Self::m).
    pub fn with_m(mut self, m: usize) -> Self {
        self.m = m;
        self
    }

    /// Sets [`ef_construction`](Self::ef_construction).
    pub fn with_ef_construction(mut self, ef_construction: usize) -> Self {
        self.ef_construction = ef_construction;
        self
    }

    /// Sets [`ef_search`](Self::ef_search), which the index then keeps
    /// ([`ef_search_auto`](Self::ef_search_auto) off).
    pub fn with_ef_search(mut self, ef_search: usize) -> Self {
        self.ef_search = ef_search;
        self.ef_search_auto = false;
        self
    }

    /// Sets [`exact_search_threshold`](Self::exact_search_threshold).
    pub fn with_exact_search_threshold(mut self, threshold: usize) -> Self {
        self.exact_search_threshold = threshold;
        self
    }

    /// Sets [`indexed_fields`](Self::indexed_fields).
    pub fn with_indexed_fields<S: Into<IndexedField>>(mut self, keys: impl IntoIterator<Item = S>) -> Self {
        self.indexed_fields = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`filter_scan_threshold`](Self::filter_scan_threshold).
    pub fn with_filter_scan_threshold(mut self, threshold: usize) -> Self {
        self.filter_scan_threshold = threshold;
        self
    }

    /// Sets [`storage`](Self::storage).
    pub fn with_storage(mut self, storage: Storage) -> Self {
        self.storage = storage;
        self
    }

    /// Sets [`on_disk`](Self::on_disk) (of the unnamed vector).
    pub fn with_on_disk(mut self, on_disk: bool) -> Self {
        self.on_disk = on_disk;
        self
    }

    /// Sets [`seed`](Self::seed).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks every parameter against its range.
    pub fn validate(&self) -> Result<()> {
        if self.dim > 0 || (self.vectors.is_empty() && self.sparse_vectors.is_empty()) {
            check_range("dim", self.dim, 1, MAX_DIM, "an integer in 1..=4096")?;
        }
        // Checked even without an unnamed vector: `set_build_params` applies them to every graph.
        check_graph(self.m, self.ef_construction, self.ef_search)?;
        self.validate_names()?;
        let fields = &self.indexed_fields;
        if fields.len() > MAX_INDEXED_FIELDS {
            return Err(Error::InvalidParameter {
                name: "indexed_fields",
                value: format!("{} keys", fields.len()),
                allowed: "at most 32 keys",
            });
        }
        for (position, field) in fields.iter().enumerate() {
            field.validate()?;
            if fields[..position].iter().any(|earlier| earlier.key == field.key) {
                return Err(Error::InvalidParameter {
                    name: "indexed_fields",
                    value: format!("{:?}", field.key),
                    allowed: "distinct keys",
                });
            }
        }
        Ok(())
    }
}

impl IndexParams {
    /// Checks the named vectors (dense and sparse): their count, their names and their parameters.
    fn validate_names(&self) -> Result<()> {
        let named = self.vectors.len() + self.sparse_vectors.len();
        if named > MAX_NAMED_VECTORS {
            return Err(Error::InvalidParameter {
                name: "vectors",
                value: format!("{named} named vectors"),
                allowed: "at most 16 named vectors, dense and sparse together",
            });
        }
        for (name, params) in &self.vectors {
            check_vector_name(name)?;
            params.validate()?;
        }
        for name in self.sparse_vectors.keys() {
            check_vector_name(name)?;
            if self.vectors.contains_key(name) {
                return Err(Error::InvalidParameter {
                    name: "sparse_vectors",
                    value: format!("{name:?}"),
                    allowed: "names that no dense vector has",
                });
            }
        }
        Ok(())
    }
}

/// The ranges of a graph's parameters.
fn check_graph(m: usize, ef_construction: usize, ef_search: usize) -> Result<()> {
    check_range("m", m, 2, MAX_M, "an integer in 2..=100")?;
    check_range("ef_construction", ef_construction, 1, MAX_EF, "an integer in 1..=10000")?;
    check_range("ef_search", ef_search, 1, MAX_EF, "an integer in 1..=10000")
}

/// Fails unless `name` can name a vector: not empty (that is the unnamed
/// vector's), at most [`MAX_VECTOR_NAME_BYTES`].
pub(crate) fn check_vector_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_VECTOR_NAME_BYTES {
        return Err(Error::InvalidParameter {
            name: "vectors",
            value: format!("{name:?}"),
            allowed: "vector names of 1 to 128 bytes",
        });
    }
    Ok(())
}

/// Fails with [`Error::InvalidParameter`] unless `min <= value <= max`.
pub(crate) fn check_range(
    name: &'static str,
    value: usize,
    min: usize,
    max: usize,
    allowed: &'static str,
) -> Result<()> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::InvalidParameter { name, value: value.to_string(), allowed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let params = IndexParams::new(8, Metric::L2);
        assert_eq!((params.m, params.ef_construction, params.ef_search), (16, 200, 64));
        assert!(params.validate().is_ok());
    }

    #[test]
    fn out_of_range_parameters_are_named() {
        let cases = [
            (IndexParams::new(0, Metric::L2), "dim"),
            (IndexParams::new(4097, Metric::L2), "dim"),
            (IndexParams::new(4, Metric::L2).with_m(1), "m"),
            (IndexParams::new(4, Metric::L2).with_m(101), "m"),
            (IndexParams::new(4, Metric::L2).with_ef_construction(0), "ef_construction"),
            (IndexParams::new(4, Metric::L2).with_ef_search(10_001), "ef_search"),
        ];
        for (params, expected) in cases {
            match params.validate() {
                Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, expected),
                other => panic!("{params:?}: expected an error naming {expected}, got {other:?}"),
            }
        }
    }

    #[test]
    fn params_deserialize_with_defaults() {
        let params: IndexParams = serde_json::from_str(r#"{"dim": 3, "metric": "cosine"}"#).unwrap();
        // Parameters from before the index chose its default ef keep the stored one.
        assert_eq!(params, IndexParams::new(3, Metric::Cosine).with_ef_search(64));
        let chosen = IndexParams::new(3, Metric::Cosine);
        let text = serde_json::to_string(&chosen).unwrap();
        assert!(text.contains(r#""ef_search_auto":true"#), "{text}");
        assert_eq!(serde_json::from_str::<IndexParams>(&text).unwrap(), chosen);
    }
}
