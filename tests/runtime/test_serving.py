"""The v2 model server (in-process and as a process) and the hub's live tester."""

from __future__ import annotations

import json
import os
import pickle
import urllib.error
import urllib.request

import pandas as pd
import pytest

from flowc import hub
from flowc.runtime.core import StepCall, StepFailed, execute
from flowc.runtime.server_process import spawn_server
from flowc.runtime.serving import ServingError, start_server


def _request(url, method="GET", body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory):
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    iris = load_iris(as_frame=True)
    df = iris.frame.rename(columns={"target": "label"})
    model = DecisionTreeClassifier(random_state=0).fit(df.drop(columns="label"), df["label"])
    folder = tmp_path_factory.mktemp("model")
    with open(folder / "model.pkl", "wb") as handle:
        pickle.dump(model, handle)
    table = folder / "test_set.parquet"
    df.sample(30, random_state=1).to_parquet(table)
    return str(folder / "model.pkl"), str(table), df


@pytest.fixture
def server(iris_model):
    fn = hub.resolve("hub://v2_model_server")
    handle = start_server(fn.source_file, fn.default_class,
                          [{"key": "iris:v1", "model_path": iris_model[0]}])
    yield handle
    handle.stop()


def test_endpoints(server, iris_model):
    url = server.url
    assert url.startswith("http://127.0.0.1:")
    assert _request(f"{url}/v2/health/ready") == (200, {"ready": True})
    assert _request(f"{url}/v2/health/live") == (200, {"live": True})
    assert _request(f"{url}/v2/models") == (200, {"models": ["iris:v1"]})
    assert _request(f"{url}/v2/models/iris:v1/ready")[0] == 200
    assert _request(f"{url}/v2/models/iris:v1")[1]["name"] == "iris:v1"
    rows = iris_model[2].drop(columns="label").iloc[[0, 100]].values.tolist()
    for method in ("POST", "PUT"):
        status, payload = _request(f"{url}/v2/models/iris:v1/infer", method, {"inputs": rows})
        assert status == 200 and payload["outputs"] == [0, 2]
        assert payload["model_name"] == "iris:v1" and payload["id"]
    status, payload = _request(f"{url}/v2/models/iris%3Av1/versions/1/infer", "POST",
                               {"id": "abc", "inputs": [{"name": "x", "shape": [2, 4],
                                                         "datatype": "FP64",
                                                         "data": sum(rows, [])}]})
    assert status == 200 and payload["id"] == "abc"
    assert payload["outputs"][0]["data"] == [0, 2] and payload["outputs"][0]["shape"] == [2]


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_errors(server):
    url = server.url
    status, payload = _request(f"{url}/v2/models/nope/infer", "POST", {"inputs": [[1]]})
    assert status == 404 and payload["models"] == ["iris:v1"]
    assert _request(f"{url}/v2/models/iris:v1/infer", "POST", raw=b"{bad")[0] == 400
    assert _request(f"{url}/v2/models/iris:v1/infer", "POST", {"rows": []})[0] == 400
    status, payload = _request(f"{url}/v2/models/iris:v1/infer", "POST", {"inputs": [[1, 2]]})
    assert status in (400, 500) and "error" in payload  # wrong feature count
    assert _request(f"{url}/other")[0] == 404
    # the server still answers after errors
    assert _request(f"{url}/v2/health/ready")[0] == 200


def test_custom_class_and_class_args(tmp_path):
    source = tmp_path / "my_serving.py"
    source.write_text(
        "from flowc.runtime.serving import V2ModelServer\n\n"
        "class Echo(V2ModelServer):\n"
        "    def load(self):\n"
        "        self.factor = self.class_args.get('factor', 1)\n\n"
        "    def predict(self, body):\n"
        "        return [x * self.factor for x in body['inputs']]\n\n"
        "class Broken(V2ModelServer):\n"
        "    def load(self):\n"
        "        raise RuntimeError('no weights')\n")
    with start_server(str(source), "Echo", [{"key": "a", "factor": 3},
                                           {"key": "b"}]) as handle:
        assert _request(f"{handle.url}/v2/models/a/infer", "POST", {"inputs": [1, 2]})[1][
            "outputs"] == [3, 6]
        assert _request(f"{handle.url}/v2/models/b/infer", "POST", {"inputs": [1]})[1][
            "outputs"] == [1]
    with pytest.raises(ServingError, match="model 'x' .*RuntimeError: no weights"):
        start_server(str(source), "Broken", [{"key": "x"}])
    with pytest.raises(ServingError, match="'Missing' is not defined"):
        start_server(str(source), "Missing", [{"key": "x"}])
    with pytest.raises(ServingError, match="model 'x': cannot resolve 'store://"):
        start_server(str(source), "Echo", [{"key": "x", "model_path": "store://artifacts/p/m"}])
    with pytest.raises(ServingError, match="no models"):
        start_server(str(source), "Echo", [])
    with pytest.raises(ServingError, match="listed twice"):
        start_server(str(source), "Echo", [{"key": "a"}, {"key": "a"}])


