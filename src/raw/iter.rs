//! `RawIter`: the iteration walk over the whole list (snapshots, `retain`,
//! teardown-free reads of every entry).
//!
//! Guarantees (DESIGN.md §1): never a key twice, every key present for the
//! whole walk, never blocks writers or waits for a resize. It reads only;
//! it never unlinks, marks or links anything (`list.rs` owns every write).

use crate::raw::directory::Directory;
use crate::raw::list::RawEntry;
use crate::raw::node::{is_end, is_marked, is_ref, ref_so_key, succ_node, Link, Node};
use crate::sync::{Guard, Ordering, Word};

/// A forward walk over the whole list yielding each live data node once.
///
/// A node is yielded if its word was unmarked when the walk reached it.
/// A replaced value's new node follows its old one, so within a run of equal
/// `so_key` the walk remembers what it yielded and skips a second node for
/// the same key. If a shrink ends under the walk (a sentinel's level is
/// gone), it resumes from a fresh start at the `so_key` it had reached,
/// skipping what it already passed.
pub(crate) struct RawIter<'g, E> {
    dir: &'g Directory,
    next: Word,
    guard: &'g Guard,
    /// The largest `so_key` passed; after a resume, nodes below it are
    /// skipped (in a forward walk keys never decrease, so this never skips
    /// anything otherwise).
    reached: u64,
    run_so_key: u64,
    run_yielded: Vec<&'g E>,
}

impl<'g, E: RawEntry> RawIter<'g, E> {
    /// # Safety
    /// `dir` is the directory of a map whose data nodes are `Node<E>`.
    pub(crate) unsafe fn new(dir: &'g Directory, guard: &'g Guard) -> Self {
        RawIter {
            dir,
            next: dir.head(guard).load(Ordering::Acquire),
            guard,
            reached: 0,
            run_so_key: 0, // a sentinel key: no data node has it
            run_yielded: Vec::new(),
        }
    }
}

impl<'g, E: RawEntry> Iterator for RawIter<'g, E> {
    /// The node's header (for its `so_key`) and the entry.
    type Item = (&'g Link, &'g E);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            super::list::count_step();
            if is_ref(self.next) {
                if is_end(self.next) {
                    return None;
                }
                self.reached = self.reached.max(ref_so_key(self.next));
                self.next = match self.dir.follow(self.next, self.guard) {
                    Some(slot) => slot.load(Ordering::Acquire),
                    // Resume: `reached` reversed is a hash whose bucket's
                    // start precedes it.
                    None => {
                        self.dir
                            .read_start(self.reached.reverse_bits(), self.guard)
                            .0
                    }
                };
                continue;
            }
            let node = succ_node::<E>(self.next);
            // SAFETY: reached from the head under `guard`, so live.
            let link = unsafe { Node::link(node) };
            let next = link.next.load(Ordering::Acquire);
            self.next = next;
            if is_marked(next) || link.so_key < self.reached {
                continue;
            }
            self.reached = link.so_key;
            // SAFETY: a live data node of this map (constructor's contract).
            let entry = unsafe { Node::entry(node) };
            if link.so_key == self.run_so_key {
                if self.run_yielded.iter().any(|seen| seen.same_key(entry)) {
                    continue;
                }
            } else {
                self.run_so_key = link.so_key;
                self.run_yielded.clear();
            }
            self.run_yielded.push(entry);
            return Some((link, entry));
        }
    }
}
