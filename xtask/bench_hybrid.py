"""Hybrid search over Qdrant's REST API: BM25 sparse vectors, dense MiniLM vectors and their RRF fusion in one
collection (run by `cargo xtask bench-hybrid`, which starts the release binary and passes its URL, or passes the
URL of a server already running with `--url`).

Data (`--data`, shared/data/minilm-dev): `base.fvecs` (50 000 x 384, L2-normalised all-MiniLM-L6-v2), `query.fvecs`
(1 000), `groundtruth.ivecs` (exact top-100 by inner product) and `texts.jsonl.gz`, the exact strings embedded:
`{"id", "split": "base"|"query", "text"}`, `id` = the row in base.fvecs or query.fvecs. The sparse queries are
made from the query texts, the same strings the query vectors were embedded from, so the dense and the sparse
query of a row ask for the same thing.

BM25 as sparse vectors (the client sends term weights, the server applies IDF):
- tokens: the text lowercased, split on every character that is not an ASCII letter or digit (`[a-z0-9]+`);
  no stop words, no stemming;
- a term's index: CRC-32 (zlib) of its UTF-8 bytes, a u32, stateless like fastembed's hashed BM25 (a collision
  merges two terms, for the server and the brute force alike);
- a document's value for a term: BM25's saturated term frequency tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl /
  avgdl)), k1 = 1.2, b = 0.75, dl = the document's token count, avgdl = the mean over the loaded documents;
  rounded to float32;
- a query: weight 1.0 for each distinct term;
- the collection's sparse vector `bm25` has `modifier: "idf"`, so the server multiplies each query weight by
  Qdrant's IDF ln((N - n + 0.5) / (n + 0.5) + 1), N = the points holding a `bm25` vector, n = those holding the
  term: the score is then exactly Okapi BM25 of the query's terms.

Steps: create the collection (`dense`: 384, Cosine; `bm25`: idf); load it in two passes so that the server's
memory can be measured for each part: upsert every point with its dense vector, then `PUT points/vectors` adds its
`bm25` vector (`--single-pass`: one upsert with both); check the count and a few stored points; then, one query at
a time: sparse top 10 (checked against a brute force with the IDF above: the same ids, ties in any order, scores
within 1e-4 relative), dense top 10 (recall@10 against the exact top 10), sparse and dense top 50, and the fused
query (checked against Qdrant's RRF, 1 / (k + rank) with k = 2 and rank from 0, of the top-50 answers); then the
timed runs: each kind of query from 1 and 8 client threads (one keep-alive connection each, request bodies made
before the clock starts), for `--seconds` each, reporting QPS and latency percentiles.

Memory: the resident set (VmRSS) of the server process and its children (`--server-pid`, else the process
listening on the URL's port, found through /proc) before creating the collection and after each pass; vectord's
own figure (`vectord_index_memory_bytes` in /metrics) when the server has one; the raw sizes (384 x 4 bytes, and
nnz x 8 bytes for a sparse vector: u32 index + f32 value).

Prints one JSON document (also written to `--out`).
"""
import argparse
import datetime
import gzip
import http.client
import json
import os
import re
import sys
import threading
import time
import zlib
from urllib.parse import urlparse

import numpy as np

K1, B = 1.2, 0.75
RRF_K = 2  # Qdrant's default
PREFETCH = 50
LIMIT = 10
REL_TOL = 1e-4
TOKEN = re.compile(r"[a-z0-9]+")


# ----------------------------------------------------------------------------- data
def read_vecs(path, dtype, limit=None):
    raw = np.fromfile(path, dtype="<i4")
    dim = int(raw[0])
    rows = raw.reshape(-1, dim + 1)[:limit, 1:]
    return np.ascontiguousarray(rows).view(dtype)


