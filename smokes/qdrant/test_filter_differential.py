"""The filter language against Qdrant's own semantics: the same random filters over the same random payloads
in vectord and in qdrant-client's local mode (`QdrantClient(":memory:")`), which must select the same points in
the same order. Seeded: VECTORD_TEST_SEED (conftest.SEED) picks payloads and filters; the seed is printed."""
import datetime
import time
import uuid

from qdrant_client import QdrantClient, models

from conftest import SEED, seeded

POINTS = 1000
FILTERS = 1000
WORDS = ["alpha", "Beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
TAGS = ["red", "green", "blue", "RED", "x y"]
DATES = ["2024-03-01T10:00:00Z", "2024-03-01 10:00:00", "2024-03-01", "2024-03-01T12:30:00+02:00",
         "2023-12-31T23:59:59.500000Z", "2024-02-29T00:00", "2025-06-15T08:00:00-05:00", "2024-13-01", "soon"]


def random_text(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randrange(0, 6))]
    return rng.choice([" ", ", ", "-", "  "]).join(words) + rng.choice(["", ".", "!"])


def scalar(rng):
    return rng.choice([rng.randrange(-3, 4), rng.randrange(-3, 4) + 0.5, float(rng.randrange(-3, 4)),
                       rng.choice(TAGS), rng.random() < 0.5, None])


def random_payload(rng):
    payload = {}
    maybe = lambda p=0.8: rng.random() < p  # noqa: E731
    if maybe():
        payload["s"] = rng.choice(TAGS + [3, True])
    if maybe():
        payload["i"] = rng.randrange(-5, 6)
    if maybe(0.6):
        payload["f"] = rng.choice([rng.uniform(-5, 5), float(rng.randrange(-5, 6))])
    if maybe(0.5):
        payload["b"] = rng.random() < 0.5
    if maybe(0.7):
        payload["l"] = [scalar(rng) for _ in range(rng.randrange(0, 4))]
    if maybe(0.2):
        payload["z"] = None
    if maybe(0.6):
        payload["o"] = {"a": rng.randrange(0, 4), "b": rng.choice(TAGS), "p": {"q": rng.choice(TAGS)}}
    if maybe(0.3):
        payload["o"] = rng.choice([[{"a": 1}], "flat", 2, []])
    if maybe(0.7):
        payload["arr"] = [{"a": rng.randrange(0, 4), "b": rng.choice(TAGS)} for _ in range(rng.randrange(0, 4))]
        if maybe(0.2):
            payload["arr"].append(rng.choice([5, "text", None, [1]]))
    if maybe(0.7):
        payload["t"] = random_text(rng)
    if maybe(0.6):
        payload["d"] = rng.choice(DATES) if maybe(0.8) else [rng.choice(DATES), rng.choice(DATES)]
    if maybe(0.3):
        payload["e"] = rng.choice([[], [None], None, {}])
    return payload


KEYS = ["s", "i", "f", "b", "l", "z", "o", "o.a", "o.b", "o.p.q", "arr", "arr.a", "arr[].a", "arr[].b", "arr[0].a",
        "arr[1].b", "l[0]", "l[]", "t", "d", "e", "missing", "o.missing"]


def bounds(rng, make):
    chosen = rng.sample(["gt", "gte", "lt", "lte"], rng.randrange(1, 3))
    return {name: make() for name in chosen}


def some_datetime(rng):
    moment = datetime.datetime(2024, 3, 1, 10, tzinfo=datetime.timezone.utc) + datetime.timedelta(
        hours=rng.randrange(-3000, 3000))
    return rng.choice([moment, moment.replace(tzinfo=None), moment.date(), moment.astimezone(
        datetime.timezone(datetime.timedelta(hours=rng.randrange(-5, 6))))])


