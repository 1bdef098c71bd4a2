"""mem0's Memory over vectord as it runs out of the box: `Memory.from_config` creates its default collection itself,
an unnamed dense vector and a sparse vector `bm25` with the `idf` modifier, then keyword payload indexes on
user_id, agent_id, run_id and actor_id. Memories are added without an LLM (`infer=False`), each point carrying
`vector: {"": [...], "bm25": {indices, values}}`; a search sends a dense `points/query` (no `using`, limit
max(4 top_k, 60), the user's filter) and a sparse one (`using: "bm25"`, same limit and filter), and mem0 ranks the
dense hits by (cosine + sigmoid of the BM25 score) / 2. Then memories are listed per user and deleted.

mem0 2.2.1 computes the BM25 vectors with fastembed's `SparseTextEmbedding("Qdrant/bm25")`, which it imports when
first needed (without fastembed it writes no sparse vectors and searches by the dense vector only), and that
model is downloaded from a hub. The test provides a `fastembed` module of its own instead (for this test only,
through pytest's monkeypatch of `sys.modules`), whose `SparseTextEmbedding` applies fastembed's BM25 document
formula to plain words: so mem0's own code path runs unchanged. The dense embedding is a deterministic fake set
on `memory.embedding_model`, as in test_mem0.py. Without spaCy (not installed) mem0 neither lemmatises nor
extracts entities, so the texts it encodes are the memories and queries as given."""
import math
import os
import sys
import types
from collections import Counter

import numpy as np
import pytest

os.environ.setdefault("MEM0_TELEMETRY", "False")
os.environ.setdefault("OPENAI_API_KEY", "unused: no call reaches a model")

from mem0 import Memory  # noqa: E402
from qdrant_client import QdrantClient, models  # noqa: E402

from conftest import EMBED_DIM, model_scores, word_texts  # noqa: E402
from hybrid_model import as_dict, embed_text, idf, tokens, word_index  # noqa: E402

COLLECTION = "mem0-hybrid"
K, B, AVG_LEN = 1.2, 0.75, 256.0  # fastembed's Bm25 defaults


def bm25(text):
    """fastembed's BM25 document weights over plain words: tf (k + 1) / (tf + k (1 - b + b len / avg_len))."""
    words = tokens(text)
    weights = {}
    for word, tf in Counter(words).items():
        index = word_index(word)
        weights[index] = weights.get(index, 0.0) + tf * (K + 1) / (tf + K * (1 - B + B * len(words) / AVG_LEN))
    return weights


class Bm25:
    """fastembed's `SparseTextEmbedding` as mem0 uses it: built with the model's name, `embed` yielding objects
    with numpy `indices` and `values`."""

    def __init__(self, model_name, **kwargs):
        assert model_name == "Qdrant/bm25"

    def embed(self, documents, **kwargs):
        for text in [documents] if isinstance(documents, str) else documents:
            weights = bm25(text)
            indices = sorted(weights)
            yield types.SimpleNamespace(indices=np.array(indices), values=np.array([weights[i] for i in indices]))


class HashedText:
    """hybrid_model's `embed_text` in the shape of mem0's embedders."""

    def embed(self, text, memory_action=None):
        return embed_text(text)

    def embed_batch(self, texts, memory_action=None):
        return [embed_text(t) for t in texts]


def expected(memories, query, user, top_k, threshold=0.1):
    """What mem0 answers, from brute force over `memories` ({id: (text, user)}): [(id, score, semantic, bm25)]."""
    mine = {i: text for i, (text, owner) in memories.items() if owner == user}
    ids = list(mine)
    semantic = dict(zip(ids, model_scores("Cosine", [embed_text(mine[i]) for i in ids], embed_text(query)).tolist()))
    # The sparse query is the query's own BM25 document weights, times each index's IDF over the collection.
    corpus = [bm25(text) for text, _ in memories.values()]
    weights = {i: v * idf(sum(1 for vector in corpus if i in vector), len(corpus)) for i, v in bm25(query).items()}
    terms = len(query.split())
    midpoint, steepness = (5.0, 0.7) if terms <= 3 else (7.0, 0.6) if terms <= 6 else (9.0, 0.5)
    keyword = {}
    for i in ids:
        raw = sum(w * bm25(mine[i]).get(index, 0.0) for index, w in weights.items())
        if raw > 0:
            keyword[i] = 1 / (1 + math.exp(-steepness * (raw - midpoint)))
    divisor = 2.0 if keyword else 1.0
    ranked = sorted(((i, min((semantic[i] + keyword.get(i, 0.0)) / divisor, 1.0), semantic[i], keyword.get(i, 0.0))
                     for i in ids if semantic[i] >= threshold), key=lambda r: r[1], reverse=True)
    return ranked[:top_k]


