"""Helpers for the KFP backend tests (a unique module name: other test folders have their own)."""

from __future__ import annotations

import os
from typing import Any

import yaml

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "examples")


def documents(text: str) -> tuple[dict, dict | None]:
    docs = list(yaml.safe_load_all(text))
    return docs[0], (docs[1] if len(docs) > 1 else None)


def strict_parse(text: str) -> Any:
    """Parse compiled YAML strictly into kfp's PipelineSpec (and PlatformSpec) messages."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    spec, platform = documents(text)
    message = json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec(),
                                    ignore_unknown_fields=False)
    if platform is not None:
        json_format.ParseDict(platform, pipeline_spec_pb2.PlatformSpec(),
                              ignore_unknown_fields=False)
    return message


def load_with_kfp(text: str, tmp_path) -> Any:
    """Load compiled YAML with kfp's own component loader."""
    from kfp import components

    path = os.path.join(str(tmp_path), "pipeline.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return components.load_component_from_file(path)


def dag_of(spec: dict, component: str | None = None) -> dict:
    """The tasks of the root DAG, or of a group component."""
    if component is None:
        return spec["root"]["dag"]["tasks"]
    return spec["components"][component]["dag"]["tasks"]


def dependency_graph(spec: dict) -> dict[str, set[str]]:
    """task -> dependentTasks, over the root DAG and every sub-DAG (names are unique here)."""
    graph: dict[str, set[str]] = {}
    dags = [spec["root"]["dag"]] + [c["dag"] for c in spec["components"].values() if "dag" in c]
    for dag in dags:
        for name, task in dag["tasks"].items():
            graph[name] = set(task.get("dependentTasks", ()))
    return graph


def wiring_kinds(task: dict) -> dict[str, str]:
    """input name -> the kind of wiring (componentInputParameter, taskOutputArtifact, ...)."""
    kinds = {}
    for section in ("parameters", "artifacts"):
        for name, wiring in task.get("inputs", {}).get(section, {}).items():
            kind = next(k for k in wiring if k != "parameterExpressionSelector")
            kinds[name] = kind
    return kinds
