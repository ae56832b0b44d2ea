//! What a history is made of: the single-key operations, one recorded call
//! (`Event`), the sequential model of one key's slot (`Op::step`), and how
//! values print.
//!
//! Values written by the recorder are unique per write: `value(thread, seq)`
//! is `(thread + 1) * 1_000_000 + seq * 1_000`, and increments (`update`,
//! `compute`) add small numbers to it, so a read that returns an old value
//! names the write it came from. They print as `T<thread>/<seq>` or
//! `T<thread>/<seq>+<increments>`; values below a million (hand-built
//! histories) print as plain numbers.

use std::fmt;

/// One key's slot in the sequential model: absent, or a value.
pub type Slot = Option<u64>;

/// A recorded result that is not known and matches any model result: the
/// per-key part of a whole-map operation (`retain`, `clear`) does not say
/// what it did to each key. Never written as a value (values are below
/// 2^40).
pub const ANY: Slot = Some(u64::MAX);

/// `ContainsKey`'s results, and `RetainRemove`'s and `ClearRemove`'s
/// "removed it" / "left it".
pub const YES: Slot = Some(1);
pub const NO: Slot = None;

/// A single-key operation with its argument. Every operation returns a
/// `Slot`: the old value (`Insert`, `Remove`), the new one (`Update`,
/// `Compute`), the current one (`Get`, `Walk`), the value now stored
/// (`GetOrInsertWith`, always `Some`), or a yes/no ([`YES`], [`NO`]).
///
/// `Walk`, `RetainRemove` and `ClearRemove` are what one whole-map
/// operation did to one key (`tests/lincheck_multikey.rs`): each of those
/// is a walk of individually atomic steps, one per key, each at some
/// instant between the operation's call and return, so per key it is a
/// single-key operation like the others (README, "Consistency
/// guarantees").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Read the value.
    Get,
    /// Store the value; returns the old one.
    Insert(u64),
    /// Remove the key; returns the old value.
    Remove,
    /// If present, add `delta`; returns the new value (absent: `None`, no
    /// change).
    Update(u64),
    /// Insert-or-increment: absent becomes `init`, present `x` becomes
    /// `x + delta`; returns the new value.
    Compute { init: u64, delta: u64 },
    /// Returns the value, inserting this one first if absent.
    GetOrInsertWith(u64),
    /// Whether the key is present (`YES`/`NO`).
    ContainsKey,
    /// A walk (snapshot iteration) passing the key: the value it yielded,
    /// or absent if it did not yield the key. As `Get`: a walk yields every
    /// key present for the whole walk, none absent for the whole walk, and
    /// a value the key held at some instant of it.
    Walk,
    /// `retain` passing the key: removes it if its value `x` has
    /// `x % modulus == rem`; returns `YES` if it removed it (recorded as
    /// [`ANY`]: `retain` only says how many it removed).
    RetainRemove { modulus: u64, rem: u64 },
    /// `clear` passing the key: removes it; returns `YES` if it was there
    /// (recorded as [`ANY`]).
    ClearRemove,
}

impl Op {
    /// The sequential model: what this operation does to `slot`, and what
    /// it returns.
    pub fn step(self, slot: Slot) -> (Slot, Slot) {
        match self {
            Op::Get => (slot, slot),
            Op::Insert(v) => (Some(v), slot),
            Op::Remove => (None, slot),
            Op::Update(delta) => {
                let new = slot.map(|x| x.wrapping_add(delta));
                (new, new)
            }
            Op::Compute { init, delta } => {
                let new = Some(slot.map_or(init, |x| x.wrapping_add(delta)));
                (new, new)
            }
            Op::GetOrInsertWith(v) => {
                let new = Some(slot.unwrap_or(v));
                (new, new)
            }
            Op::ContainsKey => (slot, if slot.is_some() { YES } else { NO }),
            Op::Walk => (slot, slot),
            Op::RetainRemove { modulus, rem } => match slot {
                Some(x) if x % modulus == rem => (None, YES),
                _ => (slot, NO),
            },
            Op::ClearRemove => (None, if slot.is_some() { YES } else { NO }),
        }
    }

    /// Whether the operation's result is a yes/no rather than a value.
    pub fn answers_yes_no(self) -> bool {
        matches!(
            self,
            Op::ContainsKey | Op::RetainRemove { .. } | Op::ClearRemove
        )
    }

    /// Whether the operation can change the slot.
    pub fn writes(self) -> bool {
        !matches!(self, Op::Get | Op::ContainsKey | Op::Walk)
    }

    /// Whether the operation can make an absent key present.
    pub fn may_insert(self) -> bool {
        matches!(
            self,
            Op::Insert(_) | Op::Compute { .. } | Op::GetOrInsertWith(_)
        )
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Op::Get => write!(f, "get"),
            Op::Insert(v) => write!(f, "insert({})", Value(v)),
            Op::Remove => write!(f, "remove"),
            Op::Update(d) => write!(f, "update(+{d})"),
            Op::Compute { init, delta } => write!(f, "compute({} or +{delta})", Value(init)),
            Op::GetOrInsertWith(v) => write!(f, "get_or_insert_with({})", Value(v)),
            Op::ContainsKey => write!(f, "contains_key"),
            Op::Walk => write!(f, "walk (absent = not yielded)"),
            Op::RetainRemove { modulus, rem } => {
                write!(f, "retain passes it (drop x % {modulus} == {rem})")
            }
            Op::ClearRemove => write!(f, "clear passes it"),
        }
    }
}

/// One recorded call. `invoke` and `response` are tickets of one global
/// logical clock, taken just before the call and just after it returned:
/// if `a.response < b.invoke`, `a` finished before `b` started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub thread: usize,
    pub key: usize,
    pub op: Op,
    pub ret: Slot,
    pub invoke: u64,
    pub response: u64,
}

impl Event {
    /// A hand-built event (tests of the checker itself).
    pub fn new(thread: usize, op: Op, ret: Slot, invoke: u64, response: u64) -> Self {
        assert!(invoke < response, "an event must end after it starts");
        Event {
            thread,
            key: 0,
            op,
            ret,
            invoke,
            response,
        }
    }
}

/// The value thread `thread` writes in its `seq`-th write of a round.
pub fn value(thread: usize, seq: usize) -> u64 {
    assert!(
        seq < 1_000,
        "one thread writes at most 999 values per round"
    );
    (thread as u64 + 1) * 1_000_000 + seq as u64 * 1_000
}

/// A value printed as its writer: `T<thread>/<seq>`, `+n` for increments.
pub struct Value(pub u64);

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v < 1_000_000 {
            return write!(f, "{v}");
        }
        let (thread, seq, inc) = (v / 1_000_000 - 1, v % 1_000_000 / 1_000, v % 1_000);
        write!(f, "T{thread}/{seq}")?;
        if inc != 0 {
            write!(f, "+{inc}")?;
        }
        Ok(())
    }
}

/// A slot printed as `absent` or its value.
pub struct ShowSlot(pub Slot);

impl fmt::Display for ShowSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ANY => write!(f, "(not recorded)"),
            None => write!(f, "absent"),
            Some(v) => write!(f, "{}", Value(v)),
        }
    }
}

/// An operation's result as it reads: a slot, or yes/no.
pub struct ShowResult(pub Op, pub Slot);

impl fmt::Display for ShowResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.answers_yes_no(), self.1) {
            (_, ANY) => write!(f, "(not recorded)"),
            (true, YES) => write!(f, "yes"),
            (true, _) => write!(f, "no"),
            (false, slot) => write!(f, "{}", ShowSlot(slot)),
        }
    }
}
