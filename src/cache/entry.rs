//! The entry kind of `SplitCache`: a strong key and its value with a write
//! deadline and an access word, and the probes that find it at a given
//! clock reading.
//!
//! **Expired is dead.** An entry whose deadline has passed is dead to the
//! list exactly as a weak entry whose key died: probes answer `Match::Dead`
//! for it (a write that meets it marks and unlinks it; reads skip it), and
//! sweeps purge it (`RawEntry::is_dead`), including the purge before the
//! directory grows, which keeps steady TTL traffic flat without any call.
//! The thread whose CAS marked it reports it (`on_dead_marked`).
//!
//! **The cause is decided once.** Whoever finds an entry dead (a probe, or
//! `is_dead` in a sweep) says why: [`Death`], the entry kind's
//! `RawEntry::Death`, travels with the mark to `on_dead_marked`, which
//! reports that cause and never looks at the entry again. Looking again
//! would be wrong: a reader whose clock reading is older than the marking
//! thread's may touch the entry between the decision and the report, so it
//! no longer looks expired at the marking thread's reading, yet it was
//! expired when found (and is gone now); reporting anything but `Expired`
//! would call it a size eviction, even in a cache with no bound.
//!
//! **Size victims are dead too, for one thread.** The size bound's
//! eviction step (`evict.rs`) runs a bounded sweep with an eviction budget
//! in the thread's sweep state (`sweep.rs`); during that sweep `is_dead` also answers yes for a
//! live entry admission picks (its key asked for less often than the new
//! entry's, or any entry once the step is forced), and the sweep's mark
//! CAS evicts exactly that node.
//! Every other walk sees a budget of zero.
//!
//! The node stays immutable except for `touch`, an atomic word readers
//! update: the last access time (for time to idle), and `deadline`, which an
//! expiry policy may move at a read. (How often a key is asked for lives
//! in the cache's frequency sketch, not in the node.)

use super::clock::{CacheClock, DeadlineFloor, Expiry};
use super::listener::{notify, Listener, RemovalCause};
use super::stats::Counters;
use super::sweep;
use crate::ops::entry_kind::{Entry, Match, OwnedKey, Probe, RawEntry};
use crate::sync::{AtomicU64, Ordering};
use core::borrow::Borrow;

/// A deadline that never comes (no TTL, no TTI, no bound).
pub(crate) const NEVER: u64 = u64::MAX;

/// A key's fingerprint from the cache's hash of it.
#[inline]
pub(crate) fn fingerprint(hash: u64) -> u32 {
    (hash >> 32) as u32
}

/// The user's weigher.
pub(crate) type Weigher<K, V> = Box<dyn Fn(&K, &V) -> u32 + Send + Sync>;

/// The time from `now` until `deadline`, as a policy sees it.
fn remaining(deadline: u64, now: u64) -> Option<core::time::Duration> {
    (deadline != NEVER).then(|| core::time::Duration::from_nanos(deadline.saturating_sub(now)))
}

/// The deadline `answer` from `now` means.
fn after(now: u64, answer: Option<core::time::Duration>) -> u64 {
    answer.map_or(NEVER, |d| {
        now.saturating_add(super::clock::duration_nanos(d))
    })
}

/// Low bits of `touch` kept clear (they held the CLOCK reference bit
/// before admission replaced it); the time is above them (a cache's time
/// fits 62 bits: `clock::MAX_READING`, so the shift never drops a bit).
const FLAG_BITS: u32 = 2;

/// One cache entry, inline in an immutable list node.
pub(crate) struct CacheEntry<K, V> {
    pub(crate) key: K,
    pub(crate) value: V,
    /// Cache time (ns) at which the entry expires regardless of reads:
    /// write time plus the time to live (the cache's, or `insert_with_ttl`'s),
    /// capped by an expiry policy's answer, or [`NEVER`]. Atomic because a
    /// policy may move it at a read (`expire_after_read`); a move is noted
    /// in the cache's deadline floor.
    deadline: AtomicU64,
    /// `last_access << FLAG_BITS`: the cache time of the last read or write
    /// (time to idle counts from it; kept only with a time to idle). The
    /// time is the cache's (`clock::CacheClock`: at most 62 bits), so the
    /// shift never drops a bit of it.
    touch: AtomicU64,
    /// The weigher's answer (1 without a weigher), kept so a departure
    /// takes back exactly what the entry added.
    pub(crate) weight: u32,
    /// The key's fingerprint (the top half of the cache's hash of it): its
    /// place in the frequency sketch (`stats::FrequencySketch`), which the
    /// eviction step reads for each entry it passes (the entry kind has no
    /// hasher). Shares the word with `weight`: no extra bytes.
    pub(crate) fp: u32,
}

