//! Points as Qdrant shows them: `with_payload` and `with_vector` selections,
//! and scores in Qdrant's sense.

use lhv_core::Metric;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::answers::{PointVector, Record};
use super::ids;
use crate::ops::json_path::{path_get, path_remove, path_set};

/// `with_payload`: `true`, `false`, a list of keys, `{"include": [...]}` or `{"exclude": [...]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum WithPayload {
    /// All or nothing.
    All(bool),
    /// Only these keys.
    Keys(Vec<String>),
    /// Include or exclude keys.
    Selector(PayloadSelector),
}

/// The object form of `with_payload`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum PayloadSelector {
    /// Only these keys.
    Include(Vec<String>),
    /// Every key but these.
    Exclude(Vec<String>),
}

/// `with_vector`: `true`, `false`, or a list of vector names
/// ([`ShownVectors`](super::point_vectors::ShownVectors) checks and applies it).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum WithVector {
    /// Every vector or none.
    All(bool),
    /// The vectors of these names (`""`: the unnamed one).
    Names(Vec<String>),
}

/// The payload to show for stored metadata, or `None` for none at all.
/// Metadata that is not a JSON object (possible only through vectord's own
/// API) has no payload form and is shown as none.
pub(crate) fn payload(selection: &WithPayload, metadata: Option<&Value>) -> Option<Value> {
    let object = match metadata {
        Some(Value::Object(object)) => object.clone(),
        Some(Value::Null) | None => Map::new(),
        Some(_) => return None,
    };
    match selection {
        WithPayload::All(false) => None,
        WithPayload::All(true) => Some(Value::Object(object)),
        WithPayload::Keys(keys) | WithPayload::Selector(PayloadSelector::Include(keys)) => {
            let mut picked = Map::new();
            for key in keys {
                if let Some(value) = path_get(&object, key) {
                    path_set(&mut picked, key, value.clone());
                }
            }
            Some(Value::Object(picked))
        }
        WithPayload::Selector(PayloadSelector::Exclude(keys)) => {
            let mut kept = object;
            for key in keys {
                path_remove(&mut kept, key);
            }
            Some(Value::Object(kept))
        }
    }
}

/// A Qdrant `Record`.
pub(crate) fn record(id: &str, payload: Option<Value>, vector: Option<PointVector>) -> Record {
    Record { id: ids::show(id), payload, vector, order_value: None }
}

/// Qdrant's score for one of vectord's distances: the cosine similarity, the
/// dot product, or the Euclidean distance.
pub(crate) fn score(metric: Metric, distance: f32) -> f32 {
    match metric {
        // vectord's cosine and dot distances are 1 - cos and 1 - dot.
        Metric::Cosine | Metric::Dot => 1.0 - distance,
        Metric::L2 => distance,
    }
}

/// Whether a score passes Qdrant's `score_threshold`: at least it for
/// similarities, at most it for the Euclidean distance.
pub(crate) fn passes_threshold(metric: Metric, score: f32, threshold: Option<f32>) -> bool {
    threshold.is_none_or(|t| match metric {
        Metric::Cosine | Metric::Dot => score >= t,
        Metric::L2 => score <= t,
    })
}

/// Qdrant's name of a metric.
pub(crate) fn distance_name(metric: Metric) -> &'static str {
    match metric {
        Metric::Cosine => "Cosine",
        Metric::L2 => "Euclid",
        Metric::Dot => "Dot",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payload_selections() {
        let metadata = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(payload(&WithPayload::All(true), Some(&metadata)), Some(metadata.clone()));
        assert_eq!(payload(&WithPayload::All(false), Some(&metadata)), None);
        assert_eq!(
            payload(&WithPayload::Keys(keys(&["a", "b.c", "zz"])), Some(&metadata)),
            Some(json!({"a": 1, "b": {"c": 2}}))
        );
        let exclude = WithPayload::Selector(PayloadSelector::Exclude(keys(&["b.d", "e"])));
        assert_eq!(payload(&exclude, Some(&metadata)), Some(json!({"a": 1, "b": {"c": 2}})));
        assert_eq!(payload(&WithPayload::All(true), None), Some(json!({})));
        assert_eq!(payload(&WithPayload::All(true), Some(&json!("text"))), None);
    }

    #[test]
    fn scores_are_qdrants() {
        assert_eq!(score(Metric::Cosine, 0.25), 0.75);
        assert_eq!(score(Metric::Dot, -2.0), 3.0);
        assert_eq!(score(Metric::L2, 5.0), 5.0);
        assert!(passes_threshold(Metric::Cosine, 0.8, Some(0.5)) && !passes_threshold(Metric::Cosine, 0.4, Some(0.5)));
        assert!(passes_threshold(Metric::L2, 0.4, Some(0.5)) && !passes_threshold(Metric::L2, 0.8, Some(0.5)));
    }
}
