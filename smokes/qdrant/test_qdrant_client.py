"""The official qdrant-client, pointed at vectord: every answer checked against a brute-force model."""
import uuid

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from conftest import model_scores, model_top, seeded, seeded_np

DIM = 16
N = 1000
COLORS = ["red", "green", "blue"]


def point_id(i):
    """Half the points have integer ids, half UUIDs, as Qdrant allows."""
    return i if i % 2 == 0 else str(uuid.uuid5(uuid.NAMESPACE_OID, f"point-{i}"))


def payload_of(i):
    return {"group": i % 7, "color": COLORS[i % 3], "n": float(i), "tags": [f"t{i % 5}", f"t{i % 11}"],
            "nested": {"level": i % 4}}


class Model:
    """What the collection must hold: id -> (vector, payload)."""

    def __init__(self, distance):
        self.distance = distance
        self.points = {}

    def ids_where(self, keep=lambda p: True):
        return [i for i, (_, p) in self.points.items() if keep(p)]

    def top(self, query, k, keep=lambda p: True):
        ids = self.ids_where(keep)
        return model_top(self.distance, ids, [self.points[i][0] for i in ids], query, k)


@pytest.fixture(scope="module")
def client(url):
    client = QdrantClient(url=url, timeout=60)
    yield client
    client.close()


def create(client, name, distance, **extra):
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=distance), **extra)


def fill(client, name, distance, rng):
    """Upserts N points (as point lists and as a column batch) and returns the model."""
    model = Model(distance)
    vectors = rng.standard_normal((N, DIM)).astype(np.float32)
    for start in range(0, N, 250):
        rows = range(start, start + 250)
        if start == 500:
            batch = models.Batch(ids=[point_id(i) for i in rows], vectors=[vectors[i].tolist() for i in rows],
                                 payloads=[payload_of(i) for i in rows])
            client.upsert(name, points=batch, wait=True)
        else:
            points = [models.PointStruct(id=point_id(i), vector=vectors[i].tolist(), payload=payload_of(i))
                      for i in rows]
            client.upsert(name, points=points, wait=True)
        for i in rows:
            model.points[point_id(i)] = (vectors[i], payload_of(i))
    return model


def assert_hits(hits, want, distance):
    assert [h.id for h in hits] == [w[0] for w in want]
    for hit, (_, score) in zip(hits, want):
        assert hit.score == pytest.approx(score, rel=1e-4, abs=1e-4)


GREEN_OR_GROUP_3 = models.Filter(
    should=[models.FieldCondition(key="color", match=models.MatchValue(value="green")),
            models.FieldCondition(key="group", match=models.MatchValue(value=3))],
    must_not=[models.FieldCondition(key="tags", match=models.MatchAny(any=["t1"]))],
    must=[models.FieldCondition(key="n", range=models.Range(gte=100, lt=900))],
)


def green_or_group_3(p):
    return ((p["color"] == "green" or p["group"] == 3) and "t1" not in p["tags"] and 100 <= p["n"] < 900)


@pytest.mark.parametrize("distance", ["Cosine", "Euclid", "Dot"])
def test_search_matches_brute_force(client, distance):
    name = f"qc-search-{distance.lower()}"
    rng = seeded_np("search", distance)
    create(client, name, models.Distance(distance))
    model = fill(client, name, distance, rng)
    info = client.get_collection(name)
    assert info.points_count == N
    assert info.config.params.vectors.size == DIM
    assert info.config.params.vectors.distance == models.Distance(distance)

    for q in range(20):
        query = rng.standard_normal(DIM).astype(np.float32)
        exact = client.query_points(name, query=query.tolist(), limit=10, search_params=models.SearchParams(exact=True))
        assert_hits(exact.points, model.top(query, 10), distance)
        # The graph: 1 000 points is below the full-scan threshold, so this is exact too.
        approximate = client.query_points(name, query=query.tolist(), limit=10, with_payload=True)
        assert_hits(approximate.points, model.top(query, 10), distance)
        assert all(p.payload == model.points[p.id][1] for p in approximate.points)
        filtered = client.query_points(name, query=query.tolist(), limit=10, query_filter=GREEN_OR_GROUP_3)
        assert_hits(filtered.points, model.top(query, 10, green_or_group_3), distance)
    client.delete_collection(name)


