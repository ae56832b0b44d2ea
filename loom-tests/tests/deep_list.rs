//! Deep models: the three races that matter most, explored exhaustively
//! (two threads: no preemption bound at all) or at preemption bound 3
//! (three threads), instead of the bound 1 the models of the real map
//! afford (with crossbeam-epoch's own atomics modelled, bound 2 did not
//! finish in ten minutes; see docs/decisions.md). `LOOM_DEEP_PREEMPTIONS`
//! (a number or `none`) overrides the three-thread models' bound.
//!
//! They run on a restatement of the protocol, not on `splitmap` itself: the
//! list step of `src/raw/list.rs` and the write paths of `src/raw/mod.rs`,
//! over nodes in a fixed arena with tagged indices instead of epoch-managed
//! pointers. Nothing is freed here, so the epoch is not needed; instead each
//! unlinked data node records its retirement, and the models check that
//! exactly the unlinked data nodes were retired, each once. Every step names
//! the line it mirrors (as of commit 8240cf5; keep them in step when the
//! core changes):
//!
//! - `search_once` / `help_unlink` / `search`: list.rs 85-255;
//! - `lookup`: list.rs 360-380;
//! - `insert`, `remove`, `replace`, `unlink_marked`: mod.rs 263-415
//!   (`compute` with `Action::Put` on an absent key, `Action::Remove`,
//!   `Action::Put` on a present key);
//! - `write_start` (sentinel claim, link, publish): mod.rs 440-495;
//! - the shrink's unlinking of a dropped sentinel: mod.rs 575-640
//!   (`help_pending_shrink`: mark with `fetch_or`, then a search from the
//!   surviving bucket that unlinks it).
//!
//! Split-order keys are small numbers here: even keys are sentinels, odd
//! keys data, and only their order matters.
//!
//! Models:
//! 1. `replace_vs_remove` (and `replace_vs_remove_vs_lookup` at bound 2):
//!    an update replacing key K's node races a remove of K.
//! 2. `shrink_unlink_vs_insert_after` / `_before`: a shrink marks and
//!    unlinks a dropped bucket's sentinel while an insert links a node
//!    right after it (its CAS is on the sentinel's own `next`) or right
//!    before it (its CAS races the unlinking CAS on the same `next`).
//! 3. `sentinel_claim_vs_link`: two writes to an uninitialized bucket (one
//!    claims and links the sentinel, the other finds it claimed and starts
//!    from the parent) and `sentinel_link_vs_parent_insert`: the link races
//!    an insert at the very position the sentinel goes.
#![cfg(loom)]

use loom::sync::atomic::{AtomicU64, AtomicUsize};
use loom::sync::Arc;
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, SeqCst};

// ---------- the arena list (node.rs: tags on `next`) ----------

/// node.rs 13: the node is logically deleted; its `next` is frozen.
const MARK: usize = 0b001;
/// node.rs 16: a thread has claimed the sentinel and is linking it.
const CLAIMED: usize = 0b010;
/// node.rs 19: the sentinel is linked and may serve as a start.
const LINKED: usize = 0b100;
const TAGS: usize = 0b111;

/// A `next` word: node index + 1 above the three tag bits (0: null).
fn word(node: Option<usize>, tags: usize) -> usize {
    node.map_or(0, |i| (i + 1) << 3) | tags
}
fn target(w: usize) -> Option<usize> {
    (w >> 3).checked_sub(1)
}

struct Node {
    so_key: u64,
    next: AtomicUsize,
    /// Written before the node is published (the real node is immutable
    /// once linked); an atomic so loom checks the publication's ordering.
    value: AtomicU64,
    /// Checker bookkeeping, not part of the protocol: times retired.
    retired: StdAtomicUsize,
}

impl Node {
    fn is_sentinel(&self) -> bool {
        self.so_key & 1 == 0
    }
}

struct List {
    nodes: Vec<Node>,
}

/// `Position` (list.rs 62-67): `pred`, the exact unmarked `pred_next` read
/// from it, and whether `curr` (its target) matched.
#[derive(Clone, Copy, Debug)]
struct Pos {
    pred: usize,
    pred_next: usize,
    found: bool,
}

