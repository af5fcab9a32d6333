"""The compiled YAML really runs: kfp's own local orchestrator (kfp.local, SubprocessRunner
without a venv) executes flowc-compiled pipelines, and every task's outputs equal what
flowc's local engine computes for the same workflow.

kfp.local only runs kfp's lightweight Python components; its guard (the command must name
kfp's executor module) is lifted here, in the test only, so that it runs flowc's container
command ``python -m flowc.runtime kfp ...`` as a subprocess instead.
"""

from __future__ import annotations

import os
import shutil

import pytest

import kfp_workflows as w
from kfp_helpers import load_with_kfp
from flowc.backends.kfp import compile_workflow

pytestmark = pytest.mark.slow


@pytest.fixture
def kfp_local(tmp_path, monkeypatch):
    """Run a compiled pipeline with kfp.local; returns {task name: {output: value}}."""
    from kfp import local
    from kfp.local import subprocess_task_handler
    from kfp.local.orchestrator import task_executor

    monkeypatch.setattr(subprocess_task_handler.SubprocessTaskHandler,
                        "validate_not_container_component", lambda self, command: None)
    recorded: dict[str, dict] = {}
    original = task_executor.execute_single_task

    def recording(task_name, *args, **kwargs):
        outputs, status = original(task_name, *args, **kwargs)
        recorded.setdefault(task_name, []).append((outputs, status))
        return outputs, status

    monkeypatch.setattr(task_executor, "execute_single_task", recording)

    def run(text: str, **arguments) -> dict[str, list]:
        recorded.clear()
        local.init(runner=local.SubprocessRunner(use_venv=False),
                   pipeline_root=str(tmp_path / "kfp-root"))
        pipeline = load_with_kfp(text, tmp_path)
        pipeline(**arguments)
        return dict(recorded)

    return run


@pytest.fixture
def local_engine(tmp_path):
    """Run a workflow with flowc's local engine; returns {step: outputs}."""
    from flowc.backends.local.api import run_workflow
    from flowc.backends.local.executor import RunOptions

    base = tmp_path / "project"
    shutil.copytree(w.FIXTURES, base)

    def run(workflow, **arguments):
        args = {a.name: a.default for a in workflow.args}
        args.update(arguments)
        status = run_workflow(workflow, arguments=args, base_dir=str(base),
                              options=RunOptions(artifact_path=str(tmp_path / "art"),
                                                 launcher="in-process"),
                              progress="quiet", dirty=True)
        assert status.state == "succeeded"
        return status.outputs

    return run


def artifact_text(artifact) -> str:
    """The content a flowc step wrote for a kfp.local output artifact (a file inside it)."""
    path = artifact.path
    name = artifact.metadata.get("flowc_file")
    target = os.path.join(path, name) if name else path
    with open(target, encoding="utf-8") as handle:
        return handle.read()


