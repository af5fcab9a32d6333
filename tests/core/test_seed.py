"""The seed document's example workflow, verbatim, traces into the expected IR."""

import os
import sys

from flowc.compiler.loader import load_workflow
import pytest

from flowc.ir import OutputRef

SEED = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "iris", "workflow.py")


SEED_DOC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "seeds",
                        "running-a-multi-stage-workflow.md")


@pytest.mark.skipif(not os.path.exists(SEED_DOC), reason="shared/seeds is not beside the repo")
def test_seed_file_is_the_documents_example_verbatim():
    assert open(SEED).read() in open(SEED_DOC).read()


def test_seed_steps_kinds_and_functions():
    wf = load_workflow(SEED).workflow
    assert wf.name == "Demo training pipeline"
    assert wf.description == "Shows how to use mlrun."
    assert [(s.name, s.kind, s.function.name) for s in wf.steps] == [
        ("build-gen-iris", "build", "gen-iris"),
        ("get-data", "run", "gen-iris"),
        ("train", "run", "train"),
        ("test", "run", "test"),
        ("deploy-serving", "deploy", "serving"),
        ("model-tester", "run", "live_tester"),
    ]
    assert wf.step("deploy-serving").function.url == "hub://v2_model_server"
    assert wf.step("model-tester").function.url == "hub://v2_model_tester"


def test_seed_edges_data_and_after():
    wf = load_workflow(SEED).workflow
    assert wf.edges() == [
        ("build-gen-iris", "get-data", "data"),  # the built image
        ("get-data", "train", "data"),
        ("train", "test", "data"),
        ("train", "deploy-serving", "data"),
        ("deploy-serving", "model-tester", "data"),
        ("train", "model-tester", "data"),
    ]
    assert wf.step("get-data").after == ("build-gen-iris",)
    assert all(s.after == () for s in wf.steps if s.name != "get-data")
    assert wf.step("get-data").function.image == OutputRef("build-gen-iris", "image")


def test_seed_hyper_parameters_and_params():
    wf = load_workflow(SEED).workflow
    train = wf.step("train")
    assert train.hyper.params == {"model_pkg_class": [
        "sklearn.ensemble.RandomForestClassifier",
        "sklearn.linear_model.LogisticRegression",
        "sklearn.ensemble.AdaBoostClassifier"]}
    assert train.hyper.selector == "max.accuracy"
    assert train.hyper.strategy == "grid"
    assert train.params == {"sample": -1, "label_column": "label", "test_size": 0.10}
    assert train.inputs == {"dataset": OutputRef("get-data", "iris_dataset")}
    assert [o.name for o in train.outputs] == ["model", "test_set"]
    assert wf.step("test").inputs == {"models_path": OutputRef("train", "model"),
                                      "test_set": OutputRef("train", "test_set")}


def test_seed_deploy_endpoint_wiring():
    wf = load_workflow(SEED).workflow
    deploy = wf.step("deploy-serving")
    assert deploy.params["models"] == [
        {"key": "iris_dataset:v1", "model_path": OutputRef("train", "model")}]
    assert [o.name for o in deploy.outputs] == ["endpoint", "name"]
    tester = wf.step("model-tester")
    assert tester.params == {"addr": OutputRef("deploy-serving", "endpoint"),
                             "model": "iris_dataset:v1"}
    assert tester.inputs == {"table": OutputRef("train", "test_set")}


def test_seed_locations_point_at_the_calls():
    wf = load_workflow(SEED).workflow
    lines = open(SEED).read().splitlines()
    for step in wf.steps:
        line = lines[step.location.line - 1]
        call = line[step.location.col - 1:]
        assert call.startswith("mlrun."), (step.name, line)
        assert step.location.file == "workflow.py"


def test_seed_print_of_outputs_goes_to_stderr(capsys):
    load_workflow(SEED)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "'model'" in captured.err and "'test_set'" in captured.err


def test_real_kfp_pipeline_decorator_is_not_run_and_modules_are_restored():
    import kfp  # the real one (installed as a dependency)
    from kfp import dsl

    before = (sys.modules["kfp"], sys.modules["kfp.dsl"], sys.modules.get("mlrun"))
    load_workflow(SEED)
    assert (sys.modules["kfp"], sys.modules["kfp.dsl"], sys.modules.get("mlrun")) == before
    assert sys.modules["kfp"] is kfp and sys.modules["kfp.dsl"] is dsl


def test_seed_traces_without_any_project(tmp_path):
    """The file alone, with no project.yaml: functions are kept by name for lint to judge."""
    import shutil

    alone = tmp_path / "workflow.py"
    shutil.copy(SEED, alone)
    loaded = load_workflow(str(alone))
    assert loaded.project is None
    wf = loaded.workflow
    assert [s.name for s in wf.steps] == ["build-gen-iris", "get-data", "train", "test",
                                         "deploy-serving", "model-tester"]
    assert wf.step("train").function.url is None          # unknown without the project
    assert wf.step("train").params["label_column"] == "label"   # get_param's default
    assert wf.step("deploy-serving").function.url == "hub://v2_model_server"
