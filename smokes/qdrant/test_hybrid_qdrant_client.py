"""Named dense vectors, sparse vectors, prefetch and fusion through the official qdrant-client, every answer checked
against a brute-force model (hybrid_model): a collection with two named dense vectors of different sizes and
distances and two sparse vectors (one with the `idf` modifier), points missing some of them; `query_points` on each
vector, by vector and by point id, with filters, `score_threshold`, `offset`, `with_vectors=[names]`; prefetches
(nested, each with its own `using`, `filter` and `limit`) fused by RRF and DBSF or re-scored by a vector;
recommendations `using` a named vector (against qdrant-client's local mode); `update_vectors` and `delete_vectors`
by name; the collection's configuration. Points of equal score may come in any order (`check_ranking`).

A fused answer is checked in two steps, so that a near tie inside a prefetch cannot make the model disagree: each
leaf of the prefetch tree, asked alone (its filters combined as Qdrant propagates them), is checked against brute
force; the fusion of those answers, as modelled, must then be the fused answer."""
import uuid

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from conftest import EMBED_DIM, model_scores, seeded, seeded_np, word_texts
from hybrid_model import (DEFAULT_LIMIT, as_dict, check_ranking, dbsf, embed_text, pairs, ranking, rrf,
                          sparse_scores, sparse_words)

NAME = "hybrid-client"
N = 400
IMAGE_DIM = 8
DISTANCES = {"text": "Cosine", "image": "Euclid"}
SPARSE = {"words": True, "tags": False}  # name -> has the idf modifier
COLORS = ["red", "green", "blue"]


def point_id(i):
    return i if i % 2 == 0 else str(uuid.uuid5(uuid.NAMESPACE_OID, f"hybrid-{i}"))


def random_sparse(rng, size=40):
    indices = sorted(rng.choice(size, size=int(rng.integers(2, 7)), replace=False).tolist())
    return indices, rng.uniform(0.1, 2.0, size=len(indices)).tolist()


def make_points():
    """(PointStruct list, model): the model maps id -> (vectors {name: list or {index: value}}, payload)."""
    rng = seeded_np("hybrid client points")
    texts = word_texts(N, "hybrid client")
    points, model = [], {}
    for i, text in enumerate(texts):
        vectors, stored = {}, {}
        if i % 9 != 0:
            vectors["text"] = stored["text"] = embed_text(text)
        if i % 7 != 3:
            vectors["image"] = stored["image"] = rng.standard_normal(IMAGE_DIM).tolist()
        sparse = (("words", sparse_words(text), i % 5 != 1), ("tags", random_sparse(rng), i % 6 != 2))
        for name, encoded, present in sparse:
            if present:
                vectors[name] = models.SparseVector(indices=encoded[0], values=encoded[1])
                stored[name] = as_dict(*encoded)
        payload = {"n": i, "group": i % 4, "color": COLORS[i % 3], "text": text}
        points.append(models.PointStruct(id=point_id(i), vector=vectors, payload=payload))
        model[point_id(i)] = (stored, payload)
    return points, model


def create(client, name):
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name,
        vectors_config={"text": models.VectorParams(size=EMBED_DIM, distance=models.Distance.COSINE),
                        "image": models.VectorParams(size=IMAGE_DIM, distance=models.Distance.EUCLID)},
        sparse_vectors_config={"words": models.SparseVectorParams(modifier=models.Modifier.IDF),
                               "tags": models.SparseVectorParams()})


@pytest.fixture(scope="module")
def client(url):
    client = QdrantClient(url=url, timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="module")
def data(client):
    points, model = make_points()
    create(client, NAME)
    for start in range(0, N, 100):
        client.upsert(NAME, points=points[start:start + 100])
    return points, model


# Filters, each with the predicate it stands for.
GROUPS_0_2 = (models.Filter(must=[models.FieldCondition(key="group", match=models.MatchAny(any=[0, 2]))]),
              lambda p: p["group"] in (0, 2))
NOT_RED = (models.Filter(must_not=[models.FieldCondition(key="color", match=models.MatchValue(value="red"))]),
           lambda p: p["color"] != "red")