impl Pos {
    fn curr(self) -> Option<usize> {
        target(self.pred_next)
    }
}

impl List {
    /// Node 0 is the head (bucket 0's sentinel, linked from birth); the
    /// others start unlinked with `next` null.
    fn new(keys: &[u64]) -> Self {
        List {
            nodes: keys
                .iter()
                .map(|&so_key| Node {
                    so_key,
                    next: AtomicUsize::new(0),
                    value: AtomicU64::new(0),
                    retired: StdAtomicUsize::new(0),
                })
                .collect(),
        }
    }

    /// Builds the initial list (single-threaded set-up): links `chain` in
    /// order after the head, with `tags` for each sentinel's own `next`.
    fn chain(self, chain: &[usize], values: &[(usize, u64)]) -> Self {
        let mut prev = 0;
        for &n in chain {
            let tags = self.nodes[prev].next.load(Relaxed) & TAGS;
            self.nodes[prev].next.store(word(Some(n), tags), Relaxed);
            if self.nodes[n].is_sentinel() {
                self.nodes[n].next.store(LINKED, Relaxed);
            }
            prev = n;
        }
        self.nodes[0].next.fetch_or(LINKED, Relaxed);
        for &(n, v) in values {
            self.nodes[n].value.store(v, Relaxed);
        }
        self
    }

    fn load(&self, n: usize) -> usize {
        self.nodes[n].next.load(Acquire)
    }

    fn cas(&self, n: usize, current: usize, new: usize) -> Result<usize, usize> {
        self.nodes[n]
            .next
            .compare_exchange(current, new, AcqRel, Acquire)
    }

    /// The hook `ListHooks::retire` (mod.rs 862): checker bookkeeping.
    fn retire(&self, n: usize) {
        let before = self.nodes[n].retired.fetch_add(1, SeqCst);
        assert_eq!(before, 0, "node {n} retired twice");
    }

    /// list.rs 229-255 `help_unlink`: swing `pred.next` past the marked
    /// `curr`, keeping `pred`'s own tags (238); the winner retires a data
    /// node (245-248); `None` if `pred` itself is marked (251).
    fn help_unlink(
        &self,
        pred: usize,
        pred_next: usize,
        curr: usize,
        curr_next: usize,
    ) -> Option<usize> {
        let succ = (curr_next & !TAGS) | (pred_next & TAGS);
        match self.cas(pred, pred_next, succ) {
            Ok(_) => {
                if !self.nodes[curr].is_sentinel() {
                    self.retire(curr);
                }
                Some(succ)
            }
            Err(e) if e & MARK != 0 => None,
            Err(e) => Some(e),
        }
    }

    /// list.rs 154-215 `search_once`; `key` (a data node's `so_key`) plays
    /// the matcher: equal `so_key` on a data node is a match, and `None`
    /// never matches (searches that only unlink).
    fn search_once(
        &self,
        pred: usize,
        pred_next: usize,
        so_key: u64,
        key: Option<u64>,
    ) -> Option<Pos> {
        let (mut pred, mut pred_next) = (pred, pred_next);
        loop {
            let Some(curr) = target(pred_next) else {
                return Some(Pos {
                    pred,
                    pred_next,
                    found: false,
                }); // 172-178
            };
            let curr_next = self.load(curr); // 180
            if curr_next & MARK != 0 {
                // 181-185: help, or restart if `pred` was deleted
                pred_next = self.help_unlink(pred, pred_next, curr, curr_next)?;
                continue;
            }
            let c = &self.nodes[curr];
            if c.so_key > so_key {
                return Some(Pos {
                    pred,
                    pred_next,
                    found: false,
                }); // 187-193
            }
            if c.so_key == so_key && !c.is_sentinel() && key == Some(c.so_key) {
                return Some(Pos {
                    pred,
                    pred_next,
                    found: true,
                }); // 194-203
            }
            pred = curr; // 211-212
            pred_next = curr_next;
        }
    }

