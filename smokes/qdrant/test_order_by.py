"""Scroll with `order_by` against qdrant-client's local mode: the same points with the same `order_value`s in the
same order (by value, then id; a point once per distinct value), for integer, float and datetime keys, both
directions, `start_from`, limits and filters. vectord requires a range-capable payload index on the key, as Qdrant
does (local mode has none and needs none)."""
import datetime

import pytest
from qdrant_client import QdrantClient, models

from conftest import seeded

POINTS = 300
INDEXES = {"i": "integer", "f": "float", "d": "datetime", "nested.i": "integer", "arr[].v": "integer"}


def payload(rng, n):
    moment = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
        minutes=rng.randrange(0, 100000))
    p = {
        "i": rng.choice([rng.randrange(-50, 50), [rng.randrange(-5, 5), rng.randrange(-5, 5)], None]),
        "f": rng.choice([rng.uniform(-10, 10), rng.randrange(-10, 10), round(rng.uniform(0, 3), 1)]),
        "d": moment.isoformat().replace("+00:00", "Z"),
        "nested": {"i": rng.randrange(0, 20)},
        "arr": [{"v": rng.randrange(0, 30)} for _ in range(rng.randrange(0, 3))],
        "tag": rng.choice(["a", "b", "c"]),
    }
    for key in ("i", "f", "d", "nested", "arr"):
        if rng.random() < 0.1:
            del p[key]
    return p


@pytest.fixture(scope="module")
def clients(url):
    rng = seeded("order_by")
    points = [models.PointStruct(id=n, vector=[1.0, 0.0], payload=payload(rng, n)) for n in range(POINTS)]
    pair = QdrantClient(url=url), QdrantClient(":memory:")
    for client in pair:
        if client.collection_exists("ordered"):
            client.delete_collection("ordered")
        client.create_collection("ordered", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
        client.upsert("ordered", points=points)
    for key, schema in INDEXES.items():
        pair[0].create_payload_index("ordered", field_name=key, field_schema=schema)
    return pair


def listed(client, order_by, limit, scroll_filter):
    points, next_page = client.scroll("ordered", order_by=order_by, limit=limit, scroll_filter=scroll_filter,
                                      with_payload=False)
    assert next_page is None
    return [(p.id, p.order_value) for p in points]


@pytest.mark.parametrize("key", list(INDEXES))
def test_order_by_as_in_qdrant(clients, key):
    vectord, local = clients
    rng = seeded("order_by", key)
    tag_b = models.Filter(must=[models.FieldCondition(key="tag", match=models.MatchValue(value="b"))])
    starts = {"i": [0, -7], "f": [0.5, -3], "nested.i": [10], "arr[].v": [12], "d": ["2024-02-01T00:00:00Z"]}[key]
    for _ in range(12):
        direction = rng.choice([None, "asc", "desc"])
        start_from = rng.choice([None, *starts])
        order_by = key if direction is None and start_from is None else models.OrderBy(
            key=key, direction=direction, start_from=start_from)
        limit = rng.choice([1, 5, 50, 1000])
        scroll_filter = rng.choice([None, tag_b])
        want = listed(local, order_by, limit, scroll_filter)
        got = listed(vectord, order_by, limit, scroll_filter)
        assert got == want, (order_by, limit, scroll_filter)


def test_order_by_needs_a_range_index_and_no_offset(clients):
    vectord, _ = clients
    with pytest.raises(Exception) as refused:
        vectord.scroll("ordered", order_by="tag")
    assert "No range index" in str(refused.value)
    with pytest.raises(Exception) as refused:
        vectord.scroll("ordered", order_by="i", offset=3)
    assert "Offset is not supported" in str(refused.value)


def test_the_query_apis_order_by(clients):
    vectord, local = clients
    tag_a = models.Filter(must=[models.FieldCondition(key="tag", match=models.MatchValue(value="a"))])
    for order_by in ("i", models.OrderBy(key="f", direction="desc"), models.OrderBy(key="d", start_from="2024-02-01")):
        for offset in (0, 3):
            query = models.OrderByQuery(order_by=order_by)
            want = local.query_points("ordered", query=query, limit=7, offset=offset, query_filter=tag_a).points
            got = vectord.query_points("ordered", query=query, limit=7, offset=offset, query_filter=tag_a).points
            assert [(p.id, p.order_value, p.score) for p in got] == [(p.id, p.order_value, p.score) for p in want]
