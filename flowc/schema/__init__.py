"""JSON Schemas (IR document, project file, workflow arguments) and validation helpers.

jsonschema is imported inside the functions: it costs ~70 ms and start-up stays light.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from ..diagnostics import Location, ProjectError

_HERE = os.path.dirname(os.path.abspath(__file__))


@functools.lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """A schema shipped in this folder, e.g. ``load_schema("ir")``."""
    with open(os.path.join(_HERE, f"{name}.schema.json"), encoding="utf-8") as handle:
        return json.load(handle)


def yaml_line(text: str, path: tuple) -> tuple[int, int]:
    """1-based (line, col) of the node at ``path`` (keys/indices) in YAML ``text``; (0, 0) if unknown."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return 0, 0
    best = node
    for key in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    best, node = k, v
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            best = node
        else:
            break
    if best is None:
        return 0, 0
    return best.start_mark.line + 1, best.start_mark.column + 1


def validate_project(data: Any, path: str, text: str) -> None:
    """Raise a located :class:`ProjectError` when ``data`` is not a valid project.yaml."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema("project"))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    line, col = yaml_line(text, tuple(error.absolute_path))
    raise ProjectError(f"invalid project.yaml at {where}: {error.message}", code="FC014",
                       location=Location(file=path, line=line, col=col),
                       hint="see MLRun's project.yaml shape: kind: project, metadata.name, "
                            "spec.params/functions/workflows/artifacts")


def validate_ir_document(data: Any) -> None:
    """Raise ``ValueError`` when ``data`` is not a valid IR document."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema("ir"))
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ValueError(f"invalid IR document at {where}: {error.message}")