def test_memory_creates_its_hybrid_collection_and_searches_it(url, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fastembed", types.SimpleNamespace(SparseTextEmbedding=Bm25))
    client = QdrantClient(url=url)
    if client.collection_exists(COLLECTION):
        client.delete_collection(COLLECTION)
    host, port = url.removeprefix("http://").split(":")
    memory = Memory.from_config({
        "vector_store": {"provider": "qdrant", "config": {"collection_name": COLLECTION, "host": host,
                                                          "port": int(port), "embedding_model_dims": EMBED_DIM}},
        "history_db_path": str(tmp_path / "history.db"),
    })
    memory.embedding_model = HashedText()

    params = client.get_collection(COLLECTION).config.params
    assert isinstance(params.vectors, models.VectorParams)
    assert (params.vectors.size, params.vectors.distance) == (EMBED_DIM, models.Distance.COSINE)
    assert set(params.sparse_vectors) == {"bm25"} and params.sparse_vectors["bm25"].modifier == models.Modifier.IDF

    texts = word_texts(30, "mem0 hybrid")
    users = ["ann", "bob"]
    memories = {}
    for i, text in enumerate(texts):
        added = memory.add([{"role": "user", "content": text}], user_id=users[i % 2], infer=False)["results"]
        assert [(m["memory"], m["event"]) for m in added] == [(text, "ADD")]
        memories[added[0]["id"]] = (text, users[i % 2])
    assert client.count(COLLECTION).count == 30
    # Every point holds both vectors: the dense one and mem0's BM25 encoding of the memory.
    for record in client.retrieve(COLLECTION, list(memories), with_vectors=True):
        text = memories[str(record.id)][0]
        assert record.vector[""] == pytest.approx(embed_text(text), abs=1e-5)
        assert as_dict(record.vector["bm25"].indices, record.vector["bm25"].values) == pytest.approx(bm25(text),
                                                                                                     rel=1e-5)

    assert sorted(m["memory"] for m in memory.get_all(filters={"user_id": "ann"})["results"]) == sorted(texts[0::2])
    queries = [texts[3], " ".join(texts[5].split()[:3]), "files in a directory", "remote login program"]
    for query in queries:
        for user in users:
            found = memory.search(query, filters={"user_id": user}, top_k=4, explain=True)["results"]
            want = expected(memories, query, user, 4)
            assert len(found) == len(want), (query, user)
            for got, (memory_id, score, semantic, keyword) in zip(found, want):
                assert got["score"] == pytest.approx(score, abs=1e-4), (query, user)
                assert got["score_details"]["semantic_score"] == pytest.approx(semantic, abs=1e-4)
                assert got["score_details"]["bm25_score"] == pytest.approx(keyword, abs=1e-4)
                assert got["memory"] == memories[got["id"]][0] and got["user_id"] == user
            # Equal scores do not occur (the embedding separates distinct texts): the order is the model's.
            assert [g["id"] for g in found] == [w[0] for w in want], (query, user)
            # The BM25 part was found: some hit shares words with the query.
            assert any(w[3] > 0 for w in want)
    # A memory's own text finds it first.
    assert memory.search(texts[3], filters={"user_id": "bob"}, top_k=1)["results"][0]["memory"] == texts[3]

    gone = next(i for i, (text, _) in memories.items() if text == texts[3])
    memory.delete(gone)
    del memories[gone]
    assert client.count(COLLECTION).count == 29
    bob = memory.get_all(filters={"user_id": "bob"})["results"]
    assert sorted(m["memory"] for m in bob) == sorted(texts[1::2][:1] + texts[1::2][2:])
    assert all(m["id"] != gone for m in memory.search(texts[3], filters={"user_id": "bob"}, top_k=15)["results"])
    client.delete_collection(COLLECTION)