    /// list.rs 85-148 `search`: from a start that is never marked while the
    /// operation runs (the assert at 137-142), restarting on `None`.
    fn search(&self, start: usize, so_key: u64, key: Option<u64>) -> Pos {
        loop {
            let start_next = self.load(start);
            assert_eq!(
                start_next & MARK,
                0,
                "a search started at a deleted sentinel"
            );
            if let Some(pos) = self.search_once(start, start_next, so_key, key) {
                return pos;
            }
        }
    }

    /// list.rs 360-380 `lookup`: read-only; a node counts if its own `next`
    /// was unmarked when read.
    fn lookup(&self, start: usize, so_key: u64) -> Option<u64> {
        let mut curr = self.load(start);
        loop {
            let c = target(curr)?;
            let node = &self.nodes[c];
            if node.so_key > so_key {
                return None;
            }
            let next = self.load(c);
            if node.so_key == so_key && next & MARK == 0 && !node.is_sentinel() {
                return Some(node.value.load(Relaxed));
            }
            curr = next;
        }
    }

    /// mod.rs 394-415 `unlink_marked`: one CAS on `pred`, else a search over
    /// the key's run that unlinks it.
    fn unlink_marked(&self, start: usize, pos: Pos, succ: usize) {
        let desired = (succ & !TAGS) | (pos.pred_next & TAGS);
        match self.cas(pos.pred, pos.pred_next, desired) {
            Ok(_) => self.retire(pos.curr().unwrap()),
            Err(_) => {
                let so_key = self.nodes[pos.curr().unwrap()].so_key;
                self.search(start, so_key, None);
            }
        }
    }

    /// mod.rs 282-316: insert `node` (unpublished) if its key is absent.
    fn insert(&self, start: usize, node: usize, value: u64) -> bool {
        let so_key = self.nodes[node].so_key;
        loop {
            let pos = self.search(start, so_key, Some(so_key));
            if pos.found {
                return false;
            }
            self.nodes[node].value.store(value, Relaxed);
            // 294: the new node's `next`, then one CAS publishes it (296)
            self.nodes[node].next.store(pos.pred_next & !TAGS, Relaxed);
            let new = word(Some(node), pos.pred_next & TAGS);
            if self.cas(pos.pred, pos.pred_next, new).is_ok() {
                return true;
            }
        }
    }

