//! An index split into shards: each item lives in the shard a stable hash of
//! its id picks, each shard is a whole [`Index`] (its own graph), and every
//! read fans out over the shards and merges their answers into exactly what
//! one index holding all the items would answer, up to what each graph finds:
//! hits by distance then id, ids in id order, counts summed.
//!
//! Sharding is what lets writes to one index proceed in parallel (one writer
//! per shard) and, in lhv-store, gives each shard its own log and snapshot.
//! A search pays for it: each shard walks its own graph for the full `k`.
//!
//! A `ShardedIndex` may also hold only some of an index's shards (a process
//! of a cluster holds those placed on it): ids still hash over all of them,
//! reads answer for the held shards, and a write naming an item of another
//! shard is refused ([`Error::ShardNotHeld`]).

use std::ops::Bound;
use std::sync::Arc;

use rayon::prelude::*;

use crate::params::check_range;
use crate::{
    Error, FieldIndexInfo, Filter, Hit, Index, IndexParams, IndexStats, IndexedField, Item, Record, Result, ScrollPage,
    SearchOptions,
};
use crate::{MAX_SCROLL_LIMIT, SparseStatistics, SparseVector, UpsertOutcome};

/// Most shards an index can have.
pub const MAX_SHARDS: usize = 64;

/// The shard that holds `id` in an index of `count` shards: the 64-bit
/// FNV-1a hash of the id's UTF-8 bytes, modulo `count`. Part of the stored
/// format (a shard's snapshot holds exactly the ids that hash to it), so it
/// never changes.
///
/// ```
/// assert_eq!(lhv_core::shard_of("a", 3), 1); // FNV-1a("a") = 0xaf63dc4c8601ec8c
/// assert_eq!(lhv_core::shard_of("anything", 1), 0);
/// ```
pub fn shard_of(id: &str, count: usize) -> usize {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = id.bytes().fold(OFFSET, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME));
    (hash % count.max(1) as u64) as usize
}

/// Several [`Index`]es with the same parameters that answer as one.
///
/// ```
/// use lhv_core::{IndexParams, Item, Metric, SearchOptions, ShardedIndex};
///
/// let index = ShardedIndex::new(IndexParams::new(2, Metric::L2), 4)?;
/// let item = |id: &str, x: f32| Item::new(id, vec![x, 0.0]);
/// index.upsert(vec![item("a", 1.0), item("b", 2.0), item("c", 3.0)])?;
/// let hits = index.search(&[2.1, 0.0], 2, &SearchOptions::default())?;
/// assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["b", "c"]);
/// assert_eq!(index.len(), 3);
/// # Ok::<(), lhv_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ShardedIndex {
    /// The shards held, in shard order.
    shards: Vec<Arc<Index>>,
    /// Their numbers, increasing (`0..total` when all are held).
    numbers: Vec<usize>,
    /// How many shards the whole index has: ids hash over this many.
    total: usize,
}

impl ShardedIndex {
    /// `count` empty shards (1 to [`MAX_SHARDS`]).
    pub fn new(params: IndexParams, count: usize) -> Result<Self> {
        check_shard_count(count)?;
        let shards = (0..count).map(|_| Index::new(params.clone()).map(Arc::new)).collect::<Result<_>>()?;
        Ok(Self { shards, numbers: (0..count).collect(), total: count })
    }

    /// The shards of one index, in shard order, as loaded back: they must
    /// have the same parameters (field indexes aside: a crash while one was
    /// being added can leave it on some shards only), and each must hold
    /// only ids that hash to it.
    pub fn from_shards(shards: Vec<Arc<Index>>) -> Result<Self> {
        let count = shards.len();
        Self::from_subset(count, shards.into_iter().enumerate().collect())
    }