def test_graph_search_recall(client):
    """A collection that never falls back to a full scan: the HNSW graph answers."""
    name = "qc-graph"
    rng = seeded_np("graph")
    create(client, name, models.Distance.COSINE,
           hnsw_config=models.HnswConfigDiff(m=16, ef_construct=100, full_scan_threshold=0))
    model = fill(client, name, "Cosine", rng)
    found = total = 0
    for _ in range(50):
        query = rng.standard_normal(DIM).astype(np.float32)
        got = client.query_points(name, query=query.tolist(), limit=10, search_params=models.SearchParams(hnsw_ef=64))
        want = {i for i, _ in model.top(query, 10)}
        found += len(want & {p.id for p in got.points})
        total += 10
        # Scores are the real cosine similarities of what was returned.
        for p in got.points:
            vector = model.points[p.id][0]
            assert p.score == pytest.approx(float(model_scores("Cosine", [vector], query)[0]), abs=1e-4)
    assert found / total >= 0.95, found / total
    client.delete_collection(name)


def test_points_lifecycle(client, url):
    name = "qc-lifecycle"
    rng = seeded_np("lifecycle")
    create(client, name, models.Distance.COSINE)
    model = fill(client, name, "Cosine", rng)
    all_ids = list(model.points)

    # Retrieve: vectors come back normalised (Qdrant keeps cosine vectors so), payloads intact.
    some = seeded("lifecycle sample").sample(all_ids, 40) + ["00000000-0000-0000-0000-000000000000", 999_999]
    records = client.retrieve(name, ids=some, with_payload=True, with_vectors=True)
    assert {r.id for r in records} == set(some[:40])
    for record in records:
        vector, payload = model.points[record.id]
        assert record.payload == payload
        np.testing.assert_allclose(record.vector, vector / np.linalg.norm(vector), rtol=1e-5, atol=1e-6)
    only = client.retrieve(name, ids=[0], with_payload=models.PayloadSelectorInclude(include=["color", "nested.level"]))
    assert only[0].payload == {"color": "red", "nested": {"level": 0}} and only[0].vector is None

    # Count and scroll through everything with the cursor, then with a filter.
    assert client.count(name).count == N
    assert client.count(name, count_filter=GREEN_OR_GROUP_3).count == len(model.ids_where(green_or_group_3))
    seen, offset, pages = [], None, 0
    while True:
        points, offset = client.scroll(name, limit=64, offset=offset, with_payload=True)
        seen += [p.id for p in points]
        assert all(p.payload == model.points[p.id][1] for p in points)
        pages += 1
        if offset is None:
            break
    assert pages == -(-N // 64) and len(seen) == N and set(seen) == set(all_ids)
    filtered, offset = [], None
    while True:
        points, offset = client.scroll(name, scroll_filter=GREEN_OR_GROUP_3, limit=17, offset=offset)
        filtered += [p.id for p in points]
        if offset is None:
            break
    assert sorted(map(str, filtered)) == sorted(map(str, model.ids_where(green_or_group_3)))

    # Delete by ids, then by filter.
    gone = all_ids[:50]
    client.delete(name, points_selector=models.PointIdsList(points=gone), wait=True)
    for i in gone:
        del model.points[i]
    blue = models.Filter(must=[models.FieldCondition(key="color", match=models.MatchValue(value="blue"))])
    client.delete(name, points_selector=models.FilterSelector(filter=blue), wait=True)
    for i in model.ids_where(lambda p: p["color"] == "blue"):
        del model.points[i]
    assert client.count(name).count == len(model.points)
    assert client.retrieve(name, ids=gone[:5]) == []
    for _ in range(10):
        query = rng.standard_normal(DIM).astype(np.float32)
        hits = client.query_points(name, query=query.tolist(), limit=20).points
        assert_hits(hits, model.top(query, 20), "Cosine")

    # Payload writes: set (merge), overwrite, delete keys, clear; by ids and by filter.
    target = [i for i in model.points][:3]
    client.set_payload(name, payload={"color": "purple", "extra": 1}, points=target, wait=True)
    client.overwrite_payload(name, payload={"only": True}, points=[target[1]])
    client.delete_payload(name, keys=["group", "nested.level"], points=[target[2]])
    client.clear_payload(name, points_selector=models.PointIdsList(points=[target[0]]))
    group_5 = models.Filter(must=[models.FieldCondition(key="group", match=models.MatchValue(value=5))])
    client.set_payload(name, payload={"five": "yes"}, points=group_5)
    got = {r.id: r.payload for r in client.retrieve(name, ids=target)}
    assert got[target[0]] == {}
    assert got[target[1]] == {"only": True}
    expect = dict(model.points[target[2]][1], color="purple", extra=1, nested={})
    del expect["group"]  # so the filter on group 5 no longer picks it
    assert got[target[2]] == expect
    fives = client.scroll(name, scroll_filter=models.Filter(must=[models.FieldCondition(
        key="five", match=models.MatchValue(value="yes"))]), limit=1000)[0]
    assert {p.id for p in fives} == set(model.ids_where(lambda p: p["group"] == 5)) - set(target)

    # Offset and score threshold, through the legacy search routes (raw HTTP: the client has dropped them).
    query = rng.standard_normal(DIM).astype(np.float32)
    want = model.top(query, 15)
    answer = httpx.post(f"{url}/collections/{name}/points/search",
                        json={"vector": query.tolist(), "limit": 5, "offset": 10, "with_payload": True}).json()
    assert answer["status"] == "ok" and [h["id"] for h in answer["result"]] == [w[0] for w in want[10:15]]
    # Between the 8th and 9th scores: the model scores in float64, vectord in float32.
    threshold = (want[7][1] + want[8][1]) / 2
    above = client.query_points(name, query=query.tolist(), limit=15, score_threshold=threshold).points
    assert [p.id for p in above] == [w[0] for w in want[:8]]
    batch = httpx.post(f"{url}/collections/{name}/points/search/batch", json={"searches": [
        {"vector": query.tolist(), "limit": 3}, {"vector": (-query).tolist(), "limit": 3}]}).json()["result"]
    assert [h["id"] for h in batch[0]] == [w[0] for w in want[:3]]
    assert [h["id"] for h in batch[1]] == [w[0] for w in model.top(-query, 3)]
    queries = client.query_batch_points(name, requests=[models.QueryRequest(query=query.tolist(), limit=4)])
    assert [p.id for p in queries[0].points] == [w[0] for w in want[:4]]

    assert client.get_collection(name).points_count == len(model.points)
    assert name in {c.name for c in client.get_collections().collections}
    assert client.delete_collection(name)
    assert not client.collection_exists(name)
    assert not client.delete_collection(name)


def test_what_vectord_does_not_do_is_refused_clearly(client):
    name = "qc-refusals"
    create(client, name, models.Distance.DOT)
    client.upsert(name, points=[models.PointStruct(id=1, vector=[1.0] * DIM, payload={"text": "hello world"})])
    refused = [
        lambda: client.query_points(name, query=[1.0] * DIM, query_filter=models.Filter(must=[
            models.FieldCondition(key="p", geo_radius=models.GeoRadius(
                center=models.GeoPoint(lat=0, lon=0), radius=1.0))])),
        lambda: client.create_collection("qc-multi", vectors_config=models.VectorParams(
            size=DIM, distance=models.Distance.COSINE,
            multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM))),
        lambda: client.create_collection("qc-manhattan", vectors_config=models.VectorParams(
            size=DIM, distance=models.Distance.MANHATTAN)),
        lambda: client.create_payload_index(name, field_name="text", field_schema="geo"),
        lambda: client.query_points(name, prefetch=[models.Prefetch(query=[1.0] * DIM, limit=5)],
                                    query=[1.0] * DIM, lookup_from=models.LookupLocation(collection=name)),
    ]
    for call in refused:
        with pytest.raises(UnexpectedResponse) as caught:
            call()
        assert 400 <= caught.value.status_code < 500
        assert "not supported by vectord" in caught.value.content.decode(), caught.value.content
    # A vector the collection does not declare: refused by name, as Qdrant refuses it.
    with pytest.raises(UnexpectedResponse) as caught:
        client.query_points(name, query=[1.0] * DIM, using="image")
    assert caught.value.status_code == 400 and 'Not existing vector name error: image' in caught.value.content.decode()
    with pytest.raises(UnexpectedResponse) as caught:
        client.upsert(name, points=[models.PointStruct(id=2, vector=[1.0] * (DIM + 1))])
    assert caught.value.status_code == 400
    assert client.count(name).count == 1
    assert not client.collection_exists("qc-multi") and not client.collection_exists("qc-manhattan")
    client.delete_collection(name)
