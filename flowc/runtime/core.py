"""Execute ONE step: the shared contract of the local engine and the KFP containers.

An engine builds a :class:`StepCall` (resolved params, input paths, declared outputs, the
step's artifact folder), calls :func:`execute` (in a subprocess, a forked child or in-process),
and gets a :class:`StepResult` (results and artifacts) or a :class:`StepFailed` whose message
names the problem. ``python -m flowc.runtime exec --call CALL.json --result RESULT.json`` does
the same across a process boundary.

Handler convention: a plain function; an optional parameter named ``context`` receives a
:class:`~flowc.runtime.context.StepContext`; other parameters are filled by name from
``inputs`` (as :class:`~flowc.runtime.dataitem.DataItem`) and ``params`` (coerced to simple
annotations: int, float, bool, str, list, dict); the handler may return a dict of results, a
single value when exactly one output is declared, or a tuple matching the declared outputs.

This module imports only the standard library and flowc's small runtime modules, so that a fork
server can pre-import it cheaply; pandas and pickle users are imported where used.
"""

from __future__ import annotations

import inspect
import json
import os
import traceback
from dataclasses import dataclass, field
from typing import Any

from . import artifacts as art
from .context import StepContext, StepLogger
from .dataitem import DataItem
from .loading import HandlerLoadError, load_handler

ARTIFACT_OUTPUT_TYPES = ("artifact", "dataset", "model")


class StepFailed(Exception):
    """The step failed; the message says why (handler error, missing output, bad call).

    ``details`` holds the handler's traceback when there is one (for logs, not for users).
    """

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.details = details


@dataclass
class StepCall:
    """Everything needed to run one step, already resolved (no references, no secrets refs)."""

    step: str
    run_id: str
    project: str | None
    handler: str
    source_file: str | None
    source_code: str | None
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: list[tuple[str, str]] = field(default_factory=list)
    artifact_dir: str = "."
    iteration: int | None = None

    def to_json(self) -> dict:
        return {
            "step": self.step,
            "run_id": self.run_id,
            "project": self.project,
            "handler": self.handler,
            "source_file": self.source_file,
            "source_code": self.source_code,
            "params": self.params,
            "inputs": dict(self.inputs),
            "outputs": [[name, type_] for name, type_ in self.outputs],
            "artifact_dir": self.artifact_dir,
            "iteration": self.iteration,
        }

    @classmethod
    def from_json(cls, data: dict) -> "StepCall":
        if not isinstance(data, dict):
            raise ValueError("a step call must be a JSON object")
        missing = [k for k in ("step", "run_id", "handler", "artifact_dir") if not data.get(k)]
        if missing:
            raise ValueError(f"step call is missing {', '.join(missing)}")
        outputs = []
        for item in data.get("outputs") or ():
            if isinstance(item, dict):
                outputs.append((str(item["name"]), str(item.get("type", "artifact"))))
            elif isinstance(item, str):
                outputs.append((item, "artifact"))
            else:
                name, type_ = item
                outputs.append((str(name), str(type_)))
        return cls(step=str(data["step"]), run_id=str(data["run_id"]),
                   project=data.get("project"), handler=str(data["handler"]),
                   source_file=data.get("source_file"), source_code=data.get("source_code"),
                   params=dict(data.get("params") or {}),
                   inputs={str(k): str(v) for k, v in (data.get("inputs") or {}).items()},
                   outputs=outputs, artifact_dir=str(data["artifact_dir"]),
                   iteration=data.get("iteration"))


@dataclass
class StepResult:
    """What a step produced: result values and artifacts (key -> path, kind, uri)."""

    results: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, dict] = field(default_factory=dict)

    def outputs(self) -> dict[str, Any]:
        """The output view downstream steps read: result values, and artifact paths."""
        merged = dict(self.results)
        for key, info in self.artifacts.items():
            merged[key] = info["path"]
        return merged

    def to_json(self) -> dict:
        return {"results": self.results, "artifacts": self.artifacts}

    @classmethod
    def from_json(cls, data: dict) -> "StepResult":
        return cls(results=dict(data.get("results") or {}),
                   artifacts={k: dict(v) for k, v in (data.get("artifacts") or {}).items()})