def random_condition(rng, depth, point_ids):
    kind = rng.choices(["match", "any", "except", "text", "range", "datetime", "count", "empty", "null", "id",
                        "vector", "nested", "filter"], weights=[6, 3, 3, 3, 4, 2, 2, 2, 2, 1, 1, 2 if depth < 2 else 0,
                                                                  3 if depth < 2 else 0])[0]
    # Mostly a key with values of the kind the condition tests, so that filters select some points and not all.
    typed = rng.random() < 0.85
    key = rng.choice(KEYS)
    value = lambda: rng.choice([rng.randrange(-3, 6), rng.choice(TAGS), rng.random() < 0.5])  # noqa: E731
    if typed and kind in ("match", "any", "except"):
        key, value = rng.choice([
            (rng.choice(["s", "o.b", "arr[].b", "l", "o.p.q"]), lambda: rng.choice(TAGS)),
            (rng.choice(["i", "o.a", "arr[].a", "arr[0].a", "l", "l[0]"]), lambda: rng.randrange(-3, 6)),
            (rng.choice(["b", "l", "s"]), lambda: rng.random() < 0.5),
        ])
    elif typed:
        key = rng.choice({"range": ["i", "f", "l", "o.a", "arr[].a", "l[]", "f"],
                          "count": ["l", "arr", "e", "z", "o", "s", "missing", "arr[].a", "l[]"],
                          "empty": ["e", "z", "l", "arr", "o", "missing", "l[]", "arr[].b"],
                          "null": ["e", "z", "l", "arr", "o", "missing", "l[]", "arr[]"]}.get(kind, KEYS))
    if kind == "match":
        return models.FieldCondition(key=key, match=models.MatchValue(value=value()))
    # Qdrant's `any` and `except` take a list of strings or a list of integers.
    listed = lambda count: [value() for _ in range(count)] if typed and not isinstance(  # noqa: E731
        value(), bool) else rng.choice([[rng.randrange(-3, 6) for _ in range(count)], [rng.choice(TAGS) for _ in range(count)]])
    if kind == "any":
        return models.FieldCondition(key=key, match=models.MatchAny(any=listed(rng.randrange(0, 4))))
    if kind == "except":
        return models.FieldCondition(key=key, match=models.MatchExcept(**{"except": listed(rng.randrange(0, 3))}))
    if kind == "text":
        query = " ".join(rng.choice(WORDS) for _ in range(rng.choice([0, 1, 1, 2])))
        match = rng.choice([models.MatchText(text=query), models.MatchTextAny(text_any=query),
                            models.MatchPhrase(phrase=query)])
        return models.FieldCondition(key=rng.choice(["t", "t", "s", "l", "o.b"]), match=match)
    if kind == "range":
        return models.FieldCondition(key=key, range=models.Range(**bounds(rng, lambda: rng.choice(
            [rng.randrange(-4, 6), rng.uniform(-4, 6)]))))
    if kind == "datetime":
        return models.FieldCondition(key=rng.choice(["d", "d", "t", "s"]),
                                     range=models.DatetimeRange(**bounds(rng, lambda: some_datetime(rng))))
    if kind == "count":
        return models.FieldCondition(key=key, values_count=models.ValuesCount(**bounds(rng, lambda: rng.randrange(0, 4))))
    if kind == "empty":
        return rng.choice([models.IsEmptyCondition(is_empty=models.PayloadField(key=key)),
                           models.FieldCondition(key=key, is_empty=rng.random() < 0.5)])
    if kind == "null":
        return rng.choice([models.IsNullCondition(is_null=models.PayloadField(key=key)),
                           models.FieldCondition(key=key, is_null=rng.random() < 0.5)])
    if kind == "id":
        return models.HasIdCondition(has_id=rng.sample(point_ids, rng.randrange(1, 600)))
    if kind == "vector":
        return models.HasVectorCondition(has_vector=rng.choice(["", "image"]))
    if kind == "nested":
        inner = random_filter(rng, depth + 1, point_ids, keys=["a", "b", "missing"])
        return models.NestedCondition(nested=models.Nested(key=rng.choice(["arr", "arr[]", "o", "l"]), filter=inner))
    return random_filter(rng, depth + 1, point_ids)


