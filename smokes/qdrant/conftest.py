"""Shared pieces of the Qdrant client suites: the vectord under test and a brute-force model.

`cargo xtask qdrant-clients` starts vectord and sets VECTORD_URL; the suites then talk to it only
through clients nobody on this project wrote (qdrant-client, langchain-qdrant).
"""
import hashlib
import os
import random

import numpy as np
import pytest

# Every random choice in these suites derives from this one seed; the header of the run prints it.
SEED = int(os.environ.get("VECTORD_TEST_SEED", "20261202"))


def pytest_report_header(config):
    return f"seed: {SEED} (set VECTORD_TEST_SEED to change it)"


def pytest_terminal_summary(terminalreporter):
    # Printed again at the end: `-q` hides the header.
    terminalreporter.write_line(f"seed: {SEED} (set VECTORD_TEST_SEED to change it)")


def _stream_seed(names):
    digest = hashlib.sha256("/".join(map(str, (SEED, *names))).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def seeded(*names):
    """A `random.Random` of its own for each named use, derived from SEED (so uses do not shift one another)."""
    return random.Random(_stream_seed(names))


def seeded_np(*names):
    """The numpy counterpart of `seeded`."""
    return np.random.default_rng(_stream_seed(names))


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


EMBED_DIM = 32
WORDS = ("ls lists directory contents; grep prints lines matching a pattern; tar stores and extracts files from an "
         "archive; ssh is a remote login program; cp copies files and directories; chmod changes file mode bits; "
         "find searches for files in a directory hierarchy; curl transfers a url; man is an interface to the "
         "reference manuals; ps reports a snapshot of the current processes").split()


def embed_words(text):
    """A deterministic fake embedding: a bag of hashed words, normalised (the same text always gives the
    same vector, texts sharing words are near)."""
    vector = np.zeros(EMBED_DIM)
    for word in text.lower().split():
        digest = hashlib.sha256(word.encode()).digest()
        vector[digest[0] % EMBED_DIM] += 1.0 + digest[1] / 255.0
    norm = np.linalg.norm(vector)
    return (vector / norm if norm else np.full(EMBED_DIM, EMBED_DIM ** -0.5)).tolist()


def word_texts(count, stream="texts"):
    """`count` texts of 8 words from WORDS, drawn from the named seeded stream."""
    rng = seeded_np("word_texts", stream)
    return [" ".join(rng.choice(WORDS, size=8)) for _ in range(count)]
