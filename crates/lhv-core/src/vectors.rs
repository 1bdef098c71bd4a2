//! Contiguous storage of the vectors, one row per slot, as float32, float16
//! or 8-bit codes ([`Storage`]), with the per-row factors the metric needs.

use std::borrow::Cow;

use rayon::prelude::*;

use crate::array::Array;
use crate::codes::kernels::CODE_KERNELS;
use crate::codes::{self, Int8Row};
use crate::distance::dot;
use crate::params::{Metric, Storage};
use crate::row_norms::RowNorms;

/// All rows in flat buffers, plus the per-row factors of the metric.
#[derive(Debug, Clone)]
pub(crate) struct Vectors {
    dim: usize,
    metric: Metric,
    rows: Rows,
    /// Per row: `1/|v|` for cosine (of the row as distances see it), else 1.
    inverse_norms: Vec<f32>,
    /// Per row, for L2 over codes: `|v|²` of the row as rescoring sees it.
    square_norms: Vec<f32>,
}

/// The rows in the index's storage.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredRows {
    /// `slots × dim` float32 components.
    F32(Array<f32>),
    /// `slots × dim` float16 bit patterns.
    F16(Array<u16>),
    /// 8-bit codes with 4-bit residuals and a range per row.
    Int8 {
        /// `slots × dim` codes.
        codes: Array<u8>,
        /// `slots × ceil(dim / 2)` bytes, two residuals each (low nibble first).
        residuals: Array<u8>,
        /// Per row: the value of code 0, and the step between codes.
        ranges: Array<[f32; 2]>,
    },
}

#[derive(Debug, Clone)]
enum Rows {
    F32(Array<f32>),
    F16(Array<u16>),
    /// `residuals` is `None` for the codes of a vector whose exact rows are
    /// kept on disk: rescoring reads those, so the residuals would be unused.
    Int8 {
        codes: Array<u8>,
        residuals: Option<Array<u8>>,
        ranges: Array<[f32; 2]>,
        code_sums: Vec<f32>,
    },
}

impl StoredRows {
    /// Empty rows of `storage`.
    pub(crate) fn empty(storage: Storage) -> Self {
        match storage {
            Storage::F32 => Self::F32(Array::default()),
            Storage::F16 => Self::F16(Array::default()),
            Storage::Int8 => {
                Self::Int8 { codes: Array::default(), residuals: Array::default(), ranges: Array::default() }
            }
        }
    }

    /// The storage these rows are in.
    pub fn storage(&self) -> Storage {
        match self {
            Self::F32(_) => Storage::F32,
            Self::F16(_) => Storage::F16,
            Self::Int8 { .. } => Storage::Int8,
        }
    }

    /// How many rows of `dim` components these are, if the buffers agree.
    pub(crate) fn row_count(&self, dim: usize) -> Option<usize> {
        let dim = dim.max(1);
        let whole = |len: usize, per_row: usize| len.is_multiple_of(per_row).then_some(len / per_row);
        match self {
            Self::F32(v) => whole(v.len(), dim),
            Self::F16(v) => whole(v.len(), dim),
            // Residuals are checked by `Vectors::from_checked_rows`, which knows whether there are any.
            Self::Int8 { codes, ranges, .. } => {
                let rows = whole(codes.len(), dim)?;
                (ranges.len() == rows).then_some(rows)
            }
        }
    }
}

impl Vectors {
    /// Empty rows; 8-bit codes keep residuals if `residuals` (not when exact
    /// rows are kept elsewhere).
    pub(crate) fn new(dim: usize, metric: Metric, storage: Storage, residuals: bool) -> Self {
        Self::from_stored(dim, metric, StoredRows::empty(storage), residuals)
    }

