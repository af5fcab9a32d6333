"""The workflow DSL: the calls a workflow function makes while it is traced.

Each call records a step in the active trace (see :mod:`flowc.compiler.context`) and
returns a :class:`StepHandle` whose ``.outputs[...]`` are stand-ins. The names and signatures
follow MLRun's ``mlrun.run_function`` & co. so that MLRun workflow files trace unchanged.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from ..diagnostics import TraceError
from ..ir import OUTPUT_TYPES, Expr, FunctionRef, Hyper, Output, OutputRef, Value
from . import context as ctx
from .grammar import ExpressionSyntaxError, parse_expression
from .values import StandIn, Symbolic, to_value

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


class _Ignored:
    """What MLRun runtime configuration returns while tracing (``fn.spec``,
    ``fn.set_topology(...)``, ``graph.to(...)``): accepts any attribute, call or assignment.
    flowc notes the first use on the function (FC442) and applies none of it."""

    def __init__(self, what: str) -> None:
        object.__setattr__(self, "_what", what)

    def __getattr__(self, name: str) -> "_Ignored":
        if name.startswith("__"):
            raise AttributeError(name)
        return _Ignored(f"{self._what}.{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> "_Ignored":
        return self

    def __repr__(self) -> str:
        return f"<ignored {self._what}>"


@dataclass
class FunctionHandle:
    """A function imported with :func:`import_function` (or a project function by name).

    MLRun workflows configure function objects before running them (``with_requests``,
    ``spec.readiness_timeout``, ``set_topology``, ...): such settings are accepted and noted
    (FC442), ``with_requirements`` is kept, and MLRun's ``as_step``/``deploy_step`` record
    steps like ``run_function``/``deploy_function``.
    """

    ref: FunctionRef

    @property
    def name(self) -> str:
        return self.ref.name

    def as_step(self, name: str = "", handler: str | None = None, params: dict | None = None,
                hyperparams: dict | None = None, selector: str | None = None,
                hyper_param_options: HyperParamOptions | None = None,
                inputs: dict | None = None, outputs: list | None = None,
                image: Any = None, **_: Any) -> "StepHandle":
        """MLRun's legacy ``fn.as_step(...)``: a run step of this function."""
        function: Any = self
        if image is not None:
            value = to_value(image, "image")
            function = FunctionHandle(FunctionRef(
                name=self.ref.name, url=self.ref.url, kind=self.ref.kind,
                handler=self.ref.handler, image=value, requirements=self.ref.requirements))
        return run_function(function, handler=handler, name=name, params=params,
                            hyperparams=hyperparams, hyper_param_options=hyper_param_options,
                            inputs=inputs, outputs=outputs, selector=selector)

    def deploy_step(self, models: list | None = None, env: dict | None = None,
                    tag: str | None = None, **_: Any) -> "StepHandle":
        """MLRun's legacy ``fn.deploy_step(...)``: deploys a serving/nuclio function, and
        builds the image of any other kind (as MLRun does; the step outputs ``image``)."""
        if self.ref.kind not in ("serving", "nuclio", "remote"):
            return build_function(self)
        return deploy_function(self, models=models, env=env, tag=tag)

    def with_requirements(self, requirements: list | str | None = None,
                          *_: Any, **__: Any) -> "FunctionHandle":
        if isinstance(requirements, str):
            requirements = [requirements]
        self.ref = FunctionRef(name=self.ref.name, url=self.ref.url, kind=self.ref.kind,
                               handler=self.ref.handler, image=self.ref.image,
                               requirements=tuple(self.ref.requirements) + tuple(
                                   str(r) for r in requirements or ()))
        return self

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        state = ctx.current()
        if state is not None:
            state.warn("FC442", f"function {self.ref.name!r}: .{name} is MLRun runtime "
                       "configuration that flowc does not apply; it is ignored",
                       ctx.call_site(), hint="configure resources, env and serving graphs on "
                                             "the backend (KFP platform config, project.yaml)")
        return _Ignored(f"{self.ref.name}.{name}")

    def __repr__(self) -> str:
        return f"<function {self.ref.name} ({self.ref.url})>"


class OutputsView(Mapping[str, StandIn]):
    """``step.outputs``: declared outputs by name; an undeclared name is a trace error."""

    __slots__ = ("_handle",)

    def __init__(self, handle: "StepHandle") -> None:
        self._handle = handle

    def __getitem__(self, name: str) -> StandIn:
        return self._handle.output(name)

    def __iter__(self) -> Iterator[str]:
        return iter(o.name for o in self._handle.step.outputs)

    def __len__(self) -> int:
        return len(self._handle.step.outputs)

    def __contains__(self, name: object) -> bool:
        return any(o.name == name for o in self._handle.step.outputs)

    def __repr__(self) -> str:
        step = self._handle.step.name
        return "{" + ", ".join(f"{o.name!r}: <output {step}.{o.name} ({o.type})>"
                               for o in self._handle.step.outputs) + "}"


