"""Recommendations (`query_points` with a recommend query, and the `points/recommend` route) against
qdrant-client's local mode, for the three strategies and the three distances: the same points, in the same order,
with the same scores. Below 1 024 points vectord searches exactly, as local mode does."""
import httpx
import pytest
from qdrant_client import QdrantClient, models

from conftest import seeded

DIM = 6


@pytest.fixture(scope="module", params=[models.Distance.COSINE, models.Distance.DOT, models.Distance.EUCLID])
def clients(url, request):
    rng = seeded("recommend")
    points = [models.PointStruct(id=i, vector=[rng.gauss(0, 1) for _ in range(DIM)], payload={"n": i, "odd": i % 2 == 1})
              for i in range(300)]
    pair = QdrantClient(url=url), QdrantClient(":memory:")
    for client in pair:
        if client.collection_exists("reco"):
            client.delete_collection("reco")
        client.create_collection("reco", vectors_config=models.VectorParams(size=DIM, distance=request.param))
        client.upsert("reco", points=points)
    return pair


def shape(points):
    return [(p.id, p.score) for p in points]


@pytest.mark.parametrize("strategy", ["average_vector", "best_score", "sum_scores"])
def test_recommendations_as_in_qdrant(url, clients, strategy, request):
    vectord, local = clients
    rng = seeded("recommend", strategy, request.node.callspec.id)
    odd = models.Filter(must=[models.FieldCondition(key="odd", match=models.MatchValue(value=True))])
    for _ in range(6):
        positive = rng.sample(range(300), rng.randrange(1, 4)) + [[rng.gauss(0, 1) for _ in range(DIM)]] * rng.randrange(2)
        negative = rng.sample(range(300), rng.randrange(0, 3))
        query = models.RecommendQuery(recommend=models.RecommendInput(positive=positive, negative=negative,
                                                                    strategy=strategy))
        for query_filter in (None, odd):
            want = local.query_points("reco", query=query, query_filter=query_filter, limit=12).points
            got = vectord.query_points("reco", query=query, query_filter=query_filter, limit=12).points
            assert [p.id for p in got] == [p.id for p in want], (positive, negative, query_filter)
            assert [p.score for p in got] == pytest.approx([p.score for p in want], rel=1e-4, abs=1e-4)
        body = {"positive": positive, "negative": negative, "strategy": strategy, "limit": 12}
        answer = httpx.post(f"{url}/collections/reco/points/recommend", json=body).json()
        assert [p["id"] for p in answer["result"]] == [p.id for p in local.query_points("reco", query=query, limit=12).points]
