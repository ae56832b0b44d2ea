//! splitmap (crate guide written below in a later commit).
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod entry;
mod map;
mod pinned;
mod raw;
mod snapshot;
mod stats;
mod sync;
mod weak;

pub use map::{IntoIter, SplitMap};
pub use pinned::MapRef;
pub use snapshot::{Iter, Snapshot};
pub use stats::MapStats;
pub use weak::{WeakIdentityMap, WeakIter, WeakKeyMap, WeakSnapshot, WeakStats};
