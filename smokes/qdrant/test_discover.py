"""Discovery and context search (`query_points` with a discover or context query, `points/discover`), and queries
from examples in `query_batch_points`, against qdrant-client's local mode for the three distances: the same scores,
and the same points wherever the scores differ (context scores are 0 for every point on the positive side of all
pairs: such ties may come in any order)."""
import httpx
import pytest
from qdrant_client import QdrantClient, models

from conftest import seeded

DIM = 5
POINTS = 250


@pytest.fixture(scope="module", params=[models.Distance.COSINE, models.Distance.DOT, models.Distance.EUCLID])
def clients(url, request):
    rng = seeded("discover", request.param)
    points = [models.PointStruct(id=i, vector=[rng.gauss(0, 1) for _ in range(DIM)], payload={"odd": i % 2 == 1})
              for i in range(POINTS)]
    pair = QdrantClient(url=url), QdrantClient(":memory:")
    for client in pair:
        if client.collection_exists("disco"):
            client.delete_collection("disco")
        client.create_collection("disco", vectors_config=models.VectorParams(size=DIM, distance=request.param))
        client.upsert("disco", points=points)
    return pair


def assert_same(got, want, context):
    assert [p.score for p in got] == pytest.approx([p.score for p in want], rel=1e-4, abs=1e-4), context
    # Ids must agree wherever the score is not shared with a neighbour.
    for i, (g, w) in enumerate(zip(got, want)):
        neighbours = [want[j].score for j in (i - 1, i + 1) if 0 <= j < len(want)]
        if all(abs(w.score - n) > 1e-4 for n in neighbours):
            assert g.id == w.id, (i, context)


def example(rng):
    return rng.randrange(POINTS) if rng.random() < 0.6 else [rng.gauss(0, 1) for _ in range(DIM)]


def random_query(rng):
    pairs = [models.ContextPair(positive=example(rng), negative=example(rng)) for _ in range(rng.randrange(1, 4))]
    if rng.random() < 0.5:
        return models.DiscoverQuery(discover=models.DiscoverInput(target=example(rng), context=pairs))
    return models.ContextQuery(context=pairs)


def test_discovery_and_context_as_in_qdrant(clients, request):
    vectord, local = clients
    rng = seeded("discover queries", request.node.callspec.id)
    odd = models.Filter(must=[models.FieldCondition(key="odd", match=models.MatchValue(value=True))])
    for _ in range(10):
        query = random_query(rng)
        for query_filter in (None, odd):
            want = local.query_points("disco", query=query, query_filter=query_filter, limit=15).points
            got = vectord.query_points("disco", query=query, query_filter=query_filter, limit=15).points
            assert_same(got, want, (query, query_filter))


def test_the_discover_route(clients, url):
    vectord, local = clients
    rng = seeded("discover route")
    for _ in range(5):
        target = example(rng)
        pairs = [models.ContextPair(positive=example(rng), negative=example(rng)) for _ in range(2)]
        want = local.query_points("disco", query=models.DiscoverQuery(
            discover=models.DiscoverInput(target=target, context=pairs)), limit=8).points
        body = {"target": target, "context": [p.model_dump() for p in pairs], "limit": 8}
        answer = httpx.post(f"{url}/collections/disco/points/discover", json=body).json()
        got = [models.ScoredPoint.model_validate(p) for p in answer["result"]]
        assert_same(got, want, body)


def test_queries_from_examples_in_a_batch(clients):
    vectord, local = clients
    rng = seeded("discover batch")
    requests = [
        models.QueryRequest(query=[rng.gauss(0, 1) for _ in range(DIM)], limit=5),
        models.QueryRequest(query=models.RecommendQuery(recommend=models.RecommendInput(
            positive=[1, 2], negative=[3], strategy="best_score")), limit=5),
        models.QueryRequest(query=random_query(rng), limit=5),
        models.QueryRequest(query=models.RecommendQuery(recommend=models.RecommendInput(positive=[4])), limit=5),
    ]
    got = vectord.query_batch_points("disco", requests=requests)
    want = local.query_batch_points("disco", requests=requests)
    for g, w in zip(got, want, strict=True):
        assert_same(g.points, w.points, requests)
