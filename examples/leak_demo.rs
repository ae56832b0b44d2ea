//! The classic "map that only ever grows", run on `SplitMap` and on the
//! alternatives, each in a fresh process with a counting allocator.
//!
//! A server tracks in-flight requests in a concurrent map: worker threads
//! insert each new request ID and remove IDs that have completed. Three
//! phases:
//! 1. **spike**: a traffic burst, many requests in flight (a large window);
//! 2. **steady**: traffic returns to normal, the backlog completes and only
//!    a few requests stay in flight (a small window);
//! 3. **delete-all**: every remaining request is removed, then a trickle of
//!    short requests (insert, remove) keeps the map barely used.
//!
//! The map's live heap bytes are sampled over time. `Mutex<HashMap>`,
//! dashmap and papaya keep the memory of the spike forever; `SplitMap`
//! gives it back as it goes, without any call. At the end each map's own
//! reclaim call is made too, for comparison.
//!
//! ```text
//! cargo run --release --example leak_demo
//! cargo run --release --example leak_demo -- --threads 4 --spike-secs 10 --steady-secs 10 \
//!     --drain-secs 5 --spike-window 1000000 --maps SplitMap,Mutex<HashMap> --out /tmp/leak.svg
//! ```
//! Prints a progress line, a summary table and a live-bytes timeline, and
//! writes an SVG plot (default `target/leak_demo.svg`, path printed).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lexopt::prelude::*;

#[path = "../tests/common/alloc.rs"]
mod alloc;

