"""Shared pieces of the hybrid suites (named and sparse vectors, prefetch, fusion): deterministic fake embedders,
dense and sparse, and brute-force models of what Qdrant answers: sparse dot products (with the `idf` modifier as
Qdrant computes it), reciprocal rank fusion and distribution-based score fusion as qdrant-client's local mode
implements them (`qdrant_client/hybrid/fusion.py`), and a comparison of an answer with a model's ranking that lets
points of equal score come in any order."""
import hashlib
import math
from collections import Counter

import numpy as np
import pytest

from conftest import EMBED_DIM, embed_words

# Qdrant's RRF constant when a query does not give one: score 1 / (k + rank), rank from 0.
RRF_K = 2
# The limit of a prefetch that gives none, as of a query.
DEFAULT_LIMIT = 10


def _digest(*parts):
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()


def _direction(text, dim):
    rng = np.random.default_rng(int.from_bytes(_digest("direction", text)[:8], "little"))
    vector = rng.standard_normal(dim)
    return vector / np.linalg.norm(vector)


def tokens(text):
    """Lower-case words, punctuation dropped."""
    return [w for w in ("".join(c if c.isalnum() else " " for c in text.lower())).split() if w]


def embed_text(text):
    """conftest's bag of hashed words plus a small direction of the text's own, normalised: texts sharing words are
    near, and two distinct texts never score the same against a query (so rankings have no ties)."""
    vector = np.asarray(embed_words(text)) + 0.15 * _direction(text, EMBED_DIM)
    return (vector / np.linalg.norm(vector)).tolist()


def word_index(word):
    """A word's sparse index: 31 bits of its hash, as fastembed's BM25 hashes tokens."""
    return int.from_bytes(_digest("word", word)[:4], "little") & 0x7FFFFFFF


def sparse_words(text):
    """A deterministic sparse embedding, `(indices, values)` ascending by index: each word's count times a weight
    of the word (1 to 2), times a factor of the text's own within 2.5% (so distinct texts do not tie)."""
    values = {}
    for word, count in Counter(tokens(text)).items():
        digest = _digest("weight", word)
        nudge = 1 + 0.05 * (_digest("nudge", text, word)[0] / 255 - 0.5)
        index = word_index(word)
        values[index] = values.get(index, 0.0) + count * (1 + digest[0] / 255) * nudge
    indices = sorted(values)
    return indices, [values[i] for i in indices]


def as_dict(indices, values):
    return dict(zip((int(i) for i in indices), (float(v) for v in values)))


def idf(document_frequency, documents):
    """Qdrant's inverse document frequency: ln((N - n + 0.5) / (n + 0.5) + 1)."""
    return math.log((documents - document_frequency + 0.5) / (document_frequency + 0.5) + 1)


def sparse_scores(query, docs, modifier_idf=False, corpus=None):
    """Qdrant's score of each sparse vector in `docs` ({id: {index: value}}) that shares an index with `query`
    ({index: value}): the dot product; under the `idf` modifier each query value is first multiplied by the idf of
    its index over `corpus` (the points holding this sparse vector; by default `docs`). Points sharing no index
    with the query are not found at all, as in Qdrant."""
    weights = dict(query)
    if modifier_idf:
        corpus = docs if corpus is None else corpus
        for index in weights:
            frequency = sum(1 for vector in corpus.values() if index in vector)
            weights[index] *= idf(frequency, len(corpus))
    scores = {}
    for point_id, vector in docs.items():
        shared = weights.keys() & vector.keys()
        if shared:
            scores[point_id] = sum(weights[i] * vector[i] for i in shared)
    return scores


def ranking(scores, ascending=False):
    """{id: score} as [(id, score)] best first."""
    return sorted(scores.items(), key=lambda item: item[1], reverse=not ascending)


def rrf(rankings, k=RRF_K, weights=None):
    """Reciprocal rank fusion of rankings (each [(id, score)] best first), as Qdrant: each point scores the sum,
    over the rankings holding it, of 1 / (k + rank), rank from 0 (with weights: 1 / ((rank + 1) / weight + k - 1))."""
    fused = {}
    for n, answer in enumerate(rankings):
        weight = 1.0 if weights is None else weights[n]
        for rank, (point_id, _) in enumerate(answer):
            part = 0.0 if weight <= 0 else 1 / ((rank + 1) / weight + k - 1)
            fused[point_id] = fused.get(point_id, 0.0) + part
    return ranking(fused)


def dbsf(rankings):
    """Distribution-based score fusion, as Qdrant: each ranking's scores mapped linearly so that mean - 3 sigma is 0
    and mean + 3 sigma is 1 (sigma the sample standard deviation; a lone score, or all scores equal, gives 0.5),
    then summed per point."""
    fused = {}
    for answer in rankings:
        scores = [s for _, s in answer]
        if not scores:
            continue
        if len(scores) == 1:
            normalised = [0.5]
        else:
            mean = sum(scores) / len(scores)
            variance = sum((s - mean) ** 2 for s in scores) / (len(scores) - 1)
            if variance == 0:
                normalised = [0.5] * len(scores)
            else:
                low, high = mean - 3 * variance ** 0.5, mean + 3 * variance ** 0.5
                normalised = [(s - low) / (high - low) for s in scores]
        for (point_id, _), score in zip(answer, normalised):
            fused[point_id] = fused.get(point_id, 0.0) + score
    return ranking(fused)


def pairs(points):
    """A qdrant-client answer as [(id, score)]."""
    return [(p.id, p.score) for p in points]


def check_ranking(got, want, limit, offset=0, tol=2e-4, what=""):
    """`got` ([(id, score)] as answered) must be `want[offset:offset + limit]` (`want` the model's whole ranking,
    best first): the same scores position by position, and at each position a point whose model score is that
    score -- points of equal score (within `tol`) may come in any order and either side of the cut."""
    expected = want[offset:offset + limit]
    assert len(got) == len(expected), (what, got, expected)
    assert len({point_id for point_id, _ in got}) == len(got), (what, got)
    model = dict(want)
    for position, ((point_id, score), (_, wanted)) in enumerate(zip(got, expected)):
        assert score == pytest.approx(wanted, abs=tol, rel=1e-5), (what, position, got, expected)
        assert point_id in model and model[point_id] == pytest.approx(wanted, abs=tol, rel=1e-5), (
            what, position, point_id, got, expected)
