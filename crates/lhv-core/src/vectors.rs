//! Contiguous storage of the vectors, one row per slot.

use rayon::prelude::*;

use crate::params::Metric;

/// All vectors in one flat buffer (`slot * dim ..`), plus the per-vector factor of the metric.
#[derive(Debug, Clone)]
pub(crate) struct Vectors {
    dim: usize,
    metric: Metric,
    data: Vec<f32>,
    inverse_norms: Vec<f32>,
}

impl Vectors {
    pub(crate) fn new(dim: usize, metric: Metric) -> Self {
        Self { dim, metric, data: Vec::new(), inverse_norms: Vec::new() }
    }

    /// Vectors given as `slots × dim` components (`data.len()` is a multiple of `dim`).
    pub(crate) fn from_data(dim: usize, metric: Metric, data: Vec<f32>) -> Self {
        let inverse_norms = data.par_chunks_exact(dim.max(1)).map(|v| metric.inverse_norm(v)).collect();
        Self { dim, metric, data, inverse_norms }
    }

    /// All components, slot after slot.
    pub(crate) fn data(&self) -> &[f32] {
        &self.data
    }

    /// Appends a vector (already validated to have `dim` components) and returns its slot.
    pub(crate) fn push(&mut self, v: &[f32]) -> u32 {
        let slot = self.inverse_norms.len() as u32;
        self.data.extend_from_slice(v);
        self.inverse_norms.push(self.metric.inverse_norm(v));
        slot
    }

    pub(crate) fn metric(&self) -> Metric {
        self.metric
    }

    #[inline]
    pub(crate) fn get(&self, slot: u32) -> &[f32] {
        let start = slot as usize * self.dim;
        &self.data[start..start + self.dim]
    }

    #[inline]
    pub(crate) fn inverse_norm(&self, slot: u32) -> f32 {
        self.inverse_norms[slot as usize]
    }

    /// Starts loading a whole vector that will be read soon.
    #[inline]
    pub(crate) fn prefetch(&self, slot: u32) {
        crate::prefetch::prefetch(self.get(slot));
    }

    /// Ordering distance between two stored vectors.
    #[inline]
    pub(crate) fn between(&self, a: u32, b: u32) -> f32 {
        self.metric.ordering_distance(self.get(a), self.inverse_norm(a), self.get(b), self.inverse_norm(b))
    }

    /// Ordering distance between a prepared query and a stored vector.
    #[inline]
    pub(crate) fn to_query(&self, query: &Query<'_>, slot: u32) -> f32 {
        self.metric.ordering_distance(query.vector, query.inverse_norm, self.get(slot), self.inverse_norm(slot))
    }

    /// Keeps only the slots listed in `kept`, in that order.
    pub(crate) fn retain_slots(&self, kept: &[u32]) -> Self {
        let mut data = Vec::with_capacity(kept.len() * self.dim);
        let mut inverse_norms = Vec::with_capacity(kept.len());
        for &slot in kept {
            data.extend_from_slice(self.get(slot));
            inverse_norms.push(self.inverse_norm(slot));
        }
        Self { dim: self.dim, metric: self.metric, data, inverse_norms }
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        (self.data.capacity() + self.inverse_norms.capacity()) * size_of::<f32>()
    }
}

/// A query vector with its metric factor computed once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query<'a> {
    pub(crate) vector: &'a [f32],
    pub(crate) inverse_norm: f32,
}

impl<'a> Query<'a> {
    pub(crate) fn new(vector: &'a [f32], metric: Metric) -> Self {
        Self { vector, inverse_norm: metric.inverse_norm(vector) }
    }
}
