"""Searches by groups (`points/search/groups`, `query_points_groups`) and facets against qdrant-client's local
mode: the same groups, in the same order, with the same hits; the same value counts. Below 1 024 points vectord
searches exactly, as local mode does."""
import httpx
import pytest
from qdrant_client import QdrantClient, models

from conftest import seeded

DIM = 8


def payload_of(rng, i):
    doc = rng.choice([f"doc-{i % 17}", i % 9, [f"doc-{i % 5}", f"doc-{i % 7}"], [i % 3, i % 3], True, 1.5, None])
    payload = {"doc": doc, "n": i, "nested": {"part": f"p{i % 4}"}, "parts": [{"k": f"k{i % 6}"}]}
    if rng.random() < 0.1:
        del payload["doc"]
    return payload


@pytest.fixture(scope="module")
def clients(url):
    rng = seeded("groups")
    points = [models.PointStruct(id=i, vector=[rng.gauss(0, 1) for _ in range(DIM)], payload=payload_of(rng, i))
              for i in range(400)]
    pair = QdrantClient(url=url), QdrantClient(":memory:")
    for client in pair:
        if client.collection_exists("groups"):
            client.delete_collection("groups")
        client.create_collection("groups", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE))
        client.upsert("groups", points=points)
    return pair


def shape(result):
    """Groups and hits without the scores, which `scores` compares with a float tolerance."""
    return [(g.id, [(h.id, h.payload) for h in g.hits]) for g in result.groups]


def scores(result):
    return [h.score for g in result.groups for h in g.hits]


@pytest.mark.parametrize("group_by", ["doc", "nested.part", "parts[].k", "n", "missing"])
@pytest.mark.parametrize("limit,group_size", [(1, 1), (3, 2), (10, 3), (50, 5)])
def test_groups_as_in_qdrant(url, clients, group_by, limit, group_size):
    vectord, local = clients
    rng = seeded("groups", group_by, limit, group_size)
    query = [rng.gauss(0, 1) for _ in range(DIM)]
    odd = models.Filter(must_not=[models.FieldCondition(key="n", range=models.Range(lt=100))])
    for query_filter in (None, odd):
        for with_payload in (False, True, ["n"]):
            args = dict(group_by=group_by, limit=limit, group_size=group_size, query_filter=query_filter,
                        with_payload=with_payload)
            expected = local.query_points_groups("groups", query=query, **args)
            want = shape(expected)
            got = vectord.query_points_groups("groups", query=query, **args)
            assert shape(got) == want, args
            assert scores(got) == pytest.approx(scores(expected), abs=1e-4), args
            # The older route, which qdrant-client 1.20 no longer calls, over plain HTTP.
            body = {"vector": query, "group_by": group_by, "limit": limit, "group_size": group_size,
                    "with_payload": with_payload,
                    "filter": query_filter.model_dump(exclude_none=True) if query_filter else None}
            answer = httpx.post(f"{url}/collections/groups/points/search/groups", json=body).json()
            groups = models.GroupsResult.model_validate(answer["result"])
            assert shape(groups) == want, args
            assert scores(groups) == pytest.approx(scores(expected), abs=1e-4), args


@pytest.mark.parametrize("key", ["doc", "nested.part", "parts[].k", "n"])
def test_facets_as_in_qdrant(clients, key):
    vectord, local = clients
    vectord.create_payload_index("groups", field_name=key, field_schema="keyword")
    small = models.Filter(must=[models.FieldCondition(key="n", range=models.Range(lt=150))])
    for facet_filter in (None, small):
        for limit in (1, 5, 100):
            want = local.facet("groups", key=key, facet_filter=facet_filter, limit=limit)
            got = vectord.facet("groups", key=key, facet_filter=facet_filter, limit=limit)
            assert [(h.value, h.count) for h in got.hits] == [(h.value, h.count) for h in want.hits], (key, limit)


def test_a_facet_needs_a_payload_index(clients):
    vectord, _ = clients
    with pytest.raises(Exception) as refused:
        vectord.facet("groups", key="not-indexed")
    assert "Index required" in str(refused.value)
