"""Scroll pages in Qdrant's order (integer ids ascending, then UUIDs) from an offset anywhere, checked
against qdrant-client's local mode, which is Qdrant's own semantics in Python."""
import uuid

import pytest
from qdrant_client import QdrantClient, models

from conftest import seeded


def ids():
    rng = seeded("scroll ids")
    integers = list(range(1, 26)) + [rng.randrange(2 ** 63) for _ in range(10)] + [0, 2 ** 64 - 1]
    uuids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(15)]
    return integers + uuids


def fill(client, name):
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    points = [models.PointStruct(id=i, vector=[1.0, float(n)], payload={"even": n % 2 == 0})
              for n, i in enumerate(ids())]
    seeded("scroll order").shuffle(points)
    client.upsert(name, points=points)


def pages(client, name, offset, limit, scroll_filter=None):
    seen, pages = [], 0
    while True:
        points, offset = client.scroll(name, offset=offset, limit=limit, scroll_filter=scroll_filter)
        seen.extend(p.id for p in points)
        pages += 1
        if offset is None or pages > 100:
            return seen


@pytest.mark.parametrize("limit", [1, 4, 100])
def test_scroll_order_and_offsets_as_in_qdrant(url, limit):
    vectord, local = QdrantClient(url=url), QdrantClient(":memory:")
    for client in (vectord, local):
        fill(client, "scroll-order")
    even = models.Filter(must=[models.FieldCondition(key="even", match=models.MatchValue(value=True))])
    all_ids = ids()
    for offset in [None, 5, 10, 26, 2 ** 64 - 1, all_ids[-1], all_ids[-3], str(uuid.UUID(int=0))]:
        for scroll_filter in (None, even):
            want = pages(local, "scroll-order", offset, limit, scroll_filter)
            assert pages(vectord, "scroll-order", offset, limit, scroll_filter) == want, (offset, scroll_filter)
    # The case that once skipped 10..25: an offset chosen by the caller, not a returned cursor.
    first, _ = vectord.scroll("scroll-order", offset=5, limit=100)
    assert [p.id for p in first][:21] == list(range(5, 26))