impl<K, V> CacheEntry<K, V> {
    fn new(key: K, value: V, deadline: u64, now: u64, weight: u32, fp: u32) -> Self {
        CacheEntry {
            key,
            value,
            deadline: AtomicU64::new(deadline),
            touch: AtomicU64::new(now << FLAG_BITS),
            weight,
            fp,
        }
    }

    /// The write deadline (see `deadline`).
    #[inline]
    pub(crate) fn deadline(&self) -> u64 {
        self.deadline.load(Ordering::Relaxed)
    }

    /// Moves the write deadline (an expiry policy's answer at a read, or a
    /// rewrite of the same entry's value); the caller notes it in the floor.
    #[inline]
    pub(crate) fn set_deadline(&self, deadline: u64) {
        self.deadline.store(deadline, Ordering::Relaxed);
    }

    /// Whether the entry has expired at clock reading `now` (`tti` is the
    /// cache's time to idle, or `NEVER`). Exactly at the deadline counts as
    /// expired.
    #[inline]
    pub(crate) fn expired(&self, now: u64, tti: u64) -> bool {
        now >= self.deadline()
            || (tti != NEVER
                && now >= (self.touch.load(Ordering::Relaxed) >> FLAG_BITS).saturating_add(tti))
    }

    /// The earliest this entry can expire, as far as it knows now: its write
    /// deadline, or its last access plus the time to idle (which reads only
    /// move later).
    #[inline]
    pub(crate) fn earliest_deadline(&self, tti: u64) -> u64 {
        let idle = if tti == NEVER {
            NEVER
        } else {
            (self.touch.load(Ordering::Relaxed) >> FLAG_BITS).saturating_add(tti)
        };
        self.deadline().min(idle)
    }

    /// Records a read at `now`: refreshes the idle time. Reads the word
    /// first: a hot entry read within one clock tick costs no write.
    #[inline]
    pub(crate) fn touch(&self, now: u64) {
        let want = now << FLAG_BITS;
        if self.touch.load(Ordering::Relaxed) < want {
            // `fetch_max`: a reader with an older clock reading never moves
            // the last access back.
            self.touch.fetch_max(want, Ordering::Relaxed);
        }
    }
}

/// Why a cache entry was found dead: the entry kind's `RawEntry::Death`,
/// decided by the probe or the `is_dead` call that found it and reported as
/// is (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Death {
    /// Its deadline had passed at the finder's clock reading.
    Expired,
    /// This thread's eviction step picked it (admission, or a forced
    /// round).
    SizeVictim,
}

impl Death {
    fn cause(self) -> RemovalCause {
        match self {
            Death::Expired => RemovalCause::Expired,
            Death::SizeVictim => RemovalCause::Size,
        }
    }
}

/// What every entry of one cache shares, held once by its raw map
/// (`RawEntry::Ctx`): the clock, the expiry and size settings, the
/// listener and the event counters.
pub(crate) struct CacheCtx<K, V> {
    pub(crate) clock: CacheClock,
    /// Time to live in ns, or `NEVER`.
    pub(crate) ttl: u64,
    /// Time to idle in ns, or `NEVER`.
    pub(crate) tti: u64,
    /// The time to live and to idle as configured (reported back as given,
    /// even where the ns figures saturate to `NEVER`).
    pub(crate) ttl_set: Option<core::time::Duration>,
    pub(crate) tti_set: Option<core::time::Duration>,
    /// The size bound, or `usize::MAX`.
    pub(crate) max_capacity: usize,
    /// Whether reads must update `touch` (a time to idle).
    pub(crate) track_access: bool,
    pub(crate) listener: Option<Listener<K, V>>,
    /// The weigher (`CacheBuilder::weigher`): `max_capacity` is then in
    /// weight units.
    pub(crate) weigher: Option<Weigher<K, V>>,
    /// The per-entry expiry policy (`CacheBuilder::expire_after`).
    pub(crate) expiry: Option<Box<dyn Expiry<K, V>>>,
    pub(crate) counters: Counters,
    /// A lower bound on every entry's deadline (`clock.rs`), so the size
    /// bound evicts no live entry while an expired one remains.
    /// (With no expiry at all every deadline is `NEVER`, which no cache
    /// time reaches, so the floor never asks for a walk.)
    pub(crate) floor: DeadlineFloor,
}

