"""Evaluate IR values against concrete data: what a backend does at run time.

No ``eval`` anywhere: expressions are IR trees (parsed by the lark grammar at trace time) and
are interpreted here with a fixed operator table.
"""

from __future__ import annotations

import json
import operator
from typing import Any, Callable, Mapping

from .ir import ArgRef, Concat, Expr, Name, OutputRef, SecretRef, Value

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class EvaluationError(Exception):
    """A value could not be resolved (missing output, bad comparison, ...)."""


def evaluate(
    value: Value,
    *,
    args: Mapping[str, Any] | None = None,
    outputs: Callable[[str, str], Any] | Mapping[tuple[str, str], Any] | None = None,
    secrets: Callable[[str], Any] | None = None,
    names: Mapping[str, Any] | None = None,
) -> Any:
    """Resolve every reference in ``value`` and compute concatenations and expressions.

    ``outputs`` is a mapping ``(step, output) -> value`` or a callable ``(step, output)``;
    ``secrets`` a callable ``key -> value``; ``names`` binds bare identifiers (stop conditions).
    """
    args = args or {}
    names = names or {}

    def get_output(step: str, name: str) -> Any:
        if outputs is None:
            raise EvaluationError(f"output {step}.{name} is not available")
        if callable(outputs):
            return outputs(step, name)
        try:
            return outputs[(step, name)]
        except KeyError:
            raise EvaluationError(f"output {step}.{name} is not available") from None

    def ev(v: Value) -> Any:
        if isinstance(v, ArgRef):
            if v.name not in args:
                raise EvaluationError(f"argument {v.name!r} has no value")
            return args[v.name]
        if isinstance(v, OutputRef):
            return get_output(v.step, v.name)
        if isinstance(v, SecretRef):
            if secrets is None:
                raise EvaluationError(f"secret {v.key!r} is not available")
            return secrets(v.key)
        if isinstance(v, Name):
            if v.id not in names:
                raise EvaluationError(f"name {v.id!r} is not defined")
            return names[v.id]
        if isinstance(v, Concat):
            return "".join(_as_text(ev(p)) for p in v.parts)
        if isinstance(v, Expr):
            return _apply(v, ev)
        if isinstance(v, dict):
            return {k: ev(item) for k, item in v.items()}
        if isinstance(v, (list, tuple)):
            return [ev(item) for item in v]
        return v

    return ev(value)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _coerce_pair(left: Any, right: Any) -> tuple[Any, Any]:
    """Compare a number with a numeric string as numbers (outputs often travel as text)."""
    if isinstance(left, str) and isinstance(right, (int, float)) and not isinstance(right, bool):
        try:
            return float(left), right
        except ValueError:
            return left, right
    if isinstance(right, str) and isinstance(left, (int, float)) and not isinstance(left, bool):
        try:
            return left, float(right)
        except ValueError:
            return left, right
    return left, right


def _apply(expr: Expr, ev: Callable[[Value], Any]) -> Any:
    op = expr.op
    if op == "and":
        return all(bool(ev(a)) for a in expr.args)
    if op == "or":
        return any(bool(ev(a)) for a in expr.args)
    if op == "not":
        return not bool(ev(expr.args[0]))
    if op in _COMPARE:
        left, right = _coerce_pair(ev(expr.args[0]), ev(expr.args[1]))
        try:
            return _COMPARE[op](left, right)
        except TypeError as exc:
            raise EvaluationError(f"cannot compare {left!r} {op} {right!r}: {exc}") from None
    raise EvaluationError(f"unknown operator {op!r}")
