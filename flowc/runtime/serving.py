"""Model serving: V2-protocol HTTP servers for serving classes in the style of MLRun.

A serving class subclasses :class:`V2ModelServer` and implements ``load()`` (set
``self.model``) and ``predict(body) -> list``. :func:`start_server` loads one instance per
model and serves them on ``127.0.0.1`` (a free port by default) in a background thread:

* ``GET /v2/health/ready``, ``GET /v2/health/live`` - server readiness/liveness
* ``GET /v2/models`` - the served models; ``GET /v2/models/{name}`` - one model's metadata
* ``GET /v2/models/{name}/ready`` - 200 when the model is loaded
* ``POST`` or ``PUT /v2/models/{name}[/versions/{v}]/infer`` - predictions

Request bodies are MLRun's simple form ``{"inputs": [[...], ...]}`` or KServe v2 tensors
``{"inputs": [{"name", "shape", "datatype", "data"}]}``; the answer uses the same form
(``{"id", "model_name", "outputs": [...]}``).

``python -m flowc.runtime serve --spec SPEC.json`` runs a server in its own process
(:mod:`flowc.runtime.server_process`).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Sequence
from urllib.parse import unquote

from .context import StepLogger
from .v2_protocol import is_tensor_request, rows_to_tensor, tensor_to_rows, to_plain

MAX_BODY_BYTES = 64 * 1024 * 1024


class ServingError(Exception):
    """A serving function or model cannot be loaded, or a spec is malformed."""


class _ServingContext:
    """What a serving class gets as ``context``: a logger and the server's name."""

    def __init__(self, name: str, logger: StepLogger) -> None:
        self.name = name
        self.logger = logger


class V2ModelServer:
    """Base class of serving classes (MLRun's ``V2ModelServer`` shape).

    Subclasses implement ``load()`` (read ``self.model_path`` and set ``self.model``) and
    ``predict(body)``, which gets ``{"inputs": [...]}`` and returns a list of outputs.
    Extra keyword arguments of the model entry are kept in ``self.class_args``.
    """

    def __init__(self, context: Any = None, name: str = "", model_path: str | None = None,
                 model: Any = None, **class_args: Any) -> None:
        self.context = context
        self.name = name
        self.model_path = model_path
        self.model = model
        self.class_args = class_args
        self.ready = model is not None
        self.version = class_args.get("version")

    def load(self) -> None:
        """Load ``self.model`` from ``self.model_path`` (override in subclasses)."""
        if self.model is None and self.model_path:
            from .artifacts import load_model

            self.model = load_model(self.model_path)

    def get_model(self, suffix: str = "") -> tuple[str, dict]:
        """``(model_file, extra_data)`` of ``self.model_path`` (a model file or folder)."""
        from .artifacts import model_file_path, model_spec

        if not self.model_path:
            raise ServingError(f"model {self.name!r} has no model_path")
        path = self.model_path
        if suffix and os.path.isdir(path):
            matches = sorted(f for f in os.listdir(path) if f.endswith(suffix))
            if len(matches) == 1:
                return os.path.join(path, matches[0]), model_spec(path)
        return model_file_path(path), model_spec(path)

    def preprocess(self, body: dict) -> dict:
        return body

    def predict(self, body: dict) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement predict(body)")

    def postprocess(self, outputs: Any) -> Any:
        return outputs

    def metadata(self) -> dict:
        """The model metadata answered by ``GET /v2/models/{name}``."""
        return {"name": self.name, "version": self.version or "",
                "platform": type(self).__name__, "inputs": [], "outputs": []}

    def do_infer(self, body: dict) -> dict:
        """Run one request through preprocess -> predict -> postprocess."""
        request_id = str(body.get("id") or uuid.uuid4().hex)
        tensor_form = is_tensor_request(body)
        request = dict(body)
        if tensor_form:
            request["inputs"] = tensor_to_rows(body["inputs"][0])
        outputs = to_plain(self.postprocess(self.predict(self.preprocess(request))))
        if tensor_form:
            outputs = [rows_to_tensor("predict", outputs)]
        response = {"id": request_id, "model_name": self.name, "outputs": outputs}
        if self.version:
            response["model_version"] = self.version
        return response


