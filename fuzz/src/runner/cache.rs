//! The `cache` runner: `SplitCache` (time to live, time to idle, per-entry
//! TTL, a size bound, all chosen by the input) against a model, with a
//! mock clock that the ops advance.
//!
//! The model holds, per key, the value id, the write deadline and the last
//! access. The cache's listener drives the model's removals, and each report
//! is checked against it: a value is reported once; the value an insert
//! displaced is reported by that insert, `Replaced` if the model held it
//! live and `Expired` if not (so `Replaced` only ever over a live key, for
//! the value the insert returned); `Removed` only by
//! `remove`/`retain`/`clear`; `Expired` only once the model's deadline has
//! passed; `Size` only with a bound, only for a key the model holds, and
//! only from an operation that added an entry (an insert of a key with no
//! live entry, a `get_or_insert_with` that inserted: the only operations
//! that run an eviction step here, since the bound holds after every
//! insert). Every read must then agree with the model exactly (an evicted
//! key has left the model when its report came, before the insert that
//! evicted it returned). After every insert the length is within the bound
//! and, if the insert evicted, at most `batch` below it (`cache/evict.rs`:
//! a step evicts at most its excess plus `batch`; expired entries it purged
//! on the way come on top); at the end `clear` reports every value left and
//! each value id was reported exactly once.
//!
//! Issue 19 added: de-duplicated loads (`get_with`, a failing
//! `try_get_with`, an `optionally_get_with` that finds nothing: on one
//! thread a load is a `get_or_insert_with`, and a failed one caches
//! nothing), `compute` (each decision against the model, the value it
//! replaced or removed reported with its cause), and a weigher chosen by
//! the input (`v % 5 + 1`; the bound then holds in weight after every
//! write, and a replacement may evict too).

use super::hash::{FuzzState, HashKind};
use arbitrary::Arbitrary;
use splitmap::cache::{CompResult, MockClock, Op, RemovalCause};
use splitmap::SplitCache;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the cache is built. Durations in ms of mock time (0: not set).
#[derive(Arbitrary, Debug)]
pub struct CacheSetup {
    pub min_log2: u8,
    pub load_factor: u8,
    pub kind: HashKind,
    pub seed: u8,
    pub ttl_ms: u8,
    pub tti_ms: u8,
    /// Bound `1 + cap % 40`, if `Some`.
    pub cap: Option<u8>,
    /// Weigh entries (`v % 5 + 1`): the bound is then in weight.
    pub weighted: bool,
}

/// One operation; keys are `k % 32`.
#[derive(Arbitrary, Clone, Debug)]
pub enum CacheOp {
    Insert(u8),
    /// Per-entry TTL of `1 + t` ms.
    InsertTtl(u8, u8),
    Get(u8),
    ContainsKey(u8),
    Remove(u8),
    GetOrInsert(u8),
    /// `retain(|k, _| k % (2 + m % 4) != 0)`.
    Retain(u8),
    Clear,
    PurgeExpired,
    RunPendingTasks,
    /// Moves the clock `ms` milliseconds.
    Advance(u8),
    /// `get_with`: a load on a miss.
    GetWith(u8),
    /// `try_get_with` whose loader fails.
    TryGetWithErr(u8),
    /// `optionally_get_with` whose loader finds nothing.
    OptionallyNone(u8),
    /// `compute` deciding by `m % 3`: nothing, put a new value, remove.
    Compute(u8, u8),
}

/// The fuzz weigher.
fn weight(v: u64) -> usize {
    (v % 5 + 1) as usize
}

/// Runs one fuzz input given as raw bytes.
pub fn run_cache_bytes(data: &[u8]) {
    if let Some((setup, ops)) = super::decode::<CacheSetup, CacheOp>(data) {
        run_cache(&setup, &ops);
    }
}

const MS: u64 = 1_000_000;

fn opt_ms(ms: u8) -> u64 {
    if ms == 0 {
        u64::MAX
    } else {
        u64::from(ms) * MS
    }
}

type Log = Arc<Mutex<Vec<(u64, u64, RemovalCause)>>>;

struct Model {
    /// key -> (value id, write deadline, last access)
    entries: HashMap<u64, (u64, u64, u64)>,
    tti: u64,
    cap: Option<usize>,
    reported: HashSet<u64>,
    /// Entries a write displaced from `entries` whose report is due from
    /// that write: value id -> (key, deadline, last access, live). A live
    /// one must be reported `Replaced`, an expired one `Expired`.
    displaced: HashMap<u64, (u64, u64, u64, bool)>,
    weighted: bool,
}