BELOW_300 = (models.Filter(must=[models.FieldCondition(key="n", range=models.Range(lt=300))]), lambda p: p["n"] < 300)
NO_FILTER = (None, lambda p: True)


def both(*filters):
    """Filters combined as Qdrant propagates a query's filter into its prefetches: all must hold."""
    given = [f for f in filters if f[0] is not None]
    if not given:
        return NO_FILTER
    return (models.Filter(must=[f for f, _ in given]), lambda p: all(keep(p) for _, keep in given))


def scores(model, name, query, keep=lambda p: True, among=None):
    """The model's full ranking for `query` on vector `name` over the points holding it that `keep` selects (and
    that are `among` the given ids, if given): a dense query is a list, a sparse one a dict."""
    chosen = [(i, vectors[name]) for i, (vectors, payload) in model.items()
              if name in vectors and keep(payload) and (among is None or i in among)]
    if name in SPARSE:
        corpus = {i: vectors[name] for i, (vectors, _) in model.items() if name in vectors}
        return ranking(sparse_scores(query, dict(chosen), modifier_idf=SPARSE[name], corpus=corpus))
    if not chosen:
        return []
    found = model_scores(DISTANCES[name], [v for _, v in chosen], query)
    return ranking(dict(zip([i for i, _ in chosen], found.tolist())), ascending=DISTANCES[name] == "Euclid")


def as_query(query):
    return models.SparseVector(indices=list(query), values=list(query.values())) if isinstance(query, dict) else query


def queries(rng, count):
    """`count` queries: for each vector name its query (dense as a list, sparse as {index: value})."""
    found = []
    for text in word_texts(count, "hybrid client queries"):
        words = " ".join(text.split()[:3])
        found.append({"text": embed_text(words), "image": rng.standard_normal(IMAGE_DIM).tolist(),
                      "words": as_dict(*sparse_words(words)), "tags": as_dict(*random_sparse(rng))})
    return found


def test_collection_reports_its_named_and_sparse_vectors(client, data):
    points, model = data
    info = client.get_collection(NAME)
    assert info.points_count == N
    vectors = info.config.params.vectors
    assert isinstance(vectors, dict) and set(vectors) == {"text", "image"}
    assert (vectors["text"].size, vectors["text"].distance) == (EMBED_DIM, models.Distance.COSINE)
    assert (vectors["image"].size, vectors["image"].distance) == (IMAGE_DIM, models.Distance.EUCLID)
    sparse = info.config.params.sparse_vectors
    assert set(sparse) == {"words", "tags"}
    assert sparse["words"].modifier == models.Modifier.IDF
    assert sparse["tags"].modifier in (None, models.Modifier.NONE)
    for name in ("text", "image", "words", "tags"):
        holding = models.Filter(must=[models.HasVectorCondition(has_vector=name)])
        assert client.count(NAME, count_filter=holding).count == sum(name in v for v, _ in model.values()), name


def check_vectors(got, want, names):
    """A point's vectors as answered (`got`, a dict) against the model's, restricted to `names`."""
    assert isinstance(got, dict)
    assert set(got) == {name for name in names if name in want}
    for name, vector in got.items():
        if name in SPARSE:
            assert as_dict(vector.indices, vector.values) == pytest.approx(want[name], rel=1e-6)
        else:
            expected = np.asarray(want[name])
            if DISTANCES[name] == "Cosine":
                expected = expected / np.linalg.norm(expected)
            assert vector == pytest.approx(expected.tolist(), abs=1e-5)


def test_points_keep_the_vectors_they_were_given(client, data):
    points, model = data
    ids = [point_id(i) for i in sorted(set(range(0, N, 7)) | set(range(1, 40)))]
    for with_vectors, names in ((True, list(DISTANCES) + list(SPARSE)), (["image"], ["image"]),
                                (["words", "text"], ["words", "text"])):
        records = client.retrieve(NAME, ids, with_vectors=with_vectors, with_payload=False)
        assert sorted(map(str, (r.id for r in records))) == sorted(map(str, ids))
        for record in records:
            check_vectors(record.vector, model[record.id][0], names)


