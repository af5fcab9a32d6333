"""The workflow DSL: the calls a workflow function makes while it is traced.

Each call records a step in the active trace (see :mod:`flowc.compiler.context`) and
returns a :class:`StepHandle` whose ``.outputs[...]`` are stand-ins. The names and signatures
follow MLRun's ``mlrun.run_function`` & co. so that MLRun workflow files trace unchanged.
Handles live in :mod:`.handles`, conditions in :mod:`.conditions`, the traced project in
:mod:`.project_view`; all are re-exported here as the DSL's one namespace.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..diagnostics import TraceError
from ..ir import OUTPUT_TYPES, Expr, FunctionRef, Hyper, Output, OutputRef, Value
from . import context as ctx
from .conditions import Condition  # noqa: F401  (re-exported: part of the DSL)
from .grammar import ExpressionSyntaxError, parse_expression
from .handles import FunctionHandle, OutputsView, StepHandle  # noqa: F401  (re-exported)
from .project_view import (  # noqa: F401  (re-exported: part of the DSL)
    CurrentProjectProxy,
    TracedProject,
    get_current_project,
)
from .values import to_value

_OUTPUT_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


# --------------------------------------------------------------------------- user objects


@dataclass
class HyperParamOptions:
    """How a hyper-parameter run iterates and picks its best iteration (MLRun's names)."""

    param_file: str | None = None
    strategy: str | None = None
    selector: str | None = None
    stop_condition: str | None = None
    parallel_runs: int | None = None
    dask_cluster_uri: str | None = None
    max_iterations: int | None = None
    max_errors: int | None = None
    teardown_dask: bool | None = None


@dataclass
class EntrypointParam:
    """One entry of a workflow's ``args_schema`` (MLRun's ``mlrun.model.EntrypointParam``)."""

    name: str = ""
    type: str | None = None
    default: Any = None
    doc: str = ""
    required: bool | None = None
    choices: list | None = None

    def to_dict(self) -> dict:
        data: dict[str, Any] = {"name": self.name}
        for key in ("type", "default", "doc", "required", "choices"):
            value = getattr(self, key)
            if value not in (None, ""):
                data[key] = value
        return data


# --------------------------------------------------------------------------- decorator


def workflow(_fn: Callable | None = None, *, name: str | None = None, description: str = "",
             args_schema: list | None = None) -> Callable:
    """Mark a function as a workflow (optional; ``@dsl.pipeline`` works the same way)."""

    def mark(fn: Callable) -> Callable:
        fn.__flowc_workflow__ = {"name": name, "description": description,  # type: ignore
                                 "args_schema": list(args_schema or [])}
        return fn

    return mark(_fn) if _fn is not None else mark


# --------------------------------------------------------------------------- functions


def import_function(url: str = "", secrets: Any = None, db: str = "", project: Any = None,
                    new_name: str | None = None) -> FunctionHandle:
    """Import a function from the hub (``hub://NAME``) or a YAML/Python file."""
    state = ctx.require("import_function")
    ref = resolve_function_url(url, state)
    if new_name:
        ref = FunctionRef(name=new_name, url=ref.url, kind=ref.kind, handler=ref.handler,
                          image=ref.image, requirements=ref.requirements)
    return FunctionHandle(ref)


def resolve_function_url(url: str, state: ctx.TraceState) -> FunctionRef:
    """A FunctionRef for a ``hub://`` URL or a file path (relative to the workflow base)."""
    if url.startswith("hub://"):
        name = url[len("hub://"):].split(":")[0].split("/")[-1]
        kind, handler = _hub_kind(name)
        return FunctionRef(name=name.replace("_", "-"), url=url, kind=kind, handler=handler)
    stem = os.path.splitext(os.path.basename(url))[0] or "function"
    if url.endswith((".yaml", ".yml")):
        return _function_from_yaml(url, state, stem)
    return FunctionRef(name=stem.replace("_", "-"), url=url)


def _hub_kind(name: str) -> tuple[str, str | None]:
    """Kind and default handler of a hub function, read from its function.yaml."""
    from ..diagnostics import FlowcError
    from ..hub import resolve

    try:
        found = resolve(f"hub://{name}")
    except FlowcError:  # unknown hub function: kept, and reported by lint (FC301)
        return "job", None
    return found.kind or "job", found.handler


def _function_from_yaml(url: str, state: ctx.TraceState, stem: str) -> FunctionRef:
    import yaml

    path = url if os.path.isabs(url) else os.path.join(state.base_dir, url)
    try:
        with open(path, encoding="utf-8") as handle:
            doc = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError):
        return FunctionRef(name=stem, url=url)
    meta = doc.get("metadata") or {}
    spec = doc.get("spec") or {}
    image = spec.get("image") or None
    return FunctionRef(name=str(meta.get("name") or stem), url=url, kind=str(doc.get("kind") or "job"),
                       handler=spec.get("default_handler") or None, image=image)


