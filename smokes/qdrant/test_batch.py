"""`batch_update_points` against qdrant-client's local mode: random batches of upserts, deletes (by id and by
filter), payload changes and vector updates leave the same points; a batch with an operation that cannot be done
changes nothing."""
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from conftest import seeded

DIM = 4


def state(client):
    points, _ = client.scroll("batch", limit=1000, with_vectors=True, with_payload=True)
    return [(p.id, p.payload, p.vector) for p in points]


def assert_same(got, want, context):
    assert [(i, p) for i, p, _ in got] == [(i, p) for i, p, _ in want], context
    for (_, _, a), (_, _, b) in zip(got, want):
        assert a == pytest.approx(b, abs=1e-5), context


def random_operation(rng, ids):
    pick = lambda: rng.sample(ids, rng.randrange(1, 4))  # noqa: E731
    color = models.Filter(must=[models.FieldCondition(key="color", match=models.MatchValue(value=rng.choice("rgb")))])
    selector = lambda: rng.choice([{"points": pick()}, {"filter": color}])  # noqa: E731
    kind = rng.choice(["upsert", "delete", "set", "overwrite", "delete_payload", "clear", "vectors"])
    if kind == "upsert":
        return models.UpsertOperation(upsert=models.PointsList(points=[
            models.PointStruct(id=i, vector=[rng.uniform(-1, 1) for _ in range(DIM)],
                               payload={"color": rng.choice("rgb"), "n": i}) for i in pick()]))
    if kind == "delete":
        return models.DeleteOperation(delete=models.PointIdsList(points=pick()) if rng.random() < 0.5
                                      else models.FilterSelector(filter=color))
    if kind in ("set", "overwrite"):
        payload = models.SetPayload(payload={"color": rng.choice("rgb"), "tag": rng.randrange(3)}, **selector())
        return (models.SetPayloadOperation(set_payload=payload) if kind == "set"
                else models.OverwritePayloadOperation(overwrite_payload=payload))
    if kind == "delete_payload":
        return models.DeletePayloadOperation(delete_payload=models.DeletePayload(keys=["tag"], **selector()))
    if kind == "clear":
        return models.ClearPayloadOperation(clear_payload=models.PointIdsList(points=pick()))
    return models.UpdateVectorsOperation(update_vectors=models.UpdateVectors(points=[
        models.PointVectors(id=i, vector=[rng.uniform(-1, 1) for _ in range(DIM)]) for i in pick()]))


def apply(client, operations):
    try:
        client.batch_update_points("batch", update_operations=operations)
        return None
    except (UnexpectedResponse, ValueError, KeyError) as error:
        return type(error).__name__


def test_batches_leave_what_qdrant_leaves(url):
    rng = seeded("batch")
    vectord, local = QdrantClient(url=url), QdrantClient(":memory:")
    for client in (vectord, local):
        if client.collection_exists("batch"):
            client.delete_collection("batch")
        client.create_collection("batch", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT))
    ids = list(range(30))
    start = [models.PointStruct(id=i, vector=[rng.uniform(-1, 1) for _ in range(DIM)], payload={"color": "r"})
             for i in ids]
    for client in (vectord, local):
        client.upsert("batch", points=start)
    refused = 0
    for round_number in range(150):
        operations = [random_operation(rng, ids) for _ in range(rng.randrange(1, 6))]
        before = state(vectord)
        failed = apply(vectord, operations), apply(local, operations)
        if failed[0] is not None:
            refused += 1
            # All or nothing: a refused batch changed nothing. (Local mode applies the operations before
            # the failing one; put it back in step.)
            assert state(vectord) == before, round_number
            local.delete_collection("batch")
            local.create_collection("batch", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT))
            if before:
                local.upsert("batch", points=[models.PointStruct(id=i, payload=p, vector=v) for i, p, v in before])
            continue
        assert failed[1] is None, (round_number, failed)
        assert_same(state(vectord), state(local), round_number)
    # Both kinds of rounds happened: refused ones and ones compared with local mode.
    assert 0 < refused and 150 - refused >= 20, refused
