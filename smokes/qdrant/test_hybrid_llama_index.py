"""LlamaIndex's Qdrant vector store with hybrid search enabled (`enable_hybrid=True`) and deterministic sparse and
dense encoders (hybrid_model's `sparse_words` as `sparse_doc_fn`/`sparse_query_fn`, `embed_text` as the embedding),
queried in its `hybrid`, `sparse` and `default` modes, sync and async; answers checked against brute force.

What llama-index-vector-stores-qdrant 0.10.4 sends: the collection is created with `vectors: {"text-dense": {size,
distance: Cosine}}` and `sparse_vectors: {"text-sparse-new": {"index": {}}}` (no modifier), then a keyword payload
index on `doc_id`; points carry `vector: {"text-sparse-new": {indices, values}, "text-dense": [...]}`. Every query
is a `points/query/batch`: in hybrid mode two requests, `{query: dense, using: "text-dense", limit:
similarity_top_k, filter, with_payload: true}` and `{query: {indices, values}, using: "text-sparse-new", limit:
sparse_top_k, ...}`, fused on the client by relative score fusion (each list's scores min-max normalised, then
alpha * dense + (1 - alpha) * sparse, the best hybrid_top_k); in sparse mode the sparse request alone; in default
mode the dense one alone."""
import asyncio

import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.schema import MetadataMode
from llama_index.core.vector_stores import ExactMatchFilter, MetadataFilters
from llama_index.vector_stores.qdrant import QdrantVectorStore
from qdrant_client import AsyncQdrantClient, QdrantClient, models

from conftest import model_scores, word_texts
from hybrid_model import as_dict, check_ranking, embed_text, pairs, ranking, sparse_scores, sparse_words

COLLECTION = "llama-hybrid"
QUERIES = ["files in a directory", "remote login program", "archive extracts files", "grep prints lines"]


class HashedText(BaseEmbedding):
    def _get_query_embedding(self, query):
        return embed_text(query)

    def _get_text_embedding(self, text):
        return embed_text(text)

    async def _aget_query_embedding(self, query):
        return embed_text(query)


def encode(texts):
    """hybrid_model's hashed word counts in LlamaIndex's sparse encoder shape: (indices per text, values per text)."""
    encoded = [sparse_words(t) for t in texts]
    return [i for i, _ in encoded], [v for _, v in encoded]


def documents():
    return [Document(text=text, doc_id=f"doc-{i}", metadata={"topic": ["a", "b", "c"][i % 3]})
            for i, text in enumerate(word_texts(150, "llama hybrid"))]


class Model:
    """node id -> (text embedded: the content with its metadata, topic), from what the collection holds."""

    def __init__(self, client, docs):
        contents = {d.doc_id: d.get_content(metadata_mode=MetadataMode.EMBED) for d in docs}
        self.nodes = {}
        points, offset = [], None
        while True:
            page, offset = client.scroll(COLLECTION, limit=64, offset=offset, with_vectors=True, with_payload=True)
            points.extend(page)
            if offset is None:
                break
        for point in points:
            content = contents[point.payload["doc_id"]]
            # What was stored is what the encoders make of the content LlamaIndex embeds.
            assert as_dict(point.vector["text-sparse-new"].indices, point.vector["text-sparse-new"].values) == \
                pytest.approx(as_dict(*sparse_words(content)), rel=1e-6)
            assert point.vector["text-dense"] == pytest.approx(embed_text(content), abs=1e-5)
            self.nodes[str(point.id)] = (content, point.payload["topic"])

    def dense(self, query, keep):
        chosen = [(i, c) for i, (c, topic) in self.nodes.items() if keep(topic)]
        found = model_scores("Cosine", [embed_text(c) for _, c in chosen], embed_text(query))
        return ranking(dict(zip([i for i, _ in chosen], found.tolist())))

    def sparse(self, query, keep):
        chosen = {i: as_dict(*sparse_words(c)) for i, (c, topic) in self.nodes.items() if keep(topic)}
        return ranking(sparse_scores(as_dict(*sparse_words(query)), chosen))


def relative_score_fusion(dense, sparse, alpha, top_k):
    """llama_index.vector_stores.qdrant.utils.relative_score_fusion over [(id, score)] lists, best first."""
    if not dense or not sparse:
        return dense or sparse

    def normalised(answer):
        scores = [s for _, s in answer]
        low, high = min(scores), max(scores)
        return {i: (high if high == low else (s - low) / (high - low)) for i, s in answer}

    dense_n, sparse_n = normalised(dense), normalised(sparse)
    fused = {i: (1 - alpha) * sparse_n.get(i, 0) + alpha * dense_n.get(i, 0) for i in [*dense_n, *sparse_n]}
    return ranking(fused)[:top_k]


def leaves(client, model, query, dense_k, sparse_k, query_filter=None, keep=lambda topic: True):
    """The two requests of a hybrid query asked alone through the plain client, checked against brute force."""
    dense = pairs(client.query_points(COLLECTION, query=embed_text(query), using="text-dense",
                                      query_filter=query_filter, limit=dense_k).points)
    check_ranking(dense, model.dense(query, keep), dense_k, what=("dense", query))
    indices, values = sparse_words(query)
    sparse = pairs(client.query_points(COLLECTION, query=models.SparseVector(indices=indices, values=values),
                                       using="text-sparse-new", query_filter=query_filter, limit=sparse_k).points)
    check_ranking(sparse, model.sparse(query, keep), sparse_k, what=("sparse", query))
    return [(str(i), s) for i, s in dense], [(str(i), s) for i, s in sparse]


