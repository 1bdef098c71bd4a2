//! Exact scans that score every point passing a filter with a function of
//! its vector and some examples: Qdrant's `best_score` and `sum_scores`
//! recommendations, discovery and context searches, computed as
//! qdrant-client's local mode computes them. The score function is plain
//! data ([`Scoring`]), so that a router can send the scan to every shard
//! and merge the best of each (by score, then id).

use std::ops::Bound;

use lhv_core::{Filter, Metric, Record, ShardedIndex, compare_ids};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Qdrant's `f32::EPSILON` margin in context scores.
const EPSILON: f32 = f32::EPSILON;

/// How a point's vector is scored against examples.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "scoring", rename_all = "snake_case")]
pub(crate) enum Scoring {
    /// The best positive similarity squashed to (0.5, 1), unless a negative
    /// is closer: then the negated squashed negative similarity.
    BestScore {
        /// Examples to be like.
        positive: Vec<Vec<f32>>,
        /// Examples to be unlike.
        negative: Vec<Vec<f32>>,
    },
    /// The sum of the positive similarities minus that of the negative ones.
    SumScores {
        /// Examples to be like.
        positive: Vec<Vec<f32>>,
        /// Examples to be unlike.
        negative: Vec<Vec<f32>>,
    },
    /// With a target: how many context pairs the point sides with
    /// positively, plus the squashed similarity to the target; without:
    /// the context score (how far each pair's negative is preferred).
    Discover {
        /// The target, if any.
        target: Option<Vec<f32>>,
        /// Context pairs: (positive, negative).
        pairs: Vec<(Vec<f32>, Vec<f32>)>,
    },
}

impl Scoring {
    /// The score of `vector`.
    pub(crate) fn score(&self, metric: Metric, vector: &[f32]) -> f32 {
        let similarities = |examples: &[Vec<f32>]| -> Vec<f32> {
            examples.iter().map(|example| similarity(metric, example, vector)).collect()
        };
        match self {
            Scoring::SumScores { positive, negative } => {
                similarities(positive).iter().sum::<f32>() - similarities(negative).iter().sum::<f32>()
            }
            Scoring::BestScore { positive, negative } => {
                let best = |scores: Vec<f32>| scores.into_iter().fold(f32::NEG_INFINITY, f32::max);
                let (pos, neg) = (best(similarities(positive)), best(similarities(negative)));
                if pos > neg { squashed(pos) } else { -squashed(neg) }
            }
            Scoring::Discover { target, pairs } => {
                let sides = pairs.iter().map(|(positive, negative)| {
                    (similarity(metric, positive, vector), similarity(metric, negative, vector))
                });
                match target {
                    Some(target) => {
                        let rank: i32 = sides.map(|(pos, neg)| i32::from(pos > neg) - i32::from(pos < neg)).sum();
                        rank as f32 + squashed(similarity(metric, target, vector))
                    }
                    None => sides.map(|(pos, neg)| fast_sigmoid((pos - neg - EPSILON).min(0.0))).sum(),
                }
            }
        }
    }
}

/// A scan: every point with a vector passing `filter`, scored, the best `top`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Scan {
    /// The score function.
    pub scoring: Scoring,
    /// Only points that pass.
    pub filter: Option<Filter>,
    /// How many of the best to keep.
    pub top: usize,
    /// The dense vector scored (`""`: the unnamed one).
    #[serde(default)]
    pub using: String,
}

/// A point a scan found: its score, id and record.
pub(crate) type Scored = (f32, String, Record);

/// The best `top` of `found`: by score, highest first, then by id.
pub(crate) fn best(mut found: Vec<Scored>, top: usize) -> Vec<Scored> {
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| compare_ids(&a.1, &b.1)));
    found.truncate(top);
    found
}

/// Runs `scan` over `index` (exact: its cost grows with the index).
pub(crate) fn scan(index: &ShardedIndex, scan: &Scan) -> Result<Vec<Scored>, ApiError> {
    let metric = index
        .params()
        .vector(&scan.using)
        .map(|v| v.metric)
        .ok_or_else(|| ApiError::from(lhv_core::Error::UnknownVector { item: 0, name: scan.using.clone() }))?;
    let mut found = Vec::new();
    for id in index.ids_where(Bound::Unbounded, usize::MAX, scan.filter.as_ref())? {
        // Points without the vector are no candidates.
        let Some(stored) = index.get(&id) else { continue };
        let score = match dense_of(&stored, &scan.using) {
            [] => continue,
            vector => scan.scoring.score(metric, vector),
        };
        found.push((score, id, stored));
    }
    Ok(best(found, scan.top))
}

/// A record's dense vector `name` (`""`: the unnamed one), empty if it has none.
pub(crate) fn dense_of<'a>(record: &'a Record, name: &str) -> &'a [f32] {
    if name.is_empty() { &record.vector } else { record.vectors.get(name).map_or(&[], Vec::as_slice) }
}

/// Qdrant's internal similarity: cosine, dot, or the negated squared Euclidean distance.
pub(crate) fn similarity(metric: Metric, example: &[f32], vector: &[f32]) -> f32 {
    let dot: f64 = example.iter().zip(vector).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
    match metric {
        Metric::Dot => dot as f32,
        Metric::Cosine => {
            let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
            let norms = norm(example) * norm(vector);
            if norms > 0.0 { (dot / norms) as f32 } else { 0.0 }
        }
        Metric::L2 => -example.iter().zip(vector).map(|(a, b)| (a - b) * (a - b)).sum::<f32>(),
    }
}

/// `x / (1 + |x|)`: Qdrant's fast sigmoid, in (-1, 1).
fn fast_sigmoid(x: f32) -> f32 {
    if !x.is_finite() {
        return x;
    }
    x / (1.0 + x.abs())
}

/// `0.5·(fast_sigmoid(x) + 1)`: Qdrant's scaled fast sigmoid, in (0, 1).
fn squashed(x: f32) -> f32 {
    if !x.is_finite() {
        return x;
    }
    0.5 * (fast_sigmoid(x) + 1.0)
}