# --------------------------------------------------------------------------- loading


def load_serving_class(source_file: str | None, class_name: str,
                       source_code: str | None = None) -> type:
    """The serving class ``class_name`` from a source file (or code)."""
    from .loading import HandlerLoadError, load_handler

    try:
        cls = load_handler(class_name, source_file, source_code)
    except HandlerLoadError as exc:
        raise ServingError(str(exc)) from None
    if not isinstance(cls, type):
        raise ServingError(f"{class_name!r} in {source_file} is not a class")
    return cls


def load_models(cls: type | None, models: Sequence[dict], *, source_file: str | None = None,
                source_code: str | None = None, logger: StepLogger | None = None,
                base_dir: str | None = None) -> dict[str, V2ModelServer]:
    """Instantiate and ``load()`` one serving object per ``{"key", "model_path", ...}`` entry.

    An entry may name its own ``class_name``; other keys become the class's keyword args.
    Relative model paths are taken relative to ``base_dir``.
    """
    logger = logger or StepLogger("serving")
    context = _ServingContext("serving", logger)
    servers: dict[str, V2ModelServer] = {}
    if not models:
        raise ServingError("no models to serve: give models=[{'key': ..., 'model_path': ...}]")
    for entry in models:
        if not isinstance(entry, dict) or not entry.get("key"):
            raise ServingError(f"model entry {entry!r} needs a 'key' (and a 'model_path')")
        entry = dict(entry)
        key = str(entry.pop("key"))
        if key in servers:
            raise ServingError(f"model key {key!r} is listed twice")
        entry_class = entry.pop("class_name", None)
        model_cls = cls
        if entry_class:
            model_cls = load_serving_class(source_file, entry_class, source_code)
        if model_cls is None:
            raise ServingError(f"model {key!r}: no serving class (give class_name)")
        model_path = entry.pop("model_path", None)
        if model_path and base_dir and not os.path.isabs(str(model_path)) \
                and "://" not in str(model_path):
            model_path = os.path.join(base_dir, str(model_path))
        if model_path and str(model_path).startswith("store://"):
            from .artifacts import ArtifactError
            from .dataitem import DataItem

            try:
                model_path = DataItem(str(model_path)).local()
            except ArtifactError as exc:
                raise ServingError(f"model {key!r}: {exc}") from None
        try:
            server = model_cls(context=context, name=key, model_path=model_path, **entry)
            server.load()
        except Exception as exc:
            raise ServingError(f"model {key!r} ({model_cls.__name__}, {model_path}): loading "
                               f"failed: {type(exc).__name__}: {exc}") from exc
        server.ready = True
        servers[key] = server
        logger.info("model loaded", model=key, path=str(model_path))
    return servers


