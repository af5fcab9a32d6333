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


def _is_str(value: Any, nullable: bool = True) -> bool:
    return isinstance(value, str) or (nullable and value is None)


def project_looks_valid(data: Any) -> bool:
    """A fast check that accepts only documents the project schema accepts.

    jsonschema costs ~70 ms to import, a lot for `flowc lint` of one file; it is imported only
    to explain a document this check rejects (a test holds the two together).
    """
    if not isinstance(data, dict) or data.get("kind") != "project":
        return False
    metadata = data.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or \
            not metadata["name"]:
        return False
    spec = data.get("spec")
    if spec is None:
        return True
    if not isinstance(spec, dict):
        return False
    if not isinstance(spec.get("params"), (dict, type(None))) or \
            not isinstance(spec.get("artifacts"), (list, type(None))):
        return False
    if not isinstance(spec.get("functions"), (list, type(None))) or \
            not isinstance(spec.get("workflows"), (list, type(None))):
        return False
    for fn in spec.get("functions") or []:
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            return False
        if not all(_is_str(fn.get(k)) for k in ("url", "image", "handler", "kind")):
            return False
        requirements = fn.get("requirements")
        if not (_is_str(requirements) or (isinstance(requirements, list) and
                                          all(isinstance(r, str) for r in requirements))):
            return False
    for wf in spec.get("workflows") or []:
        if not isinstance(wf, dict) or not isinstance(wf.get("name"), str) or not wf["name"]:
            return False
        if not (isinstance(wf.get("path"), str) or isinstance(wf.get("code"), str)):
            return False
        if "path" in wf and not isinstance(wf["path"], str) or \
                "code" in wf and not isinstance(wf["code"], str):
            return False
        if not _is_str(wf.get("handler")) or wf.get("engine") not in (
                None, "local", "kfp", "remote", "remote:local", "remote:kfp"):
            return False
        schema = wf.get("args_schema")
        if not isinstance(schema, (list, type(None))):
            return False
        for entry in schema or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or \
                    not entry["name"]:
                return False
            if entry.get("type") not in (None, "str", "int", "float", "bool", "list", "dict"):
                return False
            if not _is_str(entry.get("doc")) or not isinstance(
                    entry.get("required"), (bool, type(None))) or not isinstance(
                    entry.get("choices"), (list, type(None))):
                return False
    return True


def validate_project(data: Any, path: str, text: str) -> None:
    """Raise a located :class:`ProjectError` when ``data`` is not a valid project.yaml."""
    if project_looks_valid(data):
        return
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema("project"))
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    line, col = yaml_line(text, tuple(error.absolute_path))
    if not error.absolute_path:  # the whole document is wrong (empty, a list, ...)
        line, col = 1, 1
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
