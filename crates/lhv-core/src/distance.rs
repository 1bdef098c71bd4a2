//! Distance kernels and the metric-specific distance formulas.
//!
//! Internally the graph orders candidates by an *ordering distance* that is
//! cheaper than the reported one but sorts the same way (squared L2 instead of
//! L2). [`Metric::distance`] and the index use the very same kernels, so a
//! distance reported by a search is bit-identical to `Metric::distance` of the
//! query and the stored vector.

use crate::error::{Error, Result};
use crate::params::Metric;
use crate::simd::KERNELS;

/// The portable kernels: the fallback, and the reference the SIMD ones are tested against.
pub(crate) mod scalar {
    /// Independent accumulators let the compiler keep several SIMD lanes busy
    /// instead of serialising on one running sum.
    const LANES: usize = 8;

    /// Inner product of two equally long slices.
    pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
        fold(a, b, |x, y| x * y)
    }

    /// Squared Euclidean distance of two equally long slices.
    pub(crate) fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        fold(a, b, |x, y| (x - y) * (x - y))
    }

    /// Sums `term(a[i], b[i])` in `LANES` independent accumulators (also over
    /// the compact codes of `codes::kernels`).
    #[inline(always)]
    pub(crate) fn fold<A: Copy, B: Copy>(a: &[A], b: &[B], term: impl Fn(A, B) -> f32) -> f32 {
        let mut acc = [0.0f32; LANES];
        let (a_chunks, a_rest) = a.as_chunks::<LANES>();
        let (b_chunks, b_rest) = b.as_chunks::<LANES>();
        for (x, y) in a_chunks.iter().zip(b_chunks) {
            for lane in 0..LANES {
                acc[lane] += term(x[lane], y[lane]);
            }
        }
        let mut sum = reduce(acc);
        for (x, y) in a_rest.iter().zip(b_rest) {
            sum += term(*x, *y);
        }
        sum
    }

    fn reduce(acc: [f32; LANES]) -> f32 {
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
    }
}

/// Inner product of two equally long slices, with this CPU's fastest kernel.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    (KERNELS.dot)(a, b)
}

/// Squared Euclidean distance of two equally long slices, with this CPU's fastest kernel.
#[inline]
pub(crate) fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    (KERNELS.l2_squared)(a, b)
}

/// `1 / |v|`, the factor the cosine metric keeps per stored vector; 0 for a zero vector.
#[inline]
pub(crate) fn inverse_norm(v: &[f32]) -> f32 {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 { 1.0 / norm } else { 0.0 }
}

impl Metric {
    /// Distance between `a` and `b` exactly as the index computes it.
    ///
    /// Fails with [`Error::DimensionMismatch`] when the lengths differ.
    ///
    /// ```
    /// use lhv_core::Metric;
    /// assert_eq!(Metric::L2.distance(&[0.0, 3.0], &[4.0, 0.0]).unwrap(), 5.0);
    /// assert_eq!(Metric::Dot.distance(&[1.0, 0.0], &[1.0, 0.0]).unwrap(), 0.0);
    /// ```
    pub fn distance(self, a: &[f32], b: &[f32]) -> Result<f32> {
        if a.len() != b.len() {
            return Err(Error::DimensionMismatch { item: 0, expected: a.len(), got: b.len() });
        }
        let ordering = self.ordering_distance(a, self.inverse_norm(a), b, self.inverse_norm(b));
        Ok(self.reported(ordering))
    }

    /// The per-vector factor stored next to each vector (only cosine uses it).
    #[inline]
    pub(crate) fn inverse_norm(self, v: &[f32]) -> f32 {
        match self {
            Metric::Cosine => inverse_norm(v),
            Metric::L2 | Metric::Dot => 1.0,
        }
    }

    /// A distance that sorts like the reported one and is cheaper to compute.
    #[inline]
    pub(crate) fn ordering_distance(self, a: &[f32], a_inv_norm: f32, b: &[f32], b_inv_norm: f32) -> f32 {
        match self {
            Metric::Cosine => 1.0 - dot(a, b) * a_inv_norm * b_inv_norm,
            Metric::L2 => l2_squared(a, b),
            Metric::Dot => 1.0 - dot(a, b),
        }
    }

