"""Compatibility modules that stand in for ``mlrun`` and ``kfp`` while a workflow file loads.

Workflow files written for MLRun (``import mlrun``, ``from kfp import dsl``,
``@dsl.pipeline(...)``) trace unchanged with neither MLRun nor a cluster installed. While the
loader runs a workflow file, :func:`installed` maps those module names to the modules here
(and restores whatever was there before, so a real kfp keeps working elsewhere in the process).
The real kfp v2 ``@dsl.pipeline`` would trace the function at import time; ours only marks it.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from typing import Any, Callable, Iterator

# module name a workflow imports -> flowc module that stands in for it
SHIMS = {
    "mlrun": "flowc.compiler.shims.mlrun",
    "mlrun.model": "flowc.compiler.shims.mlrun.model",
    "mlrun.projects": "flowc.compiler.shims.mlrun.projects",
    "mlrun.run": "flowc.compiler.shims.mlrun",
    "mlrun.platforms": "flowc.compiler.shims.mlrun.platforms",
    "mlrun_pipelines": "flowc.compiler.shims.mlrun_pipelines",
    "mlrun_pipelines.mounts": "flowc.compiler.shims.mlrun.platforms",
    "kfp": "flowc.compiler.shims.kfp",
    "kfp.dsl": "flowc.compiler.shims.kfp.dsl",
}


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Map ``mlrun``/``kfp`` to the shims for the duration of the block."""
    saved = {name: sys.modules.get(name) for name in SHIMS}
    try:
        for name, target in SHIMS.items():
            sys.modules[name] = importlib.import_module(target)
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


class _Unsupported:
    """An MLRun/kfp name flowc does not offer. Importing it works (workflow files often import
    runtime helpers their handlers use); using it while tracing is a located FC016 error."""

    def __init__(self, qualified: str, hint: str) -> None:
        self._qualified = qualified
        self._hint = hint

    def _fail(self) -> Any:
        from ...diagnostics import TraceError
        from ..values import user_location

        raise TraceError(f"{self._qualified} is not supported inside flowc workflow files",
                         code="FC016", location=user_location(), hint=self._hint)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Unsupported(f"{self._qualified}.{name}", self._hint)

    def __enter__(self) -> Any:
        return self._fail()

    def __exit__(self, *exc: Any) -> None:
        return None

    def __repr__(self) -> str:
        return f"<unsupported {self._qualified}>"


def unsupported(module: str, hint: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` that hands out :class:`_Unsupported` placeholders."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Unsupported(f"{module}.{name}", hint)

    return __getattr__
