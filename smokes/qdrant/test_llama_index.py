"""LlamaIndex's Qdrant vector store over vectord with its default settings (it creates a payload index on
`doc_id` right after the collection), sync and async, with a deterministic fake embedding; answers checked
against brute force over what the collection holds."""
import asyncio

import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.vector_stores import ExactMatchFilter, MetadataFilters
from llama_index.vector_stores.qdrant import QdrantVectorStore
from qdrant_client import AsyncQdrantClient, QdrantClient

from conftest import embed_words, model_top, word_texts


class HashedWords(BaseEmbedding):
    """conftest's bag of hashed words as a LlamaIndex embedding."""

    def _get_query_embedding(self, query):
        return embed_words(query)

    def _get_text_embedding(self, text):
        return embed_words(text)

    async def _aget_query_embedding(self, query):
        return embed_words(query)


def documents():
    return [Document(text=text, doc_id=f"doc-{i}", metadata={"topic": ["a", "b", "c"][i % 3]})
            for i, text in enumerate(word_texts(120, "llama_index"))]


def stored(client, collection):
    """(point id, vector, payload) of every point, through the plain client."""
    points, offset = [], None
    while True:
        page, offset = client.scroll(collection, limit=50, offset=offset, with_vectors=True, with_payload=True)
        points.extend(page)
        if offset is None:
            return [(p.id, p.vector if isinstance(p.vector, list) else p.vector[""], p.payload) for p in points]


def check_retrieval(nodes, points, query, k, keep=lambda payload: True):
    chosen = [(pid, vector) for pid, vector, payload in points if keep(payload)]
    want = model_top("Cosine", [pid for pid, _ in chosen], [v for _, v in chosen], embed_words(query), k)
    assert [round(n.score, 4) for n in nodes] == pytest.approx([round(s, 4) for _, s in want], abs=2e-4)
    assert len(nodes) == min(k, len(chosen))


def test_from_documents_into_a_new_collection_works_the_first_time(url):
    client = QdrantClient(url=url)
    if client.collection_exists("llama"):
        client.delete_collection("llama")
    store = QdrantVectorStore(client=client, collection_name="llama")
    index = VectorStoreIndex.from_documents(documents(), storage_context=StorageContext.from_defaults(vector_store=store),
                                            embed_model=HashedWords())
    info = client.get_collection("llama")
    assert info.points_count == 120
    assert info.payload_schema["doc_id"].data_type == "keyword"
    assert info.payload_schema["doc_id"].points == 120

    points = stored(client, "llama")
    for query in ["files in a directory", "remote login program", "archive extracts"]:
        check_retrieval(index.as_retriever(similarity_top_k=5).retrieve(query), points, query, 5)
        topic_b = MetadataFilters(filters=[ExactMatchFilter(key="topic", value="b")])
        nodes = index.as_retriever(similarity_top_k=7, filters=topic_b).retrieve(query)
        assert all(n.node.metadata["topic"] == "b" for n in nodes)
        check_retrieval(nodes, points, query, 7, keep=lambda payload: payload["topic"] == "b")

    # Deleting a document goes through a filter on the indexed doc_id.
    index.delete_ref_doc("doc-4")
    assert client.count("llama").count == 119
    assert client.get_collection("llama").payload_schema["doc_id"].points == 119
    # A second store over the existing collection detects its format and reads it back.
    again = VectorStoreIndex.from_vector_store(QdrantVectorStore(client=client, collection_name="llama"),
                                               embed_model=HashedWords())
    check_retrieval(again.as_retriever(similarity_top_k=3).retrieve("ls lists"), stored(client, "llama"), "ls lists", 3)


def test_async_insert_and_retrieve(url):
    client = QdrantClient(url=url)
    if client.collection_exists("llama-async"):
        client.delete_collection("llama-async")

    async def run():
        aclient = AsyncQdrantClient(url=url)
        store = QdrantVectorStore(aclient=aclient, collection_name="llama-async")
        index = VectorStoreIndex.from_documents(documents()[:60], use_async=True, embed_model=HashedWords(),
                                                storage_context=StorageContext.from_defaults(vector_store=store))
        points = stored(client, "llama-async")
        for query in ["copies files and directories", "man is an interface"]:
            check_retrieval(await index.as_retriever(similarity_top_k=4).aretrieve(query), points, query, 4)
        await index.adelete_ref_doc("doc-0")
        await aclient.close()

    asyncio.run(run())
    assert client.count("llama-async").count == 59
    info = client.get_collection("llama-async")
    assert (info.payload_schema["doc_id"].data_type, info.payload_schema["doc_id"].points) == ("keyword", 59)
