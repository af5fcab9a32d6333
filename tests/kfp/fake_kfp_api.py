"""A small fake Kubeflow Pipelines v2beta1 API on 127.0.0.1 that records requests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeKfpApi:
    """Records every request; answers the calls kfp.Client makes to upload and run."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.pipelines: dict[str, dict] = {}
        self.versions: dict[str, list[dict]] = {}
        self.experiments: dict[str, dict] = {}
        self.runs: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                server._record(self, b"")
                status, payload = server._get(urlparse(self.path))
                self._send(status, payload)

            def do_POST(self):
                body = self._body()
                server._record(self, body)
                status, payload = server._post(urlparse(self.path), body,
                                               self.headers.get("Content-Type", ""))
                self._send(status, payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FakeKfpApi":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _record(self, handler, body: bytes) -> None:
        self.requests.append({"method": handler.command, "path": urlparse(handler.path).path,
                              "query": parse_qs(urlparse(handler.path).query), "body": body})

    def _get(self, url):
        path = url.path
        if path.endswith("/healthz"):
            return 200, {"multi_user": False}
        if path == "/apis/v2beta1/pipelines":
            name = _filter_value(url)
            found = [p for p in self.pipelines.values() if p["display_name"] == name]
            return 200, {"pipelines": found, "total_size": len(found)} if found else {}
        if path.startswith("/apis/v2beta1/pipelines/") and path.endswith("/versions"):
            pid = path.split("/")[4]
            versions = self.versions.get(pid, [])
            return 200, {"pipeline_versions": versions, "total_size": len(versions)}
        if path == "/apis/v2beta1/experiments":
            name = _filter_value(url)
            found = [e for e in self.experiments.values() if e["display_name"] == name]
            return 200, {"experiments": found, "total_size": len(found)} if found else {}
        return 404, {"error": f"no route {path}"}

    def _post(self, url, body: bytes, content_type: str):
        path = url.path
        if path == "/apis/v2beta1/pipelines/upload":
            name = parse_qs(url.query).get("name", ["?"])[0]
            pid = f"p-{len(self.pipelines) + 1}"
            self.pipelines[pid] = {"pipeline_id": pid, "display_name": name}
            self.versions[pid] = [{"pipeline_id": pid, "pipeline_version_id": f"{pid}-v1",
                                   "display_name": name, "_yaml": _file_part(body)}]
            return 200, self.pipelines[pid]
        if path == "/apis/v2beta1/pipelines/upload_version":
            query = parse_qs(url.query)
            pid = query["pipelineid"][0]
            versions = self.versions.setdefault(pid, [])
            version = {"pipeline_id": pid,
                       "pipeline_version_id": f"{pid}-v{len(versions) + 1}",
                       "display_name": query["name"][0], "_yaml": _file_part(body)}
            versions.append(version)
            return 200, version
        if path == "/apis/v2beta1/experiments":
            data = json.loads(body)
            eid = f"e-{len(self.experiments) + 1}"
            self.experiments[eid] = {"experiment_id": eid, "display_name": data["display_name"]}
            return 200, self.experiments[eid]
        if path == "/apis/v2beta1/runs":
            data = json.loads(body)
            run = {**data, "run_id": f"run-{len(self.runs) + 1}"}
            self.runs.append(run)
            return 200, run
        return 404, {"error": f"no route {path}"}


def _filter_value(url) -> str | None:
    raw = parse_qs(url.query).get("filter", [None])[0]
    if not raw:
        return None
    predicates = json.loads(raw).get("predicates") or []
    for predicate in predicates:
        if predicate.get("key") in ("display_name", "name"):
            return predicate.get("string_value") or predicate.get("stringValue")
    return None


def _file_part(body: bytes) -> str:
    """The uploaded file's text from a multipart body."""
    text = body.decode("utf-8", "replace")
    start = text.find("# PIPELINE DEFINITION")
    if start < 0:
        return ""
    end = text.find("\r\n--", start)
    return text[start:end if end > 0 else None]
