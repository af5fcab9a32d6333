"""Stand-ins: the symbolic values a workflow function sees while it is traced.

A stand-in wraps an IR value (an argument, a step output, a secret, or an expression over
them). It can be passed to DSL calls, formatted into strings (it becomes a placeholder token
that the grammar parses back), compared (building an expression for ``Condition``), but never
turned into a real Python bool/number: its value is not known until the workflow runs.
"""

from __future__ import annotations

import math
from typing import Any

from ..diagnostics import Location, TraceError, relative_path
from ..ir import ArgRef, Concat, Expr, OutputRef, SecretRef, Value, format_value
from . import context as ctx
from .grammar import ExpressionSyntaxError, has_placeholder, parse_template, token


def user_location() -> Location:
    """The location of the user's code that is calling into flowc right now."""
    site = ctx.call_site()
    state = ctx.current()
    if state is not None:
        return state.locate(site) or Location(file=relative_path(site.file), line=site.line)
    return Location(file=relative_path(site.file), line=site.line)


class StandIn:
    """Base class of every symbolic value."""

    __slots__ = ("_value",)
    __hash__ = None  # type: ignore[assignment]  # __eq__ builds an expression

    def __init__(self, value: Value) -> None:
        self._value = value

    @property
    def ir(self) -> Value:
        """The IR value this stand-in stands for."""
        return self._value

    # -- text: a placeholder token the compiler reads back into a Concat
    def __str__(self) -> str:
        value = self._value
        if isinstance(value, ArgRef):
            return token("arg", value.name)
        if isinstance(value, OutputRef):
            return token("out", value.step, value.name)
        if isinstance(value, SecretRef):
            return token("secret", value.key)
        if isinstance(value, Concat):
            return "".join(str(Symbolic(p)) if not isinstance(p, str) else p
                           for p in value.parts)
        raise self._misuse("turned into text", "compare it inside `with Condition(...)` instead")

    def __format__(self, spec: str) -> str:
        if spec:
            raise self._misuse(f"formatted with {spec!r}",
                               "format specs need the real value; use plain {value}")
        return str(self)

    def __add__(self, other: Any) -> "StandIn":
        if isinstance(other, (str, StandIn)):
            return Symbolic(Concat((self._value, to_value(other))))
        return NotImplemented

    def __radd__(self, other: Any) -> "StandIn":
        if isinstance(other, str):
            return Symbolic(Concat((other, self._value)))
        return NotImplemented

    # -- comparisons build expressions (for Condition)
    def _compare(self, op: str, other: Any) -> "StandIn":
        return Symbolic(Expr(op, (self._value, to_value(other))))

    def __eq__(self, other: Any) -> "StandIn":  # type: ignore[override]
        return self._compare("==", other)

    def __ne__(self, other: Any) -> "StandIn":  # type: ignore[override]
        return self._compare("!=", other)

    def __lt__(self, other: Any) -> "StandIn":
        return self._compare("<", other)

    def __le__(self, other: Any) -> "StandIn":
        return self._compare("<=", other)

    def __gt__(self, other: Any) -> "StandIn":
        return self._compare(">", other)

    def __ge__(self, other: Any) -> "StandIn":
        return self._compare(">=", other)

    def __and__(self, other: Any) -> "StandIn":
        return Symbolic(Expr("and", (self._value, to_value(other))))

    def __rand__(self, other: Any) -> "StandIn":
        return Symbolic(Expr("and", (to_value(other), self._value)))

    def __or__(self, other: Any) -> "StandIn":
        return Symbolic(Expr("or", (self._value, to_value(other))))

    def __ror__(self, other: Any) -> "StandIn":
        return Symbolic(Expr("or", (to_value(other), self._value)))

    def __invert__(self) -> "StandIn":
        return Symbolic(Expr("not", (self._value,)))

    # -- things that need the real value: a clear error at the user's line
    def _misuse(self, what: str, hint: str) -> TraceError:
        return TraceError(
            f"{self._describe()} is only known when the workflow runs, so it cannot be {what}",
            code="FC011", location=user_location(), hint=hint)

    def __bool__(self) -> bool:
        raise self._misuse(
            "used as a Python bool (if/while/and/or/not)",
            "branch with `with Condition(value > 3):` (flowc.Condition or dsl.Condition), and "
            "combine conditions with & | ~ instead of and/or/not")

    def __int__(self) -> int:
        raise self._misuse("converted with int()", "pass it to a step as a parameter instead")

    def __float__(self) -> float:
        raise self._misuse("converted with float()", "pass it to a step as a parameter instead")

    def __index__(self) -> int:
        raise self._misuse("used as an index", "pass it to a step as a parameter instead")

    def __iter__(self):
        raise self._misuse("iterated over", "hyper-parameter lists must be literal values")

    def __len__(self) -> int:
        raise self._misuse("measured with len()", "pass it to a step as a parameter instead")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise self._misuse(f"accessed as .{name}",
                           "pass the whole value to a step and use it inside the handler")

    def _describe(self) -> str:
        value = self._value
        if isinstance(value, ArgRef):
            return f"workflow argument {value.name!r}"
        if isinstance(value, OutputRef):
            return f"output {value.name!r} of step {value.step!r}"
        if isinstance(value, SecretRef):
            return f"secret {value.key!r}"
        return f"`{format_value(value)}`"

    def __repr__(self) -> str:
        value = self._value
        if isinstance(value, ArgRef):
            return f"<argument {value.name}>"
        if isinstance(value, OutputRef):
            return f"<output {value.step}.{value.name}>"
        if isinstance(value, SecretRef):
            return f"<secret {value.key}>"
        return f"<symbolic {type(value).__name__}>"


