//! The entry-kind vocabulary of the operations core: what an entry kind
//! provides ([`Entry`], [`Rebuild`]) and how an operation names a key
//! without knowing what a key is ([`Probe`], [`OwnedKey`]).
//!
//! The core is generic over an entry kind (`SplitMap`'s strong key, the weak
//! maps' `Weak<K>`, ...). An operation finds its entry through one of two
//! probes, which each entry kind implements:
//! - a [`Probe`] for a *borrowed* key (`get`, `remove`, `update`, ...): it
//!   only compares;
//! - an [`OwnedKey`] for a key the caller hands over (`insert`, `compute`,
//!   `get_or_insert_with`, ...): it compares, and it builds the entry that
//!   carries the key into a node. After a publication fails, the entry comes
//!   back to the operation as the *pending* entry, with the key inside it,
//!   so the owned key must be able to compare through it too.
//!
//! This module holds the vocabulary only; it never touches the list.

pub(crate) use crate::raw::{Match, RawEntry};

/// What the operations core needs from an entry beyond what the list needs.
pub(crate) trait Entry: RawEntry {
    /// The value type users see.
    type Value;
    /// The entry's value.
    fn value(&self) -> &Self::Value;
}

/// An entry kind that can build a replacement of an entry with a new value
/// and the same key, for `update` (a node is immutable, so a replacement
/// node carries its own copy of the key).
pub(crate) trait Rebuild: Entry {
    /// A new entry with `self`'s key and `value`.
    fn rebuild(&self, value: Self::Value) -> Self;
}

/// Compares stored entries with a borrowed key.
pub(crate) trait Probe<E: RawEntry> {
    /// How `stored` compares with the key looked for (with why it is dead,
    /// when it is).
    fn probe(&mut self, stored: &E) -> Match<E::Death>;
}

/// A key owned by the operation until a node takes it.
pub(crate) trait OwnedKey<E: Entry> {
    /// How `stored` compares with this key, which is either still here or
    /// inside `pending` (an entry built earlier whose publication failed).
    fn probe(&mut self, stored: &E, pending: Option<&E>) -> Match<E::Death>;
    /// Builds the entry for `value`, moving the key into it.
    ///
    /// # Panics
    /// If the key is not here (it is inside a pending entry: call
    /// [`restore`](Self::restore) first).
    fn make(&mut self, value: E::Value) -> E;
    /// Takes the key back out of an unpublished `pending` entry and returns
    /// the value it carried.
    fn restore(&mut self, pending: E) -> E::Value;
}

/// `Match::Equal` if `equal`, else `Match::NotEqual`.
#[inline]
pub(crate) fn match_if<D>(equal: bool) -> Match<D> {
    if equal {
        Match::Equal
    } else {
        Match::NotEqual
    }
}
