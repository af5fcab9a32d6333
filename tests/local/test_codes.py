"""The codes the local engine raises mean what the rule catalogue (`flowc rules`) says."""

import os
import re

import pytest

from flowc import ir
from flowc.backends.local import hyper
from flowc.backends.local.plan import build_plan
from flowc.diagnostics import FlowcError
from flowc.lint.catalog import RULES

PROJECT_YAML = """\
kind: project
metadata: {name: codes}
spec:
  functions:
  - {url: steps.py, name: train, handler: add, kind: job}
  - {name: imageonly, kind: job, image: python:3.11}
"""


def _plan_error(project, flow_text, yaml_text=PROJECT_YAML) -> FlowcError:
    project.write("project.yaml", yaml_text)
    loaded = project.load(flow_text)
    with pytest.raises(FlowcError) as info:
        build_plan(loaded.workflow, loaded.arguments, loaded.base_dir)
    return info.value


def test_unknown_function_is_fc301_with_a_close_match(project):
    error = _plan_error(project, """
        def pipeline():
            fc.run_function("trian", params={"x": 1})
        """)
    assert error.diagnostic.code == "FC301"
    assert "'trian' is not in the project" in error.diagnostic.message
    assert error.diagnostic.hint == "did you mean 'train'?"


def test_project_function_without_source_is_fc303(project):
    error = _plan_error(project, """
        def pipeline():
            fc.run_function("imageonly")
        """)
    assert error.diagnostic.code == "FC303"
    assert "no source file" in error.diagnostic.message


def test_function_file_outside_the_project_is_fc015(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere")
    (outside / "steps.py").write_text("def add(x):\n    return {'s': x}\n")
    rel = os.path.relpath(outside / "steps.py", project.dir)
    error = _plan_error(project, """
        def pipeline():
            fc.run_function("train", params={"x": 1})
        """, PROJECT_YAML.replace("url: steps.py", f"url: {rel}"))
    assert error.diagnostic.code == "FC015"
    assert "escapes the project folder" in error.diagnostic.message


def _step(name, after=()):
    return ir.Step(name=name, kind="run", function=ir.FunctionRef(name="f", url="steps.py"),
                   handler="add", after=tuple(after))


def test_graph_codes_match_the_catalogue(project):
    unknown = ir.Workflow(name="w", steps=(_step("a", after=["ghost"]),))
    with pytest.raises(FlowcError) as info:
        build_plan(unknown, {}, project.dir)
    assert info.value.diagnostic.code == "FC107"  # unknown-step
    cycle = ir.Workflow(name="w", steps=(_step("a", after=["b"]), _step("b", after=["a"])))
    with pytest.raises(FlowcError) as info:
        build_plan(cycle, {}, project.dir)
    assert info.value.diagnostic.code == "FC101"  # cycle


@pytest.mark.parametrize("params, strategy", [({"p": 3}, "grid"), ({"p": [1], "q": [1, 2]}, "list"),
                                              ({"p": [1]}, "bogus")])
def test_invalid_hyper_options_are_fc207(params, strategy):
    with pytest.raises(FlowcError) as info:
        hyper.generate(params, strategy)
    assert info.value.diagnostic.code == "FC207"  # invalid-hyper-options


def test_every_code_the_local_engine_raises_is_in_the_catalogue():
    folder = os.path.join(os.path.dirname(hyper.__file__))
    found = set()
    for name in os.listdir(folder):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                found.update(re.findall(r'code="(FC\d{3})"', handle.read()))
    assert found, "no codes found: the scan is broken"
    assert sorted(found - set(RULES)) == []


def test_unknown_function_without_a_project_says_so(project):
    loaded = project.load("""
        def pipeline():
            fc.run_function("train", params={"x": 1})
        """)
    with pytest.raises(FlowcError) as info:
        build_plan(loaded.workflow, loaded.arguments, loaded.base_dir)
    assert info.value.diagnostic.code == "FC301"
    assert "not in a project (no project.yaml)" in info.value.diagnostic.message
    assert "project.set_function" in info.value.diagnostic.hint
