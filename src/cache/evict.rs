//! The size bound: TinyLFU admission over the list, from the core's
//! rotating sweep cursor, and the thread-local state every walk of a cache
//! reads (the operation's clock reading and its eviction budget).
//!
//! ## The eviction step
//! An insert that adds an entry and finds `len() > max_capacity` runs one
//! eviction step before it returns. It sets a budget of
//! `len - max_capacity + batch` victims (`batch = min(32, max_capacity /
//! 64)`, so the inserts right after a step find room and run none) and
//! sweeps bounded stretches of the list (128 nodes each, from the core's
//! bucket cursor, consecutive stretches far apart):
//! - rounds 1-2 admit: a live entry is a victim only if its key was asked
//!   for less often lately than the new entry's (the frequency sketch,
//!   `stats::FrequencySketch`: every read, hit or miss, and every write
//!   counts, a get-then-insert of one key once). The new entry itself is
//!   never its own victim. A one-time key thus cannot push out a key that
//!   is asked for again and again (the scan and loop rows of
//!   `examples/cache_hit_ratio.rs`). A newcomer counted only once lately
//!   (the request that brought it) runs no stretch: it could displace only
//!   a resident counted 0 times, and is refused (`MIN_NEWCOMER_FREQUENCY`);
//! - if the rounds found too few victims, **the new entry is refused**: it
//!   is removed again (exactly that entry: a concurrent replace or remove
//!   of the key wins over it and is reported instead), reported as `Size`,
//!   and `insert` still returns what it replaced (nothing). `insert` of a
//!   key with no live entry into a full unweighted cache runs the same
//!   admission stretch *before* it publishes the entry (`admit`), and a
//!   refused entry is then never stored (reported as `Size` all the same):
//!   no allocation, insert and unlink for a refusal. As in moka
//!   and Caffeine, an insert into a full cache is a request, not a promise;
//!   a write without a new entry to weigh (a replace that made an entry
//!   heavier, `purge_expired`) raises the bar each round instead (below 1,
//!   then below 4);
//! - still over the bound (other writers meanwhile, a weight): two rounds
//!   that take any live entry;
//! - if the budget is still not spent and the cache is still over its
//!   bound, one full walk takes any live entry (only a cache whose list is
//!   shorter than the stretches' reach, or one being emptied concurrently,
//!   gets here).
//!
//! **Expired entries first.** Before any of that, if the cache's deadline
//! floor (`clock::DeadlineFloor`: a lower bound on every entry's deadline,
//! kept by the writers without a walk) says an entry may have expired at
//! the step's clock reading, one walk of the whole list purges every
//! expired entry (as the floor's recording walk, which raises the floor
//! to the earliest deadline left; or, while another thread records, as a
//! plain purge: never wait). Only if the cache is still over its bound
//! does the step go on to live entries. So a live entry is evicted only
//! when no entry expired at that reading remains (but those written
//! meanwhile). Cost: one walk per eviction step that finds the floor
//! passed, which in steady TTL traffic is once per expiry of the oldest
//! survivor, not once per insert.
//!
//! Expired entries the stretches meet are purged on the way and count
//! toward the bound, not the budget. The step stops as soon as the budget
//! is spent or `len() <= max_capacity`.
//!
//! A victim is evicted by the sweep's own mark CAS on its node (the same CAS
//! that purges an expired entry), so it is exactly that node, and a race
//! with a `remove` or a replace of the same key has one winner and one
//! notification.
//!
//! ## The bound
//! Each insert that took the cache over `max_capacity` evicts its own excess
//! before returning, so `len() <= max_capacity + T`, where `T` is the number
//! of inserts in progress at that moment (each adds at most one entry before
//! its step runs), and the excess lasts for the duration of those inserts.
//! An insert evicts at most `len - max_capacity + batch` entries, so the
//! cache dips at most `batch` (per concurrent step) below the bound.
//! `len()` counts expired entries not yet purged, so they never make room
//! for more live ones than the bound allows. It is the cache's one shared
//! count (`stats.rs`), not the map's per-thread stripes: a sum of stripes
//! read by a thread that is preempted midway misses every write made
//! meanwhile, and the step would then chase (or the bound would report) an
//! excess that does not exist.
//!

