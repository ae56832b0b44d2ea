//! User code that panics inside a map operation: `Hash`, `Eq`, and the
//! closures of `update`, `update_or_insert`, `compute`, `get_or_insert_with`
//! and `retain`. After each panic the map must stay whole (every other key
//! present with its value, `len` agreeing with iteration and with a model)
//! and, in the end, every value made must be dropped exactly once.

mod common;

use common::tracked::{Ledger, Tracked};
use common::{with_each_config, Config, TestHasher};
use splitmap::SplitMap;
use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

thread_local! {
    /// Hashing the key with this id panics.
    static PANIC_HASH: Cell<Option<u64>> = const { Cell::new(None) };
    /// Comparing with the key with this id panics.
    static PANIC_EQ: Cell<Option<u64>> = const { Cell::new(None) };
}

/// A key whose `Hash` and `Eq` panic on demand (on this thread only).
#[derive(Debug, Clone)]
struct Key(u64);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        if PANIC_HASH.get() == Some(self.0) {
            panic!("planned: Hash of key {}", self.0);
        }
        state.write_u64(self.0);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        if let Some(id) = PANIC_EQ.get() {
            if self.0 == id || other.0 == id {
                panic!("planned: Eq with key {id}");
            }
        }
        self.0 == other.0
    }
}

impl Eq for Key {}

/// Runs `op` with the given triggers armed; returns whether it panicked.
fn armed(hash: Option<u64>, eq: Option<u64>, op: impl FnOnce()) -> bool {
    PANIC_HASH.set(hash);
    PANIC_EQ.set(eq);
    let result = catch_unwind(AssertUnwindSafe(op));
    PANIC_HASH.set(None);
    PANIC_EQ.set(None);
    result.is_err()
}

/// Runs `op`, which must panic, with the given triggers armed.
fn must_panic(what: &str, hash: Option<u64>, eq: Option<u64>, op: impl FnOnce()) {
    assert!(armed(hash, eq, op), "{what}: expected a planned panic");
}

/// The map holds exactly the model: every key with its value, and `len`,
/// `stats().len` and a walk all agree.
fn assert_whole(map: &SplitMap<Key, Tracked, TestHasher>, model: &HashMap<u64, u64>, at: &str) {
    for (k, v) in model {
        assert_eq!(
            map.get_with(&Key(*k), |t| t.value),
            Some(*v),
            "{at}: key {k} lost or changed"
        );
    }
    let walked: HashMap<u64, u64> = map.snapshot().iter().map(|(k, v)| (k.0, v.value)).collect();
    assert_eq!(&walked, model, "{at}: a walk disagrees with the model");
    assert_eq!(map.len(), model.len(), "{at}: len");
    assert_eq!(map.stats().len, model.len(), "{at}: stats().len");
}

fn run(config: &Config, ledger: &Arc<Ledger>) {
    let map: SplitMap<Key, Tracked, TestHasher> = config.map();
    let mut model = HashMap::new();
    let val = |v: u64| Tracked::new(v, ledger);
    for k in 0..64u64 {
        map.insert(Key(k), val(k));
        model.insert(k, k);
    }
    assert_whole(&map, &model, "filled");

    // Hash panics: nothing happens, the moved-in value is dropped.
    must_panic("insert, Hash", Some(100), None, || {
        map.insert(Key(100), val(1));
    });
    must_panic("insert over a present key, Hash", Some(5), None, || {
        map.insert(Key(5), val(1));
    });
    must_panic("remove, Hash", Some(6), None, || {
        map.remove(&Key(6));
    });
    must_panic("get, Hash", Some(7), None, || {
        map.get_with(&Key(7), |_| ());
    });
    assert_whole(&map, &model, "after Hash panics");

    // Eq panics while the operation compares keys. Under the degenerate
    // hashers every operation compares many keys, so whichever key the
    // panicking comparison involves, the operation is interrupted midway.
    // A new key is compared only with keys of its split-order key (under
    // the degenerate hashers): it may be inserted, or not, but never half.
    if !armed(None, Some(200), || {
        map.insert(Key(200), val(200));
    }) {
        model.insert(200, 200);
    }
    must_panic("replace, Eq", None, Some(8), || {
        map.insert(Key(8), val(1));
    });
    must_panic("remove, Eq", None, Some(9), || {
        map.remove(&Key(9));
    });
    must_panic("get_or_insert_with, Eq", None, Some(10), || {
        map.get_or_insert_with(Key(10), || val(1));
    });
    must_panic("compute, Eq", None, Some(11), || {
        map.compute(Key(11), |_| Some(val(1)));
    });
    must_panic("pinned get, Eq", None, Some(12), || {
        map.pin().get(&Key(12));
    });
    assert_whole(&map, &model, "after Eq panics");

    // Closures that panic.
    must_panic("update closure", None, None, || {
        map.update(&Key(13), |_| panic!("planned: update closure"));
    });
    must_panic("update_or_insert closure", None, None, || {
        map.update_or_insert(Key(14), |_| panic!("planned"), val(1));
    });
    must_panic("compute closure on a present key", None, None, || {
        map.compute(Key(15), |_| panic!("planned: compute closure"));
    });
    must_panic("compute closure on an absent key", None, None, || {
        map.compute(Key(300), |_| panic!("planned: compute closure"));
    });
    must_panic("get_or_insert_with closure", None, None, || {
        map.get_or_insert_with(Key(301), || panic!("planned: make"));
    });
    // `retain` removes entries one by one; a panic stops the walk with the
    // removals before it done and the rest untouched.
    let mut asked = 0;
    must_panic("retain closure", None, None, || {
        map.retain(|k, _| {
            asked += 1;
            if asked == 20 {
                panic!("planned: retain closure");
            }
            k.0 % 2 == 0
        });
    });
    model.retain(|k, _| map.contains_key(&Key(*k)));
    assert!(
        model.len() < 64 && model.len() >= 44,
        "retain removed {}",
        64 - model.len()
    );
    assert_whole(&map, &model, "after closure panics");

    // The map still works normally.
    for k in 0..64u64 {
        map.update_or_insert(Key(k), |t| val(t.value + 1000), val(k + 1000));
        model.insert(k, k + 1000);
    }
    assert_whole(&map, &model, "after normal use");
}

#[test]
fn panics_in_user_code_leave_the_map_whole() {
    // Keep the planned panics' messages out of the test output.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let planned = info
            .payload()
            .downcast_ref::<String>()
            .map(|m| m.starts_with("planned"))
            .or_else(|| {
                info.payload()
                    .downcast_ref::<&str>()
                    .map(|m| m.starts_with("planned"))
            })
            .unwrap_or(false);
        if !planned {
            default_hook(info);
        }
    }));
    let ledger = Ledger::new();
    with_each_config(|config| run(config, &ledger));
    common::flush_epoch();
    assert_eq!(
        ledger.alive(),
        0,
        "every value made ({}) must be dropped exactly once (double drops fail in Drop)",
        ledger.created()
    );
}
