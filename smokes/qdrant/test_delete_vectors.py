"""Points without a vector, against qdrant-client's local mode: `delete_vectors` (by ids, by filter, in a batch),
points upserted with `vector={}` (what Haystack writes for a document without an embedding), `update_vectors`
giving a vector back. Such points are retrieved (`vector: {}`), scrolled, counted and filtered (`has_vector`), and
never found by a search."""
import pytest
from qdrant_client import QdrantClient, models

from conftest import seeded

DIM = 4
HAS_VECTOR = models.Filter(must=[models.HasVectorCondition(has_vector="")])
NO_VECTOR = models.Filter(must_not=[models.HasVectorCondition(has_vector="")])


def state(client):
    points, _ = client.scroll("bare", limit=1000, with_vectors=True, with_payload=True)
    return [(p.id, p.payload, p.vector) for p in points]


def assert_same_state(got, want):
    assert [(i, p, isinstance(v, dict)) for i, p, v in got] == [(i, p, isinstance(v, dict)) for i, p, v in want]
    for (_, _, a), (_, _, b) in zip(got, want):
        assert a == ({} if isinstance(b, dict) else pytest.approx(b, abs=1e-5))


def hits(client, query):
    return [p.id for p in client.query_points("bare", query=query, limit=10).points]


def assert_same(vectord, local, rng):
    assert_same_state(state(vectord), state(local))
    for count_filter in (HAS_VECTOR, NO_VECTOR):
        assert vectord.count("bare", count_filter=count_filter).count == local.count("bare", count_filter=count_filter).count
    for _ in range(3):
        query = [rng.gauss(0, 1) for _ in range(DIM)]
        assert hits(vectord, query) == hits(local, query)


def test_points_without_a_vector_as_in_qdrant(url):
    rng = seeded("delete vectors")
    vectord, local = QdrantClient(url=url), QdrantClient(":memory:")
    points = [models.PointStruct(id=i, vector=[rng.gauss(0, 1) for _ in range(DIM)] if i % 7 else {},
                                 payload={"group": i % 3}) for i in range(60)]
    for client in (vectord, local):
        if client.collection_exists("bare"):
            client.delete_collection("bare")
        client.create_collection("bare", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE))
        client.upsert("bare", points=points)
    assert_same(vectord, local, rng)

    group_1 = models.Filter(must=[models.FieldCondition(key="group", match=models.MatchValue(value=1))])
    for client in (vectord, local):
        client.delete_vectors("bare", vectors=[""], points=[1, 2, 3, 7])
        client.delete_vectors("bare", vectors=[""], points=group_1)
    assert_same(vectord, local, rng)

    back = [models.PointVectors(id=i, vector=[rng.gauss(0, 1) for _ in range(DIM)]) for i in (1, 4, 7)]
    for client in (vectord, local):
        client.update_vectors("bare", points=back)
        client.batch_update_points("bare", update_operations=[
            models.DeleteVectorsOperation(delete_vectors=models.DeleteVectors(points=[10, 11], vector=[""])),
            models.SetPayloadOperation(set_payload=models.SetPayload(payload={"seen": True}, filter=NO_VECTOR)),
            models.UpsertOperation(upsert=models.PointsList(points=[models.PointStruct(id=100, vector={})])),
        ])
    assert_same(vectord, local, rng)

    # A point that does not exist: refused, nothing changed.
    before = state(vectord)
    with pytest.raises(Exception):
        vectord.delete_vectors("bare", vectors=[""], points=[5, 999])
    assert state(vectord) == before
    # A vector the collection does not declare is refused by name, as Qdrant refuses it.
    with pytest.raises(Exception) as refused:
        vectord.delete_vectors("bare", vectors=["image"], points=[5])
    assert 'Not existing vector name error: image' in str(refused.value)
    assert state(vectord) == before
