"""KFP's executor protocol over flowc's step runtime: what runs inside a KFP container.

``python -m flowc.runtime kfp --executor-input JSON --spec JSON [--source CODE]``

The KFP driver substitutes ``{{$}}`` with the executor input (parameter values, input and
output artifacts with their URIs, the executor output file). This module builds a
:class:`~flowc.runtime.core.StepCall` from it, runs the handler with
:func:`~flowc.runtime.core.execute`, and writes the executor output file (parameter values,
output artifacts with metadata) exactly where kfp's lightweight components write it, so KFP
records results natively. ``--spec`` (written by the compiler) says what kfp would know from
a Python signature: parameter types, which inputs are data, declared outputs, secrets and
value templates. Spec kinds: ``run`` (a handler), ``select`` (best hyper-parameter trial),
``deploy`` (a KServe InferenceService).

Artifacts: KFP gives every output artifact a URI (``gs://``/``s3://``/``minio://`` are
mounted under ``/gcs``, ``/s3``, ``/minio``, as kfp's executor does). flowc writes the file
or folder the handler logged *inside* that location and records its name in the artifact
metadata (``flowc_file``), so the next step reads ``data.parquet``, not an extensionless blob.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from typing import Any, Sequence

# URI scheme -> local mount prefix (the convention of KFP's launcher and kfp's executor).
_MOUNTS = (("gs://", "/gcs/"), ("s3://", "/s3/"), ("minio://", "/minio/"))
_ARTIFACT_TYPES = ("artifact", "dataset", "model")


class ExecutorError(Exception):
    """The executor input or spec is unusable (not the handler's fault)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the process exit status (0 ok, 1 step failed, 2 bad call)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        options = _options(args)
        executor_input = json.loads(options["executor-input"])
        spec = json.loads(options["spec"])
        if not isinstance(executor_input, dict) or not isinstance(spec, dict):
            raise ValueError("--executor-input and --spec must be JSON objects")
    except (ValueError, KeyError) as exc:
        print(f"flowc kfp executor: bad arguments: {exc}", file=sys.stderr)
        return 2
    from .core import StepFailed

    try:
        kind = spec.get("kind", "run")
        if kind == "run":
            output = run_step(executor_input, spec, options.get("source"))
        elif kind == "select":
            output = select_best(executor_input, spec)
        elif kind == "deploy":
            output = deploy(executor_input, spec, options.get("source"))
        else:
            raise ExecutorError(f"unknown spec kind {kind!r}")
    except StepFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        if getattr(exc, "details", None):
            sys.stderr.write(exc.details)
        return 1
    except ExecutorError as exc:
        print(f"flowc kfp executor: {exc}", file=sys.stderr)
        return 2
    write_executor_output(executor_input, output)
    return 0


def _options(args: list[str]) -> dict[str, str]:
    names = ("executor-input", "spec", "source")
    values: dict[str, str] = {}
    while args:
        item = args.pop(0)
        key = item[2:] if item.startswith("--") else None
        if key not in names or not args:
            raise ValueError(f"unexpected argument {item!r}")
        values[key] = args.pop(0)
    for required in ("executor-input", "spec"):
        if required not in values:
            raise KeyError(f"--{required} is required")
    return values


# ------------------------------------------------------------------ executor input helpers


def local_path(uri: str) -> str:
    """Where an artifact URI is mounted in the container (local paths stay as they are)."""
    for scheme, mount in _MOUNTS:
        if uri.startswith(scheme):
            return mount + uri[len(scheme):]
    if uri.startswith("file://"):
        return uri[len("file://"):]
    return uri


def _artifact_entry(executor_input: dict, side: str, name: str) -> list[dict]:
    return (executor_input.get(side, {}).get("artifacts", {}).get(name, {})
            .get("artifacts") or [])


def input_artifact_path(artifact: dict) -> str:
    """The file or folder a consumer should read for an input artifact."""
    path = local_path(artifact.get("uri", ""))
    name = (artifact.get("metadata") or {}).get("flowc_file")
    if name and os.path.exists(os.path.join(path, name)):
        return os.path.join(path, name)
    if os.path.isdir(path):
        entries = [e for e in os.listdir(path) if not e.startswith(".")]
        if len(entries) == 1:
            return os.path.join(path, entries[0])
    return path


def cast(value: Any, typ: str | None) -> Any:
    """A parameter value as the declared IR type (KFP carries every number as a double)."""
    if value is None or typ is None:
        return value
    try:
        if typ == "int" and isinstance(value, (int, float, str)) and not isinstance(value, bool):
            return int(float(value))
        if typ == "float" and isinstance(value, (int, float, str)) and \
                not isinstance(value, bool):
            return float(value)
        if typ == "bool" and isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        if typ == "str" and not isinstance(value, str):
            return json.dumps(value) if isinstance(value, (dict, list, bool)) else str(value)
        if typ in ("list", "dict") and isinstance(value, str):
            return json.loads(value)
    except (ValueError, TypeError):
        return value
    if typ == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def resolve_template(value: Any, params: dict, artifact_ref) -> Any:
    """Fill a compiler template: ``{"$input": ch}``, ``{"$artifact": ch}``,
    ``{"$concat": [...]}`` and ``{"$literal": {...}}`` (no eval, a fixed set of forms)."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, inner), = value.items()
            if key == "$input":
                if inner not in params:
                    raise ExecutorError(f"template input {inner!r} is missing")
                return params[inner]
            if key == "$artifact":
                return artifact_ref(inner)
            if key == "$concat":
                return "".join(_text(resolve_template(p, params, artifact_ref)) for p in inner)
            if key == "$literal":
                return {k: resolve_template(v, params, artifact_ref) for k, v in inner.items()}
        return {k: resolve_template(v, params, artifact_ref) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_template(v, params, artifact_ref) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list, bool)) or value is None:
        return json.dumps(value)
    return str(value)


# ------------------------------------------------------------------ run


def run_step(executor_input: dict, spec: dict, source: str | None) -> dict:
    """Run the handler; returns the executor output dict."""
    from ..evaluate import evaluate
    from .core import StepCall, StepFailed, execute

    inputs = executor_input.get("inputs", {})
    values = dict(inputs.get("parameterValues") or {})
    types: dict[str, str] = spec.get("params") or {}
    data = set(spec.get("data") or ())
    params: dict[str, Any] = {}
    call_inputs: dict[str, str] = {}
    for name, typ in types.items():
        if name not in values:
            continue
        value = cast(values[name], typ)
        if name in data:
            call_inputs[name] = str(value)
        else:
            params[name] = value
    for name in data:
        entries = _artifact_entry(executor_input, "inputs", name)
        if entries:
            call_inputs[name] = input_artifact_path(entries[0])

    def artifact_path(channel: str) -> str:
        entries = _artifact_entry(executor_input, "inputs", channel)
        if not entries:
            raise ExecutorError(f"template artifact {channel!r} is missing")
        return input_artifact_path(entries[0])

    for name, template in (spec.get("templates") or {}).items():
        params[name] = resolve_template(template, values, artifact_path)
    secret_env: dict[str, str] = spec.get("secret_env") or {}

    def secret(key: str) -> str:
        env = secret_env.get(key)
        if not env or env not in os.environ:
            raise StepFailed(f"secret {key!r} is not available (environment variable "
                             f"{env or '?'} is not set from the Kubernetes secret)")
        return os.environ[env]

    for name, value in (spec.get("secrets") or {}).items():
        from ..ir import value_from_json

        params[name] = evaluate(value_from_json(value), secrets=secret)

    outputs = [(str(n), str(t)) for n, t in spec.get("outputs") or ()]
    step = _step_name(executor_input, spec)
    artifact_dir = tempfile.mkdtemp(prefix=f"flowc-{step}-")
    handler = spec["handler"]
    source_file = None
    if source is None:
        source_file, handler = module_handler(handler)
    call = StepCall(step=step, run_id=os.environ.get("FLOWC_RUN_ID", "kfp"),
                    project=spec.get("project"), handler=handler,
                    source_file=source_file,
                    source_code=source, params=params, inputs=call_inputs, outputs=outputs,
                    artifact_dir=artifact_dir)
    try:
        result = execute(call)
        output = _executor_output(executor_input, outputs, result.results, result.artifacts)
        if spec.get("metrics"):
            _add_metrics(executor_input, output, spec["metrics"], result.results)
        return output
    finally:
        shutil.rmtree(artifact_dir, ignore_errors=True)


def module_handler(handler: str) -> tuple[str, str]:
    """For a function that only names an image: ``pkg.mod.func`` -> (the file of ``pkg.mod``
    importable in this container, ``func``)."""
    import importlib.util

    from .core import StepFailed

    parts = handler.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:cut])
        try:
            found = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            found = None
        if found is not None and found.origin and found.origin.endswith(".py"):
            return found.origin, ".".join(parts[cut:])
    raise StepFailed(f"handler {handler!r}: no importable module.function of that name in "
                     "this image (give the function a source file, or a dotted handler)")


def _step_name(executor_input: dict, spec: dict) -> str:
    """The task name when KFP's paths reveal it (…/<task>/executor_output.json), else the
    handler name."""
    output_file = executor_input.get("outputs", {}).get("outputFile", "")
    parent = os.path.basename(os.path.dirname(output_file))
    if parent and parent not in ("kfp_outputs", "tmp"):
        return parent
    return str(spec.get("handler") or spec.get("function") or "step")


def _executor_output(executor_input: dict, outputs: list[tuple[str, str]],
                     results: dict, artifacts: dict) -> dict:
    parameter_values: dict[str, Any] = {}
    out_artifacts: dict[str, Any] = {}
    for name, typ in outputs:
        if typ in _ARTIFACT_TYPES:
            entries = _artifact_entry(executor_input, "outputs", name)
            if not entries:
                continue
            target = dict(entries[0])
            info = artifacts.get(name)
            metadata = dict(target.get("metadata") or {})
            if info is not None:
                source_path = info["path"]
                base = os.path.basename(source_path.rstrip("/"))
                _place(source_path, os.path.join(local_path(target["uri"]), base))
                metadata.update({"flowc_file": base, "flowc_kind": info.get("kind", typ)})
            elif name in results:
                # A value where an artifact was declared: store it as a text file.
                path = os.path.join(local_path(target["uri"]), f"{name}.txt")
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(_text(results[name]))
                metadata.update({"flowc_file": f"{name}.txt", "flowc_kind": "artifact"})
            out_artifacts[name] = {"artifacts": [{"name": target.get("name", name),
                                                  "uri": target["uri"],
                                                  "metadata": metadata}]}
        else:
            if name in results:
                parameter_values[name] = cast(results[name], typ)
            elif name in artifacts:
                parameter_values[name] = cast(artifacts[name].get("uri") or
                                              artifacts[name]["path"], typ)
    output: dict[str, Any] = {}
    if parameter_values:
        output["parameterValues"] = parameter_values
    if out_artifacts:
        output["artifacts"] = out_artifacts
    return output


def _add_metrics(executor_input: dict, output: dict, name: str, results: dict) -> None:
    """Numeric results as a ``system.Metrics`` artifact (its metadata is what KFP shows)."""
    entries = _artifact_entry(executor_input, "outputs", name)
    if not entries:
        return
    target = entries[0]
    metrics = {k: float(v) for k, v in sorted(results.items())
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    path = local_path(target["uri"])
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(metrics, handle)
    output.setdefault("artifacts", {})[name] = {"artifacts": [{
        "name": target.get("name", name), "uri": target["uri"], "metadata": metrics}]}


def _place(source: str, target: str) -> None:
    """Copy a logged artifact (file or folder) to its KFP location."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.isdir(source):
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)


