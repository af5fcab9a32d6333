"""The iris example's functions, each called through execute() on real data, then served
with hub://v2_model_server and checked with hub://v2_model_tester."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from flowc import hub
from flowc.runtime.artifacts import load_model, model_spec
from flowc.runtime.core import StepCall, StepFailed, execute
from flowc.runtime.serving import start_server

IRIS = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "iris")
CLASSIFIERS = ["sklearn.ensemble.RandomForestClassifier",
               "sklearn.linear_model.LogisticRegression",
               "sklearn.ensemble.AdaBoostClassifier"]


def _call(tmp_path, step, file, handler, params=None, inputs=None, outputs=(), iteration=None):
    folder = tmp_path / "art" / "run1" / step
    if iteration is not None:
        folder = folder / str(iteration)
    return StepCall(step=step, run_id="run1", project="iris", handler=handler,
                    source_file=os.path.abspath(os.path.join(IRIS, file)),
                    source_code=None, params=params or {}, inputs=inputs or {},
                    outputs=list(outputs), artifact_dir=str(folder), iteration=iteration)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """Run get-data and the three train iterations once; return their results."""
    tmp_path = tmp_path_factory.mktemp("iris")
    data = execute(_call(tmp_path, "get-data", "gen_iris.py", "iris_generator",
                         params={"format": "pq"}, outputs=[("iris_dataset", "dataset")]))
    trains = []
    for i, cls in enumerate(CLASSIFIERS, start=1):
        trains.append(execute(_call(
            tmp_path, "train", "trainer.py", "train",
            params={"sample": -1, "label_column": "label", "test_size": 0.1,
                    "model_pkg_class": cls},
            inputs={"dataset": data.artifacts["iris_dataset"]["path"]},
            outputs=[("model", "model"), ("test_set", "dataset")], iteration=i)))
    return tmp_path, data, trains


def test_gen_iris_dataset(pipeline):
    _, data, _ = pipeline
    info = data.artifacts["iris_dataset"]
    assert info["kind"] == "dataset" and info["path"].endswith("iris_dataset.parquet")
    assert info["uri"] == "store://artifacts/iris/iris_dataset"
    df = pd.read_parquet(info["path"])
    assert df.shape == (150, 5) and sorted(df["label"].unique()) == [0, 1, 2]


def test_train_each_classifier(pipeline):
    _, _, trains = pipeline
    for cls, result in zip(CLASSIFIERS, trains):
        assert set(result.artifacts) == {"model", "test_set"}
        assert result.results["test_rows"] == 15 and result.results["train_rows"] == 135
        assert 0.8 <= result.results["accuracy"] <= 1.0, (cls, result.results)
        model_dir = result.artifacts["model"]["path"]
        assert type(load_model(model_dir)).__name__ == cls.rsplit(".", 1)[1]
        spec = model_spec(model_dir)
        assert spec["metrics"]["accuracy"] == result.results["accuracy"]
        assert spec["parameters"]["model_pkg_class"] == cls
        test_set = pd.read_parquet(result.artifacts["test_set"]["path"])
        assert len(test_set) == 15 and "label" in test_set.columns
    # the same split for every iteration (same random_state): comparable accuracies
    sets = [pd.read_parquet(r.artifacts["test_set"]["path"]) for r in trains]
    assert all(s.index.tolist() == sets[0].index.tolist() for s in sets)


def test_train_rejects_bad_input(pipeline, tmp_path):
    _, data, _ = pipeline
    dataset = {"dataset": data.artifacts["iris_dataset"]["path"]}
    with pytest.raises(StepFailed, match="not a scikit-learn class path"):
        execute(_call(tmp_path, "train", "trainer.py", "train", inputs=dataset,
                      params={"model_pkg_class": "os.system"}))
    with pytest.raises(StepFailed, match="label column 'nope'"):
        execute(_call(tmp_path, "train", "trainer.py", "train", inputs=dataset,
                      params={"label_column": "nope"}))
    result = execute(_call(tmp_path, "train2", "trainer.py", "train", inputs=dataset,
                           params={"sample": 60, "test_size": "0.5"}))
    assert result.results["test_rows"] + result.results["train_rows"] == 60


def test_test_step_metrics_and_confusion_matrix(pipeline):
    tmp_path, _, trains = pipeline
    best = max(trains, key=lambda r: r.results["accuracy"])
    result = execute(_call(tmp_path, "test", "tester.py", "test",
                           params={"label_column": "label"},
                           inputs={"models_path": best.artifacts["model"]["path"],
                                   "test_set": best.artifacts["test_set"]["path"]}))
    assert result.results["accuracy"] == best.results["accuracy"]
    assert result.results["test_rows"] == 15
    plot = result.artifacts["confusion-matrix"]
    assert plot["kind"] == "plot" and plot["path"].endswith("confusion-matrix.svg")
    with open(plot["path"]) as handle:
        svg = handle.read()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    # every test row is counted once in the matrix cells
    import re

    cells = [int(v) for v in re.findall(r'font-size="14"[^>]*>(\d+)</text>', svg)]
    assert len(cells) == 9 and sum(cells) == 15


def test_serve_best_model_and_live_test(pipeline):
    tmp_path, _, trains = pipeline
    best = max(trains, key=lambda r: r.results["accuracy"])
    server = hub.resolve("hub://v2_model_server")
    with start_server(server.source_file, server.default_class,
                      [{"key": "iris_dataset:v1",
                        "model_path": best.artifacts["model"]["path"]}]) as handle:
        tester = hub.resolve("hub://v2_model_tester")
        result = execute(_call(tmp_path, "model-tester", tester.source_file, tester.handler,
                               params={"addr": handle.url, "model": "iris_dataset:v1"},
                               inputs={"table": best.artifacts["test_set"]["path"]}))
    assert result.results["total_tests"] == 15 and result.results["errors"] == 0
    assert result.results["match"] == round(best.results["accuracy"] * 15)
    assert json.dumps(result.to_json())


def test_example_workflow_traces_and_matches_its_handlers():
    from flowc.compiler.handlers import read_handler
    from flowc.compiler.loader import load_workflow

    loaded = load_workflow(None, workflow="main", project_dir=IRIS)
    wf = loaded.workflow
    assert [s.name for s in wf.steps] == ["build-gen-iris", "get-data", "train", "test",
                                          "deploy-serving", "model-tester"]
    train = wf.step("train")
    assert train.hyper.selector == "max.accuracy"
    assert train.hyper.params["model_pkg_class"] == CLASSIFIERS
    for step in wf.steps:
        if step.kind != "run":
            continue
        url = step.function.url
        path = (hub.resolve(url).source_file if url.startswith("hub://")
                else os.path.join(loaded.base_dir, url))
        info = read_handler(path, step.handler or step.function.handler)
        assert info is not None, step.name
        names = {p.name for p in info.params}
        given = set(step.params) | set(step.inputs) | set(step.hyper.params if step.hyper else ())
        assert given <= names, (step.name, given - names)
        required = {p.name for p in info.params if not p.has_default and p.name != "context"}
        assert required <= given, (step.name, required - given)


def test_make_estimator_options():
    import importlib.util

    spec = importlib.util.spec_from_file_location("iris_trainer_for_test",
                                                  os.path.join(IRIS, "trainer.py"))
    trainer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trainer)
    model = trainer.make_estimator("sklearn.linear_model.LogisticRegression", {"C": 0.5}, 7)
    assert (model.C, model.max_iter, model.random_state) == (0.5, 1000, 7)
    with pytest.raises(ValueError, match="does not take gamma"):
        trainer.make_estimator("sklearn.linear_model.LogisticRegression", {"gamma": 1}, 1)
    with pytest.raises(ValueError, match="no class 'Nope'"):
        trainer.make_estimator("sklearn.linear_model.Nope", {}, 1)
