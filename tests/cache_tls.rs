//! `SplitCache` called from a thread-local destructor: a per-thread
//! session whose `Drop` writes to (and removes itself from) a global cache.
//! The session's thread-local is registered before the cache's own, so its
//! destructor runs after theirs (destructors run in reverse order of
//! registration): every thread-local the cache uses may be gone by then.
//! The cache must work on (the crate's thread-locals degrade to documented
//! fallbacks), not panic inside the destructor, which aborts the process.
//!
//! An abort cannot be caught in-process, so the test re-runs itself in a
//! child process (this test binary, this test only, with `CHILD` set),
//! which does the work and checks what it observed; the parent asserts that
//! the child exited successfully and printed its report.

use splitmap::cache::{MockClock, RemovalCause};
use splitmap::SplitCache;
use std::cell::RefCell;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CHILD: &str = "SPLITMAP_CACHE_TLS_CHILD";
const REPORT: &str = "tls-session-report:";

type Heard = Arc<Mutex<Vec<(u64, u64, RemovalCause)>>>;

/// What the session's destructor saw its calls return.
#[derive(Debug, Default, PartialEq)]
struct Returned {
    get_after_insert: Option<u64>,
    replaced: Option<u64>,
    removed: Option<u64>,
    removed_panicking: Option<u64>,
    got_or_inserted: u64,
    retained_away: usize,
    purged: usize,
    len_at_end: usize,
}

/// A per-thread session that writes to the shared cache when its thread
/// exits.
struct Session {
    cache: Arc<SplitCache<u64, u64>>,
    clock: MockClock,
    returned: Arc<Mutex<Option<Returned>>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        let c = &self.cache;
        let mut r = Returned::default();
        // The thread left 0, 1, 2 (bound 4).
        assert!(c.insert(10, 10).is_none());
        r.get_after_insert = c.get(&10);
        r.replaced = c.insert(10, 11).map(|v| *v);
        r.removed = c.remove(&10).map(|v| *v);
        // The listener panics on value 666: there is nowhere to park the
        // panic, and unwinding out of a thread-local destructor aborts.
        c.insert(20, 666);
        r.removed_panicking = c.remove(&20).map(|v| *v);
        r.got_or_inserted = *c.get_or_insert_with(30, || 30);
        // Five entries, bound 4: this insert runs an eviction step.
        c.insert(40, 40);
        r.retained_away = c.retain(|k, _| *k == 30);
        self.clock.advance(Duration::from_secs(10));
        r.purged = c.purge_expired();
        c.run_pending_tasks();
        c.clear();
        r.len_at_end = c.len();
        *self.returned.lock().unwrap() = Some(r);
    }
}

std::thread_local! {
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// The child's work: one thread registers its session, then uses the
/// cache (which registers the cache's thread-locals, and the epoch's, after
/// the session's), then exits.
fn child() {
    let heard: Heard = Arc::default();
    let h = Arc::clone(&heard);
    let clock = MockClock::new();
    let cache: Arc<SplitCache<u64, u64>> = Arc::new(
        SplitCache::builder()
            .max_capacity(4)
            .time_to_live(Duration::from_secs(10))
            .clock(clock.clone())
            .eviction_listener(move |k, v, cause| {
                h.lock().unwrap().push((*k, *v, cause));
                assert_ne!(*v, 666, "the listener panics on 666");
            })
            .build(),
    );
    let returned: Arc<Mutex<Option<Returned>>> = Arc::default();
    let session = Session {
        cache: Arc::clone(&cache),
        clock: clock.clone(),
        returned: Arc::clone(&returned),
    };
    let c = Arc::clone(&cache);
    std::thread::spawn(move || {
        let cache = c;
        SESSION.with(|s| *s.borrow_mut() = Some(session));
        // A listener panic parked and resumed on a live thread (so the
        // panic slot is in use before the session's destructor runs).
        cache.insert(5, 666);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cache.remove(&5)));
        assert!(r.is_err(), "a live thread gets the listener's panic back");
        for k in 0..3 {
            cache.insert(k, k);
        }
    })
    .join()
    .expect("the session thread exits cleanly");

    let r = returned
        .lock()
        .unwrap()
        .take()
        .expect("the session's destructor ran to its end");
    let heard = std::mem::take(&mut *heard.lock().unwrap());
    println!("{REPORT} {r:?} heard {heard:?}");
    // The insert of 40 evicted one of 0, 1, 2, 30, 40 (CLOCK picks). The
    // sweep state has no destructor, so std's native thread-locals keep it
    // (where thread-locals are heap-allocated per key it would be gone and
    // the step would evict nothing: `cache/evict.rs`).
    let sized: Vec<u64> = heard
        .iter()
        .filter(|h| h.2 == RemovalCause::Size)
        .map(|h| h.1)
        .collect();
    assert!(
        sized.len() == 1 && [0, 1, 2, 30, 40].contains(&sized[0]),
        "one size eviction: {heard:?}"
    );
    let victim = sized[0];
    let thirty = u64::from(victim != 30);
    assert_eq!(
        r,
        Returned {
            get_after_insert: Some(10),
            replaced: Some(10),
            removed: Some(11),
            removed_panicking: Some(666),
            got_or_inserted: 30,
            retained_away: 4 - thirty as usize,
            purged: thirty as usize,
            len_at_end: 0,
        }
    );
    let causes: Vec<(u64, RemovalCause)> = heard
        .iter()
        .filter(|h| h.2 != RemovalCause::Size)
        .map(|h| (h.1, h.2))
        .collect();
    let mut expect = vec![
        (666, RemovalCause::Removed), // on the live thread
        (10, RemovalCause::Replaced),
        (11, RemovalCause::Removed),
        (666, RemovalCause::Removed), // in the destructor: panic dropped
    ];
    let mut retained: Vec<u64> = [0, 1, 2, 40].into_iter().filter(|&v| v != victim).collect();
    let mut got_retained: Vec<u64> = causes[4..4 + retained.len()]
        .iter()
        .inspect(|c| assert_eq!(c.1, RemovalCause::Removed, "{heard:?}"))
        .map(|c| c.0)
        .collect();
    got_retained.sort_unstable();
    retained.sort_unstable();
    assert_eq!(got_retained, retained, "retain's removals: {heard:?}");
    if victim != 30 {
        expect.push((30, RemovalCause::Expired));
    }
    let rest: Vec<_> = causes[..4]
        .iter()
        .chain(&causes[4 + retained.len()..])
        .copied()
        .collect();
    assert_eq!(rest, expect, "{heard:?}");
    let s = cache.stats();
    assert_eq!(
        (s.evicted_size, s.replaced, s.expired, s.removed),
        (1, 1, u64::from(victim != 30), 3 + retained.len() as u64)
    );
}

#[test]
fn cache_methods_work_from_a_thread_local_destructor() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "cache_methods_work_from_a_thread_local_destructor",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the child failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains(REPORT) && stdout.contains("1 passed"),
        "the child did not run the scenario:\n{stdout}\n{stderr}"
    );
}
