"""hnswlib counterpart of crates/lhv-core/examples/insert_into_existing.rs: index 10 000
vectors (M=16, ef_construction=200), then time add_items of 1024 more on 2 threads;
repeated on fresh indexes. Prints one JSON line.

usage: python3 hnswlib_insert.py SOURCE [REPEATS]
SOURCE: a dataset directory (base.fvecs) or random:DIM (uniform in [-1, 1))"""
import json
import sys
import time

import hnswlib
import numpy as np

INITIAL, BATCH, THREADS = 10_000, 1024, 2


def read_fvecs(path, limit):
    raw = np.fromfile(path, dtype=np.int32)
    dim = raw[0]
    return raw.reshape(-1, dim + 1)[:limit, 1:].copy().view(np.float32)


def main():
    source = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if source.startswith("random:"):
        rng = np.random.default_rng(7)
        base = rng.uniform(-1, 1, (INITIAL + BATCH, int(source[7:]))).astype(np.float32)
    else:
        base = read_fvecs(f"{source}/base.fvecs", INITIAL + BATCH)
    if len(base) < INITIAL + BATCH:
        sys.exit(f"need at least {INITIAL + BATCH} base vectors")
    rates = []
    for _ in range(repeats):
        index = hnswlib.Index(space="cosine", dim=base.shape[1])
        index.init_index(max_elements=INITIAL + BATCH, M=16, ef_construction=200, random_seed=100)
        index.add_items(base[:INITIAL], np.arange(INITIAL), num_threads=THREADS)
        started = time.perf_counter()
        index.add_items(base[INITIAL:], np.arange(INITIAL, INITIAL + BATCH), num_threads=THREADS)
        rates.append(BATCH / (time.perf_counter() - started))
    print(json.dumps({"source": source, "initial": INITIAL, "batch": BATCH, "threads": THREADS, "vectors_per_s": rates}))


main()
