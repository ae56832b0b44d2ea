//! Single-thread get (hit and miss), insert and remove: `SplitMap`
//! (guard-free and pinned) against std `HashMap` (no lock),
//! `Mutex<HashMap>`, papaya (pinned), dashmap and scc.
//!
//! One criterion group per workload, one `bench_function` per map. Keys are
//! `u64`, drawn before timing; all maps use the same fixed-seed foldhash.
//! Pinned variants pin once per batch of `BATCH` operations. A get
//! iteration looks up every key of a 131,072-entry map in random order.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::single::*;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput,
};

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// The four workloads.
#[derive(Clone, Copy)]
enum Work {
    GetHit,
    GetMiss,
    Insert,
    Remove,
}

fn bench<M: SingleMap>(g: &mut Group<'_>, keys: &Keys, work: Work) {
    match work {
        Work::GetHit | Work::GetMiss => {
            let mut map = M::new_map();
            map.insert_all(&keys.present);
            let probe = if matches!(work, Work::GetHit) {
                &keys.hit
            } else {
                &keys.miss
            };
            g.bench_function(M::NAME, |b| {
                b.iter(|| black_box(map.get_all(black_box(probe))))
            });
        }
        Work::Insert => {
            g.bench_function(M::NAME, |b| {
                b.iter_batched(
                    M::new_map,
                    |mut m| {
                        m.insert_all(black_box(&keys.write));
                        m
                    },
                    BatchSize::LargeInput,
                );
            });
        }
        Work::Remove => {
            g.bench_function(M::NAME, |b| {
                b.iter_batched(
                    || {
                        let mut m = M::new_map();
                        m.insert_all(&keys.write);
                        m
                    },
                    |mut m| {
                        black_box(m.remove_all(black_box(&keys.write)));
                        m
                    },
                    BatchSize::LargeInput,
                );
            });
        }
    }
}

fn single_thread(c: &mut Criterion) {
    let keys = Keys::new();
    for (name, work, n) in [
        ("get_hit", Work::GetHit, GET_MAP_LEN),
        ("get_miss", Work::GetMiss, GET_MAP_LEN),
        ("insert", Work::Insert, WRITE_LEN),
        ("remove", Work::Remove, WRITE_LEN),
    ] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(n as u64));
        bench::<Std>(&mut g, &keys, work);
        bench::<MutexStd>(&mut g, &keys, work);
        bench::<Split>(&mut g, &keys, work);
        bench::<SplitPinned>(&mut g, &keys, work);
        bench::<Papaya>(&mut g, &keys, work);
        bench::<Dash>(&mut g, &keys, work);
        bench::<Scc>(&mut g, &keys, work);
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = single_thread
}
criterion_main!(benches);
