"""`update_collection` (PATCH /collections/{c}): new `hnsw_config` `m` and `ef_construct` apply to later
inserts and show in the collection info; optimizer settings are accepted; what vectord cannot change is refused
by name. Answers stay those of qdrant-client's local mode before and after."""
import pytest
from qdrant_client import QdrantClient, models

from conftest import seeded

DIM = 6


def points(rng, start, count):
    return [models.PointStruct(id=i, vector=[rng.gauss(0, 1) for _ in range(DIM)], payload={"n": i})
            for i in range(start, start + count)]


def top(client, query):
    return client.query_points("patched", query=query, limit=10).points


def test_graph_parameters_change_for_later_inserts(url):
    rng = seeded("update collection")
    vectord, local = QdrantClient(url=url), QdrantClient(":memory:")
    first = points(rng, 0, 300)
    for client in (vectord, local):
        if client.collection_exists("patched"):
            client.delete_collection("patched")
        client.create_collection("patched", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE),
                                 hnsw_config=models.HnswConfigDiff(m=16, ef_construct=100))
        client.upsert("patched", points=first)

    assert vectord.update_collection("patched", hnsw_config=models.HnswConfigDiff(m=8, ef_construct=40),
                                     optimizers_config=models.OptimizersConfigDiff(indexing_threshold=20000))
    hnsw = vectord.get_collection("patched").config.hnsw_config
    assert (hnsw.m, hnsw.ef_construct) == (8, 40)
    # The unnamed vector's own hnsw_config, as the client sends it for `vectors_config`.
    assert vectord.update_collection("patched", vectors_config={"": models.VectorParamsDiff(
        hnsw_config=models.HnswConfigDiff(ef_construct=64))})
    hnsw = vectord.get_collection("patched").config.hnsw_config
    assert (hnsw.m, hnsw.ef_construct) == (8, 64)

    later = points(rng, 300, 300)
    for client in (vectord, local):
        client.upsert("patched", points=later)
    for _ in range(10):
        query = [rng.gauss(0, 1) for _ in range(DIM)]
        got, want = top(vectord, query), top(local, query)
        assert [p.id for p in got] == [p.id for p in want]
        assert [p.score for p in got] == pytest.approx([p.score for p in want], abs=1e-4)


def test_what_cannot_change_is_refused(url):
    vectord = QdrantClient(url=url)
    if not vectord.collection_exists("patched-refusals"):
        vectord.create_collection("patched-refusals",
                                  vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT))
    for change in (dict(quantization_config=models.ScalarQuantization(
                        scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8))),
                   dict(hnsw_config=models.HnswConfigDiff(full_scan_threshold=5)),
                   dict(collection_params=models.CollectionParamsDiff(replication_factor=3))):
        with pytest.raises(Exception) as refused:
            vectord.update_collection("patched-refusals", **change)
        assert "not supported by vectord" in str(refused.value), change
    with pytest.raises(Exception):
        vectord.update_collection("patched-refusals", hnsw_config=models.HnswConfigDiff(m=1))
    hnsw = vectord.get_collection("patched-refusals").config.hnsw_config
    assert hnsw.m == 16
