"""Stand-in for ``kfp.dsl``: ``@dsl.pipeline`` marks a workflow without tracing it at import.

``dsl.Condition`` / ``dsl.If`` map to :class:`flowc.Condition`.
"""

from __future__ import annotations

from typing import Any, Callable

from ...dsl import Condition
from .. import unsupported

If = Condition


def pipeline(func: Callable | None = None, *, name: str | None = None, description: str = "",
             **_: Any) -> Callable:
    """Record the name and description; unlike kfp v2, never call the function here."""

    def mark(fn: Callable) -> Callable:
        fn.__flowc_workflow__ = {"name": name, "description": description,  # type: ignore
                                 "args_schema": []}
        return fn

    return mark(func) if func is not None else mark


__getattr__ = unsupported(
    "kfp.dsl",
    "flowc supports @dsl.pipeline and dsl.Condition; write steps with run_function()")
