"""mem0's Memory over vectord, on a dense collection created before it starts, without the BM25 sparse vector its
own default collection carries (a collection from before mem0's hybrid search: mem0 then writes and searches the
dense vector only; test_hybrid_mem0.py lets mem0 create its default collection): at start it creates its payload
indexes; memories are added without an LLM (`infer=False`) under a deterministic fake embedding, then searched,
listed per user and deleted."""
import os

os.environ.setdefault("MEM0_TELEMETRY", "False")
os.environ.setdefault("OPENAI_API_KEY", "unused: no call reaches a model")

from mem0 import Memory  # noqa: E402
from qdrant_client import QdrantClient, models  # noqa: E402

from conftest import EMBED_DIM, embed_words, word_texts  # noqa: E402


class HashedWords:
    """conftest's bag of hashed words in the shape of mem0's embedders."""

    def embed(self, text, memory_action=None):
        return embed_words(text)

    def embed_batch(self, texts, memory_action=None):
        return [embed_words(t) for t in texts]


def test_memories_added_searched_and_deleted(url, tmp_path):
    client = QdrantClient(url=url)
    if client.collection_exists("mem0"):
        client.delete_collection("mem0")
    client.create_collection("mem0", vectors_config=models.VectorParams(size=EMBED_DIM,
                                                                          distance=models.Distance.COSINE))
    host, port = url.removeprefix("http://").split(":")
    memory = Memory.from_config({
        "vector_store": {"provider": "qdrant", "config": {"collection_name": "mem0", "host": host, "port": int(port),
                                                          "embedding_model_dims": EMBED_DIM}},
        "history_db_path": str(tmp_path / "history.db"),
    })
    memory.embedding_model = HashedWords()
    schema = client.get_collection("mem0").payload_schema
    assert {key: value.data_type for key, value in schema.items()} == {
        "user_id": "keyword", "agent_id": "keyword", "run_id": "keyword", "actor_id": "keyword"}

    texts = word_texts(30, "mem0")
    for i, text in enumerate(texts):
        memory.add([{"role": "user", "content": text}], user_id=["ann", "bob"][i % 2], infer=False)
    assert client.count("mem0").count == 30
    assert client.get_collection("mem0").payload_schema["user_id"].points == 30

    ann = memory.get_all(filters={"user_id": "ann"})["results"]
    assert sorted(m["memory"] for m in ann) == sorted(texts[0::2])
    found = memory.search(texts[3], filters={"user_id": "bob"}, top_k=3)["results"]
    assert found and found[0]["memory"] == texts[3]
    assert all(m["user_id"] == "bob" for m in found)

    memory.delete(found[0]["id"])
    assert client.count("mem0").count == 29
    assert len(memory.get_all(filters={"user_id": "bob"})["results"]) == 14