@pytest.mark.parametrize("name", ["text", "image", "words", "tags"])
def test_query_on_each_vector(client, data, name):
    points, model = data
    rng = seeded_np("hybrid client query", name)
    for query in queries(rng, 4):
        for query_filter, keep in (NO_FILTER, GROUPS_0_2, NOT_RED):
            want = scores(model, name, query[name], keep)
            got = client.query_points(NAME, query=as_query(query[name]), using=name, query_filter=query_filter,
                                      limit=10).points
            check_ranking(pairs(got), want, 10, what=(name, query_filter))
            assert all(p.payload == model[p.id][1] for p in got)
        want = scores(model, name, query[name])
        got = client.query_points(NAME, query=as_query(query[name]), using=name, offset=5, limit=7,
                                  with_payload=False).points
        check_ranking(pairs(got), want, 7, offset=5, what=(name, "offset"))
        assert all(p.payload is None for p in got)
        # A threshold halfway between the model's 6th and 7th scores keeps the 6 best.
        assert len(want) > 6
        threshold = (want[5][1] + want[6][1]) / 2
        got = client.query_points(NAME, query=as_query(query[name]), using=name, score_threshold=threshold,
                                  limit=20, with_vectors=["image"]).points
        check_ranking(pairs(got), want, 6, what=(name, "threshold"))
        for p in got:
            check_vectors(p.vector, model[p.id][0], ["image"])


def test_query_batch_over_named_vectors(client, data):
    points, model = data
    rng = seeded_np("hybrid client batch")
    for query in queries(rng, 3):
        requests = [models.QueryRequest(query=as_query(query[name]), using=name, limit=6, filter=BELOW_300[0])
                    for name in ("text", "words", "image", "tags")]
        answers = client.query_batch_points(NAME, requests=requests)
        for name, answer in zip(("text", "words", "image", "tags"), answers):
            check_ranking(pairs(answer.points), scores(model, name, query[name], BELOW_300[1]), 6, what=name)


@pytest.mark.parametrize("name", ["text", "image", "words", "tags"])
def test_query_by_point_id(client, data, name):
    """`query: <id>` searches with that point's vector of `using`, and leaves the point itself out."""
    points, model = data
    holders = [i for i, (vectors, _) in model.items() if name in vectors]
    for reference in seeded(f"query by id {name}").sample(holders, 5):
        want = [(i, s) for i, s in scores(model, name, model[reference][0][name], NOT_RED[1]) if i != reference]
        got = client.query_points(NAME, query=reference, using=name, query_filter=NOT_RED[0], limit=8).points
        check_ranking(pairs(got), want, 8, what=(name, reference))


def leaf(client, model, name, query, limit, *filters):
    """A prefetch leaf asked alone, under the filters that reach it, checked against brute force; its answer."""
    query_filter, keep = both(*filters)
    got = pairs(client.query_points(NAME, query=as_query(query), using=name, query_filter=query_filter,
                                    limit=limit, with_payload=False).points)
    check_ranking(got, scores(model, name, query, keep), limit, what=("leaf", name, query_filter))
    return got


def test_two_prefetches_fused(client, data):
    points, model = data
    rng = seeded_np("hybrid client fusion")
    for query in queries(rng, 5):
        for outer in (NO_FILTER, BELOW_300):
            dense = leaf(client, model, "text", query["text"], 20, outer, GROUPS_0_2)
            sparse = leaf(client, model, "words", query["words"], 25, outer)
            prefetch = [models.Prefetch(query=query["text"], using="text", filter=GROUPS_0_2[0], limit=20),
                        models.Prefetch(query=as_query(query["words"]), using="words", limit=25)]
            for fusion, model_of in ((models.Fusion.RRF, rrf), (models.Fusion.DBSF, dbsf)):
                want = model_of([dense, sparse])
                got = client.query_points(NAME, prefetch=prefetch, query=models.FusionQuery(fusion=fusion),
                                          query_filter=outer[0], limit=10).points
                check_ranking(pairs(got), want, 10, what=(fusion, outer[0]))
                assert all(p.payload == model[p.id][1] for p in got)
                got = client.query_points(NAME, prefetch=prefetch, query=models.FusionQuery(fusion=fusion),
                                          query_filter=outer[0], limit=6, offset=4, with_payload=False,
                                          with_vectors=["text"]).points
                check_ranking(pairs(got), want, 6, offset=4, what=(fusion, "offset"))
                for p in got:
                    check_vectors(p.vector, model[p.id][0], ["text"])
                # The threshold applies to the fused scores.
                threshold = (want[2][1] + want[3][1]) / 2 if want[2][1] != want[3][1] else want[2][1] - 1e-3
                got = client.query_points(NAME, prefetch=prefetch, query=models.FusionQuery(fusion=fusion),
                                          query_filter=outer[0], score_threshold=threshold, limit=10).points
                check_ranking(pairs(got), [(i, s) for i, s in want if s >= threshold], 10, what=(fusion, "threshold"))
            # RRF with its own k (what Haystack sends when given `rrf_k`).
            got = client.query_points(NAME, prefetch=prefetch, query=models.RrfQuery(rrf=models.Rrf(k=60)),
                                      query_filter=outer[0], limit=10).points
            check_ranking(pairs(got), rrf([dense, sparse], k=60), 10, what="rrf k=60")


