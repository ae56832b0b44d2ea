//! Concurrent mixes at 1, 2 and 4 threads, uniform and skewed keys:
//! `SplitMap` (guard-free and pinned) against `Mutex<HashMap>`,
//! `RwLock<HashMap>`, dashmap, papaya and scc.
//!
//! One criterion group per (mix, key distribution, threads), one
//! `bench_function` per map; throughput is ops/s summed over threads.
//! Defaults are short for a 2-core machine; lengthen with criterion's own
//! flags, e.g. `cargo bench --bench concurrent -- --measurement-time 5`.
//! Filter as usual: `cargo bench --bench concurrent -- 'read-heavy/uniform/t2'`.
//! 4 threads oversubscribe a 2-core machine; read those groups separately.

mod common;

use std::time::Duration;

use common::{BenchMap, Dist, Runner, Workload, MIXES};
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

/// Ops per thread per round (one criterion iteration).
const OPS_PER_ROUND: usize = 1 << 14;
/// Thread counts measured.
const THREADS: [usize; 3] = [1, 2, 4];

fn bench_map<M: BenchMap>(
    g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    w: &Workload,
) {
    let mut runner = Runner::<M>::default();
    g.bench_function(M::NAME, |b| {
        b.iter_custom(|iters| (0..iters).map(|_| runner.round(w)).sum())
    });
}

fn concurrent(c: &mut Criterion) {
    for mix in MIXES {
        for dist in Dist::ALL {
            for threads in THREADS {
                let w = Workload::new(mix, dist, threads, OPS_PER_ROUND);
                let mut g = c.benchmark_group(format!("{}/{}/t{}", mix.name, dist.name(), threads));
                g.throughput(Throughput::Elements((OPS_PER_ROUND * threads) as u64));
                bench_map::<common::MutexStd>(&mut g, &w);
                bench_map::<common::RwLockStd>(&mut g, &w);
                bench_map::<common::Dash>(&mut g, &w);
                bench_map::<common::Papaya>(&mut g, &w);
                bench_map::<common::Scc>(&mut g, &w);
                bench_map::<common::Split>(&mut g, &w);
                bench_map::<common::SplitPinned>(&mut g, &w);
                g.finish();
            }
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(600));
    targets = concurrent
}
criterion_main!(benches);
