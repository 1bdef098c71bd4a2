"""Haystack's Qdrant document store with sparse embeddings (`use_sparse_embeddings=True`, `sparse_idf=True`) and its
hybrid, sparse and dense retrievers, with deterministic embeddings (hybrid_model's `embed_text` and `sparse_words`);
answers checked against brute force.

What qdrant-haystack 13.1.0 sends: the collection is created with `vectors: {"text-dense": {size, distance,
on_disk}}` and `sparse_vectors: {"text-sparse": {"index": {"on_disk": false}, "modifier": "idf"}}`; points carry
`vector: {"text-dense": [...], "text-sparse": {indices, values}}`, either one left out for a document without that
embedding. `QdrantHybridRetriever` sends a `points/query` with two prefetches (`{query: {indices, values}, using:
"text-sparse", filter}` and `{query: [...], using: "text-dense", filter}`, no limit, so Qdrant's default of 10) and
`query: {"fusion": "rrf"}`, or `{"rrf": {"k": .., "weights": [sparse, dense]}}` when given `rrf_k`/`rrf_weights`,
with `limit: top_k`, `score_threshold`, `with_payload: true`, `with_vector`. The sparse and dense retrievers send a
plain `points/query` with `using`."""
import pytest
from haystack import Document
from haystack.dataclasses import SparseEmbedding
from haystack_integrations.components.retrievers.qdrant import (QdrantEmbeddingRetriever, QdrantHybridRetriever,
                                                                QdrantSparseEmbeddingRetriever)
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore
from haystack_integrations.document_stores.qdrant.converters import convert_id
from qdrant_client import QdrantClient, models

from conftest import EMBED_DIM, model_scores, word_texts
from hybrid_model import (DEFAULT_LIMIT, as_dict, check_ranking, embed_text, ranking, rrf, sparse_scores,
                          sparse_words)

TOPICS = ["a", "b", "c"]
QUERIES = ["files in a directory", "remote login program", "grep prints lines", "tar archive"]


def sparse(text):
    indices, values = sparse_words(text)
    return SparseEmbedding(indices=indices, values=values)


def documents():
    """Every tenth document has no sparse embedding, every seventh no dense one."""
    return [Document(id=f"{i:04d}", content=text, meta={"topic": TOPICS[i % 3], "n": i},
                     embedding=None if i % 7 == 3 else embed_text(text),
                     sparse_embedding=None if i % 10 == 5 else sparse(text))
            for i, text in enumerate(word_texts(200, "haystack hybrid"))]


def make_store(url, recreate):
    return QdrantDocumentStore(url=url, index="haystack-hybrid", embedding_dim=EMBED_DIM, recreate_index=recreate,
                               use_sparse_embeddings=True, sparse_idf=True, return_embedding=True,
                               progress_bar=False)


def dense_ranking(docs, query, keep):
    chosen = [d for d in docs if d.embedding is not None and keep(d)]
    found = model_scores("Cosine", [d.embedding for d in chosen], embed_text(query))
    return ranking(dict(zip([d.id for d in chosen], found.tolist())))


def sparse_ranking(docs, query, keep):
    corpus = {d.id: as_dict(d.sparse_embedding.indices, d.sparse_embedding.values)
              for d in docs if d.sparse_embedding is not None}
    chosen = {i: v for i, v in corpus.items() if keep(next(d for d in docs if d.id == i))}
    return ranking(sparse_scores(as_dict(*sparse_words(query)), chosen, modifier_idf=True, corpus=corpus))


def leaves(store, docs, query, keep=lambda d: True, query_filter=None):
    """The hybrid query's two prefetches asked alone through the plain client (by the store's point ids),
    checked against brute force, as [(document id, score)]."""
    client = QdrantClient(url=store.url)
    ids = {convert_id(d.id): d.id for d in docs}
    indices, values = sparse_words(query)
    found = []
    for query_vector, using, want in (
            (models.SparseVector(indices=indices, values=values), "text-sparse", sparse_ranking(docs, query, keep)),
            (embed_text(query), "text-dense", dense_ranking(docs, query, keep))):
        points = client.query_points("haystack-hybrid", query=query_vector, using=using, query_filter=query_filter,
                                     limit=DEFAULT_LIMIT).points
        got = [(ids[str(p.id).replace("-", "")], p.score) for p in points]
        check_ranking(got, want, DEFAULT_LIMIT, what=(using, query))
        found.append(got)
    client.close()
    return found


