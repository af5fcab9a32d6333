"""What ``get_current_project()`` returns while tracing: the project's static configuration
(params, artifact URIs) and symbolic secrets — never a secret's value."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..diagnostics import TraceError
from ..ir import FunctionRef
from . import context as ctx
from .handles import FunctionHandle, StepHandle
from .values import StandIn, Symbolic


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
        from .dsl import run_function

        return run_function(function, *args, **kwargs)

    def build_function(self, function: Any, *args: Any, **kwargs: Any) -> StepHandle:
        from .dsl import build_function

        return build_function(function, *args, **kwargs)

    def deploy_function(self, function: Any, *args: Any, **kwargs: Any) -> StepHandle:
        from .dsl import deploy_function

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