@dataclass(eq=False)
class StepHandle:
    """What a DSL call returns: the recorded step, its outputs, and ``.after()``."""

    step: ctx.StepRecord
    state: ctx.TraceState = field(repr=False)

    @property
    def name(self) -> str:
        return self.step.name

    @property
    def outputs(self) -> OutputsView:
        return OutputsView(self)

    def output(self, name: str) -> StandIn:
        """The stand-in for output ``name`` (which must be declared)."""
        for out in self.step.outputs:
            if out.name == name:
                return Symbolic(OutputRef(self.step.name, name))
        names = [o.name for o in self.step.outputs]
        declared = ", ".join(names) or "none"
        close = difflib.get_close_matches(str(name), names, n=1)
        if close:
            hint = f"did you mean {close[0]!r}?"
        elif self.step.kind == "run":
            hint = f"declare it in the step's outputs=[..., {name!r}]"
        else:
            hint = f"{self.step.kind} steps have the outputs {declared}"
        raise TraceError(
            f"step {self.step.name!r} has no output {name!r} (declared: {declared})",
            code="FC102", location=self.state.locate(ctx.call_site()), hint=hint)

    def after(self, *steps: "StepHandle | list | tuple") -> "StepHandle":
        """Run this step only after ``steps`` finished (no data passes)."""
        site = ctx.call_site()
        for item in _flatten(steps):
            if isinstance(item, Condition):  # wait for every step inside that block
                for name in item.steps:
                    if name not in self.step.after and name != self.step.name:
                        self.step.after.append(name)
                        self.step.after_sites[name] = site
                continue
            if not isinstance(item, StepHandle):
                raise TraceError(
                    f".after() takes step handles, got {type(item).__name__}",
                    code="FC105", location=self.state.locate(site),
                    hint="pass what run_function()/build_function()/deploy_function() returned")
            if item.step.name not in self.step.after:
                self.step.after.append(item.step.name)
                self.step.after_sites[item.step.name] = site
        return self

    def __getattr__(self, name: str) -> Any:
        # KFP op settings MLRun workflows chain onto steps (.set_env, .set_gpu_limit,
        # .add_pod_label, ...): accepted, noted as FC442, not applied.
        if name.startswith(("set_", "add_")):
            def ignored(*_: Any, **__: Any) -> "StepHandle":
                self.state.warn("FC442", f".{name}() is a KFP op setting that flowc does not "
                                "apply; it is ignored", ctx.call_site(),
                                hint="remove it, or set it on the compiled pipeline")
                return self

            return ignored
        if name in ("container", "affinity", "node_selector", "tolerations"):
            self.state.warn("FC442", f".{name} of step {self.step.name!r} is a KFP op setting "
                            "that flowc does not apply; it is ignored", ctx.call_site(),
                            hint="remove it, or set it on the compiled pipeline")
            return _Ignored(f"{self.step.name}.{name}")
        raise AttributeError(f"step handles have no attribute {name!r} (they offer .outputs, "
                             ".output(name), .after(*steps))")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("step", "state"):
            object.__setattr__(self, name, value)
            return
        self.state.warn("FC442", f"setting .{name} on step {self.step.name!r} is a KFP op "
                        "setting that flowc does not apply; it is ignored", ctx.call_site(),
                        hint="remove it, or set it on the compiled pipeline")

    def apply(self, modifier: Any) -> "StepHandle":
        """MLRun/KFP op modifiers (``auto_mount()``, ``mount_v3io()``) are noted and ignored."""
        name = getattr(modifier, "name", None) or type(modifier).__name__
        self.state.warn("FC442", f".apply({name}) is a cluster mount modifier that flowc does "
                        "not apply; it is ignored", ctx.call_site(),
                        hint="mount storage through the backend (e.g. KFP platform config)")
        return self

    def __repr__(self) -> str:
        return f"<step {self.step.name} ({self.step.kind})>"


def _flatten(items: tuple) -> Iterator[Any]:
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flatten(tuple(item))
        else:
            yield item


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


# --------------------------------------------------------------------------- conditions


class Condition:
    """``with Condition(expr):`` — the steps inside run only when ``expr`` is true.

    ``expr`` is built with operators on stand-ins (``train.outputs['accuracy'] > 0.9``;
    combine with ``&``, ``|``, ``~``) or is a string (``"accuracy > 0.9"`` where names are
    workflow arguments or ``step.output``).
    """

    def __init__(self, expr: Any, name: str | None = None) -> None:
        self.expr = expr
        self.name = name
        self._state: ctx.TraceState | None = None
        self._after: list[StepHandle] = []
        self.steps: list[str] = []  # the steps recorded inside the block

    def after(self, *steps: Any) -> "Condition":
        """kfp v1 style ``with Condition(...).after(step):``: every step inside waits."""
        self._after.extend(item for item in _flatten(steps))
        return self

    def __enter__(self) -> "Condition":
        state = ctx.require("Condition")
        site = ctx.call_site()
        state.conditions.append(_condition_value(self.expr, state, site))
        state.condition_blocks.append(self)
        self._state = state
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._state is not None:
            self._state.conditions.pop()
            self._state.condition_blocks.pop()