def _function_ref(function: Any, state: ctx.TraceState, site: ctx.CallSite) -> FunctionRef:
    if isinstance(function, FunctionHandle):
        return function.ref
    if isinstance(function, str):
        if state.project is not None:
            spec = state.project.functions.get(function)
            if spec is not None:
                return spec.to_ref()
        if function.startswith("hub://") or function.endswith((".py", ".yaml", ".yml")):
            return resolve_function_url(function, state)
        # Unknown to the project: kept, and reported by lint (FC301) / backends.
        return FunctionRef(name=function, url=None)
    if callable(function) and hasattr(function, "__code__"):
        source = function.__code__.co_filename
        return FunctionRef(name=ctx.legal_name(function.__name__),
                           url=ctx.relpath_from(source, state.base_dir),
                           handler=function.__name__)
    raise TraceError(
        f"cannot run {function!r}: expected a function name, an imported function or a Python "
        "function", code="FC301", location=state.locate(site),
        hint="e.g. run_function('train', ...) with 'train' set in the project")


def _image_for(ref: FunctionRef, state: ctx.TraceState) -> FunctionRef:
    """Later steps of a function that a build step built run on the built image."""
    build_step = state.built_images.get(ref.name)
    if build_step is None:
        return ref
    return FunctionRef(name=ref.name, url=ref.url, kind=ref.kind, handler=ref.handler,
                       image=OutputRef(build_step, "image"), requirements=ref.requirements)


# --------------------------------------------------------------------------- outputs


def _parse_outputs(outputs: list | None, ref: FunctionRef, handler: str | None,
                   state: ctx.TraceState, site: ctx.CallSite) -> tuple[Output, ...]:
    if outputs is None:
        return ()
    if isinstance(outputs, str):
        outputs = [outputs]
    logged: dict[str, str] | None = None
    result: list[Output] = []
    seen: set[str] = set()
    for entry in outputs:
        if not isinstance(entry, str):
            raise TraceError(f"outputs must be strings like 'model' or 'model:model', got "
                             f"{entry!r}", code="FC103", location=state.locate(site))
        name, _, type_ = (part.strip() for part in entry.partition(":"))
        if not _OUTPUT_NAME.match(name):
            raise TraceError(f"output name {name!r} may only hold letters, digits, _ . -",
                             code="FC103", location=state.locate(site))
        if type_ and type_ not in OUTPUT_TYPES:
            raise TraceError(f"output {name!r} has unknown type {type_!r}", code="FC103",
                             location=state.locate(site),
                             hint=f"types: {', '.join(OUTPUT_TYPES)}")
        if name in seen:
            raise TraceError(f"output {name!r} is declared twice", code="FC103",
                             location=state.locate(site))
        seen.add(name)
        if not type_:
            if logged is None:
                logged = _logged_by_handler(ref, handler, state)
            type_ = logged.get(name, "artifact")
        result.append(Output(name=name, type=type_))
    return tuple(result)


def _logged_by_handler(ref: FunctionRef, handler: str | None, state: ctx.TraceState) -> dict:
    path = function_source_path(ref, state.base_dir)
    if path is None or not handler:
        return {}
    from .handlers import read_handler

    try:
        info = read_handler(path, handler)
    except Exception:  # unreadable source: lint reports it; tracing goes on
        return {}
    return dict(info.logged) if info else {}


def function_source_path(ref: FunctionRef, base_dir: str) -> str | None:
    """The local ``.py`` file that holds a function's handlers, when there is one."""
    url = ref.url
    if not url:
        return None
    if url.startswith("hub://"):
        try:
            from ..hub import resolve

            found = resolve(url)
        except Exception:
            return None
        return getattr(found, "source_file", None)
    if not url.endswith(".py"):
        return None
    path = url if os.path.isabs(url) else os.path.join(base_dir, url)
    return path if os.path.isfile(path) else None


# --------------------------------------------------------------------------- steps


def _condition(state: ctx.TraceState) -> Value:
    if not state.conditions:
        return None
    if len(state.conditions) == 1:
        return state.conditions[0]
    return Expr("and", tuple(state.conditions))


def _as_dict(value: Any, what: str, state: ctx.TraceState, site: ctx.CallSite) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TraceError(f"{what} must be a dict, got {type(value).__name__}", code="FC201",
                         location=state.locate(site))
    converted = to_value(dict(value), what)
    assert isinstance(converted, dict)
    return converted