use super::entry::{CacheCtx, CacheEntry, SameEntry};
use super::listener::RemovalCause;
use super::sweep;
use crate::ops::Core;
use crate::sync::Guard;

/// Nodes an admission stretch visits (sentinels included): the candidates a
/// newcomer is weighed against. Measured (`docs/decisions.md`, issue 19 §1
/// and §2): 16 keeps hit ratios within 0.005 of two stretches of 128 on
/// every row of `cache_hit_ratio`. 8 keeps those rows too at a sixth fewer
/// instructions per request, but in a small cache (64 entries) a stretch
/// of 8 then often meets too few rarely asked residents, and a newcomer
/// asked for more often than they were is refused
/// (`tests/cache.rs::admission_evicts_keys_asked_for_less_often`).
const ADMISSION_NODES: usize = 16;
/// A newcomer counted fewer times lately than this (once: the request
/// that brought it) is refused without an admission stretch: it could only
/// displace a resident counted 0 times, and the stretch that looks for one
/// costs more than the rare find is worth (measured: `docs/decisions.md`,
/// issue 19 §2, hit ratios unchanged on every row of `cache_hit_ratio`).
/// Such residents go to the first newcomer asked for twice.
const MIN_NEWCOMER_FREQUENCY: u64 = 2;
/// The frequency bars of the admission stretches of a step without a
/// newcomer (a replace that made an entry heavier, `run_pending_tasks`):
/// keys never counted lately first, then rarely counted ones.
const BARS_WITHOUT_NEWCOMER: [u64; 2] = [1, 4];
/// Bounded stretches that take any live entry, before the full walk.
const FORCED_ROUNDS: usize = 2;
/// Nodes a forced stretch visits.
const FORCED_NODES: usize = 128;

/// Victims an eviction step takes beyond the excess.
pub(crate) fn batch(max_capacity: usize) -> usize {
    (max_capacity / 64).min(32)
}

/// The entry an eviction step admits: the insert's own new entry and the
/// cache's hash of its key.
pub(crate) type Newcomer<'g, K, V> = Option<(&'g CacheEntry<K, V>, u64)>;

/// Admission before a fresh key's entry is published (unweighted caches):
/// if the cache is full, one admission stretch weighs the newcomer (its
/// fingerprint `fp`) against the entries it meets and evicts those asked
/// for less often (up to the excess and a batch). `false` if the cache is
/// still full: the caller refuses the entry without publishing it, which
/// spares the allocation, the insert and the unlink that refusing a
/// published entry costs (see the module docs; `docs/decisions.md`).
pub(crate) fn admit<K, V, S>(
    core: &Core<CacheEntry<K, V>, S, CacheCtx<K, V>>,
    guard: &Guard,
    fp: u32,
) -> bool
where
    K: Eq + Send + 'static,
    V: Send + 'static,
{
    let ctx = core.ctx();
    let cap = ctx.max_capacity;
    if ctx.weigher.is_some() || ctx.used() < cap {
        return true;
    }
    let now = sweep::state(ctx.id(), || ctx.clock.now()).now;
    if ctx.floor.may_have_expired(now) {
        purge_walk(ctx, || core.compact_in(guard));
        if ctx.used() < cap {
            return true;
        }
    }
    let admit_below = ctx.counters.frequency(fp);
    if admit_below < MIN_NEWCOMER_FREQUENCY {
        return false;
    }
    let want = (ctx.used() + 1).saturating_sub(cap) + batch(cap);
    sweep::update(ctx.id(), |s| {
        s.budget = want;
        s.force = false;
        s.admit_below = admit_below;
        s.spare = 0;
    });
    core.sweep_some(ADMISSION_NODES, guard);
    sweep::update(ctx.id(), |s| {
        s.budget = 0;
        s.admit_below = 0;
    });
    ctx.used() < cap
}