def local_text(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def single(recorded, task):
    """The outputs of a task that ran once, without its KFP metrics artifact."""
    runs = recorded[task]
    assert len(runs) == 1, f"{task} ran {len(runs)} times"
    outputs, status = runs[0]
    assert status.name == "SUCCESS"
    return {k: v for k, v in outputs.items() if k != "flowc_metrics"}


def test_diamond_with_after_matches_the_local_engine(kfp_local, local_engine):
    workflow = w.diamond()
    # make and tail share a component; kfp.local stores outputs by component name, so
    # they would overwrite each other's `data` there (KFP keys outputs by task).
    text = compile_workflow(workflow, base_dir=w.FIXTURES, share_components=False)
    recorded = kfp_local(text)
    expected = local_engine(workflow)
    assert set(recorded) == {"make", "total-a", "total-b", "report", "tail"}
    for task in ("total-a", "total-b", "report"):
        assert single(recorded, task) == expected[task]
    make = single(recorded, "make")
    assert make["count"] == expected["make"]["count"] == 4
    assert artifact_text(make["data"]) == local_text(expected["make"]["data"])
    assert single(recorded, "report")["summary"] == "sum-r0:18.0"


def test_arguments_override_defaults(kfp_local, local_engine):
    workflow = w.diamond()
    recorded = kfp_local(compile_workflow(workflow, base_dir=w.FIXTURES), n=6)
    expected = local_engine(workflow, n=6)
    assert single(recorded, "report") == expected["report"]
    assert single(recorded, "total-a")["total"] == 15.0


@pytest.mark.parametrize("n, ran", [(4, {"big", "big-eval"}), (2, {"small"})])
def test_condition_runs_the_right_branch(kfp_local, local_engine, n, ran):
    workflow = w.condition()
    recorded = kfp_local(compile_workflow(workflow, base_dir=w.FIXTURES), n=n)
    expected = local_engine(workflow, n=n)
    branch_tasks = {"big", "big-eval", "small"}
    assert set(recorded) & branch_tasks == ran
    assert set(expected) & branch_tasks == ran
    for task in ran:
        assert single(recorded, task) == expected[task]


def test_hyper_parameter_run_selects_the_best_trial(kfp_local, local_engine):
    workflow = w.hyper()
    recorded = kfp_local(compile_workflow(workflow, base_dir=w.FIXTURES))
    expected = local_engine(workflow)
    assert len(recorded["train-trial"]) == 3
    best = single(recorded, "train")
    assert best["accuracy"] == expected["train"]["accuracy"] == 0.99
    assert best["best_iteration"] == expected["train"]["best_iteration"] == 2
    assert artifact_text(best["model"]) == local_text(expected["train"]["model"])
    assert single(recorded, "evaluate") == expected["evaluate"]


def test_iris_train_test_chain(kfp_local, local_engine):
    pytest.importorskip("sklearn")
    workflow = w.iris()
    recorded = kfp_local(compile_workflow(workflow, base_dir=w.FIXTURES))
    expected = local_engine(workflow)
    train = single(recorded, "train")
    assert train["accuracy"] == expected["train"]["accuracy"]
    assert 0.8 < train["accuracy"] <= 1.0
    assert single(recorded, "test")["test_accuracy"] == expected["test"]["test_accuracy"]
    assert single(recorded, "test")["test_accuracy"] == train["accuracy"]
    metrics = recorded["train"][0][0]["flowc_metrics"]
    assert metrics.schema_title == "system.Metrics"
    assert metrics.metadata == {"accuracy": train["accuracy"]}


def test_secret_reaches_the_step_from_the_environment(kfp_local, monkeypatch):
    from flowc import ir

    workflow = ir.Workflow(name="sec", steps=(w.run(
        "greet", "greet", params={"name": "x", "token": ir.SecretRef("API_TOKEN")},
        outputs=[("message", "str")]),))
    text = compile_workflow(workflow, base_dir=w.FIXTURES)
    # On a cluster, secretAsEnv sets this variable from the Kubernetes secret.
    monkeypatch.setenv("FLOWC_SECRET_API_TOKEN", "abcdef")
    recorded = kfp_local(text)
    assert single(recorded, "greet")["message"] == "hello x (6)"
    assert "abcdef" not in text


@pytest.mark.parametrize("n, runs", [(5, True), (1, False)])
def test_hyper_run_inside_a_condition(kfp_local, local_engine, n, runs):
    workflow = w.hyper_in_condition()
    recorded = kfp_local(compile_workflow(workflow, base_dir=w.FIXTURES), n=n)
    expected = local_engine(workflow, n=n)
    assert ("evaluate" in recorded) is runs and ("evaluate" in expected) is runs
    if runs:
        assert len(recorded["train-trial"]) == 2
        assert single(recorded, "evaluate") == expected["evaluate"]
        assert single(recorded, "train")["best_iteration"] == expected["train"][
            "best_iteration"]


@pytest.mark.parametrize("n, ran", [(4, {"big", "inner"}), (3, set())])
def test_nested_conditions(kfp_local, local_engine, n, ran):
    workflow = w.nested_conditions()
    recorded = kfp_local(compile_workflow(workflow, base_dir=w.FIXTURES), n=n)
    expected = local_engine(workflow, n=n)
    assert set(recorded) & {"big", "inner"} == ran == set(expected) & {"big", "inner"}
    for task in ran:
        assert single(recorded, task) == expected[task]
