"""The KFP executor adapter (flowc.runtime.kfp_executor) and the build/deploy containers,
driven with hand-written executor inputs as the KFP driver writes them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import kfp_workflows as w
from kfp_helpers import documents
from flowc.backends.kfp import compile_workflow, kserve
from flowc.runtime import kfp_executor as ex


def executor_input(tmp_path, *, params=None, in_artifacts=None, out_params=(),
                   out_artifacts=()) -> dict:
    out_dir = tmp_path / "outputs" / "mytask"
    return {
        "inputs": {"parameterValues": params or {},
                   "artifacts": {k: {"artifacts": [v]} for k, v in
                                 (in_artifacts or {}).items()}},
        "outputs": {
            "parameters": {n: {"outputFile": str(out_dir / n)} for n in out_params},
            "artifacts": {n: {"artifacts": [{"name": n, "uri": str(out_dir / n),
                                             "type": {"schemaTitle": "system.Artifact"}}]}
                          for n in out_artifacts},
            "outputFile": str(out_dir / "executor_output.json"),
        },
    }


def run_main(data: dict, spec: dict, source: str | None = None) -> tuple[int, dict | None]:
    args = ["--executor-input", json.dumps(data), "--spec", json.dumps(spec)]
    if source is not None:
        args += ["--source", source]
    code = ex.main(args)
    path = data["outputs"]["outputFile"]
    output = json.load(open(path)) if os.path.exists(path) else None
    return code, output


SOURCE = open(os.path.join(w.FIXTURES, "steps.py"), encoding="utf-8").read()


def test_run_casts_parameters_and_writes_outputs(tmp_path):
    data = executor_input(tmp_path, params={"n": 3.0, "prefix": "q"},
                          out_params=["count", "first"], out_artifacts=["data"])
    spec = {"kind": "run", "handler": "make", "params": {"n": "int", "prefix": "str"},
            "outputs": [["data", "dataset"], ["count", "int"], ["first", "str"]]}
    code, output = run_main(data, spec, SOURCE)
    assert code == 0
    assert output["parameterValues"] == {"count": 3, "first": "q0"}
    artifact = output["artifacts"]["data"]["artifacts"][0]
    assert artifact["metadata"]["flowc_file"] == "data.txt"
    with open(os.path.join(artifact["uri"], "data.txt")) as handle:
        assert handle.read() == "q0\nq1\nq2\n"


def test_input_artifacts_are_found_by_their_recorded_file(tmp_path):
    folder = tmp_path / "upstream" / "data"
    folder.mkdir(parents=True)
    (folder / "data.txt").write_text("r0\nr1\nr2\n")
    data = executor_input(tmp_path, params={"scale": 2.0}, out_params=["total"],
                          in_artifacts={"data": {"uri": str(folder),
                                                 "metadata": {"flowc_file": "data.txt"}}})
    spec = {"kind": "run", "handler": "total", "params": {"scale": "float"},
            "data": ["data"], "outputs": [["total", "float"]]}
    code, output = run_main(data, spec, SOURCE)
    assert code == 0 and output["parameterValues"] == {"total": 6.0}


def test_templates_and_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWC_SECRET_TOK", "xyz")
    data = executor_input(tmp_path, params={"pipelinechannel--a--v": "A"},
                          out_params=["message"])
    spec = {"kind": "run", "handler": "greet", "params": {},
            "templates": {"name": {"$concat": [{"$input": "pipelinechannel--a--v"}, "!"]}},
            "secrets": {"token": {"$concat": ["k-", {"$secret": "TOK"}]}},
            "secret_env": {"TOK": "FLOWC_SECRET_TOK"}, "outputs": [["message", "str"]]}
    code, output = run_main(data, spec, SOURCE)
    assert code == 0 and output["parameterValues"] == {"message": "hello A! (5)"}
    monkeypatch.delenv("FLOWC_SECRET_TOK")
    code, _ = run_main(data, spec, SOURCE)
    assert code == 1


def test_handler_failure_exits_1_and_names_the_problem(tmp_path, capsys):
    data = executor_input(tmp_path, params={"a": 1.0, "b": 2.0}, out_params=["nothing"])
    spec = {"kind": "run", "handler": "report", "params": {"a": "float", "b": "float"},
            "outputs": [["nothing", "str"]]}
    code, output = run_main(data, spec, SOURCE)
    assert code == 1 and output is None
    assert "nothing" in capsys.readouterr().err


def test_bad_arguments_exit_2():
    assert ex.main(["--spec", "{}"]) == 2
    assert ex.main(["--executor-input", "not json", "--spec", "{}"]) == 2
    assert ex.main(["--executor-input", "[]", "--spec", "{}"]) == 2


@pytest.mark.parametrize("selector, values, best", [
    ("max.accuracy", [0.5, 0.9, 0.7], 1), ("min.loss", [0.5, 0.1, 0.7], 1),
    ("accuracy", [0.2, None, 0.3], 2), (None, [0.1, 0.2], 0)])
def test_selector_picks_the_best_trial(tmp_path, selector, values, best):
    metric = (selector or "x").rpartition(".")[2]
    trials = []
    for i in range(len(values)):
        folder = tmp_path / f"trial{i}" / "model"
        folder.mkdir(parents=True)
        (folder / "model.txt").write_text(f"model {i}")
        trials.append({"uri": str(folder), "metadata": {"flowc_file": "model.txt"}})
    data = executor_input(tmp_path, params={metric: values}, out_params=[metric,
                                                                          "best_iteration"],
                          out_artifacts=["model"])
    data["inputs"]["artifacts"]["model"] = {"artifacts": trials}
    spec = {"kind": "select", "selector": selector, "metric": metric,
            "outputs": [["model", "model"], [metric, "float"], ["best_iteration", "int"]],
            "items": [{"i": i} for i in range(len(values))]}
    code, output = run_main(data, spec)
    assert code == 0
    assert output["parameterValues"]["best_iteration"] == best + 1
    artifact = output["artifacts"]["model"]["artifacts"][0]
    with open(os.path.join(artifact["uri"], artifact["metadata"]["flowc_file"])) as handle:
        assert handle.read() == f"model {best}"


def test_selector_fails_when_no_trial_reported_the_metric(tmp_path):
    data = executor_input(tmp_path, params={"accuracy": [None, None]},
                          out_params=["accuracy"])
    spec = {"kind": "select", "selector": "max.accuracy", "metric": "accuracy",
            "outputs": [["accuracy", "float"]], "items": [{}, {}]}
    assert run_main(data, spec)[0] == 1


def test_local_paths_of_object_store_uris():
    assert ex.local_path("gs://b/x") == "/gcs/b/x"
    assert ex.local_path("s3://b/x") == "/s3/b/x"
    assert ex.local_path("minio://b/x") == "/minio/b/x"
    assert ex.local_path("/tmp/x") == "/tmp/x"


def test_build_script_writes_the_dockerfile_and_the_image_output(tmp_path):
    text = compile_workflow(w.kitchen(), base_dir=w.FIXTURES, registry="reg.local/ml")
    spec, _ = documents(text)
    container = spec["deploymentSpec"]["executors"]["exec-build-steps"]["container"]
    fake = tmp_path / "kaniko"
    fake.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/kaniko-args"\n')
    fake.chmod(0o755)
    out = tmp_path / "out" / "image"
    args = [a.replace("{{$.outputs.parameters['image'].output_file}}", str(out))
            for a in container["args"]]
    env = {**os.environ, "KANIKO_EXECUTOR": str(fake), "KANIKO_WORKSPACE": str(tmp_path / "ws")}
    subprocess.run(["sh", *container["command"][1:], *args], check=True, env=env)
    image = out.read_text()
    assert image.startswith("reg.local/ml/demo-steps:")
    dockerfile = (tmp_path / "ws" / "Dockerfile").read_text()
    assert dockerfile.splitlines() == ["FROM python:3.11-slim",
                                       "RUN python -m pip install --no-cache-dir flowc pandas",
                                       "RUN echo built"]
    assert f"--destination {image}" in (tmp_path / "kaniko-args").read_text()


class FakeKube:
    """A Kubernetes API double for InferenceServices: create, conflict, replace, get."""

    def __init__(self) -> None:
        self.objects: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, status, payload):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _read(self):
                return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

            def do_POST(self):
                fake.calls.append(("POST", self.path))
                obj = self._read()
                name = obj["metadata"]["name"]
                if name in fake.objects:
                    return self._send(409, {"message": "already exists"})
                obj["metadata"]["resourceVersion"] = "1"
                fake.objects[name] = obj
                self._send(201, obj)

            def do_PUT(self):
                fake.calls.append(("PUT", self.path))
                obj = self._read()
                fake.objects[obj["metadata"]["name"]] = obj
                self._send(200, obj)

            def do_GET(self):
                fake.calls.append(("GET", self.path))
                name = self.path.rsplit("/", 1)[1]
                obj = fake.objects.get(name)
                if obj is None:
                    return self._send(404, {"message": "not found"})
                obj = dict(obj)
                obj["status"] = {"url": f"http://{name}.ns.example.com",
                                 "conditions": [{"type": "Ready", "status": "True"}]}
                self._send(200, obj)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_deploy_creates_then_updates_the_inference_service(tmp_path, monkeypatch):
    kube = FakeKube()
    monkeypatch.setenv("FLOWC_K8S_API", kube.url)
    monkeypatch.setenv("FLOWC_NAMESPACE", "ml")
    monkeypatch.setenv("FLOWC_DEPLOY_POLL", "0.05")
    try:
        data = executor_input(tmp_path, out_params=["endpoint", "name"], in_artifacts={
            "pipelinechannel--train--model": {"uri": "s3://bucket/run/train/model",
                                              "metadata": {"flowc_file": "model"}}})
        spec = {"kind": "deploy", "function": "serving", "project": "demo",
                "templates": {"models": [{"$literal": {
                    "key": "m:v1", "model_path": {"$artifact":
                                                  "pipelinechannel--train--model"}}}]},
                "serving_image": "me/serve:1", "default_class": "ClassifierModel",
                "outputs": [["endpoint", "str"], ["name", "str"]]}
        code, output = run_main(data, spec, "class ClassifierModel: ...")
        assert code == 0
        assert output["parameterValues"] == {"endpoint": "http://demo-serving.ns.example.com",
                                             "name": "demo-serving"}
        isvc = kube.objects["demo-serving"]
        assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
        container = isvc["spec"]["predictor"]["containers"][0]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["STORAGE_URI"] == "s3://bucket/run/train/model/model"
        serve_spec = json.loads(env["FLOWC_SERVE_SPEC"])
        assert serve_spec["models"] == [{"key": "m:v1", "model_path": "/mnt/models"}]
        assert serve_spec["class_name"] == "ClassifierModel"
        code, _ = run_main(data, spec, "class ClassifierModel: ...")
        assert code == 0
        assert ("PUT", "/apis/serving.kserve.io/v1beta1/namespaces/ml/inferenceservices/"
                "demo-serving") in kube.calls
    finally:
        kube.close()


def test_deploy_outside_a_cluster_fails_clearly(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("FLOWC_K8S_API", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    data = executor_input(tmp_path, out_params=["endpoint"])
    spec = {"kind": "deploy", "function": "serving", "templates": {"models": []},
            "outputs": [["endpoint", "str"]]}
    code, _ = run_main(data, spec)
    assert code == 1 and "KUBERNETES_SERVICE_HOST" in capsys.readouterr().err


def test_service_names_are_dns_labels():
    assert kserve.service_name("My Proj", "v2_model_server") == "my-proj-v2-model-server"
    assert kserve.service_name(None, "9lives") == "fn-9lives"
    assert len(kserve.service_name("p" * 50, "f" * 50)) <= 63


def test_runtime_entry_point_dispatches_kfp(tmp_path):
    data = executor_input(tmp_path, params={"name": "z"}, out_params=["message"])
    spec = {"kind": "run", "handler": "greet", "params": {"name": "str"},
            "outputs": [["message", "str"]]}
    subprocess.run([sys.executable, "-m", "flowc.runtime", "kfp", "--executor-input",
                    json.dumps(data), "--spec", json.dumps(spec), "--source", SOURCE],
                   check=True, capture_output=True)
    with open(data["outputs"]["outputFile"]) as handle:
        assert json.load(handle) == {"parameterValues": {"message": "hello z (0)"}}


@pytest.mark.parametrize("has_flowc", [True, False])
def test_runtime_bootstrap_installs_flowc_only_when_missing(tmp_path, has_flowc):
    from flowc.backends.kfp.components import runtime_command

    log = tmp_path / "calls"
    fake = tmp_path / "python3"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        'if [ "$1" = "-c" ]; then exit ' + ("0" if has_flowc else "1") + "; fi\n")
    fake.chmod(0o755)
    command = runtime_command(["scikit-learn>=1.3"])
    command[3] = str(fake)
    subprocess.run([*command, "--executor-input", "{}"], check=True)
    calls = log.read_text().splitlines()
    assert calls[0] == "-c import flowc.runtime"
    if has_flowc:
        assert calls[1:] == ["-m flowc.runtime kfp --executor-input {}"]
    else:
        assert calls[1] == ("-m pip install --quiet --no-warn-script-location flowc "
                            "scikit-learn>=1.3")
        assert calls[2:] == ["-m flowc.runtime kfp --executor-input {}"]


def test_image_only_function_runs_a_dotted_handler_from_the_image(tmp_path, monkeypatch):
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "jobs.py").write_text(
        "def hello(context, who: str):\n    context.log_result('message', 'hi ' + who)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    data = executor_input(tmp_path, params={"who": "kfp"}, out_params=["message"])
    spec = {"kind": "run", "handler": "mypkg.jobs.hello", "params": {"who": "str"},
            "outputs": [["message", "str"]]}
    code, output = run_main(data, spec)
    assert code == 0 and output["parameterValues"] == {"message": "hi kfp"}
    spec["handler"] = "nopkg.nothing"
    assert run_main(data, spec)[0] == 1
