"""Stand-in for ``kfp.dsl``: ``@dsl.pipeline`` marks a workflow without tracing it at import.

``dsl.Condition`` / ``dsl.If`` map to :class:`flowc.Condition`.
"""

from __future__ import annotations

from typing import Any, Callable

from ...dsl import Condition

If = Condition


def pipeline(func: Callable | None = None, *, name: str | None = None, description: str = "",
             **_: Any) -> Callable:
    """Record the name and description; unlike kfp v2, never call the function here."""

    def mark(fn: Callable) -> Callable:
        fn.__flowc_workflow__ = {"name": name, "description": description,  # type: ignore
                                 "args_schema": []}
        return fn

    return mark(func) if func is not None else mark


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    from ....diagnostics import TraceError
    from ...values import user_location

    raise TraceError(
        f"kfp.dsl.{name} is not supported in flowc workflow files",
        code="FC016", location=user_location(),
        hint="flowc supports @dsl.pipeline and dsl.Condition; write steps with run_function()")
