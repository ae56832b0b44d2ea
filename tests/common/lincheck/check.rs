//! The verdict: is a recorded history linearizable, and if not, which short
//! stretch of it shows why.
//!
//! ## The search (Wing–Gong, with Lowe's memoization)
//! Linearizability is local (P-compositionality): a history of single-key
//! operations is linearizable iff each key's sub-history is, against the
//! model of one slot (`Option<u64>`). So every key is checked on its own.
//!
//! For one key, a depth-first search builds a sequential order one operation
//! at a time. An operation may come next iff it is not yet placed and no
//! unplaced operation finished before it started (`response < invoke`: the
//! real-time order). Placing it runs the model; a completed operation's
//! recorded result must equal the model's. The search backtracks when no
//! operation fits, and succeeds once every completed operation is placed.
//! Each visited node, the pair (set of placed operations as a bitset, model
//! slot), is remembered: reaching it again by another order cannot lead
//! anywhere new (Lowe, "Testing for Linearizability", 2017; the same idea as
//! Porcupine's cache). With `T` threads at most `T` operations of a key are
//! in flight at once, so a key's history of `n` operations visits on the
//! order of `n * 2^T * distinct slots` nodes at worst and usually about `n`.
//! A node budget turns a pathological history into a loud failure rather
//! than a hang.
//!
//! ## Pending operations and the excerpt
//! A prefix of a history cut at some moment holds operations still running
//! then ("pending"): each may take effect (with any result) or not at all.
//! Linearizability is prefix-closed under that reading, so on a violation a
//! binary search finds the earliest cut whose prefix already fails; the
//! operation that finished at that cut is where the history becomes
//! impossible. The excerpt then drops the longest run of earlier operations
//! that all finished before the rest began (a quiescent cut), replacing it
//! by the set of slots those operations can have left, and keeps the latest
//! such cut at which the rest still fails. What is printed is thus a proof
//! on its own: a short list of operations plus "the key held one of these".

use super::history::{Event, Op, ShowResult, ShowSlot, Slot, ANY};
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// Nodes one search may visit before it gives up (and fails the test).
const NODE_BUDGET: usize = 4_000_000;

/// One operation as the search sees it.
#[derive(Clone, Copy, Debug)]
struct Call {
    op: Op,
    ret: Slot,
    invoke: u64,
    /// `u64::MAX` for a pending call.
    response: u64,
    pending: bool,
}

/// `events` (sorted by invoke) as calls of the prefix cut at `cut`: those
/// still running at `cut` are pending. Events invoked after `cut` must have
/// been left out by the caller.
fn calls(events: &[Event], cut: u64) -> Vec<Call> {
    events
        .iter()
        .map(|e| {
            debug_assert!(e.invoke < cut);
            let pending = e.response > cut;
            Call {
                op: e.op,
                ret: e.ret,
                invoke: e.invoke,
                response: if pending { u64::MAX } else { e.response },
                pending,
            }
        })
        .collect()
}

struct Search<'a> {
    /// Sorted by `invoke`.
    calls: &'a [Call],
    seen: HashSet<(Box<[u64]>, Slot)>,
    /// `Some`: collect every slot a full linearization can end in, instead
    /// of stopping at the first.
    ends: Option<HashSet<Slot>>,
}

impl Search<'_> {
    fn placed(done: &[u64], i: usize) -> bool {
        done[i / 64] & (1 << (i % 64)) != 0
    }

    /// Extends the order placed so far (`done`, leaving `slot`); `left` is
    /// the number of completed calls not yet placed.
    fn extend(&mut self, done: &mut [u64], left: usize, slot: Slot) -> bool {
        if left == 0 {
            match &mut self.ends {
                None => return true,
                // Pending calls may still take effect after this.
                Some(ends) => {
                    ends.insert(slot);
                }
            }
        }
        if !self.seen.insert((done.into(), slot)) {
            return false;
        }
        assert!(
            self.seen.len() <= NODE_BUDGET,
            "linearizability search gave up after {NODE_BUDGET} nodes: \
             the history is too long or too concurrent for this checker"
        );
        // Real time: nothing may come before an unplaced completed call's
        // response that started after it.
        let horizon = self
            .calls
            .iter()
            .enumerate()
            .filter(|&(i, c)| !c.pending && !Self::placed(done, i))
            .map(|(_, c)| c.response)
            .min()
            .unwrap_or(u64::MAX);
        for i in 0..self.calls.len() {
            let call = self.calls[i];
            if call.invoke > horizon {
                break;
            }
            if Self::placed(done, i) {
                continue;
            }
            let (next, ret) = call.op.step(slot);
            if call.pending {
                // A pending call that changes nothing may as well not
                // take effect.
                if next == slot {
                    continue;
                }
            } else if ret != call.ret && call.ret != ANY {
                continue;
            }
            done[i / 64] |= 1 << (i % 64);
            let found = self.extend(done, left - usize::from(!call.pending), next);
            done[i / 64] &= !(1 << (i % 64));
            if found {
                return true;
            }
        }
        false
    }
}

/// Searches `calls` (sorted by invoke) from each of `starts`. Returns
/// whether some linearization exists and, with `all_ends`, every slot a
/// linearization of all completed calls can leave.
fn search(calls: &[Call], starts: &[Slot], all_ends: bool) -> (bool, Vec<Slot>) {
    debug_assert!(calls.windows(2).all(|w| w[0].invoke <= w[1].invoke));
    let mut s = Search {
        calls,
        seen: HashSet::new(),
        ends: all_ends.then(HashSet::new),
    };
    let left = calls.iter().filter(|c| !c.pending).count();
    let mut done = vec![0u64; calls.len().div_ceil(64)];
    let mut found = false;
    for &start in starts {
        if s.extend(&mut done, left, start) {
            found = true;
            break;
        }
    }
    let mut ends: Vec<Slot> = s.ends.map(|e| e.into_iter().collect()).unwrap_or_default();
    ends.sort_unstable();
    (found || !ends.is_empty(), ends)
}