    /// Rows already in their storage (`row_count` checked by the caller).
    /// The rows, without their factors yet.
    fn from_stored(dim: usize, metric: Metric, stored: StoredRows, with_residuals: bool) -> Self {
        let rows = match stored {
            StoredRows::F32(v) => Rows::F32(v),
            StoredRows::F16(v) => Rows::F16(v),
            StoredRows::Int8 { codes, residuals, ranges } => {
                let dim = dim.max(1);
                let code_sums = (0..codes.len() / dim)
                    .into_par_iter()
                    .map(|row| codes::code_sum(&codes[row * dim..(row + 1) * dim]))
                    .collect();
                Rows::Int8 { codes, residuals: with_residuals.then_some(residuals), ranges, code_sums }
            }
        };
        Self { dim, metric, rows, inverse_norms: Vec::new(), square_norms: Vec::new() }
    }

    /// Rows loaded from parts, each checked as a stored vector must be
    /// (finite, a usable norm: [`validate::query`](crate::validate)) in the
    /// same pass that computes its factors; the first failing slot's error.
    /// 8-bit codes come with residuals if `residuals`, and then must have one
    /// per component (none otherwise).
    /// Float32 rows come with their squared norms when `norms` were checked
    /// over exactly these rows ([`RowNorms`]): those rows are not read again.
    pub(crate) fn from_checked_rows(
        dim: usize,
        metric: Metric,
        stored: StoredRows,
        residuals: bool,
        norms: Option<RowNorms>,
    ) -> crate::Result<Self> {
        if let StoredRows::Int8 { codes, residuals: held, .. } = &stored {
            let expected = if residuals { codes.len() / dim.max(1) * codes::residual_bytes(dim) } else { 0 };
            if held.len() != expected {
                let reason = format!("{} residual bytes where {expected} are due", held.len());
                return Err(crate::Error::InvalidParts { reason });
            }
        }
        let checked = match (&stored, norms) {
            (StoredRows::F32(rows), Some(norms)) => match rows.parts() {
                [whole, []] => norms.of(whole, dim, metric),
                _ => None,
            },
            _ => None,
        };
        let mut vectors = Self::from_stored(dim, metric, stored, residuals);
        if let Some(squared) = checked {
            let factors: Vec<(f32, f32)> = squared.iter().map(|&s| vectors.factors_of(s)).collect();
            vectors.set_factors(&factors);
            return Ok(vectors);
        }
        let factors: Vec<(f32, f32)> = (0..vectors.len() as u32)
            .into_par_iter()
            .map(|slot| {
                let row = vectors.get(slot);
                let squared = crate::validate::query_norm(slot as usize, &row, dim, metric)?;
                Ok(vectors.factors_of(squared))
            })
            .collect::<crate::Result<_>>()?;
        vectors.set_factors(&factors);
        Ok(vectors)
    }

    /// (`inverse_norm`, `|v|²`) from a row's `|v|²` (as `distance::dot` computes it).
    fn factors_of(&self, squared: f32) -> (f32, f32) {
        let inverse = match self.metric {
            // What `distance::inverse_norm` computes from the same dot product.
            Metric::Cosine => {
                let norm = squared.sqrt();
                if norm > 0.0 { 1.0 / norm } else { 0.0 }
            }
            Metric::L2 | Metric::Dot => 1.0,
        };
        (inverse, if self.needs_square_norms() { squared } else { 0.0 })
    }

    fn set_factors(&mut self, factors: &[(f32, f32)]) {
        self.inverse_norms = factors.iter().map(|f| f.0).collect();
        if self.needs_square_norms() {
            self.square_norms = factors.iter().map(|f| f.1).collect();
        }
    }

    /// The rows as parts.
    pub(crate) fn stored_rows(&self) -> StoredRows {
        match &self.rows {
            Rows::F32(v) => StoredRows::F32(v.clone()),
            Rows::F16(v) => StoredRows::F16(v.clone()),
            Rows::Int8 { codes, residuals, ranges, .. } => {
                let residuals = residuals.clone().unwrap_or_default();
                StoredRows::Int8 { codes: codes.clone(), residuals, ranges: ranges.clone() }
            }
        }
    }

    fn len(&self) -> usize {
        self.inverse_norms.len().max(match &self.rows {
            Rows::F32(v) => v.len() / self.dim.max(1),
            Rows::F16(v) => v.len() / self.dim.max(1),
            Rows::Int8 { ranges, .. } => ranges.len(),
        })
    }