def _tester_call(tmp_path, table, addr, **params):
    fn = hub.resolve("hub://v2_model_tester")
    return StepCall(step="model-tester", run_id="r1", project="iris", handler=fn.handler,
                    source_file=fn.source_file, source_code=None,
                    params={"addr": addr, "model": "iris:v1", **params},
                    inputs={"table": table}, outputs=[],
                    artifact_dir=str(tmp_path / "art"))


def test_live_tester_against_server(server, iris_model, tmp_path):
    result = execute(_tester_call(tmp_path, iris_model[1], server.url, rows=20))
    assert result.results["total_tests"] == 20
    assert result.results["errors"] == 0
    assert result.results["match"] == 20  # a decision tree fits its own training rows
    assert 0 < result.results["min_latency"] <= result.results["avg_latency"] \
        <= result.results["max_latency"]
    plot = result.artifacts["latency"]
    assert plot["kind"] == "plot" and plot["path"].endswith("latency.svg")
    with open(plot["path"]) as handle:
        assert handle.read().startswith("<svg")


def test_live_tester_counts_mismatches_and_fails_on_errors(server, iris_model, tmp_path):
    df = pd.read_parquet(iris_model[1])
    df["label"] = (df["label"] + 1) % 3  # every label now wrong
    wrong = tmp_path / "wrong.csv"
    df.to_csv(wrong, index=False)
    result = execute(_tester_call(tmp_path, str(wrong), server.url, rows=0))
    assert result.results["total_tests"] == 30 and result.results["match"] == 0
    with pytest.raises(StepFailed, match="only 0 of 30"):
        execute(_tester_call(tmp_path, str(wrong), server.url, match_err=True, rows=0))
    addr = server.url
    server.stop()
    with pytest.raises(StepFailed, match="5 of 5 requests .* failed"):
        execute(_tester_call(tmp_path, iris_model[1], addr, rows=5))
    with pytest.raises(StepFailed, match="label column 'nope'"):
        execute(_tester_call(tmp_path, iris_model[1], addr, label_column="nope"))


@pytest.mark.slow
def test_serve_process(iris_model, tmp_path):
    fn = hub.resolve("hub://v2_model_server")
    spec = {"source_file": fn.source_file, "class_name": fn.default_class,
            "models": [{"key": "iris:v1", "model_path": iris_model[0]}]}
    proc = spawn_server(spec, spec_path=str(tmp_path / "spec.json"),
                        log_path=str(tmp_path / "serve.log"))
    try:
        assert proc.alive()
        status, payload = _request(f"{proc.url}/v2/models/iris:v1/infer", "PUT",
                                   {"inputs": [[5.1, 3.5, 1.4, 0.2]]})
        assert status == 200 and payload["outputs"] == [0]
    finally:
        assert proc.stop() == 0
    assert not proc.alive()
    with open(tmp_path / "serve.log") as handle:
        assert "model loaded" in handle.read()

    bad = {**spec, "models": [{"key": "m", "model_path": str(tmp_path / "missing.pkl")}]}
    with pytest.raises(ServingError, match="did not start"):
        spawn_server(bad, spec_path=str(tmp_path / "bad.json"),
                     log_path=str(tmp_path / "bad.log"))
    with open(tmp_path / "bad.log") as handle:
        assert "missing.pkl" in handle.read()
    assert os.path.exists(tmp_path / "bad.json")
