"""Golden files: the compiled YAML of each test workflow, byte for byte.

Regenerate after an intended change with ``FLOWC_REGEN_GOLDEN=1 pytest tests/kfp`` and review
the diff. Every golden file also parses strictly and loads with kfp's own loader.
"""

from __future__ import annotations

import os

import pytest

import kfp_workflows as w
from kfp_helpers import GOLDEN, load_with_kfp, strict_parse
from flowc.backends.kfp import compile_workflow

CASES = {
    "diamond": dict(workflow=w.diamond),
    "condition": dict(workflow=w.condition),
    "hyper": dict(workflow=w.hyper),
    "iris": dict(workflow=w.iris),
    "kitchen": dict(workflow=w.kitchen, registry="registry.example.com/ml"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name, tmp_path, monkeypatch):
    # The deploy step embeds the serving source: use a fixture, not flowc's own hub files.
    monkeypatch.setenv("FLOWC_HUB_PATH", os.path.join(w.FIXTURES, "hub"))
    case = dict(CASES[name])
    workflow = case.pop("workflow")()
    text = compile_workflow(workflow, base_dir=w.FIXTURES, **case)
    path = os.path.join(GOLDEN, f"{name}.yaml")
    if os.environ.get("FLOWC_REGEN_GOLDEN") == "1":
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    with open(path, encoding="utf-8") as handle:
        golden = handle.read()
    assert text == golden, f"{name}: output differs from {path} (FLOWC_REGEN_GOLDEN=1 " \
                           "regenerates it)"
    strict_parse(golden)
    component = load_with_kfp(golden, tmp_path)
    assert component.pipeline_spec.pipeline_info.name == workflow.name.lower()