    fn needs_square_norms(&self) -> bool {
        self.metric == Metric::L2 && !matches!(self.rows, Rows::F32(_))
    }

    /// (`inverse_norm`, `|v|²`) of a row as distances see it.
    fn factors(&self, slot: u32) -> (f32, f32) {
        let row = self.get(slot);
        let inverse = self.metric.inverse_norm(&row);
        let square = if self.needs_square_norms() { dot(&row, &row) } else { 0.0 };
        (inverse, square)
    }

    /// 8-bit codes (without residuals) of these rows, for a walk that
    /// rescores from exact rows kept apart.
    /// Made on every core, and loaded as codes read from a snapshot are, so
    /// that they are bit for bit those [`push`](Self::push) makes.
    /// Each row's factors are computed in the same pass, from the row as
    /// its codes give it back, exactly as [`push`](Self::push) computes them.
    pub(crate) fn int8_codes(&self) -> Vectors {
        let dim = self.dim.max(1);
        let mut codes = vec![0u8; self.len() * dim];
        let made: Vec<([f32; 2], f32)> = codes
            .par_chunks_mut(dim)
            .enumerate()
            .map_init(Vec::new, |decoded, (slot, out)| {
                let range = codes::quantize_codes_into(&self.get(slot as u32), out);
                decoded.clear();
                decoded.extend(codes::coarse_int8(out, range[0], range[1]));
                (range, dot(decoded, decoded))
            })
            .collect();
        let (ranges, squared): (Vec<[f32; 2]>, Vec<f32>) = made.into_iter().unzip();
        let stored =
            StoredRows::Int8 { codes: Array::from(codes), residuals: Array::default(), ranges: Array::from(ranges) };
        let mut vectors = Self::from_stored(self.dim, self.metric, stored, false);
        let factors: Vec<(f32, f32)> = squared.iter().map(|&s| vectors.factors_of(s)).collect();
        vectors.set_factors(&factors);
        vectors
    }

    /// The float32 rows themselves, if these are float32 rows.
    pub(crate) fn into_f32_rows(self) -> Option<Array<f32>> {
        match self.rows {
            Rows::F32(rows) => Some(rows),
            _ => None,
        }
    }

    /// Appends a vector (already validated to have `dim` components) and returns its slot.
    pub(crate) fn push(&mut self, v: &[f32]) -> u32 {
        let slot = self.inverse_norms.len() as u32;
        match &mut self.rows {
            Rows::F32(data) => data.extend_from_slice(v),
            Rows::F16(data) => data.extend(codes::to_f16(v)),
            Rows::Int8 { codes, residuals, ranges, code_sums } => {
                let row = codes::quantize_int8(v);
                code_sums.push(codes::code_sum(&row.codes));
                codes.extend_from_slice(&row.codes);
                if let Some(residuals) = residuals {
                    residuals.extend_from_slice(&row.residuals);
                }
                ranges.push([row.lo, row.step]);
            }
        }
        let (inverse, square) = self.factors(slot);
        self.inverse_norms.push(inverse);
        if self.needs_square_norms() {
            self.square_norms.push(square);
        }
        slot
    }

    /// Components per vector.
    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    pub(crate) fn metric(&self) -> Metric {
        self.metric
    }

    /// `vector` as a query for this storage; `buffer` holds its codes if it gets any.
    pub(crate) fn prepare<'a>(&self, vector: &'a [f32], buffer: &'a mut Vec<i8>) -> Query<'a> {
        let mut query = Query::new(vector, self.metric);
        if !matches!(self.rows, Rows::Int8 { .. }) || CODE_KERNELS.dot_u8_i8.is_none() {
            return query;
        }
        let max = vector.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = max / 127.0;
        let inverse = scale.recip();
        // A query too small for its codes' scale to be inverted is searched by its float32 values.
        if max > 0.0 && inverse.is_finite() {
            buffer.clear();
            // Rounds half away from zero by truncating `y ± 0.5`: `round` and its kin are a
            // libm call per component on the baseline x86-64 target, this is a few vector ops.
            buffer.extend(vector.iter().map(|&x| {
                let y = (x * inverse).clamp(-127.0, 127.0);
                (y + 0.5f32.copysign(y)) as i8
            }));
            let values: &'a Vec<i8> = buffer;
            query.codes = Some(QueryCodes { values, scale });
        }
        query
    }