def write_executor_output(executor_input: dict, output: dict) -> None:
    """Write the executor output file KFP reads (atomically)."""
    path = executor_input.get("outputs", {}).get("outputFile")
    if not path:
        return
    path = local_path(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".flowc-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(output, handle)
    os.replace(tmp, path)


# ------------------------------------------------------------------ select


def parse_selector(selector: str | None) -> tuple[str, str | None]:
    """``max.accuracy`` -> ("max", "accuracy"); a bare name means max (as MLRun)."""
    if not selector:
        return "max", None
    order, _, metric = selector.rpartition(".")
    order = order or "max"
    if order not in ("max", "min"):
        raise ExecutorError(f"selector {selector!r}: use max.<result> or min.<result>")
    return order, metric


def best_index(order: str, values: list) -> int:
    """Index of the best numeric value (first one on ties); failed trials (None) lose."""
    best = None
    for index, value in enumerate(values):
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if best is None or (number > best[1] if order == "max" else number < best[1]):
            best = (index, number)
    if best is None:
        from .core import StepFailed

        raise StepFailed("no hyper-parameter trial produced the selector's result")
    return best[0]


def select_best(executor_input: dict, spec: dict) -> dict:
    """Pick the best trial by the selector and expose its outputs under the step's names."""
    inputs = executor_input.get("inputs", {})
    values = inputs.get("parameterValues") or {}
    order, metric = parse_selector(spec.get("selector"))
    if metric:
        index = best_index(order, list(values.get(metric) or []))
    else:
        index = 0
    results: dict[str, Any] = {}
    artifacts: dict[str, dict] = {}
    for name, typ in spec.get("outputs") or ():
        if name == "best_iteration" and "best_iteration" not in values:
            results[name] = index + 1  # MLRun numbers iterations from 1
        elif typ in _ARTIFACT_TYPES:
            entries = _artifact_entry(executor_input, "inputs", name)
            if index < len(entries):
                artifacts[name] = {"path": input_artifact_path(entries[index]), "kind": typ}
        else:
            column = values.get(name)
            if isinstance(column, list) and index < len(column):
                results[name] = column[index]
    outputs = [(str(n), str(t)) for n, t in spec.get("outputs") or ()]
    print(f"flowc: best trial {index + 1} of {len(spec.get('items') or [])} "
          f"({spec.get('selector') or 'first'}): {json.dumps((spec.get('items') or [{}])[index] if spec.get('items') else {})}")
    return _executor_output(executor_input, outputs, results, artifacts)


# ------------------------------------------------------------------ deploy


def deploy(executor_input: dict, spec: dict, source: str | None) -> dict:
    """Create or update the KServe InferenceService; outputs ``endpoint`` and ``name``."""
    from ..backends.kfp import kserve
    from .core import StepFailed

    values = (executor_input.get("inputs", {}).get("parameterValues") or {})

    def artifact_uri(channel: str) -> str:
        entries = _artifact_entry(executor_input, "inputs", channel)
        if not entries:
            raise ExecutorError(f"model artifact {channel!r} is missing")
        uri = entries[0].get("uri", "")
        name = (entries[0].get("metadata") or {}).get("flowc_file")
        return f"{uri.rstrip('/')}/{name}" if name else uri

    params = {name: resolve_template(t, values, artifact_uri)
              for name, t in (spec.get("templates") or {}).items()}
    models = params.get("models") or []
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        raise StepFailed("deploy: models must be a list of {key, model_path} entries")
    name = kserve.service_name(spec.get("project"), spec.get("function") or "serving")
    namespace = kserve.namespace()
    manifest = kserve.inference_service(
        name=name, namespace=namespace, image=spec.get("serving_image") or "python:3.11-slim",
        models=models, source_code=source, class_name=spec.get("default_class"),
        env=params.get("env") if isinstance(params.get("env"), dict) else None,
        function=spec.get("function") or "")
    try:
        client = kserve.KubeClient()
        kserve.apply(client, manifest)
        timeout = float(os.environ.get("FLOWC_DEPLOY_TIMEOUT", "600"))
        url = kserve.wait_ready(client, namespace, name, timeout=timeout,
                                interval=float(os.environ.get("FLOWC_DEPLOY_POLL", "2")))
    except kserve.DeployError as exc:
        raise StepFailed(f"deploy {name}: {exc}") from None
    print(f"flowc: InferenceService {namespace}/{name} ready at {url}")
    outputs = [(str(n), str(t)) for n, t in spec.get("outputs") or ()]
    return _executor_output(executor_input, outputs, {"endpoint": url, "name": name}, {})