    /// mod.rs 326-349 (`Action::Remove`): mark, then unlink.
    fn remove(&self, start: usize, so_key: u64) -> Option<u64> {
        'retry: loop {
            let pos = self.search(start, so_key, Some(so_key));
            if !pos.found {
                return None;
            }
            let node = pos.curr().unwrap();
            let value = self.nodes[node].value.load(Relaxed);
            let mut next = self.load(node);
            loop {
                if next & MARK != 0 {
                    continue 'retry; // 329-331
                }
                match self.cas(node, next, next | MARK) {
                    Ok(_) => {
                        self.unlink_marked(start, pos, next);
                        return Some(value);
                    }
                    Err(e) => next = e,
                }
            }
        }
    }

    /// mod.rs 350-389 (`Action::Put` on a present key): one CAS marks the
    /// old node and links `new` (unpublished, reused after a failed round)
    /// as its successor. `f` computes the new value from the old (`update`);
    /// `None` if the key is absent.
    fn replace(
        &self,
        start: usize,
        so_key: u64,
        new: usize,
        f: impl Fn(u64) -> u64,
    ) -> Option<u64> {
        'retry: loop {
            let pos = self.search(start, so_key, Some(so_key));
            if !pos.found {
                return None;
            }
            let node = pos.curr().unwrap();
            let old = self.nodes[node].value.load(Relaxed);
            self.nodes[new].value.store(f(old), Relaxed);
            let mut next = self.load(node);
            loop {
                if next & MARK != 0 {
                    continue 'retry; // 355-359
                }
                self.nodes[new].next.store(next, Relaxed); // 361
                match self.cas(node, next, word(Some(new), MARK)) {
                    Ok(_) => {
                        self.unlink_marked(start, pos, word(Some(new), 0));
                        return Some(old);
                    }
                    Err(e) => next = e, // 385-386: retry the CAS only
                }
            }
        }
    }

    /// mod.rs 440-495 `write_start` for sentinel `slot` whose parent is
    /// `parent` (linked): its own start if linked; if unclaimed, claim it,
    /// link it after a search from the parent, then publish it as linked;
    /// if another thread holds the claim, start from the parent (never
    /// wait).
    fn write_start(&self, slot: usize, parent: usize) -> usize {
        let next = self.load(slot);
        if next & LINKED != 0 {
            return slot;
        }
        if next & CLAIMED != 0 || self.cas(slot, 0, CLAIMED).is_err() {
            return parent; // 449-459
        }
        let so_key = self.nodes[slot].so_key;
        loop {
            let pos = self.search(parent, so_key, None); // 466-468
            self.nodes[slot]
                .next
                .store((pos.pred_next & !TAGS) | CLAIMED, Relaxed); // 470-471
            let me = word(Some(slot), pos.pred_next & TAGS);
            if self.cas(pos.pred, pos.pred_next, me).is_ok() {
                break; // 472-485
            }
        }
        self.nodes[slot].next.fetch_or(LINKED, AcqRel); // 488
        slot
    }

    /// mod.rs 597-630: a shrink chunk's unlinking of dropped sentinel
    /// `slot` (after the grace period): mark it, then search from the
    /// surviving bucket's sentinel `start` to its key, which unlinks it.
    fn shrink_unlink(&self, slot: usize, start: usize) {
        self.nodes[slot].next.fetch_or(MARK, AcqRel);
        self.search(start, self.nodes[slot].so_key, None);
    }

    /// The list from the head, single-threaded, after the model threads:
    /// (node, its `next` word) in order.
    fn walk(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut curr = self.nodes[0].next.load(Relaxed);
        while let Some(n) = target(curr) {
            assert!(out.len() < self.nodes.len(), "a cycle: {out:?}");
            curr = self.nodes[n].next.load(Relaxed);
            out.push((n, curr));
        }
        out
    }

    /// Checks the quiescent list: sorted by `so_key`, no marked node left,
    /// exactly `expect` linked (in order), and exactly the data nodes in
    /// `retired` retired, once each.
    fn check(&self, expect: &[usize], retired: &[usize]) {
        let walk = self.walk();
        let linked: Vec<usize> = walk.iter().map(|&(n, _)| n).collect();
        assert_eq!(linked, expect, "linked nodes (head excluded)");
        for &(n, next) in &walk {
            assert_eq!(next & MARK, 0, "marked node {n} still linked: {walk:?}");
        }
        for (n, node) in self.nodes.iter().enumerate() {
            let times = node.retired.load(SeqCst);
            let want = usize::from(retired.contains(&n));
            assert_eq!(times, want, "node {n} retired {times} times");
        }
    }
}

/// Runs `f` under loom with `bound` preemptions (`None`: no bound, every
/// interleaving), whatever `LOOM_MAX_PREEMPTIONS` says for the models of
/// the real map. Prints how many executions loom ran.
fn deep_model<F: Fn() + Sync + Send + 'static>(bound: Option<usize>, f: F) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = bound;
    let executions = std::sync::Arc::new(StdAtomicUsize::new(0));
    let counted = executions.clone();
    builder.check(move || {
        counted.fetch_add(1, Relaxed);
        f();
    });
    eprintln!(
        "{} executions, preemption bound {bound:?}",
        executions.load(Relaxed)
    );
}

/// Two model threads: every interleaving (a few seconds at most).
const TWO_THREADS: Option<usize> = None;

/// Three model threads: bound 3 by default (every interleaving does not fit
/// CI; measured for `replace_vs_remove_vs_lookup`: bound 3 31k executions
/// in 2 s, 4 141k in 8 s, 5 534k in 32 s, 6 1.7M in 100 s).
/// `LOOM_DEEP_PREEMPTIONS` (a number, or `none`) overrides it
/// (`.ci/loom-deep.sh`).
fn three_threads() -> Option<usize> {
    match std::env::var("LOOM_DEEP_PREEMPTIONS") {
        Ok(s) if s == "none" => None,
        Ok(s) => Some(s.parse().expect("LOOM_DEEP_PREEMPTIONS: a number or none")),
        Err(_) => Some(3),
    }
}

fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> loom::thread::JoinHandle<T> {
    loom::thread::spawn(f)
}

// ---------- 1. replace vs remove ----------

