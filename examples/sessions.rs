//! A side table keyed by `Arc<Session>`: per-session statistics that vanish
//! when the session ends, without anyone removing them.
//!
//! Two worker threads open sessions, record requests against them in a
//! `WeakIdentityMap<Session, Counters>` and end them (drop the last `Arc`).
//! The main thread prints, as it runs, the O(1) length (an upper bound), the
//! exact live count, the dead entries still linked and the bytes they pin.
//! Dead entries are purged by the map's own writes (before the directory
//! grows, and when a write meets one); at the end, `purge_dead()` sweeps the
//! rest.
//!
//! Run with `cargo run --release --example sessions`.

#[path = "support/cli.rs"]
mod cli;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use splitmap::WeakIdentityMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Owned by the connection handling code; the side table only observes it.
struct Session {
    id: u64,
    user: String,
}

/// What the side table attaches to each session.
#[derive(Clone, Debug, Default)]
struct Counters {
    requests: u64,
    bytes: u64,
}

fn main() {
    // No flags: anything given is an error (`-h` prints the usage).
    cli::parse("sessions (no flags)", |p| match p.next()? {
        Some(arg) => Err(arg.unexpected()),
        None => Ok(()),
    });
    let table: Arc<WeakIdentityMap<Session, Counters>> = Arc::new(WeakIdentityMap::new());
    let stop = Arc::new(AtomicBool::new(false));
    let ended = Arc::new(AtomicU64::new(0));

    let workers: Vec<_> = (0..2u64)
        .map(|w| {
            let (table, stop, ended) = (Arc::clone(&table), Arc::clone(&stop), Arc::clone(&ended));
            thread::spawn(move || {
                let mut open: Vec<Arc<Session>> = Vec::new();
                let mut next_id = w << 48;
                let mut rng = SmallRng::seed_from_u64(w);
                while !stop.load(Ordering::Relaxed) {
                    let x: u64 = rng.random();
                    match x % 16 {
                        // Open a session (the table gets a Weak, we keep the Arc).
                        0..=3 if open.len() < 20_000 => {
                            next_id += 1;
                            let s = Arc::new(Session {
                                id: next_id,
                                user: format!("user{}", x % 1000),
                            });
                            table.insert(Arc::clone(&s), Counters::default());
                            open.push(s);
                        }
                        // End one: dropping the last Arc is all it takes.
                        4..=6 if !open.is_empty() => {
                            let i = (x >> 8) as usize % open.len();
                            drop(open.swap_remove(i));
                            ended.fetch_add(1, Ordering::Relaxed);
                        }
                        // A request on a live session.
                        _ if !open.is_empty() => {
                            let s = &open[(x >> 8) as usize % open.len()];
                            table.update(s, |c| Counters {
                                requests: c.requests + 1,
                                bytes: c.bytes + (x >> 32) % 4096,
                            });
                        }
                        _ => {}
                    }
                }
                // Show one session's record before the worker ends them all.
                if let Some(s) = open.first() {
                    let c = table.get(s).unwrap_or_default();
                    println!(
                        "worker {w}: session {} of {} made {} requests ({} B)",
                        s.id, s.user, c.requests, c.bytes
                    );
                }
                open.len()
            })
        })
        .collect();

    let start = Instant::now();
    println!(
        "{:>6} {:>8} {:>8} {:>8} {:>8} {:>11} {:>11}",
        "ms", "len()", "live", "dead", "purged", "map bytes", "dead pins"
    );
    while start.elapsed() < Duration::from_secs(2) {
        thread::sleep(Duration::from_millis(250));
        report(&table, start);
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    println!(
        "all sessions ended ({} during the run):",
        ended.load(Ordering::Relaxed)
    );
    report(&table, start);
    let purged = table.purge_dead();
    table.shrink_to_fit();
    table.reclaim();
    println!("purge_dead() purged {purged}:");
    report(&table, start);
    assert_eq!(table.live_len(), 0);
    assert_eq!(table.len(), 0);
}

fn report(table: &WeakIdentityMap<Session, Counters>, start: Instant) {
    // `weak_stats` walks the list: exact live/dead figures, O(n).
    let w = table.weak_stats();
    println!(
        "{:>6} {:>8} {:>8} {:>8} {:>8} {:>11} {:>11}",
        start.elapsed().as_millis(),
        table.len(),
        w.live,
        w.dead,
        w.stats.purged,
        w.stats.heap_bytes,
        w.dead_node_bytes + w.dead_key_bytes,
    );
}
