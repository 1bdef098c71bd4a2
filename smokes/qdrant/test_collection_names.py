"""Collection names as Qdrant allows them (up to 255 characters, spaces, `:`, non-ASCII), through qdrant-client:
created, written, searched, aliased, listed and deleted like any other; names Qdrant refuses are refused."""
import pytest
from qdrant_client import QdrantClient, models

NAMES = ["Été: docs ✓", "with spaces and: colons", "日本語のコレクション", "x" * 255, ".hidden", "a@1.wal"]


@pytest.mark.parametrize("name", NAMES)
def test_a_name_as_qdrant_allows(url, name):
    client = QdrantClient(url=url)
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    client.upsert(name, points=[models.PointStruct(id=1, vector=[1.0, 0.0], payload={"n": 1}),
                                models.PointStruct(id=2, vector=[0.0, 1.0], payload={"n": 2})])
    assert name in [c.name for c in client.get_collections().collections]
    assert [p.id for p in client.query_points(name, query=[1.0, 0.1], limit=1).points] == [1]
    client.update_collection_aliases(change_aliases_operations=[models.CreateAliasOperation(
        create_alias=models.CreateAlias(collection_name=name, alias_name=name[:200] + " alias"))])
    assert client.count(name[:200] + " alias").count == 2
    client.delete_collection(name)
    assert not client.collection_exists(name)
    assert not client.collection_exists(name[:200] + " alias")


@pytest.mark.parametrize("name", ["x" * 256, "a/b"])
def test_a_name_qdrant_refuses(url, name):
    client = QdrantClient(url=url)
    with pytest.raises(Exception):
        client.create_collection(name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
