//! [`plan`]: the placement changes the controller makes next (rules in the
//! module above).

use std::collections::{BTreeMap, BTreeSet};

use crate::control::{Revision, ShardPlacement};

/// A shard: its incarnation and number.
pub type ShardKey = (String, u32);

/// A live index, as the plan needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// Its name.
    pub name: String,
    /// Its current incarnation.
    pub incarnation: String,
    /// How many shards.
    pub shards: u32,
    /// How many members should hold each shard (the writer included).
    pub replication: u32,
    /// The revision of its record (a placement change checks it is unchanged).
    pub revision: Revision,
}

/// What the plan is made from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterState {
    /// Live members and their memory budgets (bytes).
    pub members: BTreeMap<String, u64>,
    /// Live indexes (those being dropped left out).
    pub indexes: Vec<IndexInfo>,
    /// Each placed shard: writer, replicas, and its token.
    pub placements: BTreeMap<ShardKey, (ShardPlacement, Revision)>,
    /// Bytes a shard takes in memory, as its holders report (0 if unknown).
    pub shard_bytes: BTreeMap<ShardKey, u64>,
    /// How far each holder has applied a shard's log (its last sequence number).
    pub progress: BTreeMap<(ShardKey, String), u64>,
}

/// One placement change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The index's name and the revision of its record.
    pub index: (String, Revision),
    /// The shard.
    pub shard: ShardKey,
    /// The new placement.
    pub placement: ShardPlacement,
    /// The token of the placement it replaces (None: the shard had none).
    pub expected: Option<Revision>,
}

/// The changes to make next: every shard placed and held by live members
/// (rules 1-3), then at most `max_moves` moves toward balance (rule 4).
pub fn plan(state: &ClusterState, max_moves: usize) -> Vec<Move> {
    if state.members.is_empty() {
        return Vec::new();
    }
    let load = state.members.keys().map(|m| (m.clone(), 0)).collect();
    let count = state.members.keys().map(|m| (m.clone(), 0)).collect();
    let writes = state.members.keys().map(|m| (m.clone(), 0)).collect();
    let mut planner = Planner { state, load, count, writes };
    let mut current: Vec<Placed<'_>> = Vec::new();
    for index in &state.indexes {
        for number in 0..index.shards {
            let key = (index.incarnation.clone(), number);
            let placed = state.placements.get(&key);
            let placement = placed.map_or_else(unplaced, |(p, _)| p.clone());
            let alive: Vec<String> = holders(&placement).filter(|h| planner.alive(h)).cloned().collect();
            for holder in &alive {
                planner.add_load(holder, &key);
            }
            if planner.alive(&placement.writer) {
                planner.add_write(&placement.writer);
            }
            current.push((index, key, placement, placed.map(|(_, t)| *t)));
        }
    }
    let mut moves = Vec::new();
    let mut settled = Vec::new();
    for (index, key, placement, token) in current {
        let repaired = planner.repair(index, &key, &placement, token.is_some());
        match repaired {
            Some(new) => moves.push(Move {
                index: (index.name.clone(), index.revision),
                shard: key,
                placement: new,
                expected: token,
            }),
            None => settled.push((index, key, placement, token)),
        }
    }
    let mut budget = max_moves;
    for (index, key, placement, token) in &settled {
        if budget == 0 {
            break;
        }
        if let Some(new) = planner.finish_move(index, key, placement) {
            moves.push(Move {
                index: (index.name.clone(), index.revision),
                shard: key.clone(),
                placement: new,
                expected: *token,
            });
            budget -= 1;
        }
    }
    let busy: BTreeSet<ShardKey> = moves.iter().map(|m| m.shard.clone()).collect();
    while budget > 0 {
        let Some(next) = planner.start_move(&settled, &busy, &moves) else { break };
        moves.push(next);
        budget -= 1;
    }
    while budget > 0 {
        let Some(next) = planner.hand_over_writes(&settled, &busy, &moves) else { break };
        moves.push(next);
        budget -= 1;
    }
    moves
}

/// The empty placement stands for "none yet" while planning.
fn unplaced() -> ShardPlacement {
    ShardPlacement { writer: String::new(), replicas: Vec::new() }
}

fn holders(placement: &ShardPlacement) -> impl Iterator<Item = &String> {
    std::iter::once(&placement.writer).chain(&placement.replicas)
}

/// A shard of a live index with its placement (empty if none) and token.
type Placed<'a> = (&'a IndexInfo, ShardKey, ShardPlacement, Option<Revision>);

struct Planner<'a> {
    state: &'a ClusterState,
    /// Bytes each live member holds, counting the changes planned so far.
    load: BTreeMap<String, u64>,
    /// Shards each live member holds, likewise: among members with equal
    /// free budget (new, empty shards weigh nothing), the one with fewer
    /// shards takes the next.
    count: BTreeMap<String, usize>,
    /// Shards each live member writes, likewise: a new shard's writer is,
    /// among the members with the most room, one that writes fewest, so
    /// that an index's writes spread over the members.
    writes: BTreeMap<String, usize>,
}