def execute(call: StepCall, *, logger: StepLogger | None = None) -> StepResult:
    """Run ``call``'s handler and return what it produced; raise :class:`StepFailed` if not."""
    label = f"step {call.step!r}"
    try:
        handler = load_handler(call.handler, call.source_file, call.source_code)
    except HandlerLoadError as exc:
        raise StepFailed(f"{label}: {exc}") from None

    try:
        os.makedirs(call.artifact_dir, exist_ok=True)
    except OSError as exc:
        raise StepFailed(f"{label}: cannot create the artifact folder {call.artifact_dir}: "
                         f"{exc.strerror or exc}") from None
    art.remove_leftovers(call.artifact_dir)  # from an earlier, killed attempt of this step
    log = logger or StepLogger(call.step if call.iteration is None
                               else f"{call.step}#{call.iteration}")
    items = {name: DataItem(url, key=name) for name, url in call.inputs.items()}
    context = StepContext(step=call.step, run_id=call.run_id, project=call.project,
                          artifact_dir=call.artifact_dir, parameters=call.params,
                          inputs=items, iteration=call.iteration, logger=log)
    args, kwargs = _bind(handler, call, context, items, log)
    try:
        returned = handler(*args, **kwargs)
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except SystemExit as exc:
        if exc.code in (None, 0):
            returned = None
        else:
            raise StepFailed(f"{label}: handler {call.handler!r} exited with status "
                             f"{exc.code}") from None
    except Exception as exc:
        details = traceback.format_exc()
        log.error(f"handler {call.handler!r} failed")
        log.block(details)  # into the step's log, whichever launcher runs it
        raise StepFailed(f"{label}: handler {call.handler!r} raised "
                         f"{_summary(exc)}{_user_frame(exc, call.source_file)}", details) from None

    declared = dict(call.outputs)
    try:
        _absorb_return(returned, context, call.outputs)
        results = {key: _jsonable(value, key) for key, value in context.results.items()}
    except (art.ArtifactError, _NotJsonable) as exc:
        raise StepFailed(f"{label}: {exc}") from None
    except Exception as exc:  # e.g. a DataFrame that parquet cannot store
        raise StepFailed(f"{label}: storing what handler {call.handler!r} returned failed: "
                         f"{_summary(exc)}", traceback.format_exc()) from None
    missing = [name for name in declared
               if name not in results and name not in context.artifacts]
    if missing:
        produced = sorted(set(results) | set(context.artifacts))
        raise StepFailed(
            f"{label}: declared output{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)} not produced by handler "
            f"{call.handler!r} (it produced: {', '.join(produced) or 'nothing'}); log it with "
            "context.log_result/log_artifact or return it")
    return StepResult(results=results, artifacts=dict(context.artifacts))


# --------------------------------------------------------------------------- binding


def _bind(handler: Any, call: StepCall, context: StepContext, items: dict[str, DataItem],
          log: StepLogger) -> tuple[list, dict]:
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return [], {**call.params, **items}
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    used: set[str] = set()
    missing: list[str] = []
    var_keyword = False
    for param in signature.parameters.values():
        if param.kind is param.VAR_KEYWORD:
            var_keyword = True
            continue
        if param.kind is param.VAR_POSITIONAL:
            continue
        name = param.name
        if name == "context" and name not in call.params and name not in items:
            value: Any = context
        elif name in items:
            value = _coerce_input(items[name], param.annotation)
            used.add(name)
        elif name in call.params:
            try:
                value = _coerce_param(call.params[name], param.annotation)
            except (TypeError, ValueError) as exc:
                raise StepFailed(f"step {call.step!r}: parameter {name!r}: {exc}") from None
            used.add(name)
        elif param.default is param.empty:
            missing.append(name)
            continue
        else:
            continue
        if param.kind is param.POSITIONAL_ONLY:
            args.append(value)
        else:
            kwargs[name] = value
    if missing:
        raise StepFailed(
            f"step {call.step!r}: handler {call.handler!r} needs "
            f"{', '.join(repr(m) for m in missing)}, which neither params nor inputs provide "
            f"(params: {', '.join(sorted(call.params)) or 'none'}; "
            f"inputs: {', '.join(sorted(items)) or 'none'})")
    extra = [n for n in [*call.params, *items] if n not in used]
    if var_keyword:
        for name in extra:
            kwargs[name] = items[name] if name in items else call.params[name]
    elif extra:
        # names only: params may hold resolved secrets
        log.debug(f"handler does not take {', '.join(sorted(set(extra)))}; "
                  "available through context.parameters/context.inputs")
    return args, kwargs


