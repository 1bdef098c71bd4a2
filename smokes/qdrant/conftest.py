"""Shared pieces of the Qdrant client suites: the vectord under test and a brute-force model.

`cargo xtask qdrant-clients` starts vectord and sets VECTORD_URL; the suites then talk to it only
through clients nobody on this project wrote (qdrant-client, langchain-qdrant).
"""
import os

import numpy as np
import pytest


@pytest.fixture(scope="session")
def url():
    return os.environ["VECTORD_URL"]


def model_scores(distance, vectors, query):
    """Qdrant's score of every row against `query`, in float64: cosine similarity, dot product, or
    Euclidean distance."""
    vectors = np.asarray(vectors, dtype=np.float64)
    query = np.asarray(query, dtype=np.float64)
    if distance == "Cosine":
        return (vectors @ query) / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query))
    if distance == "Dot":
        return vectors @ query
    return np.linalg.norm(vectors - query, axis=1)


def model_top(distance, ids, vectors, query, k):
    """The exact top k as (id, score), best first (ties by position, which random floats do not have)."""
    scores = model_scores(distance, vectors, query)
    order = np.argsort(scores, kind="stable") if distance == "Euclid" else np.argsort(-scores, kind="stable")
    return [(ids[i], float(scores[i])) for i in order[:k]]
