"""Qdrant's REST API in front of qdrant-client's local mode (`QdrantClient(":memory:")`, Qdrant's own semantics in
Python), to check the suites' models without vectord and to see what the integrations send: each request is parsed
with qdrant-client's REST models and answered by one local-mode client; with RECORD set, each is also appended to
that file as a JSON line (method, path, query, body).

    python smokes/qdrant/tools/local_qdrant_rest.py 16333 &
    VECTORD_URL=http://127.0.0.1:16333 python -m pytest -q -p no:cacheprovider smokes/qdrant/test_hybrid_*.py

It has only the routes those suites (and the LangChain, LlamaIndex, Haystack and mem0 ones) use. Local mode keeps
no payload index: the indexes asked for are reported back in `payload_schema` with every point counted."""
import json
import os
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from pydantic import TypeAdapter
from qdrant_client import QdrantClient, models

LOCAL = QdrantClient(":memory:")
LOCK = threading.Lock()
RECORD = os.environ.get("RECORD")
INDEXES = {}  # collection -> {field: schema}, reported back as payload_schema (local mode keeps none)


def dump(value):
    if isinstance(value, list):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    return value


def ok(result):
    return 200, {"result": result, "status": "ok", "time": 0.0}


def updated():
    return ok({"operation_id": 0, "status": "completed"})


def collection_info(name):
    info = LOCAL.get_collection(name)
    data = dump(info)
    count = LOCAL.count(name).count
    data["payload_schema"] = {field: {"data_type": schema, "points": count} for field, schema in
                              INDEXES.get(name, {}).items()}
    return data


def query_kwargs(request):
    return dict(query=request.query, prefetch=request.prefetch, using=request.using, query_filter=request.filter,
                search_params=request.params, score_threshold=request.score_threshold,
                limit=request.limit if request.limit is not None else 10, offset=request.offset or 0,
                with_payload=request.with_payload if request.with_payload is not None else False,
                with_vectors=request.with_vector if request.with_vector is not None else False,
                lookup_from=request.lookup_from)


def handle(method, path, body):
    parts = [p for p in path.split("/") if p]
    if not parts and method == "GET":
        return 200, {"title": "local qdrant REST shim", "version": "1.20.0"}
    if parts == ["collections"] and method == "GET":
        return ok({"collections": [{"name": c.name} for c in LOCAL.get_collections().collections]})
    if len(parts) < 2 or parts[0] != "collections":
        return 404, {"status": {"error": f"not in the shim: {method} {path}"}}
    name, rest = parts[1], parts[2:]
    if rest == ["exists"]:
        return ok({"exists": LOCAL.collection_exists(name)})
    if not rest:
        if method == "GET":
            if not LOCAL.collection_exists(name):
                return 404, {"status": {"error": f"Not found: Collection `{name}` doesn't exist!"}}
            return ok(collection_info(name))
        if method == "DELETE":
            INDEXES.pop(name, None)
            return ok(LOCAL.delete_collection(name))
        if method == "PUT":
            if LOCAL.collection_exists(name):
                return 409, {"status": {"error": f"Wrong input: Collection `{name}` already exists!"}}
            create = models.CreateCollection.model_validate(body or {})
            LOCAL.create_collection(name, vectors_config=create.vectors if create.vectors is not None else {},
                                    sparse_vectors_config=create.sparse_vectors)
            return ok(True)
    if not LOCAL.collection_exists(name):
        return 404, {"status": {"error": f"Not found: Collection `{name}` doesn't exist!"}}
    if rest == ["index"] and method == "PUT":
        index = models.CreateFieldIndex.model_validate(body)
        schema = index.field_schema
        schema = schema if isinstance(schema, str) else getattr(schema, "type", schema)
        INDEXES.setdefault(name, {})[index.field_name] = getattr(schema, "value", schema)
        return updated()
    if rest == ["points"] and method == "PUT":
        operation = TypeAdapter(models.PointInsertOperations).validate_python(body)
        points = operation.points if isinstance(operation, models.PointsList) else operation.batch
        LOCAL.upsert(name, points=points)
        return updated()
    if rest == ["points"] and method == "POST":
        request = models.PointRequest.model_validate(body)
        return ok(dump(LOCAL.retrieve(name, request.ids,
                                      with_payload=True if request.with_payload is None else request.with_payload,
                                      with_vectors=request.with_vector or False)))
    if rest == ["points", "delete"]:
        selector = TypeAdapter(models.PointsSelector).validate_python(body)
        LOCAL.delete(name, points_selector=selector)
        return updated()
    if rest == ["points", "scroll"]:
        request = models.ScrollRequest.model_validate(body or {})
        points, offset = LOCAL.scroll(name, scroll_filter=request.filter, limit=request.limit or 10,
                                      offset=request.offset, order_by=request.order_by,
                                      with_payload=True if request.with_payload is None else request.with_payload,
                                      with_vectors=request.with_vector or False)
        return ok({"points": dump(points), "next_page_offset": offset})
    if rest == ["points", "count"]:
        request = models.CountRequest.model_validate(body or {})
        return ok({"count": LOCAL.count(name, count_filter=request.filter, exact=True).count})
    if rest == ["points", "query"]:
        request = models.QueryRequest.model_validate(body or {})
        return ok({"points": dump(LOCAL.query_points(name, **query_kwargs(request)).points)})
    if rest == ["points", "query", "batch"]:
        batch = models.QueryRequestBatch.model_validate(body)
        return ok([{"points": dump(LOCAL.query_points(name, **query_kwargs(r)).points)} for r in batch.searches])
    if rest == ["points", "vectors"] and method == "PUT":
        request = models.UpdateVectors.model_validate(body)
        LOCAL.update_vectors(name, points=request.points)
        return updated()
    if rest == ["points", "vectors", "delete"]:
        request = models.DeleteVectors.model_validate(body)
        selector = request.points if request.points is not None else models.FilterSelector(filter=request.filter)
        LOCAL.delete_vectors(name, vectors=request.vector, points=selector)
        return updated()
    if rest == ["points", "payload"] and method in ("POST", "PUT"):
        request = models.SetPayload.model_validate(body)
        selector = request.points if request.points is not None else models.FilterSelector(filter=request.filter)
        if method == "POST":
            LOCAL.set_payload(name, payload=request.payload, points=selector, key=request.key)
        else:
            LOCAL.overwrite_payload(name, payload=request.payload, points=selector)
        return updated()
    return 404, {"status": {"error": f"not in the shim: {method} {path}"}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle's
    # algorithm holds the body for a delayed acknowledgement (~40 ms a request).
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def answer(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        if RECORD:
            with LOCK, open(RECORD, "a") as out:
                out.write(json.dumps({"method": self.command, "path": url.path, "query": parse_qs(url.query),
                                      "body": body}) + "\n")
        try:
            with LOCK:
                status, answer = handle(self.command, url.path, body)
        except Exception as error:  # a 400 the way Qdrant words it, with the cause for the one debugging
            traceback.print_exc()
            status, answer = 400, {"status": {"error": f"Bad request: {error}"}, "time": 0.0}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = answer


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print(f"local qdrant REST shim on {server.server_address}", flush=True)
    server.serve_forever()
