//! Snapshot encode and decode throughput (GB/s of snapshot bytes) at 100k and
//! 1M vectors of 384 dimensions.
//!
//! The parts are synthetic but valid (random vectors, a random bottom-layer
//! graph of full lists): building a real 1M-vector graph would take minutes
//! and the format does not care how the links were chosen.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use lhv_core::{GraphParts, Index, IndexParams, IndexParts, Metric};
use lhv_format::{decode_snapshot, decode_snapshot_parts, encode_snapshot};

const DIM: usize = 384;
const M: usize = 16;

/// A xorshift stream: cheap, deterministic, good enough for filler data.
struct Filler(u64);

impl Filler {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn parts(n: usize) -> IndexParts {
    let mut filler = Filler(0x9E37_79B9_7F4A_7C15);
    let vectors =
        lhv_core::StoredRows::F32((0..n * DIM).map(|_| (filler.next() % 2001) as f32 / 1000.0 - 1.0).collect());
    let mut bottom = Vec::with_capacity(n * (1 + 2 * M));
    for _ in 0..n {
        bottom.push((2 * M) as u32);
        bottom.extend((0..2 * M).map(|_| (filler.next() % n as u64) as u32));
    }
    IndexParts {
        params: IndexParams::new(DIM, Metric::Cosine).with_m(M),
        ids: (0..n).map(|i| Some(format!("doc-{i:08}"))).collect(),
        metadata: vec![None; n],
        vectors,
        graph: GraphParts { levels: vec![0; n], bottom, upper: Vec::new(), entry: Some(0) },
        vectorless: Vec::new(),
        full_rows: None,
        named: Vec::new(),
        sparse: Vec::new(),
    }
}

fn snapshots(c: &mut Criterion) {
    for n in [100_000, 1_000_000] {
        let parts = parts(n);
        let bytes = encode_snapshot(&parts, 7).unwrap();
        let mut group = c.benchmark_group(format!("snapshot_{n}x{DIM}"));
        group.sample_size(10).throughput(Throughput::Bytes(bytes.len() as u64));
        // The yardstick: copying the snapshot's bytes once.
        group.bench_function("memcpy", |b| b.iter(|| bytes.to_vec()));
        group.bench_function("encode", |b| b.iter(|| encode_snapshot(&parts, 7).unwrap()));
        group.bench_function("decode_parts", |b| b.iter(|| decode_snapshot_parts(&bytes).unwrap()));
        group.bench_function("decode_index", |b| b.iter(|| decode_snapshot(&bytes).unwrap()));
        let index = Index::from_parts(parts.clone()).unwrap();
        group.bench_function("to_parts_and_encode", |b| {
            b.iter_batched(|| (), |()| encode_snapshot(&index.to_parts(), 7).unwrap(), BatchSize::PerIteration)
        });
        group.finish();
    }
}

criterion_group!(benches, snapshots);
criterion_main!(benches);