impl<K, V> CacheCtx<K, V> {
    /// This context's identity for the thread-local sweep state.
    #[inline]
    pub(crate) fn id(&self) -> usize {
        self as *const Self as usize
    }

    /// Counts and reports a departure.
    pub(crate) fn report_departure(&self, entry: &CacheEntry<K, V>, cause: RemovalCause) {
        self.counters.count_departure(cause, entry.weight);
        if let Some(listener) = &self.listener {
            notify(listener, &entry.key, &entry.value, cause);
        }
    }

    /// What the size bound counts now: entries, or their weight.
    #[inline]
    /// A write's new entry refused by admission before it was published:
    /// counted, and reported to the listener as `Size`.
    pub(crate) fn report_refused(&self, key: &K, value: &V) {
        self.counters.refused();
        if let Some(listener) = &self.listener {
            notify(listener, key, value, RemovalCause::Size);
        }
    }

    /// How much of the bound is used: the weight with a weigher, else the
    /// live count; 0 in an unbounded cache (which keeps no count: nothing
    /// to bound).
    pub(crate) fn used(&self) -> usize {
        if self.weigher.is_some() {
            self.counters.weight()
        } else {
            self.counters.live().unwrap_or(0)
        }
    }

    /// The weight of `key -> value` (1 without a weigher).
    #[inline]
    fn weigh(&self, key: &K, value: &V) -> u32 {
        self.weigher.as_ref().map_or(1, |w| w(key, value))
    }

    /// The deadline of an entry written at `now` with time to live `ttl`:
    /// the policy's answer (create, or update of an entry whose deadline
    /// was `old`) capped by `now + ttl`.
    fn write_deadline(&self, key: &K, value: &V, now: u64, ttl: u64, old: Option<u64>) -> u64 {
        let by_ttl = now.saturating_add(ttl);
        let Some(policy) = &self.expiry else {
            return by_ttl;
        };
        let answer = match old {
            None => policy.expire_after_create(key, value),
            Some(old) => policy.expire_after_update(key, value, remaining(old, now)),
        };
        by_ttl.min(after(now, answer))
    }

    /// An expiry policy's answer at a read of `entry` at `now`: the entry's
    /// new write deadline, if the policy moves it.
    #[inline]
    pub(crate) fn read_deadline(&self, entry: &CacheEntry<K, V>, now: u64) -> Option<u64> {
        let policy = self.expiry.as_ref()?;
        let old = entry.deadline();
        let answer = policy.expire_after_read(&entry.key, &entry.value, remaining(old, now));
        let new = after(now, answer);
        (new != old).then_some(new)
    }
}

impl<K: Eq, V> RawEntry for CacheEntry<K, V> {
    type Ctx = CacheCtx<K, V>;
    type Death = Death;
    const CAN_DIE: bool = true;

    #[inline]
    fn same_key(&self, other: &Self) -> bool {
        self.key == other.key
    }

    /// Expired at the running operation's clock reading, or picked by this
    /// thread's eviction step (see the module docs).
    #[inline]
    fn is_dead(&self, ctx: &CacheCtx<K, V>) -> Option<Death> {
        let sweep = sweep::state(ctx.id(), || ctx.clock.now());
        if self.expired(sweep.now, ctx.tti) {
            return Some(Death::Expired);
        }
        if sweep.record_floor {
            ctx.floor.note(self.earliest_deadline(ctx.tti));
        }
        if sweep.budget == 0 || sweep.spare == self as *const Self as usize {
            return None;
        }
        // Weighted: victims only while the weight is over the bound (the
        // budget is a cap on victims there, not the target).
        if ctx.weigher.is_some() && ctx.counters.weight() <= ctx.max_capacity {
            return None;
        }
        // Admission (`evict.rs`): a victim's key was asked for less often
        // than the new entry's.
        (sweep.force || ctx.counters.frequency(self.fp) < sweep.admit_below)
            .then_some(Death::SizeVictim)
    }

    /// This thread's CAS marked the entry: report it with the cause decided
    /// when it was found dead (never re-read: see the module docs). A size
    /// victim spends one unit of the eviction step's budget.
    fn on_dead_marked(&self, ctx: &CacheCtx<K, V>, death: Death) {
        if death == Death::SizeVictim {
            sweep::spend_one(ctx.id());
        }
        ctx.report_departure(self, death.cause());
    }
}

impl<K: Eq, V> Entry for CacheEntry<K, V> {
    type Value = V;