    /// How much closer than the base a kept neighbour must be to a candidate
    /// before the second, relaxed pass of the neighbour selection drops the
    /// candidate as redundant. Both ordering distances that are never negative
    /// (squared L2, and 1 - cos, which is half the squared L2 of unit vectors)
    /// take 1.2, about 1.1 in plain L2 (Vamana's usual α); the dot ordering
    /// distance can be negative, where a factor would tighten instead.
    pub(crate) fn prune_relaxation(self) -> f32 {
        match self {
            Metric::Cosine | Metric::L2 => 1.2,
            Metric::Dot => 1.0,
        }
    }

    /// Turns an ordering distance into the distance reported to callers.
    #[inline]
    pub(crate) fn reported(self, ordering: f32) -> f32 {
        match self {
            Metric::L2 => ordering.sqrt(),
            Metric::Cosine | Metric::Dot => ordering,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
    }

    fn naive(metric: Metric, a: &[f32], b: &[f32]) -> f64 {
        match metric {
            Metric::Cosine => 1.0 - naive_dot(a, b) / (naive_dot(a, a).sqrt() * naive_dot(b, b).sqrt()),
            Metric::L2 => a.iter().zip(b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2)).sum::<f64>().sqrt(),
            Metric::Dot => 1.0 - naive_dot(a, b),
        }
    }

    #[test]
    fn hand_computed_values() {
        let close = |x: f32, y: f32| (x - y).abs() < 1e-6;
        assert!(close(Metric::Cosine.distance(&[1.0, 0.0], &[0.0, 2.0]).unwrap(), 1.0));
        assert!(close(Metric::Cosine.distance(&[1.0, 1.0], &[-3.0, -3.0]).unwrap(), 2.0));
        assert!(close(Metric::Cosine.distance(&[2.0, 0.0], &[5.0, 0.0]).unwrap(), 0.0));
        assert!(close(Metric::L2.distance(&[1.0, 2.0, 3.0], &[4.0, 6.0, 3.0]).unwrap(), 5.0));
        assert!(close(Metric::Dot.distance(&[1.0, 2.0], &[3.0, 4.0]).unwrap(), 1.0 - 11.0));
    }

    #[test]
    fn mismatched_lengths_are_an_error() {
        assert!(matches!(
            Metric::L2.distance(&[1.0], &[1.0, 2.0]),
            Err(Error::DimensionMismatch { expected: 1, got: 2, .. })
        ));
    }

    fn metric() -> impl Strategy<Value = Metric> {
        prop_oneof![Just(Metric::Cosine), Just(Metric::L2), Just(Metric::Dot)]
    }

    proptest! {
        #[test]
        fn kernels_match_straightforward_formulas(
            metric in metric(),
            pair in (1usize..70).prop_flat_map(|d| (
                prop::collection::vec(-10.0f32..10.0, d),
                prop::collection::vec(-10.0f32..10.0, d),
            )),
        ) {
            let (a, b) = pair;
            prop_assume!(metric != Metric::Cosine || (naive_dot(&a, &a) > 1e-6 && naive_dot(&b, &b) > 1e-6));
            let got = f64::from(metric.distance(&a, &b).unwrap());
            let want = naive(metric, &a, &b);
            let scale = naive_dot(&a, &a).sqrt() * naive_dot(&b, &b).sqrt() + 1.0;
            prop_assert!((got - want).abs() <= 1e-5 * scale, "{metric}: got {got}, want {want}");
        }

        #[test]
        fn distance_is_symmetric(metric in metric(), a in prop::collection::vec(-5.0f32..5.0, 16), b in prop::collection::vec(-5.0f32..5.0, 16)) {
            let ab = metric.distance(&a, &b).unwrap();
            let ba = metric.distance(&b, &a).unwrap();
            prop_assert!((ab - ba).abs() <= 1e-5 * (1.0 + ab.abs()));
        }
    }
}