    /// Some shards of an index of `total` shards, each with its number (the
    /// numbers increasing), checked as [`from_shards`](Self::from_shards)
    /// checks a whole index.
    pub fn from_subset(total: usize, held: Vec<(usize, Arc<Index>)>) -> Result<Self> {
        check_shard_count(total)?;
        let Some((_, first)) = held.first() else { return Err(invalid("no shard is held".into())) };
        let params = shard_shape(first);
        let mut previous = None;
        for (number, shard) in &held {
            if *number >= total || previous.is_some_and(|p| p >= *number) {
                return Err(invalid(format!(
                    "shard numbers must increase below {total}; got {number} after {previous:?}"
                )));
            }
            previous = Some(*number);
            if shard_shape(shard) != params {
                return Err(invalid(format!("shard {number} has other parameters than shard {}", held[0].0)));
            }
            if total == 1 {
                // Every id belongs to the only shard.
                continue;
            }
            let mut after: Option<String> = None;
            loop {
                let page = shard.scroll(after.as_deref(), MAX_SCROLL_LIMIT)?;
                if let Some(id) = page.ids.iter().find(|id| shard_of(id, total) != *number) {
                    return Err(invalid(format!("shard {number} holds id {id:?}, which belongs to another shard")));
                }
                match page.next_after {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        let (numbers, shards) = held.into_iter().unzip();
        Ok(Self { shards, numbers, total })
    }

    /// The held shards numbered `numbers` (any order, repeats ignored), as
    /// an index of their own that answers for them alone; nothing is copied
    /// or checked again. [`Error::InvalidParameter`] if one is not held.
    pub fn subset(&self, numbers: &[usize]) -> Result<Self> {
        let mut wanted = numbers.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let mut shards = Vec::with_capacity(wanted.len());
        for number in &wanted {
            match self.numbers.binary_search(number) {
                Ok(slot) => shards.push(Arc::clone(&self.shards[slot])),
                Err(_) => {
                    return Err(Error::InvalidParameter {
                        name: "shards",
                        value: number.to_string(),
                        allowed: "shards held here",
                    });
                }
            }
        }
        if shards.is_empty() {
            return Err(Error::InvalidParameter { name: "shards", value: "[]".into(), allowed: "at least one shard" });
        }
        Ok(Self { shards, numbers: wanted, total: self.total })
    }

    /// The shards held, in shard order.
    pub fn shards(&self) -> &[Arc<Index>] {
        &self.shards
    }

    /// The numbers of the shards held, increasing.
    pub fn numbers(&self) -> &[usize] {
        &self.numbers
    }

    /// How many shards the whole index has (held here or not).
    pub fn shard_count(&self) -> usize {
        self.total
    }

    /// Whether every shard of the index is held here.
    pub fn is_whole(&self) -> bool {
        self.shards.len() == self.total
    }

    /// The position among the held shards of the shard of `id`, if held.
    fn slot_of(&self, id: &str) -> std::result::Result<usize, usize> {
        let number = shard_of(id, self.total);
        self.numbers.binary_search(&number).map_err(|_| number)
    }

    /// The shard that holds (or would hold) `id`, if it is held here.
    pub fn shard_for(&self, id: &str) -> Option<&Arc<Index>> {
        self.slot_of(id).ok().map(|slot| &self.shards[slot])
    }

    /// The parameters every shard shares, with the field indexes of shard 0.
    pub fn params(&self) -> IndexParams {
        self.shards[0].params()
    }

    /// [`Index::create_field_index`] on every shard, in parallel.
    pub fn create_field_index(&self, field: &IndexedField) -> Result<()> {
        self.shards.par_iter().try_for_each(|shard| shard.create_field_index(field.clone()))
    }

    /// [`Index::set_build_params`] on every shard (checked once first, so
    /// that either every shard changes or none).
    pub fn set_build_params(&self, m: usize, ef_construction: usize) -> Result<()> {
        IndexParams { m, ef_construction, ..self.params() }.validate()?;
        self.shards.iter().try_for_each(|shard| shard.set_build_params(m, ef_construction))
    }

    /// [`Index::drop_field_index`] on every shard; whether any had one.
    pub fn drop_field_index(&self, key: &str) -> bool {
        self.shards.iter().fold(false, |dropped, shard| shard.drop_field_index(key) | dropped)
    }

    /// The field indexes of all shards, by key in the order met, each with
    /// the items it holds summed over the shards.
    pub fn field_indexes(&self) -> Vec<FieldIndexInfo> {
        let mut merged: Vec<FieldIndexInfo> = Vec::new();
        for info in self.shards.iter().flat_map(|shard| shard.field_indexes()) {
            match merged.iter_mut().find(|m| m.field.key == info.field.key) {
                Some(existing) => existing.points += info.points,
                None => merged.push(info),
            }
        }
        merged
    }

    /// Live vectors in all shards.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    /// Whether no shard holds a live vector.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.is_empty())
    }

    /// The shards' sizes, added up.
    pub fn stats(&self) -> IndexStats {
        let empty = IndexStats { live: 0, tombstones: 0, memory_bytes: 0, disk_bytes: 0 };
        self.shards.iter().map(|s| s.stats()).fold(empty, |sum, s| IndexStats {
            live: sum.live + s.live,
            tombstones: sum.tombstones + s.tombstones,
            memory_bytes: sum.memory_bytes + s.memory_bytes,
            disk_bytes: sum.disk_bytes + s.disk_bytes,
        })
    }

    /// Checks a batch as [`Index::upsert`] would, without changing anything.
    pub fn validate_upsert(&self, items: &[Item]) -> Result<()> {
        self.shards[0].validate_upsert(items)
    }

    /// `items` grouped by held shard (in shard order), each group in batch
    /// order. [`Error::ShardNotHeld`] for an item of a shard not held here.
    pub fn split_items(&self, items: Vec<Item>) -> Result<Vec<Vec<Item>>> {
        let mut groups: Vec<Vec<Item>> = vec![Vec::new(); self.shards.len()];
        for item in items {
            match self.slot_of(&item.id) {
                Ok(slot) => groups[slot].push(item),
                Err(shard) => return Err(Error::ShardNotHeld { id: item.id, shard }),
            }
        }
        Ok(groups)
    }

    /// `ids` grouped by held shard (in shard order). [`Error::ShardNotHeld`]
    /// for an id of a shard not held here.
    pub fn split_ids<S: AsRef<str>>(&self, ids: &[S]) -> Result<Vec<Vec<String>>> {
        let mut groups: Vec<Vec<String>> = vec![Vec::new(); self.shards.len()];
        for id in ids {
            match self.slot_of(id.as_ref()) {
                Ok(slot) => groups[slot].push(id.as_ref().to_owned()),
                Err(shard) => return Err(Error::ShardNotHeld { id: id.as_ref().to_owned(), shard }),
            }
        }
        Ok(groups)
    }

    /// Upserts a batch: validated whole first (a bad item changes nothing),
    /// then each shard takes its part, the shards in parallel.
    pub fn upsert(&self, items: Vec<Item>) -> Result<UpsertOutcome> {
        self.validate_upsert(&items)?;
        let groups = self.split_items(items)?;
        let outcomes: Vec<Result<UpsertOutcome>> = self
            .shards
            .par_iter()
            .zip(groups)
            .map(|(shard, group)| if group.is_empty() { Ok(UpsertOutcome::default()) } else { shard.upsert(group) })
            .collect();
        outcomes.into_iter().try_fold(UpsertOutcome::default(), |sum, outcome| {
            let outcome = outcome?;
            Ok(UpsertOutcome { inserted: sum.inserted + outcome.inserted, updated: sum.updated + outcome.updated })
        })
    }

    /// Deletes `ids` from their shards; returns how many were stored (ids
    /// of shards not held here are not here to delete).
    pub fn delete<S: AsRef<str>>(&self, ids: &[S]) -> usize {
        let mut groups: Vec<Vec<&str>> = vec![Vec::new(); self.shards.len()];
        for id in ids {
            if let Ok(slot) = self.slot_of(id.as_ref()) {
                groups[slot].push(id.as_ref());
            }
        }
        self.shards.iter().zip(groups).map(|(shard, group)| shard.delete(&group)).sum()
    }

    /// The stored vector and metadata of `id` (None if its shard is not held here).
    pub fn get(&self, id: &str) -> Option<Record> {
        self.shard_for(id)?.get(id)
    }

    /// Whether `id` is stored (in a shard held here).
    pub fn contains(&self, id: &str) -> bool {
        self.shard_for(id).is_some_and(|shard| shard.contains(id))
    }

    /// As [`Index::scroll`], over all shards.
    pub fn scroll(&self, after: Option<&str>, limit: usize) -> Result<ScrollPage> {
        check_range("limit", limit, 1, MAX_SCROLL_LIMIT, "an integer in 1..=10000")?;
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        // One more than asked says whether there is a next page.
        let mut ids = self.ids_where(lower, limit + 1, None)?;
        let next_after = if ids.len() > limit {
            ids.truncate(limit);
            ids.last().cloned()
        } else {
            None
        };
        Ok(ScrollPage { ids, next_after })
    }

    /// As [`Index::ids_where`], over all shards: the first `limit` passing
    /// ids from `start` on, in id order ([`compare_ids`](crate::compare_ids)).
    pub fn ids_where(&self, start: Bound<&str>, limit: usize, filter: Option<&Filter>) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for shard in &self.shards {
            ids.extend(shard.ids_where(start, limit, filter)?);
        }
        ids.sort_unstable_by(|a, b| crate::compare_ids(a, b));
        ids.truncate(limit);
        Ok(ids)
    }

    /// How many live items pass `filter` (all if `None`), in all shards.
    pub fn count_where(&self, filter: Option<&Filter>) -> Result<usize> {
        self.shards.iter().map(|s| s.count_where(filter)).sum()
    }

    /// As [`Index::search`]: every shard's `k` best, merged.
    pub fn search(&self, query: &[f32], k: usize, options: &SearchOptions<'_>) -> Result<Vec<Hit>> {
        if let [only] = self.shards.as_slice() {
            return only.search(query, k, options);
        }
        let per_shard: Vec<Vec<Hit>> =
            self.shards.par_iter().map(|shard| shard.search(query, k, options)).collect::<Result<_>>()?;
        Ok(merge_hits(per_shard, k))
    }

    /// As [`Index::search_batch`]: each shard answers the whole batch,
    /// then each query's answers are merged.
    pub fn search_batch(&self, queries: &[Vec<f32>], k: usize, options: &SearchOptions<'_>) -> Result<Vec<Vec<Hit>>> {
        if let [only] = self.shards.as_slice() {
            return only.search_batch(queries, k, options);
        }
        let per_shard: Vec<Vec<Vec<Hit>>> =
            self.shards.par_iter().map(|shard| shard.search_batch(queries, k, options)).collect::<Result<_>>()?;
        let mut per_query: Vec<Vec<Vec<Hit>>> = (0..queries.len()).map(|_| Vec::new()).collect();
        for answers in per_shard {
            for (query, hits) in per_query.iter_mut().zip(answers) {
                query.push(hits);
            }
        }
        Ok(per_query.into_iter().map(|lists| merge_hits(lists, k)).collect())
    }
}

impl ShardedIndex {
    /// As [`Index::sparse_statistics`], added up over the shards held here.
    pub fn sparse_statistics(&self, using: &str, query: &SparseVector) -> Result<SparseStatistics> {
        let mut sum = SparseStatistics::default();
        for shard in &self.shards {
            sum.add(&shard.sparse_statistics(using, query)?);
        }
        Ok(sum)
    }