/// Checks one key's events (any order) against the model, starting from
/// an absent key.
pub fn check_key(events: &[Event]) -> Result<(), Violation> {
    let mut sorted = events.to_vec();
    sorted.sort_by_key(|e| e.invoke);
    if search(&calls(&sorted, u64::MAX), &[None], false).0 {
        Ok(())
    } else {
        Err(explain(sorted))
    }
}

/// Checks a whole history key by key; the first failing key's violation.
pub fn check_history(events: &[Event]) -> Result<(), Violation> {
    let mut by_key: BTreeMap<usize, Vec<Event>> = BTreeMap::new();
    for e in events {
        by_key.entry(e.key).or_default().push(*e);
    }
    by_key
        .values()
        .try_for_each(|key_events| check_key(key_events))
}

/// Whether the prefix of `sorted` cut at `cut` is already not linearizable.
fn prefix_fails(sorted: &[Event], cut: u64) -> bool {
    let prefix: Vec<Event> = sorted.iter().filter(|e| e.invoke < cut).copied().collect();
    !search(&calls(&prefix, cut), &[None], false).0
}

/// Builds the excerpt of a non-linearizable key history (sorted by invoke).
fn explain(sorted: Vec<Event>) -> Violation {
    // The earliest failing cut (prefix-closed, so binary search); the last
    // response is the whole history, which fails.
    let mut cuts: Vec<u64> = sorted.iter().map(|e| e.response).collect();
    cuts.sort_unstable();
    let (mut lo, mut hi) = (0, cuts.len() - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if prefix_fails(&sorted, cuts[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let cut = cuts[lo];
    let prefix: Vec<Event> = sorted.iter().filter(|e| e.invoke < cut).copied().collect();

    // The latest quiescent cut after which the rest still fails, whatever
    // the operations before it left.
    let mut finished_by = Vec::with_capacity(prefix.len());
    let mut max_response = 0;
    for e in &prefix {
        finished_by.push(max_response);
        max_response = max_response.max(e.response);
    }
    let mut start = 0;
    let mut before = vec![None];
    for i in (1..prefix.len()).rev() {
        if finished_by[i] >= prefix[i].invoke {
            continue;
        }
        let (ok, ends) = search(&calls(&prefix[..i], cut), &[None], true);
        assert!(ok, "a prefix shorter than the earliest failing one failed");
        if !search(&calls(&prefix[i..], cut), &ends, false).0 {
            start = i;
            before = ends;
            break;
        }
    }
    Violation {
        key: sorted[0].key,
        ops_on_key: sorted.len(),
        earlier: start,
        before,
        context: prefix[start.saturating_sub(CONTEXT)..start].to_vec(),
        excerpt: prefix[start..].to_vec(),
        cut,
    }
}

/// A key whose history is not linearizable, with the excerpt that shows it.
#[derive(Clone, Debug)]
pub struct Violation {
    /// The key (index into the round's key set).
    pub key: usize,
    /// Operations recorded on the key in the round.
    pub ops_on_key: usize,
    /// Operations before the excerpt, all finished before it began.
    pub earlier: usize,
    /// The slots those earlier operations can have left (`[None]` if none).
    pub before: Vec<Slot>,
    /// The last few of those earlier operations, for the reader only.
    pub context: Vec<Event>,
    /// The excerpt, sorted by invoke; operations still running at `cut`
    /// are pending (their results do not count).
    pub excerpt: Vec<Event>,
    /// The response of the operation that makes the history impossible.
    pub cut: u64,
}

/// Earlier operations printed before an excerpt, for context.
const CONTEXT: usize = 4;

impl Violation {
    fn row(&self, f: &mut fmt::Formatter<'_>, e: &Event, base: u64) -> fmt::Result {
        let at = |t: u64| {
            if t >= base {
                format!("+{}", t - base)
            } else {
                format!("-{}", base - t)
            }
        };
        let response = if e.response > self.cut {
            "later".to_string()
        } else {
            at(e.response)
        };
        let note = if e.response == self.cut {
            "   <- no real-time order explains this result"
        } else if e.response > self.cut {
            "   (still running then: result not counted)"
        } else {
            ""
        };
        writeln!(
            f,
            "  T{:<6} {:<7} {:<9} {:<34} -> {}{}",
            e.thread,
            at(e.invoke),
            response,
            e.op.to_string(),
            ShowResult(e.op, e.ret),
            note
        )
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "key {} is not linearizable ({} operations on it; values print as \
             Tthread/write, +increments).",
            self.key, self.ops_on_key
        )?;
        let base = self.excerpt.first().map_or(0, |e| e.invoke);
        let header = "  thread  invoke  response  operation                          result";
        if self.earlier > 0 {
            let before: Vec<String> = self
                .before
                .iter()
                .map(|s| ShowSlot(*s).to_string())
                .collect();
            writeln!(
                f,
                "The {} operations before the excerpt all finished before it began, and \
                 can only have left the key {}. The last {} of them:",
                self.earlier,
                before.join(" or "),
                self.context.len()
            )?;
            writeln!(f, "{header}")?;
            for e in &self.context {
                self.row(f, e, base)?;
            }
            writeln!(f, "The excerpt (from the last moment before the failure when no operation was running):")?;
        } else {
            writeln!(f, "The excerpt, from the start (key absent):")?;
            writeln!(f, "{header}")?;
        }
        for e in &self.excerpt {
            self.row(f, e, base)?;
        }
        Ok(())
    }
}
