"""LangChain's Qdrant vector store in its sparse and hybrid retrieval modes, with deterministic fake embeddings
(hybrid_model's `embed_text` and `sparse_words`), answers checked against brute force.

What langchain-qdrant 1.1.0 sends: the collection is created with `vectors: {"": {size, distance}}` (its dense
vector is named "" by default) or `vectors: {}` in sparse mode, and `sparse_vectors: {"langchain-sparse": {...}}`;
points carry `vector: {"": [...], "langchain-sparse": {indices, values}}`. A sparse search is a `points/query` with
`using: "langchain-sparse"`; a hybrid one a `points/query` with two prefetches (the dense and the sparse query, each
with the search's filter and `limit: k`) fused by `{"fusion": "rrf"}`, with the filter, `limit: k`, `offset` and
`score_threshold` on the outer query. Its hybrid answer is so modelled: the two prefetches asked alone (checked
against brute force), their RRF (checked against the answer)."""
import uuid

from langchain_core.embeddings import Embeddings
from langchain_qdrant import QdrantVectorStore, RetrievalMode
from langchain_qdrant.sparse_embeddings import SparseEmbeddings, SparseVector
from qdrant_client import models

from conftest import model_scores, word_texts
from hybrid_model import as_dict, check_ranking, dbsf, embed_text, pairs, ranking, rrf, sparse_scores, sparse_words

QUERIES = ["files in a directory", "remote login program", "prints lines matching", "archive extracts files",
           "copies directories"]
EVEN = models.Filter(must=[models.FieldCondition(key="metadata.even", match=models.MatchValue(value=True))])


class HashedText(Embeddings):
    def embed_query(self, text):
        return embed_text(text)

    def embed_documents(self, texts):
        return [embed_text(t) for t in texts]


class HashedSparse(SparseEmbeddings):
    """hybrid_model's hashed word counts as a LangChain sparse embedding."""

    def embed_documents(self, texts):
        return [SparseVector(indices=i, values=v) for i, v in map(sparse_words, texts)]

    def embed_query(self, text):
        indices, values = sparse_words(text)
        return SparseVector(indices=indices, values=values)


def corpus(count, stream):
    texts = word_texts(count, stream)
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"{stream}-{i}")) for i in range(count)]
    return texts, ids, [{"i": i, "even": i % 2 == 0} for i in range(count)]


class Model:
    """What the collection holds: id -> (text, metadata)."""

    def __init__(self, texts, ids, metadatas):
        self.docs = dict(zip(ids, zip(texts, metadatas)))

    def dense(self, query, keep=lambda m: True):
        chosen = [(i, text) for i, (text, meta) in self.docs.items() if keep(meta)]
        found = model_scores("Cosine", [embed_text(t) for _, t in chosen], embed_text(query))
        return ranking(dict(zip([i for i, _ in chosen], found.tolist())))

    def sparse(self, query, keep=lambda m: True, idf=False):
        vectors = {i: as_dict(*sparse_words(text)) for i, (text, _) in self.docs.items()}
        chosen = {i: v for i, v in vectors.items() if keep(self.docs[i][1])}
        return ranking(sparse_scores(as_dict(*sparse_words(query)), chosen, modifier_idf=idf, corpus=vectors))


def found(results):
    return [(doc.metadata["_id"], score) for doc, score in results]


def check_documents(results, model):
    for doc, _ in results:
        text, metadata = model.docs[doc.metadata["_id"]]
        assert doc.page_content == text
        assert {k: v for k, v in doc.metadata.items() if not k.startswith("_")} == metadata


def leaves(store, model, query, k, query_filter=None, keep=lambda m: True):
    """The hybrid search's two prefetches asked alone, checked against brute force."""
    dense = pairs(store.client.query_points(store.collection_name, query=embed_text(query), using="",
                                            query_filter=query_filter, limit=k).points)
    check_ranking(dense, model.dense(query, keep), k, what=("dense prefetch", query))
    indices, values = sparse_words(query)
    sparse = pairs(store.client.query_points(store.collection_name, query=models.SparseVector(indices=indices,
                                                                                              values=values),
                                             using="langchain-sparse", query_filter=query_filter, limit=k).points)
    check_ranking(sparse, model.sparse(query, keep), k, what=("sparse prefetch", query))
    return dense, sparse