def _annotation_name(annotation: Any) -> str:
    """``int`` -> ``int``; ``"Optional[int]"`` -> ``int``; ``mlrun.DataItem`` -> ``DataItem``."""
    if annotation is inspect.Parameter.empty:
        return ""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if not text:
        text = str(annotation)
    text = text.replace("typing.", "").replace(" ", "")
    for wrapper in ("Optional[", "Union["):
        if text.startswith(wrapper) and text.endswith("]"):
            text = text[len(wrapper):-1]
    text = text.split("|")[0].split(",")[0].split("[")[0]
    return text.rsplit(".", 1)[-1]


def _coerce_input(item: DataItem, annotation: Any) -> Any:
    name = _annotation_name(annotation)
    if name == "str":
        return item.local() if item.kind != "store" else item.url
    return item


_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off", ""}


def _coerce_param(value: Any, annotation: Any) -> Any:
    """Convert string-encoded values (KFP passes many as text) to the annotated simple type."""
    name = _annotation_name(annotation)
    if name == "DataItem" and isinstance(value, str):
        return DataItem(value)
    if not isinstance(value, str) or name in ("", "str", "Any"):
        if name == "float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    if name == "int":
        return int(value)
    if name == "float":
        return float(value)
    if name == "bool":
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"{value!r} is not a boolean")
    if name in ("list", "dict", "List", "Dict"):
        decoded = json.loads(value)
        expected = list if name.lower() == "list" else dict
        if not isinstance(decoded, expected):
            raise ValueError(f"{value!r} is not a JSON {name.lower()}")
        return decoded
    return value


# --------------------------------------------------------------------------- results


class _NotJsonable(Exception):
    pass


def _absorb_return(value: Any, context: StepContext, outputs: list[tuple[str, str]]) -> None:
    """Turn the handler's return value into results/artifacts on ``context``."""
    if value is None:
        return
    declared = dict(outputs)
    if isinstance(value, dict):
        for key, item in value.items():
            _absorb_one(str(key), item, declared.get(str(key)), context)
    elif len(outputs) == 1:
        name, type_ = outputs[0]
        _absorb_one(name, value, type_, context)
    elif isinstance(value, tuple) and outputs and len(value) == len(outputs):
        for (name, type_), item in zip(outputs, value):
            _absorb_one(name, item, type_, context)
    elif not outputs:
        try:
            context.log_result("return", _jsonable(value, "return"))
        except _NotJsonable:
            context.logger.debug(f"ignoring the handler's return value "
                                 f"({type(value).__name__}): no output is declared")
    else:
        raise art.ArtifactError(
            f"the handler returned a {type(value).__name__}, but the step declares "
            f"{len(outputs)} outputs ({', '.join(n for n, _ in outputs)}); return a dict "
            "keyed by output name")


def _absorb_one(key: str, value: Any, type_: str | None, context: StepContext) -> None:
    if hasattr(value, "to_parquet") and hasattr(value, "columns"):
        context.log_dataset(key, value)
    elif type_ in ARTIFACT_OUTPUT_TYPES and isinstance(value, (str, os.PathLike)) \
            and os.path.exists(value):
        context.log_artifact(key, local_path=os.fspath(value), kind=type_)
    elif type_ == "model" and not _is_plain(value):
        context.log_model(key, value)
    else:
        context.log_result(key, value)


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, list, dict, tuple))


def _jsonable(value: Any, key: str) -> Any:
    """``value`` as plain JSON data (numpy scalars/arrays converted), or :class:`_NotJsonable`."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v, key) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, key) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_jsonable(v, key) for v in value)
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalars and arrays
        return _jsonable(value.tolist(), key)
    raise _NotJsonable(
        f"result {key!r} is a {type(value).__module__}.{type(value).__qualname__}, which is "
        "not JSON data; log it with context.log_artifact/log_dataset/log_model instead")


# --------------------------------------------------------------------------- messages


def _summary(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if len(first) > 300:
        first = first[:297] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _user_frame(exc: BaseException, source_file: str | None) -> str:
    """`` (at FILE:LINE in FUNC)``: the innermost frame in the handler's file, else the
    innermost frame outside flowc's runtime."""
    runtime_dir = os.path.dirname(os.path.abspath(__file__))
    source = os.path.abspath(source_file) if source_file else None
    in_source = outside = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        filename = os.path.abspath(frame.filename) if not frame.filename.startswith("<") \
            else frame.filename
        text = f" (at {frame.filename}:{frame.lineno} in {frame.name})"
        if filename == source or frame.filename.startswith("<flowc step source"):
            in_source = text
        if not filename.startswith(runtime_dir + os.sep):
            outside = text
    return in_source or outside