def read_texts(path):
    base, queries = {}, {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            (base if row["split"] == "base" else queries)[row["id"]] = row["text"]
    return base, queries


def exact_topk(base, queries, k, chunk=256):
    """Exact top-k by inner product, best first, ties by lower id (as groundtruth.ivecs was made)."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for s in range(0, len(queries), chunk):
        scores = queries[s:s + chunk] @ base.T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        for r in range(len(part)):
            ids = part[r]
            out[s + r] = ids[np.lexsort((ids, -scores[r, ids]))]
    return out


# ----------------------------------------------------------------------------- BM25
def tokens(text):
    return TOKEN.findall(text.lower())


def term_index(term):
    return zlib.crc32(term.encode("utf-8"))


def documents(texts):
    """Each text as (sorted u32 indices, float32 BM25-saturated tf), and the mean length."""
    counted = []
    for text in texts:
        counts = {}
        for term in tokens(text):
            index = term_index(term)
            counts[index] = counts.get(index, 0) + 1
        counted.append((counts, sum(counts.values())))
    avgdl = sum(length for _, length in counted) / len(counted)
    out = []
    for counts, length in counted:
        indices = sorted(counts)
        norm = K1 * (1 - B + B * length / avgdl)
        values = np.array([counts[i] * (K1 + 1) / (counts[i] + norm) for i in indices], dtype=np.float32)
        out.append((indices, values))
    return out, avgdl


def query_terms(text):
    """A query as sorted distinct u32 indices, each weighted 1.0."""
    return sorted({term_index(term) for term in tokens(text)})


class BruteForce:
    """BM25 over the loaded documents with Qdrant's IDF, in float64."""

    def __init__(self, docs):
        postings = {}
        for doc, (indices, values) in enumerate(docs):
            for index, value in zip(indices, values):
                postings.setdefault(index, ([], []))
                postings[index][0].append(doc)
                postings[index][1].append(float(value))
        self.n = len(docs)
        self.postings = {i: (np.array(d, dtype=np.int64), np.array(v, dtype=np.float64))
                         for i, (d, v) in postings.items()}

    def idf(self, index):
        df = len(self.postings[index][0]) if index in self.postings else 0
        return float(np.log((self.n - df + 0.5) / (df + 0.5) + 1.0))

    def scores(self, indices):
        """Score of every document holding at least one of the terms (the others are not answers)."""
        scores = np.zeros(self.n)
        touched = np.zeros(self.n, dtype=bool)
        for index in indices:
            if index in self.postings:
                docs, values = self.postings[index]
                scores[docs] += self.idf(index) * values
                touched[docs] = True
        return scores, touched


def close(a, b):
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b)) + 1e-9


def valid_top(answer, exact, candidates, limit):
    """Whether `answer` ([(id, score)]) is a correct top `limit` given the exact score of every id in `exact`
    (a dict) among `candidates` ids: as many answers as there can be, distinct ids, each answered score equal to
    the exact one, and each id's exact score the one due at its rank (so ties may come in any order). Returns
    (ok, why)."""
    due = sorted((exact[i] for i in candidates), reverse=True)[:limit]
    if len(answer) != len(due):
        return False, f"{len(answer)} answers, {len(due)} expected"
    if len({i for i, _ in answer}) != len(answer):
        return False, "an id answered twice"
    for rank, (point, score) in enumerate(answer):
        if point not in exact:
            return False, f"rank {rank}: id {point} is not a candidate"
        if not close(score, exact[point]):
            return False, f"rank {rank}: id {point} scored {score}, exactly {exact[point]}"
        if not close(exact[point], due[rank]):
            return False, f"rank {rank}: id {point} has {exact[point]}, rank {rank} is due {due[rank]}"
    return True, ""


def rrf(lists):
    """Qdrant's reciprocal rank fusion: the sum over lists of 1 / (k + rank), rank from 0."""
    fused = {}
    for answer in lists:
        for rank, (point, _) in enumerate(answer):
            fused[point] = fused.get(point, 0.0) + 1.0 / (RRF_K + rank)
    return fused


