"""A payload index created on a live collection, through qdrant-client against vectord (run by
`cargo xtask bench-payload-index`, which starts the release binary and passes its URL).

Per dataset: the collection is filled (every point carries `doc`, one of 1 000 values, and `tag`,
one of 10), filtered searches are answered and timed without an index, then 4 writers upsert
new points (their own `doc` values) while `PUT /collections/{c}/index` builds a keyword index on
`doc`. Checked: the filtered answers before, during and after the build are the same (the
writers' points never match the measured filters), and every acknowledged write is there and
counted by the index. Reported: the build time, and filtered QPS (1 client) without the index,
with it, and without it again after it is dropped, in the same run.
"""
import argparse
import json
import threading
import time

import numpy as np
from qdrant_client import QdrantClient, models

WRITERS = 4
WRITE_BATCH = 64
QUERIES = 200
K = 10


def load(path, limit):
    if path.endswith(".npy"):
        return np.load(path).astype(np.float32)[:limit]
    raw = np.fromfile(path, dtype=np.int32)
    dim = raw[0]
    return raw.reshape(-1, dim + 1)[:limit, 1:].view(np.float32).copy()


def fill(client, name, vectors):
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=vectors.shape[1],
                                                                       distance=models.Distance.COSINE))
    for start in range(0, len(vectors), 500):
        stop = min(start + 500, len(vectors))
        client.upsert(name, points=models.Batch(
            ids=list(range(start, stop)), vectors=vectors[start:stop].tolist(),
            payloads=[{"doc": f"doc-{i % 1000}", "tag": f"t{i % 10}", "n": i} for i in range(start, stop)]))


def doc_filter(i):
    return models.Filter(must=[models.FieldCondition(key="doc", match=models.MatchValue(value=f"doc-{i % 1000}"))])


def answers(client, name, queries):
    """Each query's filtered top k (ids), with its own selective filter."""
    return [[p.id for p in client.query_points(name, query=q.tolist(), query_filter=doc_filter(i), limit=K).points]
            for i, q in enumerate(queries)]


def qps(client, name, queries, rounds=2):
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        answers(client, name, queries)
        best = max(best, len(queries) / (time.perf_counter() - started))
    return best


def writer(url, name, number, dim, stop, acknowledged, errors):
    client = QdrantClient(url=url, timeout=120)
    rng = np.random.default_rng(number)
    written = 0
    while not stop.is_set():
        ids = [10_000_000 + number * 1_000_000 + written + j for j in range(WRITE_BATCH)]
        vectors = rng.standard_normal((WRITE_BATCH, dim)).astype(np.float32)
        try:
            client.upsert(name, points=models.Batch(ids=ids, vectors=vectors.tolist(),
                                                    payloads=[{"doc": f"writer-{number}", "n": i} for i in ids]))
        except Exception as error:  # noqa: BLE001 - reported, and fails the run
            errors.append(repr(error))
            return
        written += WRITE_BATCH
        acknowledged[number] = written


def run(url, label, vectors, queries):
    client = QdrantClient(url=url, timeout=300)
    name = f"payload-index-{label}"
    fill(client, name, vectors)
    before = answers(client, name, queries)
    without = qps(client, name, queries)

    stop, acknowledged, errors = threading.Event(), [0] * WRITERS, []
    threads = [threading.Thread(target=writer, args=(url, name, n, vectors.shape[1], stop, acknowledged, errors))
               for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    during = []
    reader_stop = threading.Event()

    def reader():
        reader_client = QdrantClient(url=url, timeout=300)
        while not reader_stop.is_set():
            during.append(answers(reader_client, name, queries[:20]))

    reading = threading.Thread(target=reader)
    reading.start()
    started = time.perf_counter()
    client.create_payload_index(name, field_name="doc", field_schema=models.PayloadSchemaType.KEYWORD, wait=True)
    build_s = time.perf_counter() - started
    time.sleep(1.0)
    reader_stop.set()
    reading.join()
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors, errors

    after = answers(client, name, queries)
    assert after == before, "filtered answers changed after the index was built"
    assert during and all(d == before[:20] for d in during), "filtered answers changed while it was built"
    written = sum(acknowledged)
    for number in range(WRITERS):
        mine = client.count(name, count_filter=models.Filter(must=[models.FieldCondition(
            key="doc", match=models.MatchValue(value=f"writer-{number}"))]), exact=True).count
        assert mine == acknowledged[number], (number, mine, acknowledged[number])
    info = client.get_collection(name)
    assert info.points_count == len(vectors) + written
    assert info.payload_schema["doc"].points == len(vectors) + written
    with_index = qps(client, name, queries)
    client.delete_payload_index(name, "doc", wait=True)
    without_again = qps(client, name, queries)
    client.delete_collection(name)
    return {"dataset": label, "points": len(vectors), "written_during_build": written,
            "build_seconds": round(build_s, 3), "reads_during_build": len(during),
            "qps_without": round(without, 1), "qps_with": round(with_index, 1),
            "qps_without_after_drop": round(without_again, 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--data", action="append", required=True, help="label=base-vectors-file[:limit]")
    arguments = parser.parse_args()
    results = []
    for spec in arguments.data:
        label, path = spec.split("=", 1)
        limit = None
        if ":" in path:
            path, limit = path.rsplit(":", 1)
            limit = int(limit)
        vectors = load(path, limit)
        queries = vectors[np.random.default_rng(1).choice(len(vectors), QUERIES, replace=False)] + 0.01
        results.append(run(arguments.url, label, vectors, queries))
        print(json.dumps(results[-1]), flush=True)


if __name__ == "__main__":
    main()