def _condition_value(expr: Any, state: ctx.TraceState, site: ctx.CallSite) -> Value:
    if isinstance(expr, str):
        def resolve(name: str) -> Value:
            if "." in name:
                step, _, output = name.partition(".")
                record = state.by_name.get(step)
                if record is None:
                    raise KeyError(f"unknown step {step!r} in condition")
                if not any(o.name == output for o in record.outputs):
                    raise KeyError(f"step {step!r} has no output {output!r}")
                return OutputRef(step, output)
            if name in state.args:
                from ..ir import ArgRef

                return ArgRef(name)
            raise KeyError(f"unknown name {name!r} (not a workflow argument; use step.output "
                           "for step outputs)")

        try:
            return parse_expression(expr, resolve)
        except ExpressionSyntaxError as exc:
            raise TraceError(f"condition: {exc}\n    {exc.context.replace(chr(10), chr(10) + '    ')}",
                             code="FC208", location=state.locate(site),
                             hint="e.g. Condition(\"train.accuracy > 0.9\")") from None
    if isinstance(expr, StandIn):
        return expr.ir
    if isinstance(expr, bool):
        return expr
    raise TraceError(f"Condition() takes a comparison of workflow values or a string, got "
                     f"{type(expr).__name__}", code="FC208", location=state.locate(site),
                     hint="e.g. Condition(train.outputs['accuracy'] > 0.9)")


# --------------------------------------------------------------------------- project


class CurrentProjectProxy:
    """A stand-in for "the project of the workflow being traced" that may be taken before the
    trace starts (MLRun's ``this_project`` and ``pipeline_context.project`` globals)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(get_current_project(), name)

    def __repr__(self) -> str:
        return "<the traced workflow's project>"


class TracedProject:
    """What ``get_current_project()`` returns while tracing: static config, symbolic secrets."""

    def __init__(self, state: ctx.TraceState) -> None:
        self._state = state

    @property
    def name(self) -> str:
        project = self._state.project
        return project.name if project is not None else "default"

    metadata = property(lambda self: _Meta(self.name))

    @property
    def params(self) -> dict:
        project = self._state.project
        return dict(project.params) if project is not None else {}

    def get_param(self, key: str, default: Any = None) -> Any:
        """The project parameter ``key`` (a literal, read at trace time)."""
        project = self._state.project
        if project is not None and key in project.params:
            return project.params[key]
        if default is None:
            self._state.warn(
                "FC209", f"project parameter {key!r} is not set and has no default",
                ctx.call_site(), hint=f"add it under spec.params in project.yaml or pass a "
                                      f"default: get_param({key!r}, <default>)")
        return default

    def get_secret(self, key: str) -> StandIn:
        """A stand-in for the secret ``key``; its value is never read while tracing."""
        from ..ir import SecretRef

        if not re.match(r"^[A-Za-z0-9_.\-]+$", key):
            raise TraceError(f"secret key {key!r} may only hold letters, digits, _ . -",
                             code="FC210", location=self._state.locate(ctx.call_site()))
        return Symbolic(SecretRef(key))

    def get_artifact_uri(self, key: str, category: str = "artifact", tag: str | None = None,
                         iter: int | None = None) -> str:
        """``store://<category>s/<project>/<key>[#iter][:tag]``, as MLRun builds it."""
        from ..project import artifact_uri

        return artifact_uri(self.name, key, category, tag, iter)

    # MLRun 1.x workflows call the DSL through the project object as well.
    def run_function(self, function: Any, *args: Any, **kwargs: Any) -> StepHandle:
        return run_function(function, *args, **kwargs)

    def build_function(self, function: Any, *args: Any, **kwargs: Any) -> StepHandle:
        return build_function(function, *args, **kwargs)

    def deploy_function(self, function: Any, *args: Any, **kwargs: Any) -> StepHandle:
        return deploy_function(function, *args, **kwargs)

    def get_function(self, key: str, **_: Any) -> FunctionHandle:
        project = self._state.project
        if project is not None and key in project.functions:
            return FunctionHandle(project.functions[key].to_ref())
        return FunctionHandle(FunctionRef(name=key))

    def __repr__(self) -> str:
        return f"<project {self.name} (traced)>"


@dataclass
class _Meta:
    name: str


def get_current_project(silent: bool = False) -> TracedProject | None:
    """The project of the workflow being traced."""
    state = ctx.current()
    if state is None:
        if silent:
            return None
        ctx.require("get_current_project")
    assert state is not None
    return TracedProject(state)