# ----------------------------------------------------------------------------- server process
def listening_pid(port):
    """The process holding the listening socket of `port` on this machine, through /proc (None if not found)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except OSError:
            pass
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


def process_tree(pid):
    children = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            children.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(entry))
        except (OSError, ValueError):
            pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_bytes(pid):
    if pid is None:
        return None
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def cpu_seconds(pid):
    if pid is None:
        return None
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------- HTTP
class Conn:
    """One keep-alive connection."""

    def __init__(self, host, port, timeout=600.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.c = None

    def request(self, method, path, body=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        # A connection left idle past the server's keep-alive timeout is closed
        # by it: one new connection is tried before giving up.
        for attempt in (1, 2):
            reused = self.c is not None
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.c.request(method, path, body=body, headers=headers)
                response = self.c.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException) as error:
                self.c.close()
                self.c = None
                closed_idle = isinstance(error, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))
                if not (reused and closed_idle and attempt == 1):
                    raise

    def json(self, method, path, obj=None, ok=(200,)):
        body = None if obj is None else (obj if isinstance(obj, bytes) else json.dumps(obj).encode())
        status, data = self.request(method, path, body)
        if status not in ok:
            raise RuntimeError(f"{method} {path} -> {status}: {data[:800]!r}")
        return json.loads(data) if data else None


def dense_json(row):
    return "[" + ",".join("%.9g" % x for x in row.tolist()) + "]"


def sparse_json(indices, values):
    return '{"indices":[%s],"values":[%s]}' % (",".join(map(str, indices)),
                                               ",".join(repr(float(v)) for v in values))


def points_of(answer):
    return [(p["id"], float(p["score"])) for p in answer["result"]["points"]]


# ----------------------------------------------------------------------------- the run
def load(conn, collection, base, docs, batch, single_pass, pid, metrics):
    """Creates and fills the collection; the memory figures and load rates measured on the way."""
    conn.json("DELETE", f"/collections/{collection}", ok=(200, 404))
    time.sleep(1.0)
    memory = {"rss_before": rss_bytes(pid), "server_before": metrics()}
    conn.json("PUT", f"/collections/{collection}", {
        "vectors": {"dense": {"size": base.shape[1], "distance": "Cosine"}},
        "sparse_vectors": {"bm25": {"modifier": "idf"}},
    })
    n = len(base)
    dense = [dense_json(row) for row in base]
    sparse = [sparse_json(i, v) for i, v in docs]
    passes = [("both", lambda i: '{"dense":%s,"bm25":%s}' % (dense[i], sparse[i]))] if single_pass else [
        ("dense", lambda i: '{"dense":%s}' % dense[i]), ("bm25", lambda i: '{"bm25":%s}' % sparse[i])]
    rates = {}
    for number, (part, vector) in enumerate(passes):
        route = f"/collections/{collection}/points?wait=true" if number == 0 else \
            f"/collections/{collection}/points/vectors?wait=true"
        started = time.perf_counter()
        for start in range(0, n, batch):
            body = '{"points":[%s]}' % ",".join('{"id":%d,"vector":%s}' % (i, vector(i))
                                                  for i in range(start, min(start + batch, n)))
            conn.json("PUT", route, body.encode())
        rates[part] = round(n / (time.perf_counter() - started), 1)
        time.sleep(1.0)
        memory[f"rss_after_{part}"] = rss_bytes(pid)
        memory[f"server_after_{part}"] = metrics()
    info = conn.json("GET", f"/collections/{collection}")["result"]
    assert info.get("points_count") in (None, n), f"points_count {info.get('points_count')}, loaded {n}"
    counted = conn.json("POST", f"/collections/{collection}/points/count", {"exact": True})["result"]["count"]
    assert counted == n, f"count {counted}, loaded {n}"
    for i in sorted({0, n // 2, n - 1}):
        got = conn.json("POST", f"/collections/{collection}/points", {"ids": [i], "with_vector": True})["result"]
        vectors = got[0]["vector"]
        stored = vectors["bm25"]
        pairs = sorted(zip(stored["indices"], stored["values"]))
        assert [p[0] for p in pairs] == list(docs[i][0]), f"point {i}: bm25 indices differ"
        assert np.allclose([p[1] for p in pairs], docs[i][1], rtol=1e-6), f"point {i}: bm25 values differ"
        assert np.allclose(vectors["dense"], base[i], atol=1e-5), f"point {i}: dense vector differs"
    return {"load_points_per_s": rates, "memory": memory, "collection_info": info}


def bodies(query_vectors, query_indices):
    out = {"sparse": [], "dense": [], "fused": [], "sparse50": [], "dense50": []}
    for vector, indices in zip(query_vectors, query_indices):
        sparse = sparse_json(indices, [1.0] * len(indices))
        dense = dense_json(vector)
        out["sparse"].append('{"query":%s,"using":"bm25","limit":%d}' % (sparse, LIMIT))
        out["dense"].append('{"query":%s,"using":"dense","limit":%d}' % (dense, LIMIT))
        out["sparse50"].append('{"query":%s,"using":"bm25","limit":%d}' % (sparse, PREFETCH))
        out["dense50"].append('{"query":%s,"using":"dense","limit":%d}' % (dense, PREFETCH))
        out["fused"].append(
            '{"prefetch":[{"query":%s,"using":"bm25","limit":%d},{"query":%s,"using":"dense","limit":%d}],'
            '"query":{"fusion":"rrf"},"limit":%d}' % (sparse, PREFETCH, dense, PREFETCH, LIMIT))
    return {kind: [b.encode() for b in bs] for kind, bs in out.items()}


def check(conn, collection, requests, query_indices, brute, groundtruth):
    """Every query once, one at a time: the answers checked."""
    route = f"/collections/{collection}/points/query"
    sparse_ok, fused_ok, hits, failures = 0, 0, 0, []
    queries = len(query_indices)
    for q in range(queries):
        answers = {kind: points_of(conn.json("POST", route, requests[kind][q]))
                   for kind in ("sparse", "dense", "sparse50", "dense50", "fused")}
        scores, touched = brute.scores(query_indices[q])
        candidates = np.nonzero(touched)[0]
        exact = {int(i): float(scores[i]) for i in candidates}
        ok, why = valid_top(answers["sparse"], exact, exact.keys(), LIMIT)
        sparse_ok += ok
        if not ok:
            failures.append({"query": q, "kind": "sparse", "why": why})
        hits += len({int(i) for i, _ in answers["dense"]} & {int(i) for i in groundtruth[q][:LIMIT]})
        fused = rrf([answers["sparse50"], answers["dense50"]])
        ok, why = valid_top(answers["fused"], fused, fused.keys(), LIMIT)
        fused_ok += ok
        if not ok:
            failures.append({"query": q, "kind": "fused", "why": why})
    return {"sparse_exact": sparse_ok / queries, "sparse_exact_count": sparse_ok,
            "dense_recall_at_10": hits / (LIMIT * queries),
            "fused_matches_rrf": fused_ok / queries, "fused_matches_rrf_count": fused_ok,
            "failures": failures[:20], "failure_count": len(failures)}


def timed(host, port, collection, requests, clients, seconds, max_requests, pid):
    """`clients` threads asking the queries in turn for `seconds` (at most `max_requests` requests)."""
    route = f"/collections/{collection}/points/query"
    lock = threading.Lock()
    state = {"next": 0}
    latencies = [[] for _ in range(clients)]
    errors = []
    deadline = [0.0]
    warmed, go = threading.Barrier(clients + 1), threading.Barrier(clients + 1)

    def client(number):
        conn = Conn(host, port)
        conn.request("POST", route, requests[number % len(requests)])  # connect and warm the connection
        warmed.wait()
        go.wait()
        mine = latencies[number]
        while time.perf_counter() < deadline[0]:
            with lock:
                n = state["next"]
                if n >= max_requests:
                    return
                state["next"] = n + 1
            started = time.perf_counter()
            status, data = conn.request("POST", route, requests[n % len(requests)])
            mine.append(time.perf_counter() - started)
            if status != 200:
                errors.append(f"{status}: {data[:300]!r}")
                return

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    warmed.wait()
    server_cpu = cpu_seconds(pid)
    client_cpu = time.process_time()
    started = time.perf_counter()
    deadline[0] = started + seconds
    go.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    all_latencies = np.array([x for mine in latencies for x in mine]) * 1000
    server_cpu = None if server_cpu is None else round(cpu_seconds(pid) - server_cpu, 2)
    return {"clients": clients, "requests": int(all_latencies.size), "seconds": round(elapsed, 2),
            "qps": round(all_latencies.size / elapsed, 1),
            "lat_ms": {"p50": round(float(np.percentile(all_latencies, 50)), 3),
                       "p99": round(float(np.percentile(all_latencies, 99)), 3),
                       "mean": round(float(all_latencies.mean()), 3)},
            "server_cpu_s": server_cpu, "client_cpu_s": round(time.process_time() - client_cpu, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:6333")
    parser.add_argument("--data", required=True, help="the minilm-dev directory")
    parser.add_argument("--n-base", type=int, default=None, help="load the first N base points (default all)")
    parser.add_argument("--n-queries", type=int, default=None, help="ask the first Q queries (default all)")
    parser.add_argument("--batch", type=int, default=256, help="points per upsert")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each timed run")
    parser.add_argument("--max-requests", type=int, default=200_000, help="cap on the requests of a timed run")
    parser.add_argument("--concurrency", default="1,8", help="client threads of the timed runs")
    parser.add_argument("--collection", default="bench-hybrid")
    parser.add_argument("--server-pid", type=int, default=None,
                        help="the server's process (default: the one listening on the URL's port)")
    parser.add_argument("--single-pass", action="store_true",
                        help="upsert both vectors at once (no memory figures per part)")
    parser.add_argument("--keep", action="store_true", help="leave the collection in place")
    parser.add_argument("--out", default=None, help="also write the JSON here")
    args = parser.parse_args()

    url = urlparse(args.url)
    host, port = url.hostname, url.port or 80
    pid = args.server_pid or listening_pid(port)
    base = read_vecs(os.path.join(args.data, "base.fvecs"), np.float32, args.n_base)
    query_vectors = read_vecs(os.path.join(args.data, "query.fvecs"), np.float32, args.n_queries)
    n, queries = len(base), len(query_vectors)
    if n == 50_000:
        groundtruth = read_vecs(os.path.join(args.data, "groundtruth.ivecs"), np.int32, queries)
        groundtruth_source = "groundtruth.ivecs"
    else:
        groundtruth = exact_topk(base, query_vectors, LIMIT)
        groundtruth_source = f"exact top 10 over the first {n} base vectors (numpy)"
    base_texts, query_texts = read_texts(os.path.join(args.data, "texts.jsonl.gz"))
    docs, avgdl = documents([base_texts[i] for i in range(n)])
    query_indices = [query_terms(query_texts[q]) for q in range(queries)]
    brute = BruteForce(docs)
    nnz = np.array([len(i) for i, _ in docs])

    conn = Conn(host, port)
    status, data = conn.request("GET", "/")
    server = json.loads(data) if status == 200 else {}

    def metrics():
        """vectord's own memory figure for the collection (0 while it has none), None if the server has no such
        figure."""
        try:
            status, data = conn.request("GET", "/metrics")
        except OSError:
            return None
        text = data.decode(errors="replace")
        if status != 200 or "vectord_index_memory_bytes" not in text:
            return None
        for line in text.splitlines():
            if line.startswith("vectord_index_memory_bytes{") and f'index="{args.collection}"' in line:
                return int(float(line.rsplit(" ", 1)[1]))
        return 0

    loaded = load(conn, args.collection, base, docs, args.batch, args.single_pass, pid, metrics)
    requests = bodies(query_vectors, query_indices)
    started = time.perf_counter()
    checks = check(conn, args.collection, requests, query_indices, brute, groundtruth)
    checks["seconds"] = round(time.perf_counter() - started, 1)
    runs = []
    for kind in ("sparse", "dense", "fused"):
        for clients in [int(c) for c in args.concurrency.split(",")]:
            run = timed(host, port, args.collection, requests[kind], clients, args.seconds, args.max_requests, pid)
            run["kind"] = kind
            runs.append(run)
            print(f"{kind:6} {clients} clients: {run['qps']} QPS, p50 {run['lat_ms']['p50']} ms, "
                  f"p99 {run['lat_ms']['p99']} ms ({run['requests']} requests)", file=sys.stderr, flush=True)
    if not args.keep:
        conn.json("DELETE", f"/collections/{args.collection}", ok=(200, 404))
    result = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "url": args.url, "server": server, "server_pid": pid, "data": os.path.abspath(args.data),
        "points": n, "queries": queries, "dim": int(base.shape[1]), "batch": args.batch,
        "load": "single-pass" if args.single_pass else "dense upsert, then bm25 update_vectors",
        "groundtruth": groundtruth_source,
        "bm25": {"k1": K1, "b": B, "avgdl": round(avgdl, 2), "terms": len(brute.postings),
                 "nnz_mean": round(float(nnz.mean()), 2), "nnz_max": int(nnz.max()),
                 "query_terms_mean": round(float(np.mean([len(q) for q in query_indices])), 2)},
        "raw_bytes_per_point": {"dense": int(base.shape[1]) * 4, "bm25": round(float(nnz.mean()) * 8, 1)},
        **loaded, "checks": checks, "runs": runs,
    }
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