    /// As [`Index::search_sparse`]: every shard's `k` best, merged. Without
    /// `statistics`, the query is weighted by those of the shards held here
    /// (all of them, for a whole index), the same on each shard.
    pub fn search_sparse(
        &self,
        query: &SparseVector,
        k: usize,
        options: &SearchOptions<'_>,
        statistics: Option<&SparseStatistics>,
    ) -> Result<Vec<Hit>> {
        if let [only] = self.shards.as_slice() {
            return only.search_sparse(query, k, options, statistics);
        }
        let own;
        let statistics = match statistics {
            Some(given) => given,
            None => {
                own = self.sparse_statistics(options.using, query)?;
                &own
            }
        };
        let per_shard: Vec<Vec<Hit>> = self
            .shards
            .par_iter()
            .map(|shard| shard.search_sparse(query, k, options, Some(statistics)))
            .collect::<Result<_>>()?;
        Ok(merge_hits(per_shard, k))
    }
}

/// The `k` best of several shards' hits, ordered as one index orders its
/// own: by distance, then id. (A cluster merges the answers of the
/// processes holding an index's shards with it, as one process merges its
/// shards'.)
pub fn merge_hits(lists: Vec<Vec<Hit>>, k: usize) -> Vec<Hit> {
    let mut hits: Vec<Hit> = lists.into_iter().flatten().collect();
    hits.sort_by(|a, b| a.distance.total_cmp(&b.distance).then_with(|| a.id.cmp(&b.id)));
    hits.truncate(k);
    hits
}

/// The parameters every shard of one index shares: not the field indexes
/// (being added can leave them on some shards only), nor an ef each shard
/// chose by measuring itself.
fn shard_shape(index: &Index) -> IndexParams {
    let mut params = IndexParams { indexed_fields: Vec::new(), ..index.params() };
    if params.ef_search_auto {
        params.ef_search = 0;
    }
    for vector in params.vectors.values_mut().filter(|vector| vector.ef_search_auto) {
        vector.ef_search = 0;
    }
    params
}

fn check_shard_count(count: usize) -> Result<()> {
    check_range("shards", count, 1, MAX_SHARDS, "an integer in 1..=64")
}

fn invalid(reason: String) -> Error {
    Error::InvalidParts { reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fnv1a() {
        // Reference values of 64-bit FNV-1a.
        assert_eq!(shard_of("", usize::MAX), (0xcbf2_9ce4_8422_2325_u64 % usize::MAX as u64) as usize);
        assert_eq!(shard_of("a", 1 << 62), (0xaf63_dc4c_8601_ec8c_u64 % (1 << 62)) as usize);
        assert_eq!([shard_of("id-42", 3), shard_of("docs-1", 3), shard_of("a", 4)], [2, 1, 0]);
    }

    #[test]
    fn shard_counts_are_checked() {
        let params = IndexParams::new(2, crate::Metric::L2);
        assert!(ShardedIndex::new(params.clone(), 0).is_err());
        assert!(ShardedIndex::new(params.clone(), MAX_SHARDS + 1).is_err());
        assert!(ShardedIndex::from_shards(Vec::new()).is_err());
        assert_eq!(ShardedIndex::new(params, MAX_SHARDS).map(|s| s.shard_count()), Ok(MAX_SHARDS));
    }

    #[test]
    fn misplaced_ids_and_mixed_parameters_are_refused() {
        let params = IndexParams::new(2, crate::Metric::L2);
        let a = Arc::new(Index::new(params.clone()).unwrap_or_else(|e| panic!("{e}")));
        let b = Arc::new(Index::new(params).unwrap_or_else(|e| panic!("{e}")));
        // "a" hashes to shard 0 of 2.
        let item = Item { id: "a".into(), vector: vec![1.0, 0.0], metadata: None, ..Default::default() };
        b.upsert(vec![item]).unwrap_or_else(|e| panic!("{e}"));
        assert!(ShardedIndex::from_shards(vec![Arc::clone(&a), Arc::clone(&b)]).is_err());
        assert!(ShardedIndex::from_shards(vec![b, a]).is_ok());
        let other = Arc::new(Index::new(IndexParams::new(3, crate::Metric::L2)).unwrap_or_else(|e| panic!("{e}")));
        let same = Arc::new(Index::new(IndexParams::new(2, crate::Metric::L2)).unwrap_or_else(|e| panic!("{e}")));
        assert!(ShardedIndex::from_shards(vec![same, other]).is_err());
    }
}
