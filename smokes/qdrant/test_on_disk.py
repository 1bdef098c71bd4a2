"""Collections whose vectors are kept on disk (`on_disk: true`, with and without scalar quantization) against
qdrant-client's local mode: the same points come back with the same vectors, exact searches return the same
points with the same scores, and graph searches find nearly all of them; the collection info says `on_disk`."""
import pytest
from qdrant_client import QdrantClient, models

from conftest import seeded_np

DIM = 24
POINTS = 600


@pytest.mark.parametrize("quantized", [False, True])
def test_on_disk_collections_answer_like_qdrant(url, quantized):
    name = f"on-disk-{int(quantized)}"
    vectors = seeded_np("on-disk", quantized).normal(size=(POINTS, DIM))
    quantization = models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(
        type=models.ScalarType.INT8, always_ram=True)) if quantized else None
    vectord, local = QdrantClient(url=url), QdrantClient(":memory:")
    for client in (vectord, local):
        if client.collection_exists(name):
            client.delete_collection(name)
        client.create_collection(name, vectors_config=models.VectorParams(
            size=DIM, distance=models.Distance.EUCLID, on_disk=True), quantization_config=quantization)
        client.upsert(name, points=[models.PointStruct(id=i, vector=v.tolist(), payload={"i": i})
                                    for i, v in enumerate(vectors)], wait=True)

    info = vectord.get_collection(name)
    assert info.config.params.vectors.on_disk is True
    assert info.points_count == POINTS

    got = vectord.retrieve(name, ids=[0, 17, 599], with_vectors=True)
    want = local.retrieve(name, ids=[0, 17, 599], with_vectors=True)
    assert [p.id for p in got] == [p.id for p in want]
    for a, b in zip(got, want):
        # Exact: the rows on disk are the float32 input, whatever the walk's codes hold.
        assert a.vector == pytest.approx(b.vector, rel=1e-6)

    queries = seeded_np("on-disk-queries", quantized).normal(size=(20, DIM))
    found = 0
    for query in queries:
        exact = vectord.query_points(name, query=query.tolist(), limit=10,
                                     search_params=models.SearchParams(exact=True)).points
        truth = local.query_points(name, query=query.tolist(), limit=10).points
        assert [p.id for p in exact] == [p.id for p in truth]
        assert [p.score for p in exact] == pytest.approx([p.score for p in truth], rel=1e-5)
        graph = vectord.query_points(name, query=query.tolist(), limit=10,
                                     search_params=models.SearchParams(hnsw_ef=64)).points
        # Graph results are rescored exactly: any point found has its exact score.
        scores = {p.id: p.score for p in truth}
        for point in graph:
            if point.id in scores:
                assert point.score == pytest.approx(scores[point.id], rel=1e-5)
        found += len({p.id for p in graph} & set(scores))
    assert found / (10 * len(queries)) >= 0.95
    vectord.delete_collection(name)