def test_hybrid_mode(url):
    texts, ids, metadatas = corpus(300, "langchain hybrid")
    store = QdrantVectorStore.from_texts(texts, HashedText(), metadatas=metadatas, ids=ids, url=url,
                                         collection_name="lc-hybrid", force_recreate=True,
                                         retrieval_mode=RetrievalMode.HYBRID, sparse_embedding=HashedSparse())
    model = Model(texts, ids, metadatas)
    params = store.client.get_collection("lc-hybrid").config.params
    assert set(params.sparse_vectors) == {"langchain-sparse"}
    for query in QUERIES:
        for k in (4, 10):
            results = store.similarity_search_with_score(query, k=k)
            check_ranking(found(results), rrf(leaves(store, model, query, k)), k, what=(query, k))
            check_documents(results, model)
        # The filter goes to both prefetches and to the fusion.
        even = lambda m: m["even"]  # noqa: E731
        results = store.similarity_search_with_score(query, k=6, filter=EVEN)
        check_ranking(found(results), rrf(leaves(store, model, query, 6, EVEN, even)), 6, what=(query, "even"))
        assert all(doc.metadata["even"] for doc, _ in results)
        # An offset skips fused results; the prefetches still take k each.
        results = store.similarity_search_with_score(query, k=5, offset=3)
        check_ranking(found(results), rrf(leaves(store, model, query, 5)), 5, offset=3, what=(query, "offset"))
        # A threshold applies to the fused scores: 1/2 + 1/3 needs the first place in one list and the second
        # in the other (or better).
        want = [(i, s) for i, s in rrf(leaves(store, model, query, 8)) if s >= 0.8]
        results = store.similarity_search_with_score(query, k=8, score_threshold=0.8)
        check_ranking(found(results), want, 8, what=(query, "threshold"))
        # DBSF instead of RRF, as a caller may ask.
        results = store.similarity_search_with_score(query, k=5,
                                                     hybrid_fusion=models.FusionQuery(fusion=models.Fusion.DBSF))
        check_ranking(found(results), dbsf(leaves(store, model, query, 5)), 5, what=(query, "dbsf"))
    assert [d.page_content for d in store.similarity_search(QUERIES[0], k=3)] == [
        model.docs[i][0] for i, _ in found(store.similarity_search_with_score(QUERIES[0], k=3))]

    # More texts into the existing collection, some deleted: searches see exactly what is left.
    more_texts, more_ids, more_metadatas = corpus(40, "langchain hybrid more")
    assert store.add_texts(more_texts, more_metadatas, ids=more_ids) == more_ids
    assert store.delete(ids=ids[:100])
    model = Model(texts[100:] + more_texts, ids[100:] + more_ids, metadatas[100:] + more_metadatas)
    assert store.client.count("lc-hybrid").count == 240
    for query in QUERIES[:3]:
        results = store.similarity_search_with_score(query, k=7)
        check_ranking(found(results), rrf(leaves(store, model, query, 7)), 7, what=(query, "after delete"))
    assert [d.page_content for d in store.get_by_ids(more_ids[:3])] == more_texts[:3]

    # Reconnecting to the collection validates that it has both vectors.
    again = QdrantVectorStore.from_existing_collection("lc-hybrid", embedding=HashedText(), url=url,
                                                       retrieval_mode=RetrievalMode.HYBRID,
                                                       sparse_embedding=HashedSparse())
    check_ranking(found(again.similarity_search_with_score("ssh", k=3)), rrf(leaves(again, model, "ssh", 3)), 3)
    store.client.delete_collection("lc-hybrid")


def test_sparse_mode_with_idf(url):
    """Sparse only: a collection without dense vectors, its sparse vector under the `idf` modifier (as one sets it
    up for BM25-like encoders), searched with `using`, filtered, after deletions."""
    texts, ids, metadatas = corpus(250, "langchain sparse")
    store = QdrantVectorStore.from_texts(texts, metadatas=metadatas, ids=ids, url=url, collection_name="lc-sparse",
                                         force_recreate=True, retrieval_mode=RetrievalMode.SPARSE,
                                         sparse_embedding=HashedSparse(),
                                         sparse_vector_params={"modifier": models.Modifier.IDF})
    model = Model(texts, ids, metadatas)
    params = store.client.get_collection("lc-sparse").config.params
    assert not params.vectors
    assert params.sparse_vectors["langchain-sparse"].modifier == models.Modifier.IDF
    for query in QUERIES:
        results = store.similarity_search_with_score(query, k=8)
        check_ranking(found(results), model.sparse(query, idf=True), 8, what=query)
        check_documents(results, model)
        results = store.similarity_search_with_score(query, k=5, filter=EVEN)
        check_ranking(found(results), model.sparse(query, keep=lambda m: m["even"], idf=True), 5, what=(query, "even"))
    # A word no text has finds nothing.
    assert store.similarity_search("zebra", k=5) == []

    assert store.delete(ids=ids[::3])
    model = Model(texts, ids, metadatas)
    for i in ids[::3]:
        del model.docs[i]
    assert store.client.count("lc-sparse").count == len(model.docs)
    for query in QUERIES[:3]:
        check_ranking(found(store.similarity_search_with_score(query, k=8)), model.sparse(query, idf=True), 8,
                      what=(query, "after delete"))
    again = QdrantVectorStore.from_existing_collection("lc-sparse", url=url, retrieval_mode=RetrievalMode.SPARSE,
                                                       sparse_embedding=HashedSparse())
    assert len(again.similarity_search(QUERIES[0], k=2)) == 2
    store.client.delete_collection("lc-sparse")


def test_hybrid_mode_with_named_vectors(url):
    """Hybrid with a named dense vector (`vector_name`) and a sparse vector of another name, dot product."""
    texts, ids, metadatas = corpus(120, "langchain named")
    store = QdrantVectorStore.from_texts(texts, HashedText(), metadatas=metadatas, ids=ids, url=url,
                                         collection_name="lc-named", force_recreate=True,
                                         retrieval_mode=RetrievalMode.HYBRID, sparse_embedding=HashedSparse(),
                                         vector_name="dense-text", sparse_vector_name="bag-of-words",
                                         distance=models.Distance.DOT)
    params = store.client.get_collection("lc-named").config.params
    assert set(params.vectors) == {"dense-text"} and params.vectors["dense-text"].distance == models.Distance.DOT
    assert set(params.sparse_vectors) == {"bag-of-words"}
    model = Model(texts, ids, metadatas)
    for query in QUERIES:
        dense = pairs(store.client.query_points("lc-named", query=embed_text(query), using="dense-text",
                                                limit=5).points)
        # Unit vectors: the dot product is the cosine.
        check_ranking(dense, model.dense(query), 5)
        indices, values = sparse_words(query)
        sparse = pairs(store.client.query_points("lc-named", query=models.SparseVector(indices=indices, values=values),
                                                 using="bag-of-words", limit=5).points)
        check_ranking(sparse, model.sparse(query), 5)
        check_ranking(found(store.similarity_search_with_score(query, k=5)), rrf([dense, sparse]), 5, what=query)
    store.client.delete_collection("lc-named")
