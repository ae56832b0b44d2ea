//! Memory side by side: each map in a fresh process (this binary re-runs
//! itself once per map), measured with a counting global allocator (bytes
//! requested from the allocator, live at the moment of reading; allocator
//! rounding and headers not included).
//!
//! For each map, with `u64 -> u64` and the shared fixed-seed hasher:
//! - bytes per entry with 1,000,000 entries;
//! - live bytes after removing them all, with no call, and after the map's
//!   own reclaim call (`SplitMap`: `shrink_to_fit()` + `reclaim()`; std and
//!   dashmap: `shrink_to_fit()`; scc: `Guard::accelerate()`, as it shrinks
//!   itself; papaya: none offered);
//! - churn: a sliding window of 10,000 unique keys over 5,000,000 steps
//!   (insert key `i`, remove key `i - 10,000`): peak and final live bytes
//!   (and final after the reclaim call).
//!
//! ```text
//! cargo run --release --example memory_table            # markdown table
//! cargo run --release --example memory_table -- --entries 100000 --steps 500000
//! cargo run --release --example memory_table -- --map SplitMap   # one map, raw line
//! ```

use std::collections::HashMap;
use std::process::Command;
use std::sync::Mutex;

use lexopt::prelude::*;

#[path = "../tests/common/alloc.rs"]
mod alloc;

use alloc::{live_bytes, peak_bytes, reset_peak, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/memory_maps.rs"]
mod memory_maps;

use memory_maps::{MemoryMap, H};

fn key(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xA5A5_A5A5_0000_0000
}

const MAPS: [&str; 5] = ["Mutex<HashMap>", "dashmap", "papaya", "scc", "SplitMap"];

struct Params {
    entries: u64,
    window: u64,
    steps: u64,
}

/// Runs every measurement on `M`; prints one tab-separated line.
fn measure<M: MemoryMap>(name: &str, p: &Params) {
    let base = live_bytes();
    let m = M::new_map();
    for i in 0..p.entries {
        m.ins(key(i));
    }
    let full = live_bytes() - base;
    for i in 0..p.entries {
        m.del(key(i));
    }
    let after_remove = live_bytes() - base;
    m.reclaim_call();
    let after_call = live_bytes() - base;
    drop(m);

    let base = live_bytes();
    reset_peak();
    let m = M::new_map();
    for i in 0..p.steps {
        m.ins(key(i));
        if i >= p.window {
            m.del(key(i - p.window));
        }
    }
    let churn_peak = peak_bytes() - base;
    let churn_final = live_bytes() - base;
    let detail_final = m.detail();
    m.reclaim_call();
    let churn_call = live_bytes() - base;
    let detail_call = m.detail();
    drop(m);
    println!(
        "{name}\t{:.1}\t{after_remove}\t{after_call}\t{churn_peak}\t{churn_final}\t{churn_call}",
        full as f64 / p.entries as f64
    );
    if !detail_final.is_empty() {
        println!("{name} churn final: {detail_final}");
        println!("{name} churn after call: {detail_call}");
    }
}

fn human(b: &str) -> String {
    let b: f64 = b.parse().unwrap_or(f64::NAN);
    if b.abs() >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1024.0 / 1024.0)
    } else if b.abs() >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}

fn main() {
    let mut p = Params {
        entries: 1_000_000,
        window: 10_000,
        steps: 5_000_000,
    };
    let mut only: Option<String> = None;
    let usage = "memory_table [--map NAME] [--entries N] [--window N] [--steps N]\n\
         (without --map: every map, each in a fresh process, as a markdown table)";
    cli::parse(usage, |args| {
        while let Some(arg) = args.next()? {
            match arg {
                Long("map") => only = Some(args.value()?.string()?),
                Long("entries") => p.entries = args.value()?.parse()?,
                Long("window") => p.window = args.value()?.parse()?,
                Long("steps") => p.steps = args.value()?.parse()?,
                _ => return Err(arg.unexpected()),
            }
        }
        Ok(())
    });
    if let Some(name) = only {
        match name.as_str() {
            "Mutex<HashMap>" => measure::<Mutex<HashMap<u64, u64, H>>>(&name, &p),
            "dashmap" => measure::<dashmap::DashMap<u64, u64, H>>(&name, &p),
            "papaya" => measure::<papaya::HashMap<u64, u64, H>>(&name, &p),
            "scc" => measure::<scc::HashMap<u64, u64, H>>(&name, &p),
            "SplitMap" => measure::<splitmap::SplitMap<u64, u64, H>>(&name, &p),
            other => panic!("unknown map {other}; one of {MAPS:?}"),
        }
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    println!(
        "\n### Memory\n\nu64 -> u64, bytes requested from the allocator (counting global allocator; \
         malloc's rounding not included), each map in a fresh process. {} entries; churn: window {}, {} steps.\n",
        p.entries, p.window, p.steps
    );
    println!("| map | bytes/entry | after remove-all, no call | after own reclaim call | churn peak | churn final | churn final after call |");
    println!("|---|--:|--:|--:|--:|--:|--:|");
    let mut notes = Vec::new();
    let progress = cli::Progress::default();
    for name in MAPS {
        progress.update(format_args!("memory: {name}"));
        let out = Command::new(&exe)
            .args(["--map", name])
            .args(["--entries", &p.entries.to_string()])
            .args(["--window", &p.window.to_string()])
            .args(["--steps", &p.steps.to_string()])
            .output()
            .expect("re-run self");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let f: Vec<&str> = lines.next().unwrap_or("").trim().split('\t').collect();
        notes.extend(lines.map(str::to_owned));
        if !out.status.success() || f.len() != 7 {
            println!(
                "| {name} | failed: {} |||||",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            continue;
        }
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            f[0],
            f[1],
            human(f[2]),
            human(f[3]),
            human(f[4]),
            human(f[5]),
            human(f[6])
        );
    }
    progress.clear();
    println!(
        "\nReclaim calls: SplitMap `shrink_to_fit()` + `reclaim()`; std and dashmap `shrink_to_fit()`; \
         scc `Guard::accelerate()` (it shrinks by itself); papaya offers none."
    );
    for n in notes {
        println!("\n{n}");
    }
}
