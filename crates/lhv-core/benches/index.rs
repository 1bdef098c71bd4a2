//! Criterion benches of the hot paths: distance kernels, one search, batch vs
//! single upserts. For regressions; the peer comparison is `cargo xtask bench`.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lhv_core::{Index, IndexParams, Item, Metric, SearchOptions};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

fn random_vectors(count: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..count).map(|_| (0..dim).map(|_| rng.random::<f32>() - 0.5).collect()).collect()
}

fn items(vectors: &[Vec<f32>], prefix: &str) -> Vec<Item> {
    vectors
        .iter()
        .enumerate()
        .map(|(i, v)| Item { id: format!("{prefix}{i}"), vector: v.clone(), metadata: None, ..Default::default() })
        .collect()
}

fn distances(c: &mut Criterion) {
    let mut group = c.benchmark_group("distance");
    for dim in [384, 768] {
        let v = random_vectors(2, dim, 1);
        group.throughput(Throughput::Elements(dim as u64));
        for metric in [Metric::Cosine, Metric::L2, Metric::Dot] {
            group.bench_with_input(BenchmarkId::new(metric.to_string(), dim), &dim, |b, _| {
                b.iter(|| metric.distance(std::hint::black_box(&v[0]), std::hint::black_box(&v[1])).unwrap())
            });
        }
    }
    group.finish();
}

fn search(c: &mut Criterion) {
    let base = random_vectors(10_000, 384, 2);
    let queries = random_vectors(100, 384, 3);
    let index = Index::new(IndexParams::new(384, Metric::Cosine).with_exact_search_threshold(0)).unwrap();
    index.upsert(items(&base, "")).unwrap();
    let mut group = c.benchmark_group("search_10k_384");
    for ef in [16, 64, 128] {
        group.bench_with_input(BenchmarkId::new("ef", ef), &ef, |b, &ef| {
            let mut next = 0;
            b.iter(|| {
                next = (next + 1) % queries.len();
                index.search(&queries[next], 10, &SearchOptions::default().with_ef(ef)).unwrap()
            })
        });
    }
    group.finish();
}

/// The original Go service's microbench: N vectors (d=768, cosine) into a fresh
/// index with M=16, ef_construction=20, as one batch or as N single upserts.
fn upsert_batch_vs_single(c: &mut Criterion) {
    let params = IndexParams::new(768, Metric::Cosine).with_ef_construction(20).with_exact_search_threshold(0);
    let mut group = c.benchmark_group("upsert_fresh_768");
    group.sample_size(10);
    for n in [16, 128, 1024] {
        let batch = items(&random_vectors(n, 768, n as u64), "v");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("batch", n), &n, |b, _| {
            b.iter_batched(
                || (Index::new(params.clone()).unwrap(), batch.clone()),
                |(index, batch)| index.upsert(batch).unwrap(),
                BatchSize::LargeInput,
            )
        });
        group.bench_with_input(BenchmarkId::new("single", n), &n, |b, _| {
            b.iter_batched(
                || (Index::new(params.clone()).unwrap(), batch.clone()),
                |(index, batch)| {
                    for item in batch {
                        index.upsert(vec![item]).unwrap();
                    }
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// A batch of 1024 new vectors (d=384, cosine) into an index that already holds
/// 10 000, at M=16, ef_construction=200, linked on the rayon pool (2 threads here).
fn upsert_into_existing(c: &mut Criterion) {
    let base = items(&random_vectors(10_000, 384, 4), "base");
    let batch = items(&random_vectors(1024, 384, 5), "new");
    let params = IndexParams::new(384, Metric::Cosine).with_exact_search_threshold(0);
    let mut group = c.benchmark_group("upsert_into_10k_384");
    group.sample_size(10);
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("batch_1024", |b| {
        b.iter_batched(
            || {
                let index = Index::new(params.clone()).unwrap();
                index.upsert(base.clone()).unwrap();
                (index, batch.clone())
            },
            |(index, batch)| index.upsert(batch).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, distances, search, upsert_batch_vs_single, upsert_into_existing);
criterion_main!(benches);