impl Planner<'_> {
    fn alive(&self, member: &str) -> bool {
        self.state.members.contains_key(member)
    }

    fn bytes(&self, key: &ShardKey) -> u64 {
        self.state.shard_bytes.get(key).copied().unwrap_or(0)
    }

    fn progress(&self, key: &ShardKey, member: &str) -> u64 {
        self.state.progress.get(&(key.clone(), member.to_owned())).copied().unwrap_or(0)
    }

    fn add_load(&mut self, member: &str, key: &ShardKey) {
        let bytes = self.bytes(key);
        if let Some(load) = self.load.get_mut(member) {
            *load += bytes;
        }
        if let Some(count) = self.count.get_mut(member) {
            *count += 1;
        }
    }

    fn add_write(&mut self, member: &str) {
        if let Some(writes) = self.writes.get_mut(member) {
            *writes += 1;
        }
    }

    fn remove_load(&mut self, member: &str, key: &ShardKey) {
        let bytes = self.bytes(key);
        if let Some(load) = self.load.get_mut(member) {
            *load = load.saturating_sub(bytes);
        }
        if let Some(count) = self.count.get_mut(member) {
            *count = count.saturating_sub(1);
        }
    }

    /// How much room `member` has, for choosing where a shard goes: free
    /// budget first, then fewer shards.
    fn room(&self, member: &str) -> (i128, std::cmp::Reverse<usize>) {
        (self.free(member), std::cmp::Reverse(self.count.get(member).copied().unwrap_or(0)))
    }

    /// Free budget (negative: over it).
    fn free(&self, member: &str) -> i128 {
        let budget = self.state.members.get(member).copied().unwrap_or(0);
        i128::from(budget) - i128::from(self.load.get(member).copied().unwrap_or(0))
    }

    /// The live member not in `exclude` with the most room (ties by name).
    fn pick(&self, exclude: &[String]) -> Option<String> {
        self.state
            .members
            .keys()
            .filter(|m| !exclude.contains(m))
            .max_by(|a, b| self.room(a).cmp(&self.room(b)).then_with(|| b.cmp(a)))
            .cloned()
    }

    /// The live member to write a new shard: the most free budget, then
    /// the fewest shards written, then the fewest held (ties by name).
    fn pick_writer(&self) -> Option<String> {
        let key = |m: &String| {
            let writes = self.writes.get(m).copied().unwrap_or(0);
            (self.free(m), std::cmp::Reverse(writes), self.room(m).1)
        };
        self.state.members.keys().max_by(|a, b| key(a).cmp(&key(b)).then_with(|| b.cmp(a))).cloned()
    }

    fn wanted(&self, index: &IndexInfo) -> usize {
        (index.replication.max(1) as usize).min(self.state.members.len())
    }

    /// Rules 1-3: the placement that puts `key` on live members, if the
    /// current one (`placed` false: none) does not.
    fn repair(
        &mut self,
        index: &IndexInfo,
        key: &ShardKey,
        placement: &ShardPlacement,
        placed: bool,
    ) -> Option<ShardPlacement> {
        let wanted = self.wanted(index);
        let mut replicas: Vec<String> = placement.replicas.iter().filter(|r| self.alive(r)).cloned().collect();
        let mut changed = !placed || replicas.len() != placement.replicas.len();
        let mut writer = placement.writer.clone();
        if !placed || !self.alive(&writer) {
            changed = true;
            let caught_up = replicas
                .iter()
                .enumerate()
                .max_by_key(|(_, r)| (self.progress(key, r), std::cmp::Reverse((*r).clone())));
            match caught_up.map(|(at, _)| at) {
                Some(at) => writer = replicas.remove(at),
                None => {
                    writer = self.pick_writer()?;
                    self.add_load(&writer, key);
                }
            }
            self.add_write(&writer);
        }
        while 1 + replicas.len() < wanted {
            let mut held = replicas.clone();
            held.push(writer.clone());
            let Some(member) = self.pick(&held) else { break };
            self.add_load(&member, key);
            replicas.push(member);
            changed = true;
        }
        changed.then_some(ShardPlacement { writer, replicas })
    }

    /// Rule 4, second half: a shard with more holders than it needs (a move
    /// under way) drops its most loaded holder; a writer leaves only once a
    /// replica has read as far as it has, and that replica takes over.
    fn finish_move(&mut self, index: &IndexInfo, key: &ShardKey, placement: &ShardPlacement) -> Option<ShardPlacement> {
        if holders(placement).count() <= self.wanted(index) {
            return None;
        }
        let leaving = holders(placement).min_by(|a, b| self.free(a).cmp(&self.free(b)).then_with(|| a.cmp(b)))?.clone();
        let mut replicas = placement.replicas.clone();
        let writer = if leaving == placement.writer {
            let writer_at = self.progress(key, &placement.writer);
            let at = replicas.iter().position(|r| self.progress(key, r) >= writer_at)?;
            replicas.remove(at)
        } else {
            replicas.retain(|r| *r != leaving);
            placement.writer.clone()
        };
        self.remove_load(&leaving, key);
        Some(ShardPlacement { writer, replicas })
    }

    /// Rule 4, first half: the member with the least free budget gives one
    /// shard to the member with the most, which joins it as an extra
    /// replica, if after the move the target would still have at least as
    /// much free budget as the source. Each move of `b` bytes across a gap
    /// of at least `2b` lowers the sum of the squared free budgets by at
    /// least `2b²`, so moves stop.
    fn start_move(&mut self, settled: &[Placed<'_>], busy: &BTreeSet<ShardKey>, planned: &[Move]) -> Option<Move> {
        let source = self.load.keys().min_by(|a, b| self.free(a).cmp(&self.free(b)).then_with(|| a.cmp(b)))?.clone();
        let target = self.load.keys().max_by(|a, b| self.free(a).cmp(&self.free(b)).then_with(|| b.cmp(a)))?.clone();
        if source == target {
            return None;
        }
        let gap = self.free(&target) - self.free(&source);
        let taken: BTreeSet<&ShardKey> = planned.iter().map(|m| &m.shard).collect();
        // The largest shard of the source that the target does not hold and
        // that moves without overshooting.
        let (index, key, placement, token) = settled
            .iter()
            .filter(|(_, key, placement, _)| {
                !busy.contains(key) && !taken.contains(key) && holders(placement).any(|h| *h == source)
            })
            .filter(|(_, key, placement, _)| {
                let bytes = i128::from(self.bytes(key));
                !holders(placement).any(|h| *h == target) && bytes > 0 && gap >= 2 * bytes
            })
            .max_by_key(|(_, key, _, _)| (self.bytes(key), std::cmp::Reverse(key.clone())))?;
        self.add_load(&target, key);
        let mut replicas = placement.replicas.clone();
        replicas.push(target);
        Some(Move {
            index: (index.name.clone(), index.revision),
            shard: key.clone(),
            placement: ShardPlacement { writer: placement.writer.clone(), replicas },
            expected: *token,
        })
    }

    /// Rule 5: the member writing the most shards hands one over to a
    /// member that writes at least two fewer and holds a replica of it that
    /// has read as far as the writer has (so nothing is reloaded and no
    /// acknowledged write is behind the new writer, which claims the head
    /// with a new token). Each hand-over narrows the gap, so they stop.
    fn hand_over_writes(
        &mut self,
        settled: &[Placed<'_>],
        busy: &BTreeSet<ShardKey>,
        planned: &[Move],
    ) -> Option<Move> {
        let writes = |m: &String| self.writes.get(m).copied().unwrap_or(0);
        let taken: BTreeSet<&ShardKey> = planned.iter().map(|m| &m.shard).collect();
        let mut candidates: Vec<(&Placed<'_>, String)> = Vec::new();
        for placed in settled {
            let (_, key, placement, _) = placed;
            if busy.contains(key) || taken.contains(key) || !self.alive(&placement.writer) {
                continue;
            }
            let writer_at = self.progress(key, &placement.writer);
            let takers = placement.replicas.iter().filter(|r| {
                self.alive(r) && writes(r) + 2 <= writes(&placement.writer) && self.progress(key, r) >= writer_at
            });
            if let Some(taker) = takers.min_by(|a, b| writes(a).cmp(&writes(b)).then_with(|| a.cmp(b))) {
                candidates.push((placed, taker.clone()));
            }
        }
        // The busiest writer first, then the least busy taker.
        let ((index, key, placement, token), taker) = candidates.into_iter().max_by(|(a, ta), (b, tb)| {
            (writes(&a.2.writer), std::cmp::Reverse(writes(ta)), std::cmp::Reverse(&a.1)).cmp(&(
                writes(&b.2.writer),
                std::cmp::Reverse(writes(tb)),
                std::cmp::Reverse(&b.1),
            ))
        })?;
        let replicas =
            placement.replicas.iter().map(|r| if *r == taker { placement.writer.clone() } else { r.clone() });
        let new = ShardPlacement { writer: taker.clone(), replicas: replicas.collect() };
        if let Some(count) = self.writes.get_mut(&placement.writer) {
            *count = count.saturating_sub(1);
        }
        self.add_write(&taker);
        Some(Move { index: (index.name.clone(), index.revision), shard: key.clone(), placement: new, expected: *token })
    }
}