def _record(state: ctx.TraceState, *, name: str, kind: str, ref: FunctionRef,
            handler: str | None, params: dict, inputs: dict, outputs: tuple[Output, ...],
            hyper: Hyper | None, site: ctx.CallSite) -> StepHandle:
    record = ctx.StepRecord(name=state.unique_name(name), kind=kind, function=ref,
                            handler=handler, params=params, inputs=inputs, outputs=outputs,
                            hyper=hyper, condition=_condition(state), site=site)
    state.add(record)
    handle = StepHandle(record, state)
    for block in state.condition_blocks:
        block.steps.append(record.name)
        if block._after:
            handle.after(*block._after)
    return handle


# MLRun options that only steer MLRun's own machinery: accepted so that MLRun workflow files
# trace unchanged, noted (FC442) when they would change what runs.
_IGNORED_RUN_OPTIONS = ("schedule", "local", "retry", "auto_build", "base_task",
                        "reset_on_run", "workdir", "output_path", "notifications")

_RETURN_KINDS = {"dataset": "dataset", "model": "model", "artifact": "artifact",
                 "file": "artifact", "directory": "artifact", "plot": "artifact",
                 "object": "artifact"}


def run_function(function: Any, handler: str | None = None, name: str = "",
                 params: dict | None = None, hyperparams: dict | None = None,
                 hyper_param_options: HyperParamOptions | None = None,
                 inputs: dict | None = None, outputs: list | None = None,
                 workdir: str = "", labels: dict | None = None, base_task: Any = None,
                 watch: bool = True, local: bool | None = None, verbose: bool | None = None,
                 selector: str | None = None, project_object: Any = None,
                 auto_build: bool | None = None, schedule: Any = None,
                 notifications: list | None = None, returns: list | None = None,
                 builder_env: dict | None = None, reset_on_run: bool | None = None,
                 output_path: str | None = None, retry: Any = None) -> StepHandle:
    """Record a run of ``function`` (its ``handler``) as a step; see MLRun's run_function.

    The signature is MLRun's; an unknown keyword is an error at the caller's line, and MLRun
    options that flowc does not apply are reported (FC442) rather than silently dropped.
    """
    state = ctx.require("run_function")
    site = ctx.call_site()
    _note_ignored(state, site, "run_function", {k: v for k, v in locals().items()
                                                if k in _IGNORED_RUN_OPTIONS})
    ref = _image_for(_function_ref(function, state, site), state)
    handler = handler or ref.handler
    step_params = _as_dict(params, "params", state, site)
    step_inputs = _as_dict(inputs, "inputs", state, site)
    if selector and hyperparams and (hyper_param_options is None or
                                     not hyper_param_options.selector):
        options = hyper_param_options or HyperParamOptions()
        hyper_param_options = HyperParamOptions(**{**options.__dict__, "selector": selector})
    hyper = _hyper(hyperparams, hyper_param_options, state, site)
    if outputs is None and returns:
        outputs = [_return_hint_to_output(hint, state, site) for hint in returns]
    declared = _parse_outputs(outputs, ref, handler, state, site)
    return _record(state, name=name or ref.name, kind="run", ref=ref, handler=handler,
                   params=step_params, inputs=step_inputs, outputs=declared, hyper=hyper,
                   site=site)


def _return_hint_to_output(hint: Any, state: ctx.TraceState, site: ctx.CallSite) -> str:
    """MLRun's ``returns`` log hint (``"key"``, ``"key : dataset"``) as an output declaration."""
    if not isinstance(hint, str):
        raise TraceError(f"returns entries must be strings like 'model : model', got {hint!r}",
                         code="FC103", location=state.locate(site))
    key, _, kind = (part.strip() for part in hint.partition(":"))
    kind = kind.split("[")[0].strip()
    mapped = _RETURN_KINDS.get(kind)
    return f"{key}:{mapped}" if mapped else key


def _note_ignored(state: ctx.TraceState, site: ctx.CallSite, call: str,
                  options: dict[str, Any]) -> None:
    defaults = {"workdir": "", "reset_on_run": None}
    for key, value in options.items():
        if value is not None and value != defaults.get(key) and value is not False:
            state.warn("FC442", f"{call}({key}=...) is an MLRun option that flowc does not "
                       "apply; it is ignored", site,
                       hint="remove it, or use the backend's own feature (e.g. KFP retries)")