    /// Whether rescoring can refine the distances of this storage.
    pub(crate) fn rescores(&self) -> bool {
        matches!(self.rows, Rows::Int8 { residuals: Some(_), .. })
    }

    /// The row as the index returns it: the float32 vector, or for codes the
    /// closest values they hold.
    pub(crate) fn get(&self, slot: u32) -> Cow<'_, [f32]> {
        let range = self.row_range(slot);
        match &self.rows {
            Rows::F32(data) => Cow::Borrowed(&data[range]),
            Rows::F16(data) => Cow::Owned(codes::from_f16(&data[range])),
            Rows::Int8 { codes, residuals, ranges, .. } => {
                let [lo, step] = ranges[slot as usize];
                Cow::Owned(match residuals {
                    Some(residuals) => {
                        codes::refined_int8(&codes[range], &residuals[self.residual_range(slot)], lo, step)
                    }
                    None => codes::coarse_int8(&codes[range], lo, step).collect(),
                })
            }
        }
    }

    /// Whether storing `v` would give exactly this row.
    pub(crate) fn holds(&self, slot: u32, v: &[f32]) -> bool {
        let range = self.row_range(slot);
        match &self.rows {
            Rows::F32(data) => data[range].iter().zip(v).all(|(x, y)| x.to_bits() == y.to_bits()),
            Rows::F16(data) => data[range] == codes::to_f16(v)[..],
            Rows::Int8 { codes, residuals, ranges, .. } => {
                let Int8Row { codes: c, residuals: r, lo, step } = codes::quantize_int8(v);
                codes[range] == c[..]
                    && residuals.as_ref().is_none_or(|residuals| residuals[self.residual_range(slot)] == r[..])
                    && ranges[slot as usize] == [lo, step]
            }
        }
    }

    #[inline]
    fn row_range(&self, slot: u32) -> std::ops::Range<usize> {
        let start = slot as usize * self.dim;
        start..start + self.dim
    }

    #[inline]
    fn residual_range(&self, slot: u32) -> std::ops::Range<usize> {
        let width = codes::residual_bytes(self.dim);
        let start = slot as usize * width;
        start..start + width
    }

    #[inline]
    pub(crate) fn inverse_norm(&self, slot: u32) -> f32 {
        self.inverse_norms[slot as usize]
    }

    /// Starts loading the bytes of a row the walk will read soon.
    #[inline]
    pub(crate) fn prefetch(&self, slot: u32) {
        let range = self.row_range(slot);
        match &self.rows {
            Rows::F32(data) => crate::prefetch::prefetch(&data[range]),
            Rows::F16(data) => crate::prefetch::prefetch(&data[range]),
            Rows::Int8 { codes, .. } => crate::prefetch::prefetch(&codes[range]),
        }
    }

    /// Starts loading the first line of a row's residuals (read by rescoring, never by the walk).
    #[inline]
    pub(crate) fn prefetch_refinement(&self, slot: u32) {
        if let Rows::Int8 { residuals: Some(residuals), .. } = &self.rows {
            let start = slot as usize * codes::residual_bytes(self.dim);
            crate::prefetch::prefetch(&residuals[start..start + 1]);
        }
    }

    /// Ordering distance between two stored rows.
    #[inline]
    pub(crate) fn between(&self, a: u32, b: u32) -> f32 {
        let (ra, rb) = (self.row_range(a), self.row_range(b));
        let product = match &self.rows {
            Rows::F32(data) => {
                return finite(self.metric.ordering_distance(
                    &data[ra],
                    self.inverse_norm(a),
                    &data[rb],
                    self.inverse_norm(b),
                ));
            }
            Rows::F16(data) => (CODE_KERNELS.dot_f16_f16)(&data[ra], &data[rb]),
            Rows::Int8 { codes, ranges, code_sums, .. } => {
                let ([lo_a, step_a], [lo_b, step_b]) = (ranges[a as usize], ranges[b as usize]);
                let codes_product = (CODE_KERNELS.dot_u8_u8)(&codes[ra], &codes[rb]) as f32;
                self.dim as f32 * lo_a * lo_b
                    + lo_a * step_b * code_sums[b as usize]
                    + lo_b * step_a * code_sums[a as usize]
                    + step_a * step_b * codes_product
            }
        };
        self.distance_of_product(product, [self.inverse_norm(a), self.inverse_norm(b)], || {
            self.square_norms[a as usize] + self.square_norms[b as usize]
        })
    }

    /// Ordering distance between a prepared query and a stored row, as the
    /// graph walk computes it (for 8-bit rows: from the codes only).
    #[inline]
    pub(crate) fn to_query(&self, query: &Query<'_>, slot: u32) -> f32 {
        let range = self.row_range(slot);
        let product = match &self.rows {
            Rows::F32(data) => {
                return finite(self.metric.ordering_distance(
                    query.vector,
                    query.inverse_norm,
                    &data[range],
                    self.inverse_norm(slot),
                ));
            }
            Rows::F16(data) => (CODE_KERNELS.dot_f16)(query.vector, &data[range]),
            Rows::Int8 { codes, ranges, .. } => {
                let [lo, step] = ranges[slot as usize];
                let codes_product = match (query.codes, CODE_KERNELS.dot_u8_i8) {
                    (Some(q), Some(kernel)) => q.scale * kernel(&codes[range], q.values) as f32,
                    _ => (CODE_KERNELS.dot_u8)(query.vector, &codes[range]),
                };
                lo * query.sum + step * codes_product
            }
        };
        self.query_distance(query, slot, product)
    }

    /// [`to_query`](Self::to_query) refined by the 4-bit residuals; the same
    /// for storages without them.
    pub(crate) fn rescored_to_query(&self, query: &Query<'_>, slot: u32) -> f32 {
        let Rows::Int8 { codes, residuals: Some(residuals), ranges, .. } = &self.rows else {
            return self.to_query(query, slot);
        };
        let [lo, step] = ranges[slot as usize];
        let packed = &residuals[self.residual_range(slot)];
        // Sum of q_i * (16 * code_i + residual_i): sixteen times the product with the codes refined.
        let refined = (CODE_KERNELS.dot_refined)(query.vector, &codes[self.row_range(slot)], packed);
        // Component i is lo + step * (code + (residual + 0.5) / 16 - 0.5).
        let product = lo * query.sum + step * (refined / 16.0 + (0.5 / 16.0 - 0.5) * query.sum);
        self.query_distance(query, slot, product)
    }

    fn query_distance(&self, query: &Query<'_>, slot: u32, product: f32) -> f32 {
        self.distance_of_product(product, [query.inverse_norm, self.inverse_norm(slot)], || {
            query.square_norm + self.square_norms[slot as usize]
        })
    }

    /// The ordering distance of the metric from an inner product.
    #[inline]
    fn distance_of_product(
        &self,
        product: f32,
        [inverse_a, inverse_b]: [f32; 2],
        square_norms: impl Fn() -> f32,
    ) -> f32 {
        finite(match self.metric {
            // One factor at a time, as the float32 kernels do: `product * 1/|a|` is at most
            // about `|b|`, while `1/|a| * 1/|b|` alone overflows for small valid vectors.
            Metric::Cosine => 1.0 - product * inverse_a * inverse_b,
            Metric::Dot => 1.0 - product,
            // Rounding can take a tiny distance below zero; the true one never is.
            Metric::L2 => (square_norms() - 2.0 * product).max(0.0),
        })
    }

    /// Room for `rows` more rows without reallocating.
    pub(crate) fn reserve_rows(&mut self, rows: usize) {
        let components = rows * self.dim;
        match &mut self.rows {
            Rows::F32(data) => data.reserve_exact(components),
            Rows::F16(data) => data.reserve_exact(components),
            Rows::Int8 { codes, residuals, ranges, code_sums } => {
                codes.reserve_exact(components);
                if let Some(residuals) = residuals {
                    residuals.reserve_exact(rows * codes::residual_bytes(self.dim));
                }
                ranges.reserve_exact(rows);
                code_sums.reserve_exact(rows);
            }
        }
        self.inverse_norms.reserve_exact(rows);
        if self.needs_square_norms() {
            self.square_norms.reserve_exact(rows);
        }
    }

    /// Keeps only the slots listed in `kept`, in that order.
    pub(crate) fn retain_slots(&self, kept: &[u32]) -> Self {
        let rows = match &self.rows {
            Rows::F32(data) => Rows::F32(kept.iter().flat_map(|&s| data[self.row_range(s)].iter().copied()).collect()),
            Rows::F16(data) => Rows::F16(kept.iter().flat_map(|&s| data[self.row_range(s)].iter().copied()).collect()),
            Rows::Int8 { codes, residuals, ranges, code_sums } => Rows::Int8 {
                codes: kept.iter().flat_map(|&s| codes[self.row_range(s)].iter().copied()).collect(),
                residuals: residuals.as_ref().map(|residuals| {
                    kept.iter().flat_map(|&s| residuals[self.residual_range(s)].iter().copied()).collect()
                }),
                ranges: kept.iter().map(|&s| ranges[s as usize]).collect(),
                code_sums: kept.iter().map(|&s| code_sums[s as usize]).collect(),
            },
        };
        let pick = |values: &[f32]| -> Vec<f32> {
            if values.is_empty() { Vec::new() } else { kept.iter().map(|&s| values[s as usize]).collect() }
        };
        Self {
            dim: self.dim,
            metric: self.metric,
            rows,
            inverse_norms: pick(&self.inverse_norms),
            square_norms: pick(&self.square_norms),
        }
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        let rows = match &self.rows {
            // Rows read in place from a mapped snapshot count too: the index reads them from memory.
            Rows::F32(data) => data.owned_bytes() + data.shared_bytes(),
            Rows::F16(data) => data.owned_bytes() + data.shared_bytes(),
            Rows::Int8 { codes, residuals, ranges, code_sums } => {
                let residuals = residuals.as_ref().map_or(0, |r| r.owned_bytes() + r.shared_bytes());
                [codes.owned_bytes(), codes.shared_bytes(), residuals].iter().sum::<usize>()
                    + ranges.owned_bytes()
                    + ranges.shared_bytes()
                    + code_sums.capacity() * 4
            }
        };
        rows + (self.inverse_norms.capacity() + self.square_norms.capacity()) * size_of::<f32>()
    }
}

