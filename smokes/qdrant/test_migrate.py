"""qdrant-client's migrate() both ways between vectord and Qdrant's own local mode: out of vectord
(the way back to Qdrant) and into it, every point arriving with its vector and payload."""
import uuid

import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.migrate import migrate

from conftest import seeded_np

DIM = 8
N = 300


def contents(client, name):
    """Every point of a collection: id -> (vector, payload)."""
    points, offset = {}, None
    while True:
        records, offset = client.scroll(name, limit=64, offset=offset, with_vectors=True, with_payload=True)
        points.update({r.id: (np.asarray(r.vector, dtype=np.float64), r.payload) for r in records})
        if offset is None:
            return points


def assert_same(left, right):
    assert left.keys() == right.keys()
    for point_id, (vector, payload) in left.items():
        assert right[point_id][1] == payload, point_id
        assert right[point_id][0] == pytest.approx(vector, abs=1e-6), point_id


@pytest.mark.parametrize("distance", [models.Distance.COSINE, models.Distance.EUCLID])
def test_migrate_out_of_vectord_and_back(url, distance):
    vectord = QdrantClient(url=url, timeout=30)
    local = QdrantClient(":memory:")
    name = f"migrate-{uuid.uuid4().hex[:8]}"
    vectord.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=distance),
                              hnsw_config=models.HnswConfigDiff(m=8, ef_construct=64))
    rng = seeded_np("migrate")
    ids = [i if i % 2 == 0 else str(uuid.uuid5(uuid.NAMESPACE_OID, f"m-{i}")) for i in range(N)]
    points = [models.PointStruct(id=point_id, vector=rng.standard_normal(DIM).tolist(),
                                 payload={"n": i, "tag": f"t{i % 5}", "nested": {"even": i % 2 == 0}})
              for i, point_id in enumerate(ids)]
    vectord.upsert(name, points=points, wait=True)
    stored = contents(vectord, name)
    assert len(stored) == N

    # Out of vectord, into Qdrant's own implementation.
    migrate(vectord, local, collection_names=[name])
    params = local.get_collection(name).config.params
    assert (params.vectors.size, params.vectors.distance) == (DIM, distance)
    assert_same(stored, contents(local, name))

    # And back: into vectord, over the collection already there.
    migrate(local, vectord, collection_names=[name], recreate_on_collision=True)
    info = vectord.get_collection(name)
    assert info.points_count == N
    # The collection is made as the source says (local mode reports its own defaults).
    source_hnsw = local.get_collection(name).config.hnsw_config
    assert (info.config.hnsw_config.m, info.config.hnsw_config.ef_construct) == (source_hnsw.m, source_hnsw.ef_construct)
    assert_same(stored, contents(vectord, name))
    vectord.delete_collection(name)
