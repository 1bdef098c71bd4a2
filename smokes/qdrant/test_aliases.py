"""Aliases against qdrant-client's local mode: the zero-downtime re-index (build v2, move the alias in one
change), every collection route reached through an alias, renames, listings, and the alias going with its
collection. A change with an impossible action changes nothing in vectord (all or nothing)."""
import httpx
import pytest
from qdrant_client import QdrantClient, models

from conftest import seeded

DIM = 4


def create(alias, collection):
    return models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=collection, alias_name=alias))


def delete(alias):
    return models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))


def rename(old, new):
    return models.RenameAliasOperation(rename_alias=models.RenameAlias(old_alias_name=old, new_alias_name=new))


def listing(response):
    return sorted((a.alias_name, a.collection_name) for a in response.aliases)


@pytest.fixture()
def clients(url):
    pair = QdrantClient(url=url), QdrantClient(":memory:")
    rng = seeded("aliases")
    points = {name: [models.PointStruct(id=i, vector=[rng.gauss(0, 1) for _ in range(DIM)], payload={"v": name})
                     for i in range(40)] for name in ("docs-v1", "docs-v2")}
    for client in pair:
        for alias in client.get_aliases().aliases:
            client.update_collection_aliases(change_aliases_operations=[delete(alias.alias_name)])
        for name, batch in points.items():
            if client.collection_exists(name):
                client.delete_collection(name)
            client.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT))
            client.upsert(name, points=batch)
    return pair


def search(client, name):
    """The hits' ids and payloads (vectord and local mode score in different float widths: ids decide)."""
    hits = client.query_points(name, query=[1.0, 0.5, -0.5, 0.25], limit=5, with_payload=True).points
    return [(p.id, p.payload) for p in hits]


def test_the_reindex_switch(clients):
    vectord, local = clients
    for client in clients:
        client.update_collection_aliases(change_aliases_operations=[create("docs", "docs-v1")])
    assert search(vectord, "docs") == search(local, "docs") == search(vectord, "docs-v1")
    assert vectord.collection_exists("docs")
    assert vectord.get_collection("docs").points_count == 40

    # Writes through the alias land in the collection it names.
    extra = [models.PointStruct(id=100, vector=[9.0, 0.0, 0.0, 0.0], payload={"v": "new"})]
    for client in clients:
        client.upsert("docs", points=extra)
        client.set_payload("docs", payload={"seen": True}, points=[100])
    assert vectord.count("docs-v1").count == local.count("docs-v1").count == 41
    assert vectord.retrieve("docs", ids=[100])[0].payload == local.retrieve("docs", ids=[100])[0].payload

    # The switch: one request, both actions.
    for client in clients:
        client.update_collection_aliases(change_aliases_operations=[delete("docs"), create("docs", "docs-v2")])
    assert search(vectord, "docs") == search(local, "docs") == search(vectord, "docs-v2")
    assert listing(vectord.get_aliases()) == listing(local.get_aliases()) == [("docs", "docs-v2")]


def test_renames_listings_and_drops(clients):
    vectord, local = clients
    for client in clients:
        client.update_collection_aliases(change_aliases_operations=[
            create("a", "docs-v1"), create("b", "docs-v1"), create("c", "docs-v2"), rename("b", "b2")])
    assert listing(vectord.get_aliases()) == listing(local.get_aliases())
    for name in ("docs-v1", "docs-v2"):
        assert listing(vectord.get_collection_aliases(name)) == listing(local.get_collection_aliases(name))
    # Through an alias too.
    assert listing(vectord.get_collection_aliases("a")) == [("a", "docs-v1"), ("b2", "docs-v1")]

    for client in clients:
        client.delete_collection("docs-v1")
    assert listing(vectord.get_aliases()) == listing(local.get_aliases()) == [("c", "docs-v2")]
    assert not vectord.collection_exists("a")


def test_impossible_changes_change_nothing(clients, url):
    vectord, local = clients
    vectord.update_collection_aliases(change_aliases_operations=[create("docs", "docs-v1")])
    before = listing(vectord.get_aliases())
    for bad in ([create("x", "missing")],
                [rename("nope", "x")],
                [create("y", "docs-v2"), create("docs-v1", "docs-v2")],
                [delete("docs"), create("docs", "missing")]):
        with pytest.raises(Exception):
            vectord.update_collection_aliases(change_aliases_operations=bad)
        assert listing(vectord.get_aliases()) == before, bad
    with pytest.raises(Exception):
        local.update_collection_aliases(change_aliases_operations=[rename("nope", "x")])
    # A collection cannot take an alias's name; deleting an alias that names nothing is not an error.
    with pytest.raises(Exception):
        vectord.create_collection("docs", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT))
    assert vectord.update_collection_aliases(change_aliases_operations=[delete("never")])
    # Deleting a collection by an alias's name deletes nothing (as in Qdrant).
    assert httpx.delete(f"{url}/collections/docs").json()["result"] is False
    assert vectord.collection_exists("docs-v1")
    answer = httpx.get(f"{url}/collections/missing/aliases")
    assert answer.status_code == 404 and "error" in answer.json()["status"]