def test_prefetch_without_limit_takes_ten(client, data):
    points, model = data
    query = queries(seeded_np("hybrid client default limit"), 1)[0]
    dense = leaf(client, model, "text", query["text"], DEFAULT_LIMIT)
    sparse = leaf(client, model, "tags", query["tags"], DEFAULT_LIMIT)
    got = client.query_points(NAME, prefetch=[models.Prefetch(query=query["text"], using="text"),
                                              models.Prefetch(query=as_query(query["tags"]), using="tags")],
                              query=models.FusionQuery(fusion=models.Fusion.RRF), limit=30).points
    want = rrf([dense, sparse])
    check_ranking(pairs(got), want, len(want))


def test_prefetch_rescored_by_another_vector(client, data):
    """A prefetch's candidates re-scored by a vector query on another named vector: only they are scored, and
    only those holding that vector are found."""
    points, model = data
    rng = seeded_np("hybrid client rescoring")
    for query in queries(rng, 4):
        candidates = leaf(client, model, "words", query["words"], 40, NOT_RED)
        want = scores(model, "image", query["image"], among={i for i, _ in candidates})
        got = client.query_points(NAME, prefetch=models.Prefetch(query=as_query(query["words"]), using="words",
                                                                 filter=NOT_RED[0], limit=40),
                                  query=query["image"], using="image", limit=10).points
        check_ranking(pairs(got), want, 10, what="rescored by image")


def test_nested_prefetches(client, data):
    """Two levels of prefetch under an RRF: a DBSF of a dense and a sparse leaf, under a filter of its own, and
    a re-scoring by `image` of `tags` candidates; the query's filter reaches every leaf."""
    points, model = data
    rng = seeded_np("hybrid client nested")
    for query in queries(rng, 4):
        for outer in (NO_FILTER, NOT_RED):
            dense = leaf(client, model, "text", query["text"], 30, outer, BELOW_300, GROUPS_0_2)
            sparse = leaf(client, model, "words", query["words"], 30, outer, BELOW_300)
            fused = dbsf([dense, sparse])[:15]
            tags = leaf(client, model, "tags", query["tags"], 40, outer)
            keep = both(outer)[1]
            rescored = scores(model, "image", query["image"], keep, among={i for i, _ in tags})[:12]
            want = rrf([fused, rescored])
            prefetch = [
                models.Prefetch(
                    prefetch=[models.Prefetch(query=query["text"], using="text", filter=GROUPS_0_2[0], limit=30),
                              models.Prefetch(query=as_query(query["words"]), using="words", limit=30)],
                    query=models.FusionQuery(fusion=models.Fusion.DBSF), filter=BELOW_300[0], limit=15),
                models.Prefetch(prefetch=models.Prefetch(query=as_query(query["tags"]), using="tags", limit=40),
                                query=query["image"], using="image", limit=12),
            ]
            got = client.query_points(NAME, prefetch=prefetch, query=models.FusionQuery(fusion=models.Fusion.RRF),
                                      query_filter=outer[0], limit=12).points
            check_ranking(pairs(got), want, 12, what=("nested", outer[0]))


