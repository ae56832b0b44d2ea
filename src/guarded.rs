//! `Guarded`: a reference into a map that carries the epoch pin keeping it
//! valid, so the guard-free layer can hand back a value without cloning it.
//!
//! A node the map removes is freed only after every thread that was pinned
//! when it was unlinked has unpinned. A `Guarded` holds such a pin for as long
//! as it lives, so the entry it points to stays allocated even if another
//! thread removes or replaces it meanwhile. This module owns that one idea;
//! it never looks inside a map.

use crate::sync::Guard;
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

impl<'m, T: ?Sized> Guarded<'m, T> {
    /// Wraps a pointer into a map entry together with the pin protecting it.
    ///
    /// # Safety
    /// 1. `value` was derived from a reference into an entry of a map that is
    ///    borrowed for `'m` (so the map, which frees its linked nodes when
    ///    dropped, outlives the `Guarded`);
    /// 2. that entry was reached under `guard` (so it is freed, if removed,
    ///    only after `guard` is dropped).
    #[inline]
    pub(crate) unsafe fn from_raw(guard: Guard, value: NonNull<T>) -> Self {
        Guarded {
            value,
            _guard: guard,
            _map: PhantomData,
        }
    }

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
        // SAFETY: per `from_raw`'s contract the pointee is an entry (or part
        // of one, via `map`) that is freed only after our guard is dropped
        // and only after the map borrowed for `'m` is done with it; we hold
        // the guard for as long as `self` lives, and the entry is never
        // written after publication (nodes are immutable).
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