/// What one operation's reports held.
#[derive(Default)]
struct Heard {
    expired: usize,
    size: usize,
    /// The weight of the expired values heard.
    expired_weight: usize,
}

/// Victims an eviction step takes beyond the excess (`cache/evict.rs`).
fn batch(cap: usize) -> usize {
    (cap / 64).min(32)
}

impl Model {
    fn live(&self, k: u64, now: u64) -> Option<u64> {
        let &(v, expires, last) = self.entries.get(&k)?;
        (now < expires && now < last.saturating_add(self.tti)).then_some(v)
    }

    /// Applies the reports heard since the last call. `removes`: the
    /// operation may report `Removed`; `adds`: it added an entry, so it may
    /// have run an eviction step (`Size`). `Replaced` is expected exactly
    /// for the displaced live values, `Expired` for the displaced expired
    /// ones and anywhere a deadline has passed.
    fn hear(&mut self, log: &Log, now: u64, removes: bool, adds: bool) -> Heard {
        let mut heard = Heard::default();
        for (k, v, cause) in std::mem::take(&mut *log.lock().unwrap()) {
            assert!(self.reported.insert(v), "value {v} reported twice");
            match cause {
                RemovalCause::Expired => {
                    heard.expired += 1;
                    heard.expired_weight += weight(v);
                }
                RemovalCause::Size => {
                    assert!(self.cap.is_some(), "Size without a bound (key {k})");
                    assert!(adds, "Size from an operation that added no entry (key {k})");
                    heard.size += 1;
                }
                RemovalCause::Removed => {
                    assert!(removes, "Removed not expected here (key {k})")
                }
                RemovalCause::Replaced => {}
            }
            let (mv, expires, last) = match self.displaced.remove(&v) {
                Some((_, expires, last, live)) => {
                    let want = if live {
                        RemovalCause::Replaced
                    } else {
                        RemovalCause::Expired
                    };
                    assert_eq!(
                        cause, want,
                        "value {v} of key {k}, displaced by a write (live: {live})"
                    );
                    (v, expires, last)
                }
                None => {
                    assert_ne!(
                        cause,
                        RemovalCause::Replaced,
                        "Replaced for value {v} of key {k}, which no write displaced"
                    );
                    self.entries
                        .remove(&k)
                        .unwrap_or_else(|| panic!("{cause:?} for key {k}, which the model lacks"))
                }
            };
            assert_eq!(mv, v, "{cause:?} reported value {v}, key {k} holds {mv}");
            if cause == RemovalCause::Expired {
                assert!(
                    now >= expires || now >= last.saturating_add(self.tti),
                    "key {k} reported expired before its deadline"
                );
            }
        }
        assert!(
            self.displaced.is_empty(),
            "displaced values not reported: {:?}",
            self.displaced
        );
        heard
    }

    /// A write stores `v` for `k`: the entry it displaces must be reported
    /// by the same write.
    fn store(&mut self, k: u64, v: u64, expires: u64, now: u64) {
        let live = self.live(k, now).is_some();
        if let Some((old, oexp, olast)) = self.entries.insert(k, (v, expires, now)) {
            self.displaced.insert(old, (k, oexp, olast, live));
        }
    }

    /// After a write that added an entry: the bound holds, and if the
    /// write evicted, the cache is at most `batch` below it (entries it
    /// purged as expired come on top).
    fn check_bounds(&self, len: usize, heard: &Heard, step: usize) {
        let Some(cap) = self.cap else { return };
        if self.weighted {
            // `len` is the weight here: within the bound, and an eviction
            // stops as soon as it is (so less than one victim below it,
            // plus what it purged as expired).
            assert!(len <= cap, "step {step}: weight {len} > {cap}");
            if heard.size > 0 {
                assert!(
                    len + heard.expired_weight + weight(4) > cap,
                    "step {step}: an eviction left weight {len}, bound {cap}"
                );
            }
            return;
        }
        assert!(len <= cap, "step {step}: len {len} > {cap}");
        if heard.size > 0 {
            assert!(
                len + heard.expired + batch(cap) >= cap,
                "step {step}: an eviction left len {len} ({} expired purged), \
                 more than {} below the bound {cap}",
                heard.expired,
                batch(cap)
            );
        }
    }
}