@pytest.mark.parametrize("name", ["text", "image"])
def test_recommend_using_a_named_vector(client, data, name):
    """Recommendations by ids `using` a named vector, against qdrant-client's local mode fed the same points."""
    points, model = data
    local = QdrantClient(":memory:")
    create(local, NAME)
    local.upsert(NAME, points=points)
    holders = [i for i, (vectors, _) in model.items() if name in vectors]
    rng = seeded(f"hybrid recommend {name}")
    for strategy in ("average_vector", "best_score", "sum_scores"):
        positive, negative = rng.sample(holders, 2), rng.sample(holders, 1)
        query = models.RecommendQuery(recommend=models.RecommendInput(positive=positive, negative=negative,
                                                                    strategy=strategy))
        for query_filter, _ in (NO_FILTER, GROUPS_0_2):
            want = pairs(local.query_points(NAME, query=query, using=name, query_filter=query_filter, limit=10).points)
            got = pairs(client.query_points(NAME, query=query, using=name, query_filter=query_filter, limit=10).points)
            check_ranking(got, want, 10, what=(name, strategy))
            assert not set(positive + negative) & {i for i, _ in got}
    local.close()


def test_update_and_delete_vectors_by_name(client):
    """`update_vectors` sets the named vectors given and keeps the others; `delete_vectors` drops the named ones
    (by ids, by filter); an upsert replaces all of a point's vectors. Searches then see the new state, the IDF of
    `words` counting the points that hold it now."""
    name = "hybrid-client-edits"
    points, model = make_points()
    points, model = points[:120], dict(list(model.items())[:120])
    create(client, name)
    client.upsert(name, points=points)
    rng = seeded_np("hybrid client edits")
    ids = list(model)

    new_image = {i: rng.standard_normal(IMAGE_DIM).tolist() for i in ids[0:10]}
    new_words = {i: sparse_words(f"tar stores files {n}") for n, i in enumerate(ids[10:20])}
    client.update_vectors(name, points=[models.PointVectors(id=i, vector={"image": v}) for i, v in new_image.items()]
                          + [models.PointVectors(id=i, vector={"words": models.SparseVector(indices=s[0], values=s[1])})
                             for i, s in new_words.items()])
    for i, v in new_image.items():
        model[i][0]["image"] = v
    for i, s in new_words.items():
        model[i][0]["words"] = as_dict(*s)

    client.delete_vectors(name, vectors=["text", "tags"], points=ids[20:30])
    for i in ids[20:30]:
        model[i][0].pop("text", None)
        model[i][0].pop("tags", None)
    group_3 = models.Filter(must=[models.FieldCondition(key="group", match=models.MatchValue(value=3))])
    client.delete_vectors(name, vectors=["words"], points=models.FilterSelector(filter=group_3))
    for vectors, payload in model.values():
        if payload["group"] == 3:
            vectors.pop("words", None)

    replaced = ids[30:35]
    tags_only = {i: random_sparse(rng) for i in replaced}
    client.upsert(name, points=[
        models.PointStruct(id=i, vector={"tags": models.SparseVector(indices=s[0], values=s[1])}, payload=model[i][1])
        for i, s in tags_only.items()])
    for i, s in tags_only.items():
        model[i] = ({"tags": as_dict(*s)}, model[i][1])

    for record in client.retrieve(name, ids, with_vectors=True):
        check_vectors(record.vector, model[record.id][0], list(DISTANCES) + list(SPARSE))
    for vector_name in ("text", "image", "words", "tags"):
        holding = models.Filter(must=[models.HasVectorCondition(has_vector=vector_name)])
        assert client.count(name, count_filter=holding).count == sum(vector_name in v for v, _ in model.values())

    for query in queries(rng, 3) + [{"words": as_dict(*sparse_words("tar stores files"))}]:
        for vector_name, vector in query.items():
            want = scores(model, vector_name, vector)
            got = client.query_points(name, query=as_query(vector), using=vector_name, limit=15).points
            check_ranking(pairs(got), want, 15, what=("after edits", vector_name))
    client.delete_collection(name)
