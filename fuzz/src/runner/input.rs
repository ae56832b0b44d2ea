//! The input of the `ops` target: how the map is built and the `Arbitrary`
//! op enum (`ComputeOp` and `Keep` are shared with `threads` and `weak`).

use super::hash::HashKind;
use arbitrary::Arbitrary;

/// The map's key type.
pub type Key = u16;

/// One fuzz input: how the map is built, then what is done to it.
#[derive(Debug)]
pub struct OpsInput {
    pub ctor: Ctor,
    pub ops: Vec<Op>,
}

/// How the map under test is built.
#[derive(Arbitrary, Debug)]
pub enum Ctor {
    New,
    Default,
    WithCapacity(u16),
    Collect(Vec<(u8, u16)>),
    FromStd(HashKind, u8, Vec<(u8, u16)>),
    WithHasher(HashKind, u8),
    WithCapacityAndHasher(u16, HashKind, u8),
    /// `with_layout(min_log2 % 5, 1 + load_factor % 4, ..)`: tiny maps that
    /// grow and shrink all the time.
    Layout {
        min_log2: u8,
        load_factor: u8,
        kind: HashKind,
        seed: u8,
    },
}

/// What a `compute` closure does with the current value.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum ComputeOp {
    /// `Some(x)`.
    Set(u16),
    /// `cur + d` if present, else absent.
    Add(u16),
    /// `cur + d`, or `d` if absent.
    Upsert(u16),
    /// `None`: remove.
    Remove,
    /// Keep (re-store) odd values, remove even ones.
    KeepOdd,
}

impl ComputeOp {
    /// The closure's result on the current value.
    pub fn apply(self, cur: Option<u32>) -> Option<u32> {
        match self {
            ComputeOp::Set(x) => Some(u32::from(x)),
            ComputeOp::Add(d) => cur.map(|n| n.wrapping_add(u32::from(d))),
            ComputeOp::Upsert(d) => Some(cur.unwrap_or(0).wrapping_add(u32::from(d))),
            ComputeOp::Remove => None,
            ComputeOp::KeepOdd => cur.filter(|n| n % 2 == 1),
        }
    }
}

/// A `retain` predicate: keep unless `x % m == rem % m`, where `x` is the key
/// or the value and `m = 2 + modulus % 6`.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Keep {
    pub modulus: u8,
    pub rem: u8,
    pub by_value: bool,
}

impl Op {
    /// Whether the op uses a `MapRef`.
    pub fn is_pinned(&self) -> bool {
        matches!(
            self,
            Op::PinInsert(..)
                | Op::PinGet(..)
                | Op::PinGetKeyValue(..)
                | Op::PinContainsKey(..)
                | Op::PinRemove(..)
                | Op::PinRemoveEntry(..)
                | Op::PinUpdate(..)
                | Op::PinGetOrInsertWith(..)
                | Op::PinCompute(..)
                | Op::PinRetain(..)
                | Op::PinClear
                | Op::PinIterate
        )
    }
}

impl Keep {
    pub fn keep(self, k: Key, n: u32) -> bool {
        let m = 2 + u32::from(self.modulus % 6);
        let x = if self.by_value { n } else { u32::from(k) };
        x % m != u32::from(self.rem) % m
    }
}

/// One operation. `u8` keys address the hot key space `0..256`; ranges reach
/// `0..3060` to force growth.
#[derive(Arbitrary, Clone, Debug)]
pub enum Op {
    Insert(u8, u16),
    PinInsert(u8, u16),
    Get(u8),
    PinGet(u8),
    GetWith(u8),
    GetKeyValue(u8),
    PinGetKeyValue(u8),
    ContainsKey(u8),
    PinContainsKey(u8),
    Remove(u8),
    PinRemove(u8),
    RemoveEntry(u8),
    PinRemoveEntry(u8),
    Update(u8, u16),
    PinUpdate(u8, u16),
    GetOrInsertWith(u8, u16),
    PinGetOrInsertWith(u8, u16),
    Compute(u8, ComputeOp),
    PinCompute(u8, ComputeOp),
    Retain(Keep),
    PinRetain(Keep),
    Clear,
    PinClear,
    /// Inserts keys `8 * start .. 8 * start + 4 * len` with value `v`.
    InsertRange {
        start: u8,
        len: u8,
        v: u16,
    },
    /// Removes keys `8 * start .. 8 * start + 4 * len`.
    RemoveRange {
        start: u8,
        len: u8,
    },
    Reserve(u16),
    Compact,
    ShrinkToFit,
    Reclaim,
    /// Walks a snapshot (`iter`, `keys`, `values`, `len`, `is_empty`).
    Iterate,
    /// Walks `MapRef::iter`.
    PinIterate,
    /// `Clone`, then compares the clone (and `==`).
    CloneAndCompare,
    /// Owned `IntoIterator` of a clone.
    IntoIter,
    /// `==`/`!=` against maps built from the model.
    EqCheck,
    /// `Extend` on `&SplitMap`.
    Extend(Vec<(u8, u16)>),
    /// Pins, reads `k`, then removes and re-inserts `k`, compacts and
    /// reclaims: the value read must still be readable.
    HoldAcrossRemove(u8, u16),
    /// Keeps one pin (used by the `Pin*` ops) until `ReleasePin`.
    HoldPin,
    ReleasePin,
}
