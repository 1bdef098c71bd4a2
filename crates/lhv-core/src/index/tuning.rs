//! Changing how a live index builds its graph from now on (Qdrant's
//! `PATCH /collections/{c}` of `hnsw_config`).

use super::{Index, State};
use crate::error::Result;
use crate::params::IndexParams;

impl Index {
    /// Builds later insertions with out-degree `m` and candidate list
    /// `ef_construction` (the ranges of [`IndexParams`]). Links already made
    /// stay; with a smaller `m` a node's list that no longer fits is pruned
    /// by the neighbour heuristic, with a larger one it has room to grow as
    /// new nodes link to it. Answers do not change: only the graph's shape.
    ///
    /// Searches wait while lists are copied (one pass over the graph).
    ///
    /// Applies to every dense vector of the index.
    pub fn set_build_params(&self, m: usize, ef_construction: usize) -> Result<()> {
        IndexParams { m, ef_construction, ..self.params.clone() }.validate()?;
        let _writer = self.writer.lock();
        let mut state = self.state.write();
        for space in &mut state.dense {
            space.graph.set_build_params(&space.vectors, m, ef_construction);
        }
        Ok(())
    }
}

impl State {
    /// `created` with what changes over an index's life: the graph's build
    /// parameters, the default ef chosen by measurement, and the field indexes.
    pub(super) fn current_params(&self, created: &IndexParams) -> IndexParams {
        let mut params = IndexParams { indexed_fields: self.fields.fields(), ..created.clone() };
        for space in &self.dense {
            let current = space.current_params();
            if space.name.is_empty() {
                (params.m, params.ef_construction, params.ef_search) =
                    (current.m, current.ef_construction, current.ef_search);
            } else {
                params.vectors.insert(space.name.clone(), current);
            }
        }
        params
    }
}

#[cfg(test)]
mod tests {
    use crate::{Index, IndexParams, Item, Metric, SearchOptions};

    fn items(range: std::ops::Range<usize>) -> Vec<Item> {
        range
            .map(|i| {
                let angle = i as f32 * 0.37;
                Item {
                    id: format!("p{i}"),
                    vector: vec![angle.cos(), angle.sin(), (i % 7) as f32],
                    metadata: None,
                    ..Default::default()
                }
            })
            .collect()
    }

    #[test]
    fn later_inserts_use_the_new_parameters_and_answers_stay_exact() {
        let index = Index::new(IndexParams::new(3, Metric::L2).with_m(16).with_exact_search_threshold(0)).unwrap();
        // Batches small enough to be linked on this thread, in order: the
        // graph (and so what a search reaches) is the same on every run.
        let upsert = |range: std::ops::Range<usize>| {
            let all = items(range);
            for batch in all.chunks(super::super::space::PARALLEL_LINK_MIN - 1) {
                index.upsert(batch.to_vec()).unwrap();
            }
        };
        upsert(0..300);
        for (m, ef) in [(4, 50), (32, 120), (8, 10)] {
            index.set_build_params(m, ef).unwrap();
            assert_eq!((index.params().m, index.params().ef_construction), (m, ef));
            let start = index.len();
            upsert(start..start + 100);
            // Every list fits the new capacity and the snapshot form reloads.
            let reloaded = Index::from_parts(index.to_parts()).unwrap();
            assert_eq!(reloaded.params().m, m);
            let query = [0.3, 0.9, 2.0];
            let options = SearchOptions { ef: Some(400), ..SearchOptions::default() };
            let got: Vec<String> = index.search(&query, 10, &options).unwrap().into_iter().map(|h| h.id).collect();
            let again: Vec<String> = reloaded.search(&query, 10, &options).unwrap().into_iter().map(|h| h.id).collect();
            assert_eq!(got, again);
            // A wide search over a few hundred points finds the exact ten (brute force).
            let mut exact: Vec<(f32, String)> = items(0..index.len())
                .into_iter()
                .map(|item| (item.vector.iter().zip(query).map(|(a, b)| (a - b) * (a - b)).sum::<f32>(), item.id))
                .collect();
            exact.sort_by(|a, b| a.0.total_cmp(&b.0));
            let exact: Vec<String> = exact.into_iter().take(10).map(|(_, id)| id).collect();
            assert_eq!(got, exact);
        }
        assert!(index.set_build_params(1, 10).is_err());
        assert!(index.set_build_params(16, 0).is_err());
        assert_eq!(index.params().m, 8);
    }
}