def retrieved(nodes):
    return [(n.node.node_id, n.score) for n in nodes]


def test_hybrid_sparse_and_default_modes(url):
    client = QdrantClient(url=url)
    if client.collection_exists(COLLECTION):
        client.delete_collection(COLLECTION)
    store = QdrantVectorStore(client=client, collection_name=COLLECTION, enable_hybrid=True, sparse_doc_fn=encode,
                              sparse_query_fn=encode, batch_size=40)
    docs = documents()
    index = VectorStoreIndex.from_documents(docs, storage_context=StorageContext.from_defaults(vector_store=store),
                                            embed_model=HashedText())
    params = client.get_collection(COLLECTION).config.params
    assert set(params.vectors) == {"text-dense"} and params.vectors["text-dense"].distance == models.Distance.COSINE
    assert set(params.sparse_vectors) == {"text-sparse-new"}
    assert params.sparse_vectors["text-sparse-new"].modifier in (None, models.Modifier.NONE)
    model = Model(client, docs)
    assert len(model.nodes) == 150

    topic_b = MetadataFilters(filters=[ExactMatchFilter(key="topic", value="b")])
    b_filter = models.Filter(must=[models.FieldCondition(key="topic", match=models.MatchValue(value="b"))])
    for query in QUERIES:
        for dense_k, sparse_k, hybrid_k, alpha in ((5, 5, None, None), (4, 9, 6, 0.3), (8, 3, 5, 0.8)):
            retriever = index.as_retriever(vector_store_query_mode="hybrid", similarity_top_k=dense_k,
                                           sparse_top_k=sparse_k, hybrid_top_k=hybrid_k, alpha=alpha)
            want = relative_score_fusion(*leaves(client, model, query, dense_k, sparse_k),
                                         0.5 if alpha is None else alpha, hybrid_k or dense_k)
            check_ranking(retrieved(retriever.retrieve(query)), want, len(want), what=(query, dense_k, sparse_k))
        retriever = index.as_retriever(vector_store_query_mode="hybrid", similarity_top_k=4, sparse_top_k=6,
                                       filters=topic_b)
        nodes = retriever.retrieve(query)
        assert all(n.node.metadata["topic"] == "b" for n in nodes)
        want = relative_score_fusion(*leaves(client, model, query, 4, 6, b_filter, lambda t: t == "b"), 0.5, 4)
        check_ranking(retrieved(nodes), want, len(want), what=(query, "topic b"))

        # Sparse mode: the sparse request alone, sparse_top_k of it.
        nodes = index.as_retriever(vector_store_query_mode="sparse", similarity_top_k=3, sparse_top_k=7).retrieve(query)
        check_ranking(retrieved(nodes), [(str(i), s) for i, s in model.sparse(query, lambda t: True)], 7,
                      what=(query, "sparse"))
        assert all(n.node.get_content() in model.nodes[n.node.node_id][0] for n in nodes)
        # Default mode on a hybrid store: the dense request alone.
        nodes = index.as_retriever(similarity_top_k=5).retrieve(query)
        check_ranking(retrieved(nodes), model.dense(query, lambda t: True), 5, what=(query, "default"))

    # Deleting a document goes through a filter on doc_id; the rest is found as before.
    index.delete_ref_doc("doc-7")
    index.delete_ref_doc("doc-8")
    assert client.count(COLLECTION).count == 148
    model = Model(client, docs)
    for query in QUERIES[:2]:
        retriever = index.as_retriever(vector_store_query_mode="hybrid", similarity_top_k=5, sparse_top_k=5)
        want = relative_score_fusion(*leaves(client, model, query, 5, 5), 0.5, 5)
        check_ranking(retrieved(retriever.retrieve(query)), want, len(want), what=(query, "after delete"))

    # A second store over the collection finds its named dense and sparse vectors and searches them.
    again = VectorStoreIndex.from_vector_store(
        QdrantVectorStore(client=client, collection_name=COLLECTION, enable_hybrid=True, sparse_doc_fn=encode,
                          sparse_query_fn=encode), embed_model=HashedText())
    want = relative_score_fusion(*leaves(client, model, "ls lists", 3, 3), 0.5, 3)
    check_ranking(retrieved(again.as_retriever(vector_store_query_mode="hybrid", similarity_top_k=3,
                                               sparse_top_k=3).retrieve("ls lists")), want, len(want))


def test_async_hybrid(url):
    client = QdrantClient(url=url)
    if client.collection_exists(COLLECTION):
        client.delete_collection(COLLECTION)
    docs = documents()[:60]

    async def run():
        aclient = AsyncQdrantClient(url=url)
        store = QdrantVectorStore(aclient=aclient, collection_name=COLLECTION, enable_hybrid=True,
                                  sparse_doc_fn=encode, sparse_query_fn=encode)
        index = VectorStoreIndex.from_documents(docs, use_async=True, embed_model=HashedText(),
                                                storage_context=StorageContext.from_defaults(vector_store=store))
        model = Model(client, docs)
        for query in QUERIES:
            retriever = index.as_retriever(vector_store_query_mode="hybrid", similarity_top_k=4, sparse_top_k=6,
                                           alpha=0.6)
            want = relative_score_fusion(*leaves(client, model, query, 4, 6), 0.6, 4)
            check_ranking(retrieved(await retriever.aretrieve(query)), want, len(want), what=query)
        await aclient.close()

    asyncio.run(run())
    assert client.count(COLLECTION).count == 60
    client.delete_collection(COLLECTION)