def check(found, want, limit, docs, what=""):
    check_ranking([(d.id, d.score) for d in found], want, limit, what=what)
    by_id = {d.id: d for d in docs}
    for doc in found:
        original = by_id[doc.id]
        assert doc.content == original.content and doc.meta == original.meta
        if original.embedding is None:
            assert doc.embedding is None
        else:
            assert doc.embedding == pytest.approx(original.embedding, abs=1e-5)
        if original.sparse_embedding is None:
            assert doc.sparse_embedding is None
        else:
            assert as_dict(doc.sparse_embedding.indices, doc.sparse_embedding.values) == pytest.approx(
                as_dict(original.sparse_embedding.indices, original.sparse_embedding.values), rel=1e-6)


def test_hybrid_sparse_and_dense_retrievers(url):
    store = make_store(url, recreate=True)
    docs = documents()
    assert store.write_documents(docs) == 200
    assert store.count_documents() == 200
    params = QdrantClient(url=url).get_collection("haystack-hybrid").config.params
    assert set(params.vectors) == {"text-dense"} and params.vectors["text-dense"].size == EMBED_DIM
    assert params.sparse_vectors["text-sparse"].modifier == models.Modifier.IDF

    hybrid = QdrantHybridRetriever(document_store=store, top_k=8, return_embedding=True)
    topic_c = {"field": "meta.topic", "operator": "==", "value": "c"}
    c_filter = models.Filter(must=[models.FieldCondition(key="meta.topic", match=models.MatchValue(value="c"))])
    is_c = lambda d: d.meta["topic"] == "c"  # noqa: E731
    for query in QUERIES:
        embedding, sparse_embedding = embed_text(query), sparse(query)
        parts = leaves(store, docs, query)
        found = hybrid.run(query_embedding=embedding, query_sparse_embedding=sparse_embedding)["documents"]
        check(found, rrf(parts), 8, docs, what=(query, "rrf"))
        # All of both prefetches, fused.
        found = hybrid.run(query_embedding=embedding, query_sparse_embedding=sparse_embedding, top_k=30)["documents"]
        want = rrf(parts)
        check(found, want, len(want), docs, what=(query, "all"))
        found = hybrid.run(query_embedding=embedding, query_sparse_embedding=sparse_embedding, rrf_k=60,
                           top_k=6)["documents"]
        check(found, rrf(parts, k=60), 6, docs, what=(query, "k=60"))
        found = hybrid.run(query_embedding=embedding, query_sparse_embedding=sparse_embedding, rrf_weights=[3.0, 1.0],
                           top_k=6)["documents"]
        check(found, rrf(parts, weights=[3.0, 1.0]), 6, docs, what=(query, "weights"))
        threshold = 0.55  # above the best a point found by one prefetch only can score, 1 / 2
        found = hybrid.run(query_embedding=embedding, query_sparse_embedding=sparse_embedding,
                           score_threshold=threshold, top_k=20)["documents"]
        check(found, [(i, s) for i, s in rrf(parts) if s >= threshold], 20, docs, what=(query, "threshold"))
        found = hybrid.run(query_embedding=embedding, query_sparse_embedding=sparse_embedding, filters=topic_c,
                           top_k=5)["documents"]
        check(found, rrf(leaves(store, docs, query, is_c, c_filter)), 5, docs, what=(query, "topic c"))
        assert all(d.meta["topic"] == "c" for d in found)

        found = QdrantSparseEmbeddingRetriever(document_store=store, top_k=7, return_embedding=True).run(
            query_sparse_embedding=sparse_embedding)["documents"]
        check(found, sparse_ranking(docs, query, lambda d: True), 7, docs, what=(query, "sparse"))
        found = QdrantEmbeddingRetriever(document_store=store, top_k=7, return_embedding=True).run(
            query_embedding=embedding)["documents"]
        check(found, dense_ranking(docs, query, lambda d: True), 7, docs, what=(query, "dense"))

    # Deleting documents takes them out of both vectors' searches (and of the sparse vector's IDF).
    store.delete_documents([d.id for d in docs[:40]])
    docs = docs[40:]
    again = make_store(url, recreate=False)
    assert again.count_documents() == 160
    hybrid = QdrantHybridRetriever(document_store=again, top_k=10)
    for query in QUERIES[:2]:
        found = hybrid.run(query_embedding=embed_text(query), query_sparse_embedding=sparse(query))["documents"]
        check_ranking([(d.id, d.score) for d in found], rrf(leaves(again, docs, query)), 10, what=(query, "after"))