/// Head(0) -> A: key 3, value 10. Node B is the update's replacement.
fn one_key() -> Arc<List> {
    Arc::new(List::new(&[0, 3, 3]).chain(&[1], &[(1, 10)]))
}

/// An update (+1) races a remove of the same key: either the update went
/// first (it returns 10 and the remove takes 11) or the remove did (it
/// takes 10 and the update finds nothing). The key is gone either way, no
/// marked node stays linked, and exactly the unlinked nodes are retired:
/// A always, B if the update published it.
#[test]
fn replace_vs_remove() {
    deep_model(TWO_THREADS, || {
        let list = one_key();
        let l1 = list.clone();
        let t1 = spawn(move || l1.replace(0, 3, 2, |v| v + 1));
        let l2 = list.clone();
        let t2 = spawn(move || l2.remove(0, 3));
        let (updated, removed) = (t1.join().unwrap(), t2.join().unwrap());
        match (updated, removed) {
            (Some(10), Some(11)) => list.check(&[], &[1, 2]),
            (None, Some(10)) => list.check(&[], &[1]),
            other => panic!("lost update or resurrection: {other:?}"),
        }
        assert_eq!(list.lookup(0, 3), None, "the removed key came back");
    });
}

/// The same race watched by a reader (three threads). The reader
/// sees 10, 11 or nothing, and never 11 after the remove took 10.
#[test]
fn replace_vs_remove_vs_lookup() {
    deep_model(three_threads(), || {
        let list = one_key();
        let l1 = list.clone();
        let t1 = spawn(move || l1.replace(0, 3, 2, |v| v + 1));
        let l2 = list.clone();
        let t2 = spawn(move || l2.remove(0, 3));
        let l3 = list.clone();
        let t3 = spawn(move || l3.lookup(0, 3));
        let (updated, removed, read) = (t1.join().unwrap(), t2.join().unwrap(), t3.join().unwrap());
        match (updated, removed) {
            (Some(10), Some(11)) => assert!(matches!(read, None | Some(10) | Some(11))),
            (None, Some(10)) => assert!(matches!(read, None | Some(10)), "read {read:?}"),
            other => panic!("lost update or resurrection: {other:?}"),
        }
        assert_eq!(list.lookup(0, 3), None);
    });
}

// ---------- 2. shrink unlinking vs insert ----------

/// Head(0) -> S: dropped sentinel, key 8 -> X: data, key 11. Nodes Y (key
/// 9, after S) and Z (key 5, before S) are for the inserts. After the
/// grace period the insert starts from the head (the smaller directory's
/// bucket), as does the shrink's unlinking search.
fn shrinking() -> Arc<List> {
    Arc::new(List::new(&[0, 8, 11, 9, 5]).chain(&[1, 2], &[(2, 110)]))
}

/// The insert's CAS is on S's own `next` (S is its `pred`) while the
/// shrink marks S: the CAS must fail on the mark and retry from the head,
/// never link Y behind a deleted S. S is unlinked, Y and X stay.
#[test]
fn shrink_unlink_vs_insert_after() {
    deep_model(TWO_THREADS, || {
        let list = shrinking();
        let l1 = list.clone();
        let t1 = spawn(move || l1.shrink_unlink(1, 0));
        let l2 = list.clone();
        let t2 = spawn(move || l2.insert(0, 3, 90));
        t1.join().unwrap();
        assert!(t2.join().unwrap());
        list.check(&[3, 2], &[]);
        assert_eq!(
            (list.lookup(0, 9), list.lookup(0, 11)),
            (Some(90), Some(110))
        );
    });
}

/// The insert links Z between the head and S: its CAS on the head's
/// `next` races the shrink's unlinking CAS on the same word.
#[test]
fn shrink_unlink_vs_insert_before() {
    deep_model(TWO_THREADS, || {
        let list = shrinking();
        let l1 = list.clone();
        let t1 = spawn(move || l1.shrink_unlink(1, 0));
        let l2 = list.clone();
        let t2 = spawn(move || l2.insert(0, 4, 50));
        t1.join().unwrap();
        assert!(t2.join().unwrap());
        list.check(&[4, 2], &[]);
        assert_eq!(
            (list.lookup(0, 5), list.lookup(0, 11)),
            (Some(50), Some(110))
        );
    });
}

