"""``with Condition(expr):`` — steps that run only when an expression over workflow values
holds (MLRun/kfp's ``dsl.Condition``)."""

from __future__ import annotations

from typing import Any

from ..diagnostics import TraceError
from ..ir import ArgRef, OutputRef, Value
from . import context as ctx
from .grammar import ExpressionSyntaxError, parse_expression
from .handles import _flatten
from .values import StandIn


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
        self._after: list[Any] = []  # step handles every step inside waits for
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
