//! `OccupiedError`: what `try_insert` hands back when the key is present.

use core::fmt;

/// The error of [`SplitMap::try_insert`](crate::SplitMap::try_insert) (and of the pinned and weak
/// variants): the key was present. Holds the current value (`current`, a
/// [`Guarded`](crate::Guarded) or a reference) and gives back the value that was not
/// inserted.
#[derive(Debug, PartialEq, Eq)]
pub struct OccupiedError<R, V> {
    /// The value already in the map.
    pub current: R,
    /// The value that was not inserted.
    pub value: V,
}

impl<R, V> fmt::Display for OccupiedError<R, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the key is already present")
    }
}

impl<R: fmt::Debug, V: fmt::Debug> std::error::Error for OccupiedError<R, V> {}