/// Both inserts at once, around the sentinel being unlinked.
#[test]
fn shrink_unlink_vs_inserts_before_and_after() {
    deep_model(three_threads(), || {
        let list = shrinking();
        let l1 = list.clone();
        let t1 = spawn(move || l1.shrink_unlink(1, 0));
        let l2 = list.clone();
        let t2 = spawn(move || l2.insert(0, 3, 90));
        let l3 = list.clone();
        let t3 = spawn(move || l3.insert(0, 4, 50));
        t1.join().unwrap();
        assert!(t2.join().unwrap() && t3.join().unwrap());
        list.check(&[4, 3, 2], &[]);
    });
}

// ---------- 3. sentinel claim vs link ----------

/// Head(0) -> X: data, key 11. S (key 8) is bucket 1's sentinel, not linked
/// (next null, no tags); its parent is the head. Y (key 9) and W (key 13)
/// are for the inserts into bucket 1; Z (key 5) for one into bucket 0.
fn unlinked_bucket() -> Arc<List> {
    Arc::new(List::new(&[0, 8, 11, 9, 13, 5]).chain(&[2], &[(2, 110)]))
}

/// Two writes to bucket 1: whoever claims S links it, the other starts
/// from the parent meanwhile (never waits). S ends linked once, with its
/// LINKED tag, and both inserts are there in order.
#[test]
fn sentinel_claim_vs_link() {
    deep_model(TWO_THREADS, || {
        let list = unlinked_bucket();
        let l1 = list.clone();
        let t1 = spawn(move || {
            let start = l1.write_start(1, 0);
            l1.insert(start, 3, 90)
        });
        let l2 = list.clone();
        let t2 = spawn(move || {
            let start = l2.write_start(1, 0);
            l2.insert(start, 4, 130)
        });
        assert!(t1.join().unwrap() && t2.join().unwrap());
        list.check(&[1, 3, 2, 4], &[]);
        assert_ne!(
            list.load(1) & LINKED,
            0,
            "S linked but not published as linked"
        );
        for (key, value) in [(9, 90), (11, 110), (13, 130)] {
            assert_eq!(list.lookup(1, key), Some(value), "key {key} from S");
            assert_eq!(list.lookup(0, key), Some(value), "key {key} from the head");
        }
    });
}

/// Linking S (CAS on the head's `next`, expecting X) races an insert of Z
/// into bucket 0 at the same place: one CAS fails and that side searches
/// again; S lands after Z, X after S.
#[test]
fn sentinel_link_vs_parent_insert() {
    deep_model(TWO_THREADS, || {
        let list = unlinked_bucket();
        let l1 = list.clone();
        let t1 = spawn(move || {
            let start = l1.write_start(1, 0);
            l1.insert(start, 3, 90)
        });
        let l2 = list.clone();
        let t2 = spawn(move || l2.insert(0, 5, 50));
        assert!(t1.join().unwrap() && t2.join().unwrap());
        list.check(&[5, 1, 3, 2], &[]);
        assert_ne!(list.load(1) & LINKED, 0);
        assert_eq!(list.lookup(0, 5), Some(50));
        assert_eq!(list.lookup(1, 9), Some(90));
    });
}

/// All three at once: two writes to bucket 1 and one to bucket 0.
#[test]
fn sentinel_claims_vs_parent_insert() {
    deep_model(three_threads(), || {
        let list = unlinked_bucket();
        let l1 = list.clone();
        let t1 = spawn(move || {
            let start = l1.write_start(1, 0);
            l1.insert(start, 3, 90)
        });
        let l2 = list.clone();
        let t2 = spawn(move || {
            let start = l2.write_start(1, 0);
            l2.insert(start, 4, 130)
        });
        let l3 = list.clone();
        let t3 = spawn(move || l3.insert(0, 5, 50));
        assert!(t1.join().unwrap() && t2.join().unwrap() && t3.join().unwrap());
        list.check(&[5, 1, 3, 2, 4], &[]);
        assert_ne!(list.load(1) & LINKED, 0);
    });
}
