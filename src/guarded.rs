//! `Guarded`: a reference into a map that carries the epoch pin keeping it
//! valid, so the guard-free layer can hand back a value without cloning it.
//!
//! A node the map removes is freed only after every thread that was pinned
//! when it was unlinked has unpinned. A `Guarded` holds such a pin for as long
//! as it lives, so the entry it points to stays allocated even if another
//! thread removes or replaces it meanwhile. This module owns that one idea;
//! it never looks inside a map.

use crate::ops::entry_kind::Entry;
use crate::sync::{pin, Guard};
use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::NonNull;

/// A reference to a value in a map, kept valid by an epoch pin it owns.
///
/// Returned by the guard-free operations that hand back a value without
/// cloning it ([`SplitMap::insert`](crate::SplitMap::insert),
/// [`remove`](crate::SplitMap::remove), [`update`](crate::SplitMap::update),
/// [`get_or_insert_with`](crate::SplitMap::get_or_insert_with),
/// [`compute`](crate::SplitMap::compute), ...). It dereferences to the value
/// (`&V`); the value may already be gone from the map (a removed value, the
/// value a replace displaced), but it is not freed while the `Guarded` lives.
///
/// - To keep the value, clone it: `map.remove(&k).map(|v| v.clone())`
///   (a `Guarded` is not `Clone` itself, so `.clone()` reaches `V::clone`),
///   or `.as_deref().cloned()` on the `Option`.
/// - Ignoring it costs nothing: the pin is released at once.
/// - While it lives, this thread stays pinned, which delays the freeing of
///   everything removed from any map meanwhile: drop it when done, do not
///   store it. It is neither `Send` nor `Sync` (an epoch pin belongs to its
///   thread); in async code, do not hold it across an `.await`.
///
/// # Examples
/// ```
/// let map = splitmap::SplitMap::new();
/// map.insert("a", std::sync::Mutex::new(vec![1])); // values need not be Clone
/// let old = map.insert("a", std::sync::Mutex::new(vec![2])).expect("replaced");
/// assert_eq!(*old.lock().unwrap(), [1]); // the displaced value, still readable
/// assert!(map.remove("missing").is_none());
/// ```
pub struct Guarded<'m, T: ?Sized> {
    value: NonNull<T>,
    _guard: Guard,
    _map: PhantomData<&'m T>,
}

impl<'m, T> Guarded<'m, T> {
    /// Pins the epoch, runs `op` on `map` under the pin, and wraps the value
    /// of the entry it returns together with the pin (and hands back
    /// whatever owned `X` it returns beside the entry). The one way the
    /// public layers make a `Guarded`.
    ///
    /// Safe because of the closure's signature: it must work for *every*
    /// lifetime `'g` of the two borrows it gets, so the entry it returns can
    /// only come from `map` (borrowed for `'m`, which the result carries)
    /// or from memory the pin protects (an entry reached under it), never
    /// from a local of the caller; and it is an entry kind's entry
    /// (`E: Entry`, a crate-private trait), so it cannot be the pin itself,
    /// which moves into the result.
    #[inline]
    pub(crate) fn pin_with<M: ?Sized, E: Entry<Value = T>, X>(
        map: &'m M,
        op: impl for<'g> FnOnce(&'g M, &'g Guard) -> Option<(&'g E, X)>,
    ) -> Option<(Self, X)> {
        let guard = pin();
        let (entry, extra) = op(map, &guard)?;
        let value = NonNull::from(entry.value());
        Some((
            Guarded {
                value,
                _guard: guard,
                _map: PhantomData,
            },
            extra,
        ))
    }

    /// [`Guarded::pin_with`] for an operation that always returns an entry.
    #[inline]
    pub(crate) fn pin_entry<M: ?Sized, E: Entry<Value = T>>(
        map: &'m M,
        op: impl for<'g> FnOnce(&'g M, &'g Guard) -> &'g E,
    ) -> Self {
        match Self::pin_with(map, |map, guard| Some((op(map, guard), ()))) {
            Some((guarded, ())) => guarded,
            None => unreachable!("the operation returned an entry"),
        }
    }

    /// [`Guarded::pin_with`] for an operation that returns an entry alone.
    #[inline]
    pub(crate) fn pin<M: ?Sized, E: Entry<Value = T>>(
        map: &'m M,
        op: impl for<'g> FnOnce(&'g M, &'g Guard) -> Option<&'g E>,
    ) -> Option<Self> {
        Self::pin_with(map, |map, guard| op(map, guard).map(|e| (e, ()))).map(|(g, ())| g)
    }
}

impl<'m, T: ?Sized> Guarded<'m, T> {
    /// Narrows the reference to a part of the value (a field, say), keeping
    /// the same pin.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert(1, (10, "ten".to_string()));
    /// let name = splitmap::Guarded::map(map.get_or_insert_with(1, || (0, String::new())), |v| &v.1);
    /// assert_eq!(&*name, "ten");
    /// ```
    #[inline]
    pub fn map<U: ?Sized>(this: Self, f: impl FnOnce(&T) -> &U) -> Guarded<'m, U> {
        let value = NonNull::from(f(&*this));
        Guarded {
            value,
            _guard: this._guard,
            _map: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for Guarded<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the pointee is (part of, via `map`) an entry that
        // `pin_with`'s closure reached under our guard in a map borrowed for
        // `'m` (see `pin_with` for why nothing else can be): it is freed
        // only after our guard is dropped, and the map cannot free it while
        // borrowed. We hold the guard for as long as `self` lives, and the
        // entry is never written after publication (nodes are immutable).
        unsafe { self.value.as_ref() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Guarded<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Guarded<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized + PartialEq> PartialEq for Guarded<'_, T> {
    /// Compares the values.
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + Eq> Eq for Guarded<'_, T> {}

impl<T: ?Sized> AsRef<T> for Guarded<'_, T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: ?Sized> core::borrow::Borrow<T> for Guarded<'_, T> {
    fn borrow(&self) -> &T {
        self
    }
}