/// Runs one decoded input.
pub fn run_cache(setup: &CacheSetup, ops: &[CacheOp]) {
    let clock = MockClock::new();
    let heard: Log = Arc::default();
    let h = Arc::clone(&heard);
    let (ttl, tti) = (opt_ms(setup.ttl_ms), opt_ms(setup.tti_ms));
    let cap = setup.cap.map(|c| 1 + usize::from(c % 40));
    let mut builder = SplitCache::builder()
        .layout(
            u32::from(setup.min_log2 % 5),
            1 + usize::from(setup.load_factor % 4),
        )
        .clock(clock.clone())
        .eviction_listener(move |k: &u64, v: &u64, cause| h.lock().unwrap().push((*k, *v, cause)));
    if ttl != u64::MAX {
        builder = builder.time_to_live(Duration::from_nanos(ttl));
    }
    if tti != u64::MAX {
        builder = builder.time_to_idle(Duration::from_nanos(tti));
    }
    if let Some(cap) = cap {
        builder = builder.max_capacity(cap);
    }
    if setup.weighted {
        builder = builder.weigher(|_k, v| weight(*v) as u32);
    }
    let cache = builder.build_with_hasher(FuzzState::new(setup.kind, setup.seed));
    let mut model = Model {
        entries: HashMap::new(),
        tti,
        cap,
        reported: HashSet::new(),
        displaced: HashMap::new(),
        weighted: setup.weighted,
    };
    // What the bound counts: entries, or their weight.
    let used = |cache: &SplitCache<u64, u64, FuzzState>| match cache.stats().weighted_size {
        Some(w) => w as usize,
        None => cache.len(),
    };
    let mut next = 0u64;
    for (step, op) in ops.iter().enumerate() {
        let now = clock.now().as_nanos() as u64;
        match *op {
            CacheOp::Insert(k) | CacheOp::InsertTtl(k, _) => {
                let k = u64::from(k % 32);
                let live = model.live(k, now);
                let v = next;
                next += 1;
                let (old, life) = match *op {
                    CacheOp::InsertTtl(_, t) => {
                        let t = (1 + u64::from(t)) * MS;
                        let old = cache.insert_with_ttl(k, v, Duration::from_nanos(t));
                        (old.map(|o| *o), t)
                    }
                    _ => (cache.insert(k, v).map(|o| *o), ttl),
                };
                assert_eq!(old, live, "step {step}: insert {k} returned the old value");
                model.store(k, v, now.saturating_add(life), now);
                // Over a live key it replaces: no entry added, no step
                // (unless weighted: the new value may weigh more).
                let h = model.hear(&heard, now, false, live.is_none() || setup.weighted);
                model.check_bounds(used(&cache), &h, step);
            }
            CacheOp::Get(k) => {
                let k = u64::from(k % 32);
                let live = model.live(k, now);
                assert_eq!(cache.get(&k), live, "step {step}: get {k}");
                model.hear(&heard, now, false, false);
                if live.is_some() {
                    model.entries.get_mut(&k).expect("live").2 = now;
                }
            }
            CacheOp::ContainsKey(k) => {
                let k = u64::from(k % 32);
                assert_eq!(cache.contains_key(&k), model.live(k, now).is_some());
            }
            CacheOp::Remove(k) => {
                let k = u64::from(k % 32);
                let live = model.live(k, now);
                assert_eq!(
                    cache.remove(&k).map(|v| *v),
                    live,
                    "step {step}: remove {k}"
                );
                model.hear(&heard, now, true, false);
            }
            CacheOp::GetOrInsert(k) => {
                let k = u64::from(k % 32);
                let live = model.live(k, now);
                let v = next;
                let got = *cache.get_or_insert_with(k, || v);
                match live {
                    Some(old) => {
                        assert_eq!(got, old, "step {step}: get_or_insert_with {k}");
                        model.hear(&heard, now, false, false);
                        model.entries.get_mut(&k).expect("live").2 = now;
                    }
                    None => {
                        assert_eq!(got, v, "step {step}: get_or_insert_with {k} inserted");
                        next += 1;
                        model.store(k, v, now.saturating_add(ttl), now);
                        let h = model.hear(&heard, now, false, true);
                        model.check_bounds(used(&cache), &h, step);
                    }
                }
            }
            CacheOp::GetWith(k) => {
                let k = u64::from(k % 32);
                let live = model.live(k, now);
                let v = next;
                let got = cache.get_with(k, || v);
                match live {
                    Some(old) => {
                        assert_eq!(got, old, "step {step}: get_with {k}");
                        model.hear(&heard, now, false, false);
                        model.entries.get_mut(&k).expect("live").2 = now;
                    }
                    None => {
                        assert_eq!(got, v, "step {step}: get_with {k} loaded");
                        next += 1;
                        model.store(k, v, now.saturating_add(ttl), now);
                        let h = model.hear(&heard, now, false, true);
                        model.check_bounds(used(&cache), &h, step);
                    }
                }
                assert_eq!(cache.stats().loads_in_progress, 0);
            }
            CacheOp::TryGetWithErr(k) | CacheOp::OptionallyNone(k) => {
                let k = u64::from(k % 32);
                let live = model.live(k, now);
                let got = match *op {
                    CacheOp::TryGetWithErr(_) => cache.try_get_with(k, || Err(k)).ok(),
                    _ => cache.optionally_get_with(k, || None),
                };
                assert_eq!(got, live, "step {step}: a failed load of {k}");
                // A miss may purge the key's expired entry.
                model.hear(&heard, now, false, false);
                if live.is_some() {
                    model.entries.get_mut(&k).expect("live").2 = now;
                }
                assert_eq!(cache.stats().loads_in_progress, 0);
            }
            CacheOp::Compute(k, m) => {
                let k = u64::from(k % 32);
                let live = model.live(k, now);
                let v = next;
                let mut seen = None;
                let r = cache.compute(k, |cur| {
                    seen = Some(cur.copied());
                    match m % 3 {
                        0 => Op::Nop,
                        1 => Op::Put(v),
                        _ => Op::Remove,
                    }
                });
                assert_eq!(seen, Some(live), "step {step}: compute {k} saw");
                let value = r.value().copied();
                match (m % 3, live) {
                    (0 | 2, None) => {
                        assert!(matches!(r, CompResult::StillNone), "step {step}")
                    }
                    (0, Some(old)) => {
                        assert!(matches!(r, CompResult::Unchanged(_)) && value == Some(old))
                    }
                    (1, live) => {
                        match live {
                            Some(_) => assert!(matches!(r, CompResult::ReplacedWith(_))),
                            None => assert!(matches!(r, CompResult::Inserted(_))),
                        }
                        assert_eq!(value, Some(v), "step {step}: compute stored");
                        next += 1;
                        model.store(k, v, now.saturating_add(ttl), now);
                    }
                    (_, Some(old)) => {
                        assert!(matches!(r, CompResult::Removed(_)) && value == Some(old))
                    }
                    (_, None) => unreachable!("m % 3 < 3"),
                }
                drop(r);
                let adds = m % 3 == 1 && (live.is_none() || setup.weighted);
                let h = model.hear(&heard, now, m % 3 == 2, adds);
                if adds {
                    model.check_bounds(used(&cache), &h, step);
                }
            }
            CacheOp::Retain(m) => {
                let m = 2 + u64::from(m % 4);
                cache.retain(|k, _| k % m != 0);
                model.hear(&heard, now, true, false);
                for &k in model.entries.keys() {
                    assert!(
                        k % m != 0 || model.live(k, now).is_none(),
                        "retain kept {k}"
                    );
                }
            }
            CacheOp::Clear => {
                cache.clear();
                model.hear(&heard, now, true, false);
                assert!(model.entries.is_empty(), "clear left {:?}", model.entries);
            }
            CacheOp::PurgeExpired | CacheOp::RunPendingTasks => {
                if matches!(op, CacheOp::PurgeExpired) {
                    cache.purge_expired();
                } else {
                    cache.run_pending_tasks();
                }
                // `run_pending_tasks` runs an eviction step too, but the
                // bound held after every insert, so it has nothing to evict.
                model.hear(&heard, now, false, false);
                assert!(
                    model.entries.keys().all(|&k| model.live(k, now).is_some()),
                    "step {step}: an expired entry survived the purge"
                );
                assert_eq!(cache.len(), model.entries.len());
            }
            CacheOp::Advance(ms) => clock.advance(Duration::from_millis(u64::from(ms))),
        }
        assert!(
            cache.len()
                >= model
                    .entries
                    .keys()
                    .filter(|&&k| model.live(k, now).is_some())
                    .count()
        );
        if setup.weighted {
            // The model keeps an entry until its report, as the cache
            // keeps its weight until the departure: equal on one thread.
            let want: usize = model.entries.values().map(|e| weight(e.0)).sum();
            assert_eq!(used(&cache), want, "step {step}: the cache's weight");
        }
    }
    let now = clock.now().as_nanos() as u64;
    cache.clear();
    model.hear(&heard, now, true, false);
    assert!(model.entries.is_empty());
    // Get-or-insert may draw an id and not use it; every other id was used.
    assert_eq!(model.reported.len() as u64, cache.stats().departures());
    let s = cache.stats();
    assert_eq!(s.departures(), s.insertions + s.replaced);
}
