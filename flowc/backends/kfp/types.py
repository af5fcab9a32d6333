"""IR types ↔ KFP PipelineSpec types, and the type of an IR value at compile time."""

from __future__ import annotations

from typing import Any

from ...diagnostics import FlowcError
from ... import ir

# IR parameter type -> PipelineSpec ParameterType enum name.
PARAMETER_TYPE = {
    "str": "STRING",
    "int": "NUMBER_INTEGER",
    "float": "NUMBER_DOUBLE",
    "bool": "BOOLEAN",
    "list": "LIST",
    "dict": "STRUCT",
}

# IR artifact type -> KFP system artifact schema title.
ARTIFACT_SCHEMA = {
    "artifact": "system.Artifact",
    "dataset": "system.Dataset",
    "model": "system.Model",
}

# What the pipeline header comment calls each parameter type (as kfp writes it).
COMMENT_TYPE = {v: k for k, v in PARAMETER_TYPE.items()}
COMMENT_TYPE["STRUCT"] = "dict"

# Handler annotations flowc understands, mapped to IR parameter types.
_ANNOTATION_TYPES = {
    "str": "str", "int": "int", "float": "float", "bool": "bool",
    "list": "list", "dict": "dict", "List": "list", "Dict": "dict",
    "typing.List": "list", "typing.Dict": "dict",
}


def artifact_type(ir_type: str) -> dict:
    """The ``artifactType`` message for an IR artifact type."""
    return {"schemaTitle": ARTIFACT_SCHEMA[ir_type], "schemaVersion": "0.0.1"}


def literal_type(value: Any) -> str | None:
    """The IR parameter type of a JSON literal, or None for ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "dict"
    raise TypeError(f"not a literal: {value!r}")


def annotation_type(annotation: str | None) -> str | None:
    """Map a handler parameter annotation (source text) to an IR type, or None if unknown."""
    if not annotation:
        return None
    base = annotation.split("[", 1)[0].strip()
    return _ANNOTATION_TYPES.get(base)


def compatible(given: str, wanted: str) -> bool:
    """True when a value of IR type ``given`` may feed a parameter declared ``wanted``."""
    if given == wanted:
        return True
    return given == "int" and wanted == "float"


def to_struct_value(value: Any) -> Any:
    """A literal as protobuf ``Value`` JSON prints it: every number a double (as kfp writes)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [to_struct_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_struct_value(v) for k, v in value.items()}
    raise TypeError(f"not a literal: {value!r}")


def type_error(message: str, step: ir.Step, hint: str | None = None,
               code: str = "FC219") -> FlowcError:
    """A compile error located at the step's call in the user's workflow file."""
    return FlowcError(f"step {step.name!r}: {message}", code=code,
                      location=step.location, hint=hint)
