"""Workflow arguments: coerce CLI strings by type and validate values with jsonschema.

Errors name the argument and the rule it broke, e.g. ``argument 'test_size' must be a float
(got 'abc')`` or ``argument 'model' must be one of ['a', 'b'] (got 'c')``.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Iterable

from ..diagnostics import ArgumentError, Location
from ..ir import Arg

_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
               "list": "array", "dict": "object"}
_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


def coerce(arg: Arg, raw: Any, where: Location | None = None) -> Any:
    """Convert a CLI string to ``arg.type``; non-strings are returned unchanged."""
    if not isinstance(raw, str) or arg.type == "str":
        return raw
    import yaml

    text = raw.strip()
    try:
        if arg.type == "int":
            return int(text)
        if arg.type == "float":
            number = float(text)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError(text)  # JSON (and KFP) cannot carry NaN or infinity
            return number
        if arg.type == "bool":
            lowered = text.lower()
            if lowered in _TRUE or lowered in _FALSE:
                return lowered in _TRUE
            raise ValueError(text)
        value = yaml.safe_load(text) if text else ([] if arg.type == "list" else {})
        if arg.type == "list" and not isinstance(value, list):
            value = [v.strip() for v in text.split(",")]
        if arg.type == "dict" and not isinstance(value, dict):
            raise ValueError(text)
        return value
    except (ValueError, TypeError, yaml.YAMLError):
        example = {"int": "3", "float": "0.1", "bool": "true", "list": "[1, 2]",
                   "dict": '{"a": 1}'}[arg.type]
        non_finite = arg.type == "float" and text.lower().lstrip("+-") in ("nan", "inf",
                                                                            "infinity")
        what = "a finite float" if non_finite else _article(arg.type)
        raise ArgumentError(f"argument {arg.name!r} must be {what} (got {raw!r})",
                            code="FC201", location=where,
                            hint=f"e.g. -A {arg.name}={example}") from None


def _article(type_: str) -> str:
    return {"int": "an int", "float": "a float", "bool": "a bool (true/false)",
            "list": "a list", "dict": "a dict", "str": "a string"}[type_]


def json_schema(args: Iterable[Arg]) -> dict:
    """The JSON Schema that a complete set of argument values must satisfy."""
    properties: dict[str, Any] = {}
    required = []
    for arg in args:
        prop: dict[str, Any] = {"type": _JSON_TYPES.get(arg.type, "string")}
        if arg.choices is not None:
            prop["enum"] = list(arg.choices)
        properties[arg.name] = prop
        if arg.required:
            required.append(arg.name)
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


def resolve_arguments(args: tuple[Arg, ...], given: dict[str, Any],
                      where: Location | None = None, *,
                      require_values: bool = True) -> dict[str, Any]:
    """Defaults merged with ``given`` values (coerced), validated; raises ArgumentError.

    Returns every argument that has a value (given or default) plus optional ones as None.
    With ``require_values=False`` a required argument may stay without one.
    """
    by_name = {a.name: a for a in args}
    for name in given:
        if name not in by_name:
            close = difflib.get_close_matches(name, list(by_name), n=1)
            hint = f"did you mean {close[0]!r}?" if close else (
                f"the workflow takes: {', '.join(by_name) or 'no arguments'}")
            raise ArgumentError(f"unknown argument {name!r}", code="FC202", location=where,
                                hint=hint)
    values: dict[str, Any] = {}
    for arg in args:
        if given.get(arg.name) is not None:
            values[arg.name] = coerce(arg, given[arg.name], where)
        elif arg.default is not None:
            values[arg.name] = arg.default
    missing = [a.name for a in args if a.required and a.name not in values]
    if missing and require_values:
        raise ArgumentError(
            f"missing required argument{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
            code="FC203", location=where,
            hint=" ".join(f"-A {name}=<value>" for name in missing))
    _validate(args, values, where, require_values)
    # An optional argument without a value is None when the workflow runs (as in Python).
    return {a.name: values.get(a.name) for a in args if a.name in values or not a.required}


_PY_CHECKS = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "dict": lambda v: isinstance(v, dict),
}


def values_look_valid(args: tuple[Arg, ...], values: dict[str, Any]) -> bool:
    """A fast check that accepts only values the JSON Schema accepts (jsonschema costs ~70 ms
    to import; it runs when this check says no, to name the rule that failed)."""
    by_name = {a.name: a for a in args}
    for name, value in values.items():
        arg = by_name.get(name)
        if arg is None or not _PY_CHECKS.get(arg.type, lambda v: False)(value):
            return False
        if arg.choices is not None and not any(
                type(value) is type(choice) and value == choice for choice in arg.choices):
            return False
    return True


def _validate(args: tuple[Arg, ...], values: dict[str, Any], where: Location | None,
              require_values: bool = True) -> None:
    if values_look_valid(args, values):
        return
    import jsonschema

    schema = json_schema(args)
    if not require_values:
        schema["required"] = []
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    error = errors[0]
    name = error.absolute_path[0] if error.absolute_path else "?"
    value = values.get(name)
    if error.validator == "enum":
        message = (f"argument {name!r} must be one of {json.dumps(error.validator_value)} "
                   f"(got {json.dumps(value)})")
    elif error.validator == "type":
        wanted = next((a.type for a in args if a.name == name), "?")
        message = f"argument {name!r} must be {_article(wanted)} (got {json.dumps(value)})"
    else:
        message = f"argument {name!r}: {error.message}"
    raise ArgumentError(message, code="FC204", location=where,
                        hint=f"rule: {error.validator}")