def random_filter(rng, depth, point_ids, keys=None):
    def conditions(counts):
        found = []
        for _ in range(rng.choice(counts)):
            condition = random_condition(rng, depth, point_ids)
            if keys is not None and isinstance(condition, models.FieldCondition):
                condition.key = rng.choice(keys)
            found.append(condition)
        return found

    clauses = {"must": conditions([0, 1, 1, 2]), "should": conditions([0, 0, 1, 2, 3]), "must_not": conditions([0, 0, 1])}
    if rng.random() < 0.2:
        listed = conditions([1, 2, 3, 4])
        if listed:
            clauses["min_should"] = models.MinShould(conditions=listed, min_count=rng.randrange(1, len(listed) + 1))
    return models.Filter(**{name: value for name, value in clauses.items() if value or rng.random() < 0.1})


def matching(client, name, scroll_filter):
    points, next_offset = client.scroll(name, scroll_filter=scroll_filter, limit=POINTS + 1, with_payload=False)
    assert next_offset is None
    return [p.id for p in points]


# Payload indexes vectord keeps (local mode keeps none): the planner may use them, answers must not change.
PAYLOAD_INDEXES = {"s": "keyword", "i": "integer", "f": "float", "b": "bool", "t": "text", "d": "datetime",
                   "o.a": "integer", "arr[].b": "keyword", "l": "keyword"}


def searched(client, name, query_filter):
    """Ids of the 50 best under the filter: query [1, 1] under dot, so the largest vector[1] first."""
    return [p.id for p in client.query_points(name, query=[0.0, 1.0], query_filter=query_filter, limit=50).points]


def test_random_filters_select_what_qdrant_selects(url):
    print(f"filter differential seed: {SEED} (set VECTORD_TEST_SEED to change it)")
    rng = seeded("filters")
    point_ids = [i if i % 5 else str(uuid.UUID(int=rng.getrandbits(128))) for i in range(POINTS)]
    payloads = [random_payload(rng) for _ in range(POINTS)]
    vectord, local = QdrantClient(url=url, timeout=60), QdrantClient(":memory:")
    for client in (vectord, local):
        if client.collection_exists("filters"):
            client.delete_collection("filters")
        client.create_collection("filters", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
        for start in range(0, POINTS, 250):
            client.upsert("filters", points=[models.PointStruct(id=point_ids[i], vector=[1.0, i / POINTS],
                                                                payload=payloads[i])
                                             for i in range(start, min(start + 250, POINTS))])
    for key, schema in PAYLOAD_INDEXES.items():
        vectord.create_payload_index("filters", field_name=key, field_schema=schema)
    differences, selective, empty, spent = [], 0, 0, {"local": 0.0, "vectord": 0.0}
    for n in range(FILTERS):
        scroll_filter = random_filter(rng, 0, point_ids)
        started = time.perf_counter()
        want = matching(local, "filters", scroll_filter)
        spent["local"] += time.perf_counter() - started
        started = time.perf_counter()
        got = matching(vectord, "filters", scroll_filter)
        spent["vectord"] += time.perf_counter() - started
        if n % 4 == 0:
            assert vectord.count("filters", count_filter=scroll_filter, exact=True).count == len(want), n
            assert searched(vectord, "filters", scroll_filter) == searched(local, "filters", scroll_filter), n
        selective += 0 < len(want) < POINTS
        empty += not want
        if got != want:
            extra, missing = set(got) - set(want), set(want) - set(got)
            example = next(iter(extra or missing), None)
            payload = payloads[point_ids.index(example)] if example in point_ids else None
            differences.append((n, scroll_filter.model_dump_json(exclude_none=True), len(extra), len(missing),
                                payload))
    print(f"{FILTERS} filters: {selective} select some points but not all, {empty} none; seconds: {spent}")
    for difference in differences[:5]:
        print("difference:", difference)
    assert not differences, f"{len(differences)} of {FILTERS} filters select other points than Qdrant's local mode"
    # The filters must select something and not everything often enough to mean anything.
    assert selective > FILTERS // 3, selective
