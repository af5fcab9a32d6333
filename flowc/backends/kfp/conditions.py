"""Lower a step condition (an ``ir.Expr`` tree) to the CEL string KFP evaluates in
``triggerPolicy.condition``, written the way kfp's own compiler writes ``dsl.If``."""

from __future__ import annotations

import json
from typing import Any, Callable

from ... import ir

# A resolver maps a reference to (channel input name, IR type of its value).
Resolver = Callable[[ir.ArgRef | ir.OutputRef], tuple[str, str]]


class ConditionError(ValueError):
    """The condition cannot be expressed in KFP (message says why)."""


def to_cel(expr: ir.Value, resolve: Resolver) -> str:
    """The CEL text of ``expr``; references become ``inputs.parameter_values[...]``."""
    if isinstance(expr, ir.Expr):
        if expr.op == "and":
            return " && ".join(_group(a, resolve) for a in expr.args)
        if expr.op == "or":
            return " || ".join(_group(a, resolve) for a in expr.args)
        if expr.op == "not":
            return f"!({to_cel(expr.args[0], resolve)})"
        if expr.op in ir.COMPARE_OPS:
            left, right = expr.args
            return f"{_operand(left, resolve)} {expr.op} {_operand(right, resolve)}"
        raise ConditionError(f"unknown operator {expr.op!r}")
    # A bare reference or literal: truthiness, as `if x:` means.
    return _operand(expr, resolve)


def _group(arg: ir.Value, resolve: Resolver) -> str:
    text = to_cel(arg, resolve)
    if isinstance(arg, ir.Expr) and arg.op in ("and", "or"):
        return f"({text})"
    return text


def _operand(value: ir.Value, resolve: Resolver) -> str:
    if isinstance(value, (ir.ArgRef, ir.OutputRef)):
        channel, typ = resolve(value)
        text = f"inputs.parameter_values['{channel}']"
        # KFP carries every number as a double; kfp wraps integer channels the same way.
        return f"int({text})" if typ == "int" else text
    if isinstance(value, ir.Expr):
        return f"({to_cel(value, resolve)})"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if "'" in value or "\\" in value:
            raise ConditionError(f"string {value!r} holds a quote or backslash")
        return f"'{value}'"
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    raise ConditionError(f"{type(value).__name__} values cannot appear in a KFP condition")


def references(expr: Any) -> list[ir.ArgRef | ir.OutputRef]:
    """Every argument or output reference in ``expr`` (first-use order, no repeats)."""
    seen: dict[Any, None] = {}
    for item in ir.walk_values(expr):
        if isinstance(item, (ir.ArgRef, ir.OutputRef)):
            seen.setdefault(item, None)
    return list(seen)
