"""The iris example end to end: `flowc run -w main` in a copy of examples/iris."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

IRIS = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "iris")

pytestmark = pytest.mark.slow


def _flowc(*args, cwd):
    return subprocess.run([sys.executable, "-m", "flowc.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_iris_runs_end_to_end(tmp_path):
    project = tmp_path / "iris"
    shutil.copytree(IRIS, project, ignore=shutil.ignore_patterns(".flowc", "artifacts"))
    proc = _flowc("run", "-w", "main", "--progress", "plain", cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = json.loads(_flowc("runs", "--format", "json", cwd=project).stdout)
    run_id = listed[0]["run_id"]
    assert run_id in proc.stdout + proc.stderr
    run = json.loads(_flowc("runs", "show", run_id, "--format", "json", cwd=project).stdout)
    assert run["state"] == "succeeded"
    steps = {s["name"]: s for s in run["steps"]}
    assert steps["build-gen-iris"]["state"] == "skipped"
    for name in ("get-data", "train", "test", "deploy-serving", "model-tester"):
        assert steps[name]["state"] == "succeeded", (name, steps[name])

    train = steps["train"]["results"]
    assert train["best_iteration"] in (1, 2, 3) and train["accuracy"] >= 0.8
    assert {"model", "test_set", "iteration_results"} <= set(steps["train"]["artifacts"])
    assert steps["test"]["results"]["accuracy"] == train["accuracy"]
    plot = steps["test"]["artifacts"]["confusion-matrix"]
    plot_path = plot["path"] if isinstance(plot, dict) else plot
    assert os.path.isfile(plot_path) and plot_path.startswith(str(project / "artifacts"))

    assert steps["deploy-serving"]["results"]["endpoint"].startswith("http://127.0.0.1:")
    tester = steps["model-tester"]["results"]
    assert tester["total_tests"] == 15 and tester["errors"] == 0
    assert tester["match"] == round(train["accuracy"] * 15)
    assert 0 < tester["min_latency"] <= tester["avg_latency"] <= tester["max_latency"]
