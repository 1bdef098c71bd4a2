"""LangChain's Qdrant vector store over vectord, with a deterministic fake embedding."""
import uuid

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings
from langchain_qdrant import QdrantVectorStore
from qdrant_client import models

from conftest import embed_words, model_top, word_texts

class HashedWords(Embeddings):
    """conftest's bag of hashed words as a LangChain embedding."""

    def embed_query(self, text):
        return embed_words(text)

    def embed_documents(self, texts):
        return [embed_words(t) for t in texts]


def texts():
    return word_texts(300, "langchain")


def test_add_search_delete(url):
    embedding = HashedWords()
    docs = texts()
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"doc-{i}")) for i in range(len(docs))]
    store = QdrantVectorStore.from_texts(docs, embedding, ids=ids, metadatas=[{"i": i, "even": i % 2 == 0}
                                                                             for i in range(len(docs))],
                                         url=url, collection_name="lc-docs", force_recreate=True)
    vectors = embedding.embed_documents(docs)
    by_id = dict(zip(ids, zip(docs, vectors)))

    for query in ["files in a directory", "remote login", "prints lines matching", "archive extracts"]:
        found = store.similarity_search_with_score(query, k=5)
        want = model_top("Cosine", ids, vectors, embedding.embed_query(query), 5)
        # Hashed bags of words tie often: compare scores, and ids where the scores differ.
        assert [round(score, 4) for _, score in found] == pytest.approx([round(s, 4) for _, s in want], abs=2e-4)
        for doc, score in found:
            text, vector = by_id[doc.metadata["_id"]]
            assert doc.page_content == text
            assert score == pytest.approx(float(np.dot(vector, embedding.embed_query(query))), abs=1e-4)

    even = models.Filter(must=[models.FieldCondition(key="metadata.even", match=models.MatchValue(value=True))])
    filtered = store.similarity_search("copies files", k=10, filter=even)
    assert len(filtered) == 10 and all(d.metadata["i"] % 2 == 0 for d in filtered)

    assert [d.page_content for d in store.get_by_ids(ids[:3])] == docs[:3]
    assert store.delete(ids=ids[:150])
    assert store.client.count("lc-docs").count == 150
    remaining = set(ids[150:])
    for query in ["files in a directory", "manual interface"]:
        assert all(d.metadata["_id"] in remaining for d, _ in store.similarity_search_with_score(query, k=20))

    # Reconnecting to the existing collection validates its configuration.
    again = QdrantVectorStore.from_existing_collection(collection_name="lc-docs", embedding=embedding, url=url)
    assert len(again.similarity_search("ssh", k=3)) == 3
    store.client.delete_collection("lc-docs")
