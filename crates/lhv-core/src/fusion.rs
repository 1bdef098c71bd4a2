//! Fusing ranked lists of results into one (hybrid search): reciprocal rank
//! fusion and distribution-based score fusion, as Qdrant defines them.
//!
//! Inputs are lists of `(id, score)`, best first, where a higher score is
//! better (a caller turns distances into scores first). Outputs are `(id,
//! fused score)`, best first; ids tied on the fused score keep the order in
//! which they first appeared (list by list), as qdrant-client's local mode
//! orders them.
//!
//! ```
//! use lhv_core::fusion::{dbsf, rrf};
//!
//! let dense = vec![("a".to_owned(), 0.9), ("b".to_owned(), 0.8)];
//! let sparse = vec![("b".to_owned(), 12.0), ("c".to_owned(), 3.0)];
//! let fused = rrf(&[dense.clone(), sparse.clone()], 2.0, None).unwrap();
//! assert_eq!(fused[0].0, "b"); // 1/3 + 1/2
//! assert_eq!(dbsf(&[dense, sparse])[0].0, "b");
//! # Ok::<(), lhv_core::Error>(())
//! ```

use std::collections::HashMap;

use crate::error::{Error, Result};

/// Qdrant's default `k` of reciprocal rank fusion.
pub const DEFAULT_RRF_K: f32 = 2.0;

/// Reciprocal rank fusion: each list adds `1 / ((rank + 1) / weight + k - 1)`
/// to the fused score of each of its ids (rank from 0; `1 / (rank + k)` at
/// weight 1), and a weight of 0 or less adds nothing. `weights`, if given,
/// has one weight per list.
pub fn rrf(lists: &[Vec<(String, f32)>], k: f32, weights: Option<&[f32]>) -> Result<Vec<(String, f32)>> {
    if !(k.is_finite() && k > 0.0) {
        return Err(Error::InvalidParameter { name: "k", value: k.to_string(), allowed: "a positive number" });
    }
    if let Some(weights) = weights {
        if weights.len() != lists.len() {
            return Err(Error::InvalidParameter {
                name: "weights",
                value: format!("{} weights for {} lists", weights.len(), lists.len()),
                allowed: "one weight per list",
            });
        }
        if weights.iter().any(|w| !w.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "weights",
                value: format!("{weights:?}"),
                allowed: "finite numbers",
            });
        }
    }
    let mut fused = Fused::default();
    for (position, list) in lists.iter().enumerate() {
        let weight = f64::from(weights.map_or(1.0, |w| w[position]));
        for (rank, (id, _)) in list.iter().enumerate() {
            let share = if weight <= 0.0 { 0.0 } else { 1.0 / ((rank as f64 + 1.0) / weight + f64::from(k) - 1.0) };
            fused.add(id, share);
        }
    }
    Ok(fused.ranked())
}

/// Distribution-based score fusion: each list's scores are mapped from
/// `mean ± 3 standard deviations` (the sample deviation) onto `0..1`, and
/// an id's fused score is the sum of its mapped scores. A list of one
/// result, or whose scores are all equal, maps every score to 0.5.
pub fn dbsf(lists: &[Vec<(String, f32)>]) -> Vec<(String, f32)> {
    let mut fused = Fused::default();
    for list in lists.iter().filter(|list| !list.is_empty()) {
        let scores: Vec<f64> = list.iter().map(|(_, score)| f64::from(*score)).collect();
        let count = scores.len() as f64;
        let mean = scores.iter().sum::<f64>() / count;
        let variance = if scores.len() == 1 {
            0.0
        } else {
            scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (count - 1.0)
        };
        let deviation = variance.sqrt();
        for ((id, _), score) in list.iter().zip(&scores) {
            let mapped = if deviation == 0.0 { 0.5 } else { (score - (mean - 3.0 * deviation)) / (6.0 * deviation) };
            fused.add(id, mapped);
        }
    }
    fused.ranked()
}

/// Fused scores in the order ids first appeared.
#[derive(Default)]
struct Fused {
    order: Vec<(String, f64)>,
    at: HashMap<String, usize>,
}

impl Fused {
    fn add(&mut self, id: &str, share: f64) {
        match self.at.get(id) {
            Some(&position) => self.order[position].1 += share,
            None => {
                self.at.insert(id.to_owned(), self.order.len());
                self.order.push((id.to_owned(), share));
            }
        }
    }

    /// Best first; a stable sort keeps ties in order of first appearance.
    fn ranked(mut self) -> Vec<(String, f32)> {
        self.order.sort_by(|a, b| b.1.total_cmp(&a.1));
        self.order.into_iter().map(|(id, score)| (id, score as f32)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[(&str, f32)]) -> Vec<(String, f32)> {
        entries.iter().map(|(id, score)| ((*id).to_owned(), *score)).collect()
    }

    #[test]
    fn rrf_adds_reciprocal_ranks() {
        let fused = rrf(&[list(&[("a", 9.0), ("b", 1.0)]), list(&[("b", 5.0), ("c", 4.0)])], 2.0, None).unwrap();
        let expected = [("b", 1.0 / 3.0 + 1.0 / 2.0), ("a", 1.0 / 2.0), ("c", 1.0 / 3.0)];
        assert_eq!(fused.len(), 3);
        for ((id, score), (want_id, want)) in fused.iter().zip(expected) {
            assert_eq!(id, want_id);
            assert!((f64::from(*score) - want).abs() < 1e-6, "{id}: {score} against {want}");
        }
    }

    #[test]
    fn rrf_weights_scale_ranks_and_zero_weights_add_nothing() {
        let lists = [list(&[("a", 1.0)]), list(&[("b", 1.0)])];
        let fused = rrf(&lists, 60.0, Some(&[3.0, 0.0])).unwrap();
        assert_eq!(fused[0].0, "a");
        assert!((f64::from(fused[0].1) - 1.0 / (1.0 / 3.0 + 59.0)).abs() < 1e-9);
        assert_eq!(fused[1], ("b".to_owned(), 0.0));
        assert!(rrf(&lists, 2.0, Some(&[1.0])).is_err());
        assert!(rrf(&lists, 0.0, None).is_err());
    }

    #[test]
    fn ties_keep_the_order_of_first_appearance() {
        let fused = rrf(&[list(&[("x", 1.0)]), list(&[("y", 1.0)])], 2.0, None).unwrap();
        assert_eq!(fused.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["x", "y"]);
    }

    #[test]
    fn dbsf_maps_each_list_by_its_distribution() {
        // Scores 1, 2, 3: mean 2, sample deviation 1, so 1 -> 1/3, 2 -> 1/2, 3 -> 2/3.
        let fused = dbsf(&[list(&[("c", 3.0), ("b", 2.0), ("a", 1.0)]), list(&[("a", 7.0)])]);
        let expected = [("a", 1.0 / 3.0 + 0.5), ("c", 2.0 / 3.0), ("b", 0.5)];
        for ((id, score), (want_id, want)) in fused.iter().zip(expected) {
            assert_eq!(id, want_id);
            assert!((f64::from(*score) - want).abs() < 1e-6, "{id}: {score} against {want}");
        }
        let equal = dbsf(&[list(&[("p", 4.0), ("q", 4.0)])]);
        assert_eq!(equal, list(&[("p", 0.5), ("q", 0.5)]));
        assert!(dbsf(&[Vec::new()]).is_empty());
    }
}
