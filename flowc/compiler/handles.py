"""What DSL calls return while tracing: step handles (``.outputs``, ``.after()``) and
function handles (``import_function``, project functions, MLRun's ``funcs[...]``)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from ..diagnostics import TraceError
from ..ir import FunctionRef, OutputRef
from . import context as ctx
from .values import StandIn, Symbolic, to_value

if TYPE_CHECKING:  # pragma: no cover
    from .dsl import HyperParamOptions


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
        from .dsl import run_function

        return run_function(function, handler=handler, name=name, params=params,
                            hyperparams=hyperparams, hyper_param_options=hyper_param_options,
                            inputs=inputs, outputs=outputs, selector=selector)

    def deploy_step(self, models: list | None = None, env: dict | None = None,
                    tag: str | None = None, **_: Any) -> "StepHandle":
        """MLRun's legacy ``fn.deploy_step(...)``: deploys a serving/nuclio function, and
        builds the image of any other kind (as MLRun does; the step outputs ``image``)."""
        from .dsl import build_function, deploy_function

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
            if hasattr(item, "steps") and hasattr(item, "expr"):  # a Condition block: wait
                # for every step recorded inside it
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
