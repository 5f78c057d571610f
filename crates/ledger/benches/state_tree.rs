//! Criterion benchmark of the state tree (`govchain_ledger::smt`): for maps
//! of 10k, 100k and 1M entries, one block's worth of changes (2,000 updates:
//! 1,000 new keys and 1,000 changed values) applied to a clone of the tree
//! followed by `root()`, one by one (`insert`) and as a batch (`apply`, two
//! threads), and proving plus verifying one key. Building each
//! map also prints (to stderr) the bulk-build time, the time of its first
//! full `root()` and the resident memory per entry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_precision_loss)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use govchain_ledger::smt::StateTree;
use govchain_ledger::types::Hash32;

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
const BATCH: usize = 2_000;

fn key(i: usize) -> Hash32 {
    Hash32::sha256(format!("object/{i}").as_bytes())
}

fn value(i: usize, version: u32) -> Hash32 {
    Hash32::sha256(format!("value/{i}/{version}").as_bytes())
}

/// Resident set size of this process, in bytes (Linux; 0 elsewhere).
fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn build(n: usize) -> StateTree {
    let before = rss();
    let t0 = Instant::now();
    let tree = StateTree::from_entries((0..n).map(|i| (key(i), value(i, 0))));
    let built = t0.elapsed();
    let t1 = Instant::now();
    black_box(tree.root());
    let hashed = t1.elapsed();
    let bytes = rss().saturating_sub(before);
    eprintln!(
        "state_tree n={n}: from_entries {built:.2?}, first root {hashed:.2?}, \
         ~{} bytes/entry resident",
        bytes / n
    );
    tree
}

/// 1,000 new keys and 1,000 existing keys with new values, interleaved.
fn batch(n: usize) -> Vec<(Hash32, Hash32)> {
    (0..BATCH / 2)
        .flat_map(|j| {
            let changed = j * (n / (BATCH / 2));
            [
                (key(n + j), value(n + j, 0)),
                (key(changed), value(changed, 1)),
            ]
        })
        .collect()
}

fn state_tree(c: &mut Criterion) {
    let mut g = c.benchmark_group("state_tree");
    for n in SIZES {
        let base = build(n);
        let updates = batch(n);
        let root = base.root();
        g.throughput(Throughput::Elements(BATCH as u64));
        g.bench_with_input(BenchmarkId::new("update_2000_then_root", n), &n, |b, _| {
            b.iter_batched(
                || base.clone(),
                |mut tree| {
                    for (k, v) in &updates {
                        tree.insert(*k, *v);
                    }
                    black_box(tree.root());
                    tree
                },
                BatchSize::SmallInput,
            );
        });
        let changes: Vec<_> = updates.iter().map(|(k, v)| (*k, Some(*v))).collect();
        g.bench_with_input(BenchmarkId::new("apply_2000_then_root", n), &n, |b, _| {
            b.iter_batched(
                || base.clone(),
                |mut tree| {
                    tree.apply(&changes);
                    black_box(tree.root());
                    tree
                },
                BatchSize::SmallInput,
            );
        });
        g.throughput(Throughput::Elements(1));
        let (k, v) = (key(n / 3), value(n / 3, 0));
        g.bench_with_input(BenchmarkId::new("prove_and_verify", n), &n, |b, _| {
            b.iter(|| {
                let proof = base.prove(black_box(&k));
                proof.verify_hashed(&root, &k, Some(&v)).unwrap();
            });
        });
        drop(base);
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = state_tree
}
criterion_main!(benches);
