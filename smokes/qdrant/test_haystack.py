"""Haystack's Qdrant document store and retriever over vectord, in their default settings plus payload
indexes (`payload_fields_to_index`), with a deterministic fake embedding; answers checked against brute
force."""
import pytest
from haystack import Document
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.components.retrievers.qdrant import QdrantEmbeddingRetriever
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore
from qdrant_client import QdrantClient

from conftest import EMBED_DIM, embed_words, model_top, word_texts

TOPICS = ["a", "b", "c"]


def documents():
    return [Document(id=f"{i:04d}", content=text, embedding=embed_words(text),
                     meta={"topic": TOPICS[i % 3], "n": i})
            for i, text in enumerate(word_texts(150, "haystack"))]


def make_store(url, recreate):
    return QdrantDocumentStore(url=url, index="haystack", embedding_dim=EMBED_DIM, recreate_index=recreate,
                               return_embedding=True, progress_bar=False,
                               payload_fields_to_index=[{"field_name": "meta.topic", "field_schema": "keyword"},
                                                        {"field_name": "meta.n", "field_schema": "integer"}])


def check(found, docs, query, k, keep=lambda doc: True):
    chosen = [d for d in docs if keep(d)]
    want = model_top("Cosine", [d.id for d in chosen], [d.embedding for d in chosen], embed_words(query), k)
    assert [round(d.score, 4) for d in found] == pytest.approx([round(s, 4) for _, s in want], abs=2e-4)
    by_id = {d.id: d for d in chosen}
    for doc in found:
        assert doc.content == by_id[doc.id].content and doc.meta == by_id[doc.id].meta
        assert doc.embedding == pytest.approx(by_id[doc.id].embedding, abs=1e-6)


def test_document_store_and_retriever(url):
    store = make_store(url, recreate=True)
    docs = documents()
    assert store.write_documents(docs) == 150
    assert store.count_documents() == 150
    assert store.write_documents(docs[:5], policy=DuplicatePolicy.SKIP) == 0
    info = QdrantClient(url=url).get_collection("haystack")
    assert {k: (v.data_type, v.points) for k, v in info.payload_schema.items()} == {
        "meta.topic": ("keyword", 150), "meta.n": ("integer", 150)}

    retriever = QdrantEmbeddingRetriever(document_store=store, top_k=6, return_embedding=True)
    for query in ["files in a directory", "remote login program", "grep prints lines"]:
        check(retriever.run(query_embedding=embed_words(query))["documents"], docs, query, 6)
        topic = {"field": "meta.topic", "operator": "==", "value": "c"}
        found = retriever.run(query_embedding=embed_words(query), filters=topic, top_k=4)["documents"]
        check(found, docs, query, 4, keep=lambda d: d.meta["topic"] == "c")
        both = {"operator": "AND", "conditions": [{"field": "meta.n", "operator": ">=", "value": 30},
                                                  {"field": "meta.topic", "operator": "in", "value": ["a", "b"]}]}
        found = retriever.run(query_embedding=embed_words(query), filters=both, top_k=5)["documents"]
        check(found, docs, query, 5, keep=lambda d: d.meta["n"] >= 30 and d.meta["topic"] in ("a", "b"))

    not_b = store.filter_documents({"field": "meta.topic", "operator": "!=", "value": "b"})
    assert sorted(d.id for d in not_b) == sorted(d.id for d in docs if d.meta["topic"] != "b")
    store.delete_documents([d.id for d in docs[:10]])
    assert store.count_documents() == 140
    # A store opened again over the collection finds it, its indexes and its documents.
    again = make_store(url, recreate=False)
    assert again.count_documents() == 140
    info = QdrantClient(url=url).get_collection("haystack")
    assert info.payload_schema["meta.topic"].points == 140


def test_documents_without_embeddings_are_kept_and_never_retrieved(url):
    """As in Qdrant: such a document is a point without a vector (Haystack writes `{}`)."""
    store = make_store(url, recreate=True)
    docs = documents()[:20]
    bare = [Document(id=f"bare-{i}", content=f"no embedding {i}", meta={"topic": "a", "n": 1000 + i}) for i in range(3)]
    store.write_documents(docs + bare)
    assert store.count_documents() == 23
    stored = {d.id: d for d in store.filter_documents()}
    # Haystack shows what Qdrant answers for such a point: `{}`.
    assert all(not stored[d.id].embedding for d in bare) and len(stored["0000"].embedding) == EMBED_DIM
    retriever = QdrantEmbeddingRetriever(document_store=store, top_k=23)
    found = retriever.run(query_embedding=embed_words("ls grep tar"))["documents"]
    assert len(found) == 20 and not any(d.id.startswith("bare") for d in found)