    #[inline]
    fn value(&self) -> &V {
        &self.value
    }
}

/// A borrowed key `&Q` compared at one clock reading: an equal key whose
/// entry has expired is `Dead`.
pub(crate) struct CacheProbe<'q, Q: ?Sized> {
    key: &'q Q,
    now: Reading<'q>,
    tti: u64,
    /// Set when the probe met an expired entry of its key (a read then
    /// purges it).
    pub(crate) met_expired: bool,
}

/// The clock reading a probe compares at: taken by the operation, or read
/// from the clock the first time an entry that can expire needs it.
#[derive(Clone, Copy)]
enum Reading<'c> {
    Taken(u64),
    Lazy(&'c CacheClock),
}

impl<'q, Q: ?Sized> CacheProbe<'q, Q> {
    #[inline]
    pub(crate) fn new(key: &'q Q, now: u64, tti: u64) -> Self {
        CacheProbe {
            key,
            now: Reading::Taken(now),
            tti,
            met_expired: false,
        }
    }

    /// A probe that reads `clock` only if it meets an entry of its key that
    /// can expire (one with a deadline, or any with a time to idle): a read
    /// of a cache without expiry never reads the clock. The reading is
    /// taken while the entry is looked at, inside the operation, so the
    /// read is as if it had read the clock first.
    #[inline]
    pub(crate) fn with_clock(key: &'q Q, clock: &'q CacheClock, tti: u64) -> Self {
        CacheProbe {
            key,
            now: Reading::Lazy(clock),
            tti,
            met_expired: false,
        }
    }

    /// The probe's clock reading (taken now if it was lazy).
    #[inline]
    pub(crate) fn now(&mut self) -> u64 {
        match self.now {
            Reading::Taken(now) => now,
            Reading::Lazy(clock) => {
                let now = clock.now();
                self.now = Reading::Taken(now);
                now
            }
        }
    }

    /// Whether `stored` has expired at the probe's reading; an entry that
    /// cannot expire is answered without one.
    #[inline]
    fn has_expired<K, V>(&mut self, stored: &CacheEntry<K, V>) -> bool {
        match self.now {
            Reading::Taken(now) => stored.expired(now, self.tti),
            Reading::Lazy(_) if self.tti == NEVER && stored.deadline() == NEVER => false,
            Reading::Lazy(_) => self.expired_at_new_reading(stored),
        }
    }

    /// `has_expired` when a reading must be taken: out of line, so the
    /// probe stays small enough for the lookup walk to be inlined.
    #[inline(never)]
    fn expired_at_new_reading<K, V>(&mut self, stored: &CacheEntry<K, V>) -> bool {
        let now = self.now();
        stored.expired(now, self.tti)
    }
}

impl<K, V, Q> Probe<CacheEntry<K, V>> for CacheProbe<'_, Q>
where
    K: Borrow<Q> + Eq,
    Q: Eq + ?Sized,
{
    #[inline]
    fn probe(&mut self, stored: &CacheEntry<K, V>) -> Match<Death> {
        if stored.key.borrow() != self.key {
            Match::NotEqual
        } else if self.has_expired(stored) {
            self.met_expired = true;
            Match::Dead(Death::Expired)
        } else {
            Match::Equal
        }
    }
}

/// The key of a stored entry (for `retain`, which decides on whatever entry
/// holds that key now), at one clock reading.
pub(crate) struct StoredKeyProbe<'e, K, V> {
    entry: &'e CacheEntry<K, V>,
    now: u64,
    tti: u64,
}

impl<'e, K, V> StoredKeyProbe<'e, K, V> {
    pub(crate) fn new(entry: &'e CacheEntry<K, V>, now: u64, tti: u64) -> Self {
        StoredKeyProbe { entry, now, tti }
    }
}

impl<K: Eq, V> Probe<CacheEntry<K, V>> for StoredKeyProbe<'_, K, V> {
    #[inline]
    fn probe(&mut self, stored: &CacheEntry<K, V>) -> Match<Death> {
        if stored.key != self.entry.key {
            Match::NotEqual
        } else if stored.expired(self.now, self.tti) {
            Match::Dead(Death::Expired)
        } else {
            Match::Equal
        }
    }
}

/// One entry, by address, at one clock reading (a removal conditional on
/// the entry a closure decided on). Other entries of its key read as
/// absent: for removals only.
pub(crate) struct SameEntry<'e, K, V> {
    entry: &'e CacheEntry<K, V>,
    now: u64,
    tti: u64,
}