use alloc::{live_bytes, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/memory_maps.rs"]
mod memory_maps;

use memory_maps::{MemoryMap, H};

// ---------------------------------------------------------------------------
// Maps
// ---------------------------------------------------------------------------

const ALL_MAPS: [&str; 6] = [
    "SplitMap",
    "SplitCache",
    "Mutex<HashMap>",
    "dashmap",
    "papaya",
    "scc",
];
const USAGE: &str = "leak_demo [--threads N] [--spike-secs S] [--steady-secs S] [--drain-secs S]
                 [--spike-window N] [--window N] [--sample-ms N]
                 [--maps SplitMap,SplitCache,Mutex<HashMap>,dashmap,papaya,scc] [--out FILE.svg]
(windows are requests in flight per thread)";
const PHASES: [&str; 3] = ["spike", "steady", "delete-all"];

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Settings {
    threads: usize,
    spike_secs: f64,
    steady_secs: f64,
    drain_secs: f64,
    spike_window: u64,
    window: u64,
    sample_ms: u64,
    maps: Vec<String>,
    out: String,
    child: Option<String>,
}

impl Settings {
    fn parse() -> Self {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        let mut s = Settings {
            threads: 2,
            spike_secs: 2.5,
            steady_secs: 2.5,
            drain_secs: 1.5,
            spike_window: 250_000,
            window: 5_000,
            sample_ms: 50,
            maps: ALL_MAPS.iter().map(|m| m.to_string()).collect(),
            out: format!("{target}/leak_demo.svg"),
            child: None,
        };
        cli::parse(USAGE, |p| {
            while let Some(arg) = p.next()? {
                match arg {
                    Long("threads") => s.threads = p.value()?.parse::<usize>()?.max(1),
                    Long("spike-secs") => s.spike_secs = p.value()?.parse()?,
                    Long("steady-secs") => s.steady_secs = p.value()?.parse()?,
                    Long("drain-secs") => s.drain_secs = p.value()?.parse()?,
                    Long("spike-window") => s.spike_window = p.value()?.parse()?,
                    Long("window") => s.window = p.value()?.parse()?,
                    Long("sample-ms") => s.sample_ms = p.value()?.parse::<u64>()?.max(1),
                    Long("maps") => s.maps = cli::list(p)?,
                    Long("out") => s.out = p.value()?.string()?,
                    Long("child") => s.child = Some(p.value()?.string()?),
                    _ => return Err(arg.unexpected()),
                }
            }
            match s.maps.iter().find(|m| !ALL_MAPS.contains(&m.as_str())) {
                Some(unknown) => Err(format!("unknown map {unknown:?}").into()),
                None => Ok(()),
            }
        });
        s
    }

    fn to_args(&self) -> Vec<String> {
        vec![
            "--threads".into(),
            self.threads.to_string(),
            "--spike-secs".into(),
            self.spike_secs.to_string(),
            "--steady-secs".into(),
            self.steady_secs.to_string(),
            "--drain-secs".into(),
            self.drain_secs.to_string(),
            "--spike-window".into(),
            self.spike_window.to_string(),
            "--window".into(),
            self.window.to_string(),
            "--sample-ms".into(),
            self.sample_ms.to_string(),
        ]
    }
}

// ---------------------------------------------------------------------------
// Child: runs one map, prints samples on stdout
// ---------------------------------------------------------------------------
//
// Protocol, one record per line:
//   S <ms> <live bytes> <ops so far> <phase>
//   P <phase> <ops> <secs>
//   F <bytes at end, no call> <bytes after the reclaim call>

fn request_id(thread: usize, n: u64) -> u64 {
    // Unique per thread, spread so IDs are not sequential integers.
    ((thread as u64) << 48 | n).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn worker<M: MemoryMap>(
    map: &M,
    t: usize,
    s: &Settings,
    phase: &AtomicU8,
    ops: &AtomicU64,
    phase_ops: &[AtomicU64; 3],
) {
    let (mut lo, mut next) = (0u64, 0u64);
    let mut trickle = 0u64;
    loop {
        let p = phase.load(Ordering::Relaxed);
        let mut done = 0u64;
        match p {
            0 | 1 => {
                let window = if p == 0 { s.spike_window } else { s.window };
                for _ in 0..256 {
                    map.ins(request_id(t, next));
                    next += 1;
                    done += 1;
                    while next - lo > window {
                        map.del(request_id(t, lo));
                        lo += 1;
                        done += 1;
                    }
                }
            }
            2 => {
                // Delete everything still in flight, then a trickle of
                // short requests.
                while lo < next {
                    map.del(request_id(t, lo));
                    lo += 1;
                    done += 1;
                }
                for _ in 0..16 {
                    map.ins(request_id(t, next));
                    map.del(request_id(t, next));
                    next += 1;
                    lo = next;
                    done += 2;
                }
                trickle += 1;
                std::thread::sleep(Duration::from_micros(500));
            }
            _ => return,
        }
        ops.fetch_add(done, Ordering::Relaxed);
        phase_ops[p as usize].fetch_add(done, Ordering::Relaxed);
        let _ = trickle;
    }
}

fn child<M: MemoryMap>(s: &Settings) {
    let base = live_bytes();
    let map = M::new_map();
    let phase = AtomicU8::new(0);
    let ops = AtomicU64::new(0);
    let phase_ops: [AtomicU64; 3] = Default::default();
    let stop_sampler = AtomicBool::new(false);
    let start = Instant::now();
    let out = std::io::stdout();
    let durations = [s.spike_secs, s.steady_secs, s.drain_secs];
    std::thread::scope(|sc| {
        sc.spawn(|| {
            while !stop_sampler.load(Ordering::Relaxed) {
                let mut o = out.lock();
                let _ = writeln!(
                    o,
                    "S {} {} {} {}",
                    start.elapsed().as_millis(),
                    live_bytes() - base,
                    ops.load(Ordering::Relaxed),
                    phase.load(Ordering::Relaxed).min(2)
                );
                let _ = o.flush();
                drop(o);
                std::thread::sleep(Duration::from_millis(s.sample_ms));
            }
        });
        let workers: Vec<_> = (0..s.threads)
            .map(|t| {
                let (map, phase, ops, phase_ops) = (&map, &phase, &ops, &phase_ops);
                sc.spawn(move || worker(map, t, s, phase, ops, phase_ops))
            })
            .collect();
        let mut deadline = start;
        for (p, secs) in durations.iter().enumerate() {
            let began = Instant::now();
            deadline += Duration::from_secs_f64(*secs);
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            phase.store(p as u8 + 1, Ordering::Relaxed);
            let n = phase_ops[p].load(Ordering::Relaxed);
            let mut o = out.lock();
            let _ = writeln!(o, "P {p} {n} {:.3}", began.elapsed().as_secs_f64());
            let _ = o.flush();
        }
        for w in workers {
            w.join().expect("worker panicked");
        }
        stop_sampler.store(true, Ordering::Relaxed);
    });
    let end = live_bytes() - base;
    map.reclaim_call();
    let after = live_bytes() - base;
    println!("F {end} {after}");
    drop(map);
}

// ---------------------------------------------------------------------------
// Parent: runs each map, reports
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Run {
    name: String,
    samples: Vec<(f64, f64, u32)>, // secs, bytes, phase
    phase_rate: [f64; 3],          // ops/s per phase
    end_bytes: f64,
    after_call: f64,
}

fn run_map(exe: &std::path::Path, s: &Settings, name: &str, idx: usize) -> Run {
    let progress = cli::Progress::default();
    let mut child = Command::new(exe)
        .args(s.to_args())
        .args(["--child", name])
        .stdout(Stdio::piped())
        .spawn()
        .expect("re-run self");
    let stdout = child.stdout.take().expect("piped");
    let total = s.spike_secs + s.steady_secs + s.drain_secs;
    let mut run = Run {
        name: name.to_owned(),
        ..Run::default()
    };
    let mut last_ops = (0.0, 0.0);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("child output");
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first().copied() {
            Some("S") if f.len() == 5 => {
                let secs = f[1].parse::<f64>().unwrap_or(0.0) / 1000.0;
                let bytes: f64 = f[2].parse().unwrap_or(0.0);
                let ops: f64 = f[3].parse().unwrap_or(0.0);
                let phase: u32 = f[4].parse().unwrap_or(0);
                let rate = if secs > last_ops.0 {
                    (ops - last_ops.1) / (secs - last_ops.0)
                } else {
                    0.0
                };
                last_ops = (secs, ops);
                run.samples.push((secs, bytes, phase));
                let done = ((secs / total) * 20.0).clamp(0.0, 20.0) as usize;
                progress.update(format_args!(
                    "[{}/{}] {:<15} [{:<20}] {:>4.1}s {:<10} live {:>9}  {:>6.2} Mops/s",
                    idx + 1,
                    s.maps.len(),
                    name,
                    "#".repeat(done),
                    secs,
                    PHASES[phase.min(2) as usize],
                    human(bytes),
                    rate / 1e6
                ));
            }
            Some("P") if f.len() == 4 => {
                let p: usize = f[1].parse().unwrap_or(0);
                let n: f64 = f[2].parse().unwrap_or(0.0);
                let secs: f64 = f[3].parse().unwrap_or(1.0);
                run.phase_rate[p.min(2)] = n / secs.max(1e-9);
            }
            Some("F") if f.len() == 3 => {
                run.end_bytes = f[1].parse().unwrap_or(f64::NAN);
                run.after_call = f[2].parse().unwrap_or(f64::NAN);
            }
            _ => {}
        }
    }
    let status = child.wait().expect("child status");
    progress.done(format_args!(
        "[{}/{}] {name}: {:.2} / {:.2} / {:.2} Mops/s (spike / steady / delete-all), live {} at the end",
        idx + 1,
        s.maps.len(),
        run.phase_rate[0] / 1e6,
        run.phase_rate[1] / 1e6,
        run.phase_rate[2] / 1e6,
        human(run.end_bytes)
    ));
    assert!(status.success(), "{name} run failed");
    run
}

fn human(b: f64) -> String {
    if b.abs() >= 1024.0 * 1024.0 {
        trim_unit(b / 1024.0 / 1024.0, "MiB")
    } else if b.abs() >= 1024.0 {
        trim_unit(b / 1024.0, "KiB")
    } else {
        format!("{b:.0} B")
    }
}

/// Live bytes at the last sample taken at or before `t` (or in the phase).
fn at(run: &Run, t: f64) -> f64 {
    run.samples
        .iter()
        .take_while(|s| s.0 <= t)
        .last()
        .map_or(0.0, |s| s.1)
}

fn end_of_phase(run: &Run, p: u32) -> f64 {
    run.samples
        .iter()
        .rev()
        .find(|s| s.2 == p)
        .map_or(f64::NAN, |s| s.1)
}

fn report(s: &Settings, runs: &[Run]) {
    println!(
        "\n{} threads; spike {} s ({} requests in flight per thread), steady {} s ({} in flight), delete-all {} s.\n",
        s.threads, s.spike_secs, s.spike_window, s.steady_secs, s.window, s.drain_secs
    );
    println!("| map | spike Mops/s | steady Mops/s | peak live | end of spike | end of steady | end (no call) | after reclaim call |");
    println!("|---|--:|--:|--:|--:|--:|--:|--:|");
    for r in runs {
        let peak = r.samples.iter().map(|s| s.1).fold(0.0, f64::max);
        println!(
            "| {} | {:.2} | {:.2} | {} | {} | {} | {} | {} |",
            r.name,
            r.phase_rate[0] / 1e6,
            r.phase_rate[1] / 1e6,
            human(peak),
            human(end_of_phase(r, 0)),
            human(end_of_phase(r, 1)),
            human(r.end_bytes),
            human(r.after_call)
        );
    }
    println!("\nLive bytes over time:\n");
    print!("| t (s) | phase |");
    for r in runs {
        print!(" {} |", r.name);
    }
    println!();
    print!("|--:|---|");
    for _ in runs {
        print!("--:|");
    }
    println!();
    let total = s.spike_secs + s.steady_secs + s.drain_secs;
    let step = (total / 14.0).max(0.1);
    let mut t = step;
    while t <= total + 1e-9 {
        let phase = if t <= s.spike_secs {
            0
        } else if t <= s.spike_secs + s.steady_secs {
            1
        } else {
            2
        };
        print!("| {t:.1} | {} |", PHASES[phase]);
        for r in runs {
            print!(" {} |", human(at(r, t)));
        }
        println!();
        t += step;
    }
}

// ---------------------------------------------------------------------------
// SVG
// ---------------------------------------------------------------------------

const COLORS: [&str; 6] = [
    "#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
];

fn svg(s: &Settings, runs: &[Run]) -> String {
    let (w, h) = (900.0, 480.0);
    let (left, right, top, bottom) = (80.0, 200.0, 40.0, 50.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let total = s.spike_secs + s.steady_secs + s.drain_secs;
    let max_b = runs
        .iter()
        .flat_map(|r| r.samples.iter().map(|x| x.1))
        .fold(1.0, f64::max);
    // Log scale from 1 KiB up in steps of 16x (1 KiB, 16 KiB, 256 KiB,
    // 4 MiB, ...) to the first step above the maximum: the interesting
    // differences are KiB against MiB, and one map's outlier must not
    // flatten the others.
    let lo = 1024.0f64;
    let mut hi = lo * 16.0;
    while hi < max_b {
        hi *= 16.0;
    }
    let x = |t: f64| left + t / total * pw;
    let y = |b: f64| {
        let frac = (b.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10());
        top + ph - frac * ph
    };
    let mut o = String::new();
    o += &format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n"
    );
    o += &format!("<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n");
    o += &format!(
        "<text x=\"{}\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">Live heap bytes over time: in-flight request map, {} threads</text>\n",
        left + pw / 2.0,
        s.threads
    );
    // Phase bands.
    let mut t0 = 0.0;
    for (i, secs) in [s.spike_secs, s.steady_secs, s.drain_secs]
        .iter()
        .enumerate()
    {
        let fill = if i % 2 == 0 { "#f4f4f4" } else { "#ffffff" };
        o += &format!(
            "<rect x=\"{:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{ph}\" fill=\"{fill}\"/>\n",
            x(t0),
            x(t0 + secs) - x(t0)
        );
        o += &format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666\">{}</text>\n",
            x(t0 + secs / 2.0),
            top + 14.0,
            PHASES[i]
        );
        t0 += secs;
    }
    // Axes and grid: one line per 16x step.
    let mut v = lo;
    while v <= hi * 1.0001 {
        let yy = y(v);
        o += &format!(
            "<line x1=\"{left}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>\n",
            left + pw
        );
        o += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            left - 6.0,
            yy + 4.0,
            human(v)
        );
        v *= 16.0;
    }
    o += &format!(
        "<text x=\"16\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {:.1})\">live heap bytes (log scale)</text>\n",
        top + ph / 2.0,
        top + ph / 2.0
    );
    let ticks = total.ceil() as usize;
    let every = (ticks / 10).max(1);
    for i in (0..=ticks).step_by(every) {
        let xx = x(i as f64);
        if i as f64 > total + 1e-9 {
            break;
        }
        o += &format!(
            "<line x1=\"{xx:.1}\" y1=\"{}\" x2=\"{xx:.1}\" y2=\"{}\" stroke=\"#333\"/>\n",
            top + ph,
            top + ph + 5.0
        );
        o += &format!(
            "<text x=\"{xx:.1}\" y=\"{}\" text-anchor=\"middle\">{i}</text>\n",
            top + ph + 18.0
        );
    }
    o += &format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">seconds</text>\n",
        left + pw / 2.0,
        h - 10.0
    );
    o += &format!(
        "<rect x=\"{left}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#333\"/>\n"
    );
    // Series and legend.
    for (i, r) in runs.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let pts: Vec<String> = r
            .samples
            .iter()
            .map(|(t, b, _)| format!("{:.1},{:.1}", x(t.min(total)), y(*b)))
            .collect();
        o += &format!(
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>\n",
            pts.join(" ")
        );
        let ly = top + 20.0 + i as f64 * 36.0;
        let lx = left + pw + 15.0;
        o += &format!(
            "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{c}\" stroke-width=\"3\"/>\n",
            lx + 20.0
        );
        o += &format!(
            "<text x=\"{}\" y=\"{}\">{}</text>\n",
            lx + 26.0,
            ly + 4.0,
            escape(&r.name)
        );
        o += &format!(
            "<text x=\"{}\" y=\"{}\" fill=\"#666\" font-size=\"11\">after workers exit: {}</text>\n",
            lx + 26.0,
            ly + 18.0,
            human(r.end_bytes)
        );
    }
    o += "</svg>\n";
    o
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn main() {
    let s = Settings::parse();
    if let Some(name) = s.child.clone() {
        match name.as_str() {
            "SplitMap" => child::<splitmap::SplitMap<u64, u64, H>>(&s),
            "SplitCache" => child::<splitmap::SplitCache<u64, u64, H>>(&s),
            "Mutex<HashMap>" => child::<Mutex<HashMap<u64, u64, H>>>(&s),
            "dashmap" => child::<dashmap::DashMap<u64, u64, H>>(&s),
            "papaya" => child::<papaya::HashMap<u64, u64, H>>(&s),
            "scc" => child::<scc::HashMap<u64, u64, H>>(&s),
            other => panic!("unknown map {other}; one of {ALL_MAPS:?}"),
        }
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    let runs: Vec<Run> = s
        .maps
        .iter()
        .enumerate()
        .map(|(i, m)| run_map(&exe, &s, m, i))
        .collect();
    report(&s, &runs);
    let path = std::path::Path::new(&s.out);
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).expect("create output folder");
        }
    }
    std::fs::write(path, svg(&s, &runs)).expect("write SVG");
    println!("\nSVG plot written to {}", path.display());
}

/// `v unit` with one decimal, or none when `v` is whole.
fn trim_unit(v: f64, unit: &str) -> String {
    if (v - v.round()).abs() < 0.05 {
        format!("{v:.0} {unit}")
    } else {
        format!("{v:.1} {unit}")
    }
}