/// `distance`, which validation keeps finite: a NaN in a candidate heap would
/// sort ahead of every real distance (the test profiles check this).
#[inline(always)]
fn finite(distance: f32) -> f32 {
    debug_assert!(distance.is_finite(), "a distance of {distance}: validation let a vector through that it should not");
    distance
}

/// A query vector with its metric factors computed once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query<'a> {
    pub(crate) vector: &'a [f32],
    pub(crate) inverse_norm: f32,
    /// `|q|²`, for L2 over codes.
    pub(crate) square_norm: f32,
    /// The sum of the components, for 8-bit rows' offsets.
    pub(crate) sum: f32,
    /// The query itself as signed 8-bit codes, for 8-bit rows where the CPU
    /// multiplies those fastest (the walk only: rescoring uses `vector`).
    pub(crate) codes: Option<QueryCodes<'a>>,
    /// Whether the search's candidates will be rescored (so the walk can start
    /// loading what rescoring reads).
    pub(crate) refines: bool,
}

/// A query quantized to `scale * values[i]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueryCodes<'a> {
    values: &'a [i8],
    scale: f32,
}

impl<'a> Query<'a> {
    pub(crate) fn new(vector: &'a [f32], metric: Metric) -> Self {
        Self {
            vector,
            inverse_norm: metric.inverse_norm(vector),
            square_norm: dot(vector, vector),
            sum: vector.iter().sum(),
            codes: None,
            refines: false,
        }
    }
}