impl<'e, K, V> SameEntry<'e, K, V> {
    pub(crate) fn new(entry: &'e CacheEntry<K, V>, now: u64, tti: u64) -> Self {
        SameEntry { entry, now, tti }
    }
}

impl<K: Eq, V> Probe<CacheEntry<K, V>> for SameEntry<'_, K, V> {
    #[inline]
    fn probe(&mut self, stored: &CacheEntry<K, V>) -> Match<Death> {
        if !core::ptr::eq(stored, self.entry) {
            Match::NotEqual
        } else if stored.expired(self.now, self.tti) {
            Match::Dead(Death::Expired)
        } else {
            Match::Equal
        }
    }
}

/// An owned key on its way into a node: builds the entry with its
/// deadline (the time to live, the expiry policy) and its weight, as of the
/// write's clock reading.
pub(crate) struct CacheKey<'c, K, V> {
    key: Option<K>,
    ctx: &'c CacheCtx<K, V>,
    /// The key's fingerprint (`CacheEntry::fp`).
    fp: u32,
    now: u64,
    /// This write's time to live (the cache's, or `insert_with_ttl`'s).
    ttl: u64,
    /// The deadline of the live entry of this key the write last met (for
    /// the policy's `expire_after_update`), if any.
    met: Option<u64>,
    /// The deadline and weight of the entry last built.
    made: (u64, u32),
    /// Match only this entry (compared by address, never read through):
    /// a write conditional on the entry a closure decided on (`compute`).
    /// Any other entry of the key then reads as absent, which is safe only
    /// where the operation never inserts on "absent" (`Core::compute` with
    /// a closure that answers `None` to `None`).
    only: Option<*const CacheEntry<K, V>>,
}

impl<'c, K, V> CacheKey<'c, K, V> {
    #[inline]
    pub(crate) fn new(key: K, hash: u64, ctx: &'c CacheCtx<K, V>, now: u64, ttl: u64) -> Self {
        CacheKey {
            key: Some(key),
            ctx,
            fp: fingerprint(hash),
            now,
            ttl,
            met: None,
            made: (NEVER, 1),
            only: None,
        }
    }

    /// Matches `entry` only (see `only`).
    pub(crate) fn only(mut self, entry: &CacheEntry<K, V>) -> Self {
        self.only = Some(entry);
        self
    }

    /// The key, if no published entry took it.
    pub(crate) fn into_key(self) -> Option<K> {
        self.key
    }

    /// Whether the key is in a published entry (after the operation: it was
    /// inserted, not handed back).
    #[inline]
    pub(crate) fn moved(&self) -> bool {
        self.key.is_none()
    }

    /// The earliest deadline of the entry last built (for the floor).
    #[inline]
    pub(crate) fn made_deadline(&self) -> u64 {
        self.made.0.min(self.now.saturating_add(self.ctx.tti))
    }

    /// The weight of the entry last built.
    #[inline]
    pub(crate) fn made_weight(&self) -> u32 {
        self.made.1
    }
}

impl<K: Eq, V> OwnedKey<CacheEntry<K, V>> for CacheKey<'_, K, V> {
    #[inline]
    fn probe(
        &mut self,
        stored: &CacheEntry<K, V>,
        pending: Option<&CacheEntry<K, V>>,
    ) -> Match<Death> {
        let key = match pending {
            Some(p) => &p.key,
            None => self
                .key
                .as_ref()
                .expect("key is here or in the pending entry"),
        };
        if stored.key != *key || self.only.is_some_and(|e| !core::ptr::eq(stored, e)) {
            Match::NotEqual
        } else if stored.expired(self.now, self.ctx.tti) {
            Match::Dead(Death::Expired)
        } else {
            self.met = Some(stored.deadline());
            Match::Equal
        }
    }

    #[inline]
    fn make(&mut self, value: V) -> CacheEntry<K, V> {
        let key = self.key.take().expect("key moved into one entry at a time");
        let ctx = self.ctx;
        let deadline = ctx.write_deadline(&key, &value, self.now, self.ttl, self.met);
        let weight = ctx.weigh(&key, &value);
        self.made = (deadline, weight);
        CacheEntry::new(key, value, deadline, self.now, weight, self.fp)
    }

    #[inline]
    fn restore(&mut self, pending: CacheEntry<K, V>) -> V {
        debug_assert!(self.key.is_none(), "the key was in the pending entry");
        self.key = Some(pending.key);
        pending.value
    }
}