def build_function(function: Any, with_mlrun: bool | None = None, skip_deployed: bool = False,
                   image: str | None = None, base_image: str | None = None,
                   commands: list | None = None, secret_name: str | None = None,
                   requirements: list | str | None = None,
                   requirements_file: str | None = None,
                   mlrun_version_specifier: str | None = None,
                   builder_env: dict | None = None, project_object: Any = None,
                   overwrite_build_params: bool = True, extra_args: str | None = None,
                   force_build: bool = False) -> StepHandle:
    """Record an image build of ``function``; later runs of it use the built ``image``."""
    state = ctx.require("build_function")
    site = ctx.call_site()
    _note_ignored(state, site, "build_function",
                  {"requirements_file": requirements_file, "extra_args": extra_args,
                   "mlrun_version_specifier": mlrun_version_specifier})
    ref = _function_ref(function, state, site)
    params: dict[str, Any] = {}
    for key, value in (("image", image), ("base_image", base_image), ("commands", commands),
                       ("requirements", requirements), ("secret_name", secret_name)):
        if value is not None:
            params[key] = to_value(value, key)
    if "requirements" not in params and ref.requirements:
        params["requirements"] = list(ref.requirements)
    handle = _record(state, name=f"build-{ref.name}", kind="build", ref=ref, handler=None,
                     params=params, inputs={}, outputs=(Output(name="image", type="str"),),
                     hyper=None, site=site)
    state.built_images[ref.name] = handle.step.name
    return handle


def deploy_function(function: Any, models: list | None = None, env: dict | None = None,
                    tag: str | None = None, verbose: bool | None = None,
                    builder_env: dict | None = None, project_object: Any = None,
                    mock: bool | None = None) -> StepHandle:
    """Record a deployment of a serving ``function`` with ``models`` to serve."""
    state = ctx.require("deploy_function")
    site = ctx.call_site()
    ref = _image_for(_function_ref(function, state, site), state)
    params: dict[str, Any] = {}
    if isinstance(models, Mapping):  # MLRun's older form: {key: model_path}
        models = [{"key": key, "model_path": path} for key, path in models.items()]
    if models is not None:
        if not isinstance(models, (list, tuple)):
            raise TraceError("models must be a list of {'key': ..., 'model_path': ...}",
                             code="FC201", location=state.locate(site))
        params["models"] = to_value(list(models), "models")
    if env is not None:
        params["env"] = _as_dict(env, "env", state, site)
    if tag is not None:
        params["tag"] = tag
    return _record(state, name=f"deploy-{ref.name}", kind="deploy", ref=ref, handler=ref.handler,
                   params=params, inputs={},
                   outputs=(Output(name="endpoint", type="str"), Output(name="name", type="str")),
                   hyper=None, site=site)


def _hyper(hyperparams: dict | None, options: HyperParamOptions | None,
           state: ctx.TraceState, site: ctx.CallSite) -> Hyper | None:
    if not hyperparams and (options is None or options.param_file is None):
        return None
    values = _as_dict(hyperparams or {}, "hyperparams", state, site)
    options = options or HyperParamOptions()
    if options.param_file:
        state.warn("FC405", "hyper-parameter param_file is not supported; its rows are ignored",
                   site, hint="list the values in hyperparams={...}")
    strategy = options.strategy or ("list" if options.param_file else "grid")
    if strategy not in ("grid", "list", "random", "custom"):
        raise TraceError(f"unknown hyper-parameter strategy {strategy!r}", code="FC207",
                         location=state.locate(site), hint="use grid, list or random")
    for key, candidates in values.items():
        if not isinstance(candidates, list):
            raise TraceError(f"hyperparams[{key!r}] must be a list of candidate values",
                             code="FC207", location=state.locate(site))
    if strategy == "list":
        lengths = {len(v) for v in values.values()}
        if len(lengths) > 1:
            raise TraceError("with strategy 'list' every hyperparams list must have the same "
                             "length", code="FC207", location=state.locate(site))
    selector = options.selector
    if selector is not None:
        selector = str(selector)
        if not re.match(r"^((max|min)\.)?[A-Za-z_][\w\-]*$", selector):
            raise TraceError(f"selector {selector!r} must look like 'max.accuracy' or "
                             "'min.loss'", code="FC207", location=state.locate(site))
        if "." not in selector:
            selector = f"max.{selector}"  # MLRun's default direction
    stop: Value = None
    if options.stop_condition:
        try:
            stop = parse_expression(str(options.stop_condition))
        except ExpressionSyntaxError as exc:
            raise TraceError(f"stop_condition: {exc}\n    {exc.context.replace(chr(10), chr(10) + '    ')}",
                             code="FC208", location=state.locate(site),
                             hint="use comparisons of result names joined with and/or, "
                                  "e.g. 'accuracy > 0.9 and loss < 0.2'") from None
    return Hyper(params=values, strategy=strategy, selector=selector, stop_condition=stop,
                 max_iterations=options.max_iterations, max_errors=options.max_errors,
                 parallel_runs=options.parallel_runs)