class Symbolic(StandIn):
    """A stand-in for any IR value (arguments, outputs, secrets, expressions)."""

    __slots__ = ()


def to_value(obj: Any, what: str = "value") -> Value:
    """Convert what a user passed to a DSL call into an IR value.

    Stand-ins become references, strings holding placeholder tokens become ``Concat``;
    literals and containers are kept. Anything else is a trace error at the user's line.
    """
    if isinstance(obj, StandIn):
        return obj._value
    if isinstance(obj, str):
        if has_placeholder(obj):
            try:
                return parse_template(obj)
            except ExpressionSyntaxError as exc:
                raise TraceError(str(exc), code="FC012", location=user_location()) from None
        return obj
    if obj is None or isinstance(obj, (bool, int)):
        return obj
    if isinstance(obj, float):
        if math.isnan(obj) or math.isinf(obj):
            raise TraceError(f"{what} is {obj!r}, which JSON (and KFP) cannot carry",
                             code="FC206", location=user_location(),
                             hint="use a finite number or a string")
        return obj
    if isinstance(obj, dict):
        result = {}
        for key, item in obj.items():
            if not isinstance(key, str):
                raise TraceError(f"{what} has a non-string key {key!r}", code="FC206",
                                 location=user_location(), hint="use string keys")
            result[key] = to_value(item, f"{what}[{key!r}]")
        return result
    if isinstance(obj, (list, tuple)):
        return [to_value(item, what) for item in obj]
    from .dsl import FunctionHandle, StepHandle  # circular at import time

    if isinstance(obj, StepHandle):
        raise TraceError(
            f"{what} is the step {obj.name!r} itself, not one of its outputs",
            code="FC104", location=user_location(),
            hint=f"pass {obj.name}.outputs['<name>'] (declared outputs: "
                 f"{', '.join(o.name for o in obj.step.outputs) or 'none'}), or use .after()")
    if isinstance(obj, FunctionHandle):
        raise TraceError(f"{what} is a function handle, not a value", code="FC206",
                         location=user_location(),
                         hint="pass the function as the first argument of run_function()")
    if hasattr(obj, "__fspath__"):
        return str(obj)
    item = getattr(obj, "item", None)  # numpy scalars
    if callable(item) and type(obj).__module__ == "numpy":
        return to_value(item(), what)
    raise TraceError(
        f"{what} is a {type(obj).__name__}, which cannot be stored in a workflow",
        code="FC206", location=user_location(),
        hint="use JSON values (str, int, float, bool, None, list, dict) or step outputs")