/// The eviction step (see the module docs). Call inside a
/// [`SweepScope`](sweep::SweepScope) of this cache, after a write that
/// added an entry (`newcomer`, when the write has it) or made one heavier.
pub(crate) fn enforce_bound<K, V, S>(
    core: &Core<CacheEntry<K, V>, S, CacheCtx<K, V>>,
    guard: &Guard,
    newcomer: Newcomer<'_, K, V>,
) where
    K: Eq + Send + 'static,
    V: Send + 'static,
{
    let ctx = core.ctx();
    let cap = ctx.max_capacity;
    if ctx.used() <= cap {
        return;
    }
    // Expired entries make room first: if any entry may have expired at
    // this operation's clock reading, one walk purges them all before a
    // live entry is chosen.
    let now = sweep::state(ctx.id(), || ctx.clock.now()).now;
    if ctx.floor.may_have_expired(now) {
        purge_walk(ctx, || core.compact_in(guard));
        if ctx.used() <= cap {
            return;
        }
    }
    // Entries: the excess and a batch. Weighted: the victims' weights are
    // unknown ahead, so the budget only caps the victims (every entry), and
    // `is_dead` takes one only while the weight is over the bound.
    let want = if ctx.weigher.is_some() {
        ctx.counters.live().unwrap_or(0)
    } else {
        ctx.used().saturating_sub(cap) + batch(cap)
    };
    let left = |ctx: &CacheCtx<K, V>| sweep::budget_left(ctx.id());
    let done = |ctx: &CacheCtx<K, V>| left(ctx) == 0 || ctx.used() <= cap;
    // Admission: victims only among keys asked for less often than the
    // newcomer's: one stretch. Without a newcomer, the bar rises.
    let newcomer_bar;
    let bars: &[u64] = match newcomer {
        Some((e, _)) => {
            let bar = ctx.counters.frequency(e.fp);
            newcomer_bar = [bar];
            // A newcomer seen once lately weighs in with no stretch.
            let stretches = usize::from(bar >= MIN_NEWCOMER_FREQUENCY);
            &newcomer_bar[..stretches]
        }
        None => &BARS_WITHOUT_NEWCOMER,
    };
    sweep::update(ctx.id(), |s| {
        s.budget = want;
        s.force = false;
        s.spare = newcomer.map_or(0, |(e, _)| e as *const CacheEntry<K, V> as usize);
    });
    for &admit_below in bars {
        sweep::update(ctx.id(), |s| s.admit_below = admit_below);
        core.sweep_some(ADMISSION_NODES, guard);
        if done(ctx) {
            break;
        }
    }
    // No resident was asked for less often: the newcomer is refused (an
    // eviction of its own entry, reported as `Size`), as TinyLFU does.
    if !done(ctx) {
        if let Some((e, hash)) = newcomer {
            let mut same = SameEntry::new(e, now, ctx.tti);
            if let Some(gone) = core.remove_if(hash, &mut same, |_| true, guard) {
                ctx.report_departure(gone, RemovalCause::Size);
                sweep::spend_one(ctx.id());
            }
        }
    }
    // Still over (other writers, a weight, no newcomer): any live entry.
    if !done(ctx) {
        sweep::update(ctx.id(), |s| s.force = true);
        for _ in 0..FORCED_ROUNDS {
            core.sweep_some(FORCED_NODES, guard);
            if done(ctx) {
                break;
            }
        }
    }
    if !done(ctx) {
        sweep::update(ctx.id(), |s| s.force = true);
        core.compact_in(guard);
    }
    sweep::update(ctx.id(), |s| {
        s.budget = 0;
        s.force = false;
        s.admit_below = 0;
        s.spare = 0;
    });
}

/// Runs `walk`, a walk of the whole list that purges expired entries, as
/// the deadline floor's recording walk if no other thread runs one (else
/// as a plain purge: it must not wait). Call inside a
/// [`SweepScope`](sweep::SweepScope) of this cache. Returns what `walk`
/// returns.
pub(crate) fn purge_walk<K, V, R>(ctx: &CacheCtx<K, V>, walk: impl FnOnce() -> R) -> R {
    let recording = ctx.floor.begin_walk();
    sweep::update(ctx.id(), |s| {
        s.budget = 0;
        s.force = false;
        s.record_floor = recording;
    });
    let out = walk();
    sweep::update(ctx.id(), |s| s.record_floor = false);
    if recording {
        ctx.floor.end_walk();
    }
    out
}
