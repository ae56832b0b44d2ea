//! The tagged word of the core: [`Word`] (a pointer with tag bits in its
//! low bits, or a plain number) and [`AtomicWord`], what the list's links
//! and the directory's level pointers are made of (module docs of
//! `sync/mod.rs`, "`AtomicWord`").
//!
//! ## What this module must never do
//! Know what a bit means: that is `raw/node.rs`'s (links) and
//! `raw/directory/`'s (levels).

use super::{AtomicPtr, Ordering};

/// A tagged word: a pointer with tag bits in its low bits, or a plain
/// number. See the module docs; what the bits mean is up to the user
/// (`raw/node.rs` for list links, `raw/directory/mod.rs` for level pointers).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct Word(*mut u8);

// SAFETY: a `Word` is a value (an address or a number); sending or sharing
// it does nothing by itself. Dereferencing what it points to is unsafe and
// argued where it happens.
unsafe impl Send for Word {}
// SAFETY: a `Word` is a value; sharing `&Word` lets threads copy it, which
// does nothing by itself.
unsafe impl Sync for Word {}

impl core::fmt::Debug for Word {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Word({:#x})", self.bits())
    }
}

impl Word {
    /// A word holding a plain number (no pointer provenance).
    #[inline]
    pub(crate) const fn from_bits(bits: usize) -> Word {
        Word(core::ptr::null_mut::<u8>().wrapping_add(bits))
    }

    /// A word holding `ptr` (tag bits clear if `ptr` is aligned).
    #[inline]
    pub(crate) fn from_ptr<T>(ptr: *const T) -> Word {
        Word(ptr as *mut u8)
    }

    /// The word's bits.
    #[inline]
    pub(crate) fn bits(self) -> usize {
        self.0 as usize
    }

    /// The same pointer (or number) with the bits in `mask` replaced by
    /// `value & mask`; keeps the provenance of a pointer.
    #[inline]
    pub(crate) fn with_bits(self, mask: usize, value: usize) -> Word {
        let old = self.bits() & mask;
        let new = value & mask;
        Word(self.0.wrapping_sub(old).wrapping_add(new))
    }

    /// The bits in `mask` set.
    #[inline]
    pub(crate) fn or(self, bits: usize) -> Word {
        self.with_bits(bits, bits)
    }

    /// The bits in `mask` cleared.
    #[inline]
    pub(crate) fn clear(self, bits: usize) -> Word {
        self.with_bits(bits, 0)
    }

    /// The pointer with the low bits in `tag_mask` cleared.
    #[inline]
    pub(crate) fn ptr<T>(self, tag_mask: usize) -> *mut T {
        self.clear(tag_mask).0 as *mut T
    }
}

/// An atomic [`Word`]. Under loom it is loom's `AtomicPtr`; under chaos
/// mode every operation passes a chaos point first.
#[repr(transparent)]
pub(crate) struct AtomicWord(AtomicPtr<u8>);

impl AtomicWord {
    #[inline]
    pub(crate) fn new(w: Word) -> Self {
        AtomicWord(AtomicPtr::new(w.0))
    }

    #[inline]
    pub(crate) fn load(&self, order: Ordering) -> Word {
        Word(self.0.load(order))
    }

    #[inline]
    pub(crate) fn store(&self, w: Word, order: Ordering) {
        self.0.store(w.0, order)
    }

    /// Compare-and-swap; `Err` carries the value found.
    #[inline]
    pub(crate) fn compare_exchange(
        &self,
        current: Word,
        new: Word,
        success: Ordering,
        failure: Ordering,
    ) -> Result<Word, Word> {
        self.0
            .compare_exchange(current.0, new.0, success, failure)
            .map(Word)
            .map_err(Word)
    }

    /// Sets `bits` (a CAS loop: `AtomicPtr` has no `fetch_or` on stable,
    /// and loom's has none). Returns the previous value. Used only off the
    /// hot paths (sentinel state changes).
    #[inline]
    pub(crate) fn fetch_or(&self, bits: usize, order: Ordering) -> Word {
        self.update(order, |w| w.or(bits))
    }

    /// Clears `bits` (a CAS loop, as [`AtomicWord::fetch_or`]). Returns
    /// the previous value.
    #[inline]
    pub(crate) fn fetch_clear(&self, bits: usize, order: Ordering) -> Word {
        self.update(order, |w| w.clear(bits))
    }

    fn update(&self, order: Ordering, f: impl Fn(Word) -> Word) -> Word {
        let mut cur = self.load(Ordering::Relaxed);
        loop {
            let new = f(cur);
            if new == cur {
                // Nothing to change; an acquire load keeps `order`'s promise
                // for the reading half.
                return self.load(load_part(order));
            }
            match self.compare_exchange(cur, new, order, Ordering::Relaxed) {
                Ok(prev) => return prev,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The word, through exclusive access.
    #[inline]
    pub(crate) fn get_mut(&mut self) -> Word {
        #[cfg(not(loom))]
        {
            Word(*self.0.get_mut())
        }
        #[cfg(loom)]
        {
            Word(self.0.with_mut(|p| *p))
        }
    }
}

/// The load half of an ordering (for a CAS loop that may end without
/// writing).
#[inline]
fn load_part(order: Ordering) -> Ordering {
    match order {
        Ordering::Release | Ordering::Relaxed => Ordering::Relaxed,
        Ordering::SeqCst => Ordering::SeqCst,
        _ => Ordering::Acquire,
    }
}
