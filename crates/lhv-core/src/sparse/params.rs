//! Parameters of one named sparse vector, and the inverse document frequency.

use serde::{Deserialize, Serialize};

/// How a query's weights are changed before a sparse search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SparseModifier {
    /// Weights are used as given.
    #[default]
    None,
    /// Each query weight is multiplied by the [`idf`] of its index over the
    /// stored vectors (Qdrant's `modifier: "idf"`): rare dimensions count
    /// more, as in BM25 when the stored weights are term frequencies.
    Idf,
}

/// Parameters of one named sparse vector of an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SparseParams {
    /// How query weights are changed. Default [`SparseModifier::None`].
    #[serde(default)]
    pub modifier: SparseModifier,
}

/// Inverse document frequency of a dimension that `containing` of `points`
/// stored vectors hold: `ln((N - n + 0.5) / (n + 0.5) + 1)` with `N = points`
/// and `n = containing`, computed in `f32` as Qdrant does.
///
/// This is Qdrant's formula bit for bit: `VectorQueryContext::fancy_idf` in
/// `lib/segment/src/data_types/query_context.rs` (qdrant/qdrant, commit
/// 74f3e85b), which `remap_idf_weights` multiplies into each query weight;
/// there `N` is the number of vectors of that name (empty ones included) and
/// `n` the number of them holding the dimension. The `+ 1` inside the
/// logarithm keeps the weight from going negative even for a dimension every
/// vector holds; a dimension nobody holds gets the largest weight,
/// `ln(2N + 2)`. Counts that disagree (`containing > points`, say from shards
/// counted at different moments), which Qdrant never passes, are taken as
/// `containing = points`: the formula would give a negative weight, or `-∞`.
pub fn idf(points: u64, containing: u64) -> f32 {
    let (n, df) = (points as f32, containing.min(points) as f32);
    ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idf_matches_qdrants_formula() {
        // ln((N - n + 0.5) / (n + 0.5) + 1), worked out by hand.
        let cases = [
            (4, 1, 1.203_972_8),            // ln(3.5 / 1.5 + 1) = ln(10/3)
            (4, 4, 0.105_360_51),           // ln(0.5 / 4.5 + 1) = ln(10/9)
            (4, 2, std::f32::consts::LN_2), // ln(2.5 / 2.5 + 1) = ln(2)
            (0, 0, std::f32::consts::LN_2), // ln(2)
            (1, 0, 1.386_294_4),            // ln(4)
            (1000, 10, 4.557_379_5),        // ln(990.5 / 10.5 + 1)
        ];
        for (points, containing, expected) in cases {
            let got = idf(points, containing);
            assert!((got - expected).abs() <= 1e-6, "idf({points}, {containing}) = {got}, expected {expected}");
        }
        // Exactly the f32 computation Qdrant does.
        let (n, df) = (1000.0f32, 10.0f32);
        assert_eq!(idf(1000, 10).to_bits(), ((n - df + 0.5) / (df + 0.5) + 1.0).ln().to_bits());
    }

    #[test]
    fn idf_is_finite_and_never_negative_for_any_counts() {
        for (points, containing) in [(0, 0), (5, 5), (5, 9), (0, u64::MAX), (u64::MAX, 0), (u64::MAX, u64::MAX)] {
            let weight = idf(points, containing);
            assert!(weight.is_finite() && weight >= 0.0, "idf({points}, {containing}) = {weight}");
        }
        assert_eq!(idf(5, 9), idf(5, 5));
        assert!(idf(100, 1) > idf(100, 50));
        assert!(idf(100, 100) > 0.0);
    }

    #[test]
    fn params_read_qdrants_modifier() {
        let params: SparseParams = serde_json::from_str(r#"{"modifier": "idf"}"#).unwrap();
        assert_eq!(params.modifier, SparseModifier::Idf);
        let params: SparseParams = serde_json::from_str("{}").unwrap();
        assert_eq!(params, SparseParams::default());
        assert_eq!(params.modifier, SparseModifier::None);
        assert_eq!(
            serde_json::to_string(&SparseParams { modifier: SparseModifier::Idf }).unwrap(),
            r#"{"modifier":"idf"}"#
        );
        assert!(serde_json::from_str::<SparseParams>(r#"{"modifier": "bm25"}"#).is_err());
        assert!(serde_json::from_str::<SparseParams>(r#"{"modifier": "none", "other": 1}"#).is_err());
    }
}
