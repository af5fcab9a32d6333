"""``StepContext``: what a handler's optional ``context`` parameter receives.

It records results (``log_result``) and writes artifacts (``log_artifact``, ``log_dataset``,
``log_model``, ``log_plot``) under the step's artifact folder, atomically. The runtime turns
what was logged into the step's :class:`~flowc.runtime.core.StepResult`.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from . import artifacts as art
from .dataitem import DataItem


class StepLogger:
    """A small logger: ``logger.info("trained", accuracy=0.97)`` writes one line to stderr.

    Keyword fields are appended as ``key=value`` (MLRun's logger style). Lines look like
    ``12:00:01.234 INFO  [train] trained accuracy=0.97``.
    """

    LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}

    def __init__(self, name: str, stream: TextIO | None = None, level: str = "info") -> None:
        self.name = name
        self._stream = stream
        self.level = self.LEVELS.get(os.environ.get("FLOWC_LOG_LEVEL", level).lower(), 20)

    def _log(self, level: str, message: Any, args: tuple, fields: dict[str, Any]) -> None:
        if self.LEVELS[level] < self.level:
            return
        text = str(message)
        if args:
            try:
                text = text % args
            except (TypeError, ValueError):  # a bad format must never fail the step
                text = " ".join([text, *map(str, args)])
        if fields:
            text += " " + " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}"
                                   for k, v in fields.items())
        now = time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
        stream = self._stream or sys.stderr
        stream.write(f"{stamp} {level.upper():<5} [{self.name}] {text}\n")
        stream.flush()

    def block(self, text: str) -> None:
        """Write multi-line text (a traceback) as it is."""
        stream = self._stream or sys.stderr
        stream.write(text if text.endswith("\n") else text + "\n")
        stream.flush()

    def debug(self, message: Any, *args: Any, **fields: Any) -> None:
        self._log("debug", message, args, fields)

    def info(self, message: Any, *args: Any, **fields: Any) -> None:
        self._log("info", message, args, fields)

    def warning(self, message: Any, *args: Any, **fields: Any) -> None:
        self._log("warning", message, args, fields)

    warn = warning

    def error(self, message: Any, *args: Any, **fields: Any) -> None:
        self._log("error", message, args, fields)


class StepContext:
    """The handler's view of its step: parameters, inputs, and logging of results/artifacts."""

    def __init__(self, *, step: str, run_id: str, project: str | None, artifact_dir: str,
                 parameters: dict[str, Any] | None = None,
                 inputs: dict[str, DataItem] | None = None,
                 iteration: int | None = None, logger: StepLogger | None = None) -> None:
        self.name = step
        self.uid = run_id
        self.project = project
        self.iteration = iteration
        self.artifact_path = os.path.abspath(artifact_dir)
        self.parameters: dict[str, Any] = dict(parameters or {})
        self.inputs: dict[str, DataItem] = dict(inputs or {})
        self.logger = logger or StepLogger(step)
        self.results: dict[str, Any] = {}
        self.labels: dict[str, Any] = {}
        self.artifacts: dict[str, dict] = {}

    # ------------------------------------------------------------------ reading

    def get_param(self, key: str, default: Any = None) -> Any:
        """A parameter value, or ``default``."""
        return self.parameters.get(key, default)

    def get_input(self, key: str, url: str | None = None) -> DataItem:
        """The data input ``key`` (or a data item for ``url``)."""
        if url is not None:
            return DataItem(url, key=key)
        if key not in self.inputs:
            raise KeyError(f"step {self.name!r} has no input {key!r} "
                           f"(inputs: {', '.join(sorted(self.inputs)) or 'none'})")
        return self.inputs[key]

    def get_dataitem(self, url: str) -> DataItem:
        """A data item for any path or URL (MLRun's ``context.get_dataitem``)."""
        return DataItem(url)

    def set_label(self, key: str, value: Any) -> None:
        """Attach a label to this step run (kept in ``labels``; not part of the results)."""
        self.labels[str(key)] = value

    def get_secret(self, key: str, default: str | None = None) -> str | None:
        """A secret from the environment (engines pass project secrets as env vars)."""
        return os.environ.get(key, default)

    # ------------------------------------------------------------------ results

    def log_result(self, key: str, value: Any) -> None:
        """Record a result value (JSON-serialisable: numbers, strings, lists, dicts)."""
        self.results[str(key)] = value

    def log_results(self, results: dict[str, Any]) -> None:
        """Record several results at once."""
        for key, value in results.items():
            self.log_result(key, value)

    # ------------------------------------------------------------------ artifacts

    def log_artifact(self, key: Any, body: Any = None, local_path: str | None = None,
                     format: str | None = None, kind: str = "artifact", **options: Any) -> str:
        """Write an artifact: ``body`` (str/bytes) or a copy of ``local_path`` (file/folder).

        The file is ``<artifact_path>/<key>[.format | local_path's extension]``. A
        ``local_path`` already inside the artifact folder is recorded in place. Returns the
        artifact's store URI. ``key`` may also be an MLRun-style artifact object (``.key``,
        ``.get_body()``, ``.format``, ``.kind``); MLRun-only options (``labels``, ``tag``,
        ``upload``, ...) are accepted and ignored.
        """
        if "src_path" in options and local_path is None:
            local_path = options.pop("src_path")
        self._ignore("log_artifact", options)
        if not isinstance(key, str) and hasattr(key, "key"):
            item = key
            key = item.key
            body = item.get_body() if hasattr(item, "get_body") else getattr(item, "body", None)
            if body is None and local_path is None:
                local_path = getattr(item, "src_path", None) or getattr(item, "local_path", None)
            format = format or getattr(item, "format", None)
            item_kind = getattr(item, "kind", "artifact")
            kind = item_kind if item_kind in art.ARTIFACT_KINDS else "artifact"
        art.check_key(key)
        if kind not in art.ARTIFACT_KINDS:
            raise art.ArtifactError(f"artifact kind {kind!r} is not one of "
                                    f"{', '.join(art.ARTIFACT_KINDS)}")
        if (body is None) == (local_path is None):
            raise art.ArtifactError(
                f"log_artifact({key!r}): give exactly one of body= or local_path=")
        if local_path is not None:
            source = os.fspath(local_path)
            if not os.path.exists(source):
                raise art.ArtifactError(f"log_artifact({key!r}): local_path {source!r} "
                                        "does not exist")
            if art.inside(source, self.artifact_path):
                return self._record(key, os.path.abspath(source), kind)
            ext = _extension(format) or ("" if os.path.isdir(source)
                                         else os.path.splitext(source)[1])
            target = self._target(key, ext)
            art.copy_into(source, target)
            return self._record(key, target, kind)
        if isinstance(body, str):
            data = body.encode("utf-8")
        elif isinstance(body, (bytes, bytearray, memoryview)):
            data = bytes(body)
        else:
            raise art.ArtifactError(
                f"log_artifact({key!r}): body must be str or bytes, got {type(body).__name__} "
                "(use log_dataset for tables, log_model for models)")
        target = self._target(key, _extension(format))
        art.write_bytes(target, data)
        return self._record(key, target, kind)

    def log_plot(self, key: str, body: str | bytes, format: str = "html") -> str:
        """Write a plot (SVG or HTML text) as a ``plot`` artifact."""
        return self.log_artifact(key, body=body, format=format, kind="plot")

    def log_dataset(self, key: str, df: Any, format: str | None = "parquet",
                    index: bool = False, **options: Any) -> str:
        """Write a pandas DataFrame as a ``dataset`` artifact (parquet, csv or json).

        ``format="pq"`` means parquet; without a parquet engine installed, csv is written.
        MLRun-only options (``labels``, ``stats``, ``preview``, ...) are accepted and ignored.
        """
        self._ignore("log_dataset", options)
        art.check_key(key)
        fmt, ext = art.dataset_format(format)
        target = self._target(key, ext)
        art.write_dataframe(df, target, fmt, index=index)
        return self._record(key, target, "dataset")

    def log_table(self, key: str, rows: Any, format: str = "csv") -> str:
        """Write a small table (a DataFrame or a list of dicts) as a ``table`` artifact."""
        art.check_key(key)
        fmt, ext = art.dataset_format(format)
        if isinstance(rows, list):
            import pandas as pd

            rows = pd.DataFrame(rows)
        target = self._target(key, ext)
        art.write_dataframe(rows, target, fmt)
        return self._record(key, target, "table")

    def log_model(self, key: str, model: Any = None, *, body: bytes | None = None,
                  model_file: str | None = None, metrics: dict[str, Any] | None = None,
                  parameters: dict[str, Any] | None = None, framework: str | None = None,
                  labels: dict[str, Any] | None = None, model_dir: str | None = None,
                  **extra: Any) -> str:
        """Write a model folder ``<artifact_path>/<key>/``: the pickled ``model`` (or ``body``
        bytes, or a copy of ``model_file``, or of the folder ``model_dir``) plus
        ``model_spec.json`` with metrics etc.

        MLRun's call ``log_model(key, body=pickle_bytes, model_file="model.pkl", ...)`` works:
        bytes given as ``model`` count as ``body``; JSON-able extra options (``algorithm``,
        ``label_column``, ...) are kept in the spec, others are ignored.
        Load it back with :func:`flowc.runtime.load_model`.
        """
        if isinstance(model, (bytes, bytearray)) and body is None:
            model, body = None, bytes(model)
        if model_dir is not None and model is None and body is None:
            self.log_artifact(key, local_path=model_dir, kind="model")
            return self.artifacts[key]["uri"]
        art.check_key(key)
        if framework is None and model is not None:
            framework = type(model).__module__.split(".", 1)[0]
        spec = {"key": key, "framework": framework, "metrics": dict(metrics or {}),
                "parameters": dict(parameters or {}), "labels": dict(labels or {}),
                "model_class": (f"{type(model).__module__}.{type(model).__qualname__}"
                                if model is not None else None)}
        spec.update({k: v for k, v in extra.items() if _is_jsonable(v)})
        target = self._target(key, "")
        art.write_model(target, model, model_file=model_file, body=body, spec=spec)
        return self._record(key, target, "model")

    # ------------------------------------------------------------------ helpers

    def _ignore(self, method: str, options: dict[str, Any]) -> None:
        unknown = sorted(set(options) - _MLRUN_OPTIONS)
        if unknown:
            raise TypeError(f"{method}() got unexpected keyword argument(s) "
                            f"{', '.join(unknown)}")
        if options:
            self.logger.debug(f"{method}: ignoring MLRun-only options {', '.join(sorted(options))}")

    def _target(self, key: str, ext: str) -> str:
        path = os.path.join(self.artifact_path, key + ext)
        if not art.inside(path, self.artifact_path):
            raise art.ArtifactError(f"artifact {key!r} would escape the artifact folder")
        previous = self.artifacts.get(key)
        if previous and previous["path"] != path:
            # Re-logging a key under another extension: drop the old file, keep one artifact.
            _remove(previous["path"])
        return path

    def _record(self, key: str, path: str, kind: str) -> str:
        uri = art.store_uri(self.project, key)
        self.artifacts[key] = {"path": path, "kind": kind, "uri": uri}
        return uri


# MLRun's logging options that mean nothing for a local artifact folder.
_MLRUN_OPTIONS = {"tag", "labels", "upload", "artifact_path", "viewer", "target_path",
                  "src_path", "db_key", "preview", "stats", "extra_data", "label_column",
                  "is_inline", "unpackaging_instructions"}


def _extension(fmt: str | None) -> str:
    if not fmt:
        return ""
    fmt = fmt.lower().lstrip(".")
    if fmt == "pq":
        fmt = "parquet"
    if not fmt.replace("_", "").isalnum():
        raise art.ArtifactError(f"bad artifact format {fmt!r}")
    return "." + fmt


def _is_jsonable(value: Any) -> bool:
    import json

    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _remove(path: str) -> None:
    import shutil

    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)