# --------------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "flowc-serving"
    disable_nagle_algorithm = True  # else keep-alive replies wait ~40 ms for a delayed ACK
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        self.server.logger.debug(format % args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        parts = self._parts()
        if parts == ["v2", "health", "live"]:
            self._reply(200, {"live": True})
            return
        if parts == ["v2", "health", "ready"]:
            ready = all(model.ready for model in self.server.models.values())
            self._reply(200 if ready else 503, {"ready": ready})
            return
        if parts == ["v2"]:
            self._reply(200, {"name": "flowc-serving", "extensions": []})
            return
        if parts in ([], ["v2", "models"]):
            self._reply(200, {"models": sorted(self.server.models)})
            return
        model, action = self._model(parts)
        if model is None:
            return
        if action == "ready":
            self._reply(200 if model.ready else 503, {"name": model.name, "ready": model.ready})
        elif action == "":
            self._reply(200, model.metadata())
        else:
            self._reply(404, {"error": f"no route GET {self.path}"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self._infer()

    def do_PUT(self) -> None:  # noqa: N802 - stdlib name
        self._infer()

    def _infer(self) -> None:
        parts = self._parts()
        body = self._body()
        if body is None:
            return
        model, action = self._model(parts)
        if model is None:
            return
        if action != "infer":
            self._reply(404, {"error": f"no route {self.command} {self.path}"})
            return
        if not isinstance(body, dict) or "inputs" not in body:
            self._reply(400, {"error": 'the request body must be a JSON object with "inputs"'})
            return
        try:
            response = model.do_infer(body)
        except (ValueError, KeyError, TypeError) as exc:
            self._reply(400, {"error": f"bad request: {type(exc).__name__}: {exc}"})
            return
        except Exception as exc:
            self.server.logger.error("predict failed", model=model.name,
                                     error=f"{type(exc).__name__}: {exc}")
            self._reply(500, {"error": f"{type(exc).__name__}: {exc}"})
            return
        self._reply(200, response)

    def _parts(self) -> list[str]:
        path = self.path.split("?", 1)[0]
        return [unquote(p) for p in path.strip("/").split("/") if p]

    def _model(self, parts: list[str]) -> tuple[V2ModelServer | None, str]:
        """``v2/models/NAME[/versions/V][/ACTION]`` -> (model, action)."""
        if len(parts) < 3 or parts[:2] != ["v2", "models"]:
            self._reply(404, {"error": f"no route {self.command} {self.path}"})
            return None, ""
        name, rest = parts[2], parts[3:]
        if len(rest) >= 2 and rest[0] == "versions":
            rest = rest[2:]
        model = self.server.models.get(name)
        if model is None:
            self._reply(404, {"error": f"model {name!r} is not served here",
                              "models": sorted(self.server.models)})
            return None, ""
        if len(rest) > 1:
            self._reply(404, {"error": f"no route {self.command} {self.path}"})
            return None, ""
        return model, rest[0] if rest else ""

    def _body(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self._reply(413 if length > 0 else 400, {"error": "bad or too large Content-Length"})
            return None
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except ValueError as exc:
            self._reply(400, {"error": f"the request body is not JSON: {exc}"})
            return None

    def _reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, default=str).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], models: dict[str, V2ModelServer],
                 logger: StepLogger) -> None:
        super().__init__(address, _Handler)
        self.models = models
        self.logger = logger


@dataclass
class ServerHandle:
    """A running in-process model server: ``url`` and ``stop()``."""

    url: str
    host: str
    port: int
    models: list[str]
    _server: _Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout)
        self._server.server_close()

    def wait(self) -> None:
        """Block until the server stops."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def __enter__(self) -> "ServerHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(function_source: str | None, class_name: str | None, models: Sequence[dict],
                 host: str = "127.0.0.1", port: int = 0, *, source_code: str | None = None,
                 base_dir: str | None = None, logger: StepLogger | None = None) -> ServerHandle:
    """Load every model and serve them in a background thread; returns once ready.

    ``function_source`` is the serving function's ``.py`` file, ``class_name`` its serving
    class (e.g. the hub function's ``default_class``); ``models`` are ``{"key", "model_path"}``
    entries. Raises :class:`ServingError` if the class or a model cannot be loaded.
    """
    logger = logger or StepLogger("serving")
    cls = load_serving_class(function_source, class_name, source_code) if class_name else None
    servers = load_models(cls, models, source_file=function_source, source_code=source_code,
                          logger=logger, base_dir=base_dir)
    try:
        server = _Server((host, port), servers, logger)
    except OSError as exc:
        raise ServingError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound_host, bound_port = server.server_address[:2]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name=f"flowc-serving-{bound_port}", daemon=True)
    thread.start()
    url = f"http://{bound_host}:{bound_port}"
    logger.info("serving", url=url, models=",".join(sorted(servers)))
    return ServerHandle(url=url, host=str(bound_host), port=int(bound_port),
                        models=sorted(servers), _server=server, _thread=thread)
