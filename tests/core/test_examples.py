"""Every example in examples/ traces, lints clean, and the quickstart runs locally."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from flowc.compiler.loader import load_workflow
from flowc.project import load_project

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
PROJECTS = sorted(d for d in os.listdir(EXAMPLES)
                  if os.path.isfile(os.path.join(EXAMPLES, d, "project.yaml")))


def test_there_are_examples():
    assert {"iris", "quickstart"} <= set(PROJECTS)


@pytest.mark.parametrize("example", PROJECTS)
def test_every_registered_workflow_traces(example):
    folder = os.path.join(EXAMPLES, example)
    project = load_project(folder)
    assert project.workflows
    for name in project.workflows:
        loaded = load_workflow(None, workflow=name, project_dir=folder)
        assert loaded.workflow.steps
        for step in loaded.workflow.steps:
            assert step.function.url, f"{example}: step {step.name} has no function source"


@pytest.mark.parametrize("example", PROJECTS)
def test_examples_lint_without_errors(example):
    result = subprocess.run([sys.executable, "-m", "flowc.cli", "lint", "--format", "json",
                             "--fail-on", "error", os.path.join(EXAMPLES, example)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    findings = json.loads(result.stdout)
    assert not [f for f in findings if f.get("severity") == "error"]


def test_quickstart_runs_and_its_condition_gates_the_report(tmp_path):
    folder = tmp_path / "quickstart"
    shutil.copytree(os.path.join(EXAMPLES, "quickstart"), folder,
                    ignore=shutil.ignore_patterns(".flowc", "artifacts"))
    env = {**os.environ, "CI": "1"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "flowc.cli", "run", "-w", "main",
                               "--progress", "quiet", *args], cwd=folder, env=env,
                              capture_output=True, text=True)

    def states():
        shown = subprocess.run([sys.executable, "-m", "flowc.cli", "runs", "--format", "json"],
                               cwd=folder, env=env, capture_output=True, text=True, check=True)
        newest = json.loads(shown.stdout)[0]
        detail = subprocess.run([sys.executable, "-m", "flowc.cli", "runs", "show",
                                 newest["run_id"], "--format", "json"], cwd=folder, env=env,
                                capture_output=True, text=True, check=True)
        return {s["name"]: s for s in json.loads(detail.stdout)["steps"]}

    accurate = run()
    assert accurate.returncode == 0, accurate.stderr
    steps = states()
    assert steps["train"]["results"]["accuracy"] == 1.0
    assert steps["report"]["state"] == "succeeded"
    assert steps["report"]["results"]["false_positive"] == 0

    sloppy = run("-A", "threshold=1.5")
    assert sloppy.returncode == 0, sloppy.stderr
    steps = states()
    assert steps["train"]["results"]["accuracy"] < 0.9
    assert steps["report"]["state"].startswith("skipped")


def test_test_module_basenames_are_unique():
    """pytest (rootdir-based imports) cannot collect two test modules with the same name."""
    import collections
    import pathlib

    tests = pathlib.Path(__file__).parent.parent
    names = collections.Counter(p.name for p in tests.rglob("test_*.py"))
    assert [n for n, count in names.items() if count > 1] == []
