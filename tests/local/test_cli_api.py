"""CLI commands (plan, run, runs, logs), project.run, notifications and the git check."""

import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from click.testing import CliRunner

from flowc.cli import cli

FLOW = """
import flowc as fc

def pipeline(x: int = 2):
    a = fc.run_function("steps.py", handler="add", name="a", params={"x": x}, outputs=["sum:int"])
    fc.run_function("steps.py", handler="say", name="b", params={"word": f"w{a.outputs['sum']}"},
                    outputs=["word:str"])
    fc.run_function("steps.py", handler="say", name="c", params={"word": "free"})
"""


@pytest.fixture
def flow(project, monkeypatch):
    monkeypatch.chdir(project.dir)
    project.write("flow.py", FLOW)
    return project


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_plan_shows_stages_params_and_input_sources(flow):
    result = invoke("plan", "flow.py", "-A", "x=7")
    assert result.exit_code == 0, result.output
    assert "stage 1:\n  a [run]" in result.output
    assert "param x = 7" in result.output
    assert "param word = w{{a.sum}}" in result.output
    data = json.loads(invoke("plan", "flow.py", "--format", "json").output)
    assert data["stages"] == [["a", "c"], ["b"]]
    assert data["steps"][0]["handler"] == "add"
    assert not os.path.exists(os.path.join(flow.dir, ".flowc", "runs.db"))  # ran nothing


def test_run_then_runs_show_and_logs(flow):
    result = invoke("run", "flow.py", "-A", "x=3", "--progress", "plain")
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("run ") and " succeeded in " in last
    run_id = last.split()[1]
    listing = json.loads(invoke("runs", "--format", "json").output)
    assert [r["run_id"] for r in listing] == [run_id]
    shown = json.loads(invoke("runs", "show", run_id, "--format", "json").output)
    assert shown["run_id"] == run_id and shown["state"] == "succeeded"
    steps = {s["name"]: s for s in shown["steps"]}
    assert steps["b"]["results"] == {"word": "w4"}
    assert isinstance(steps["b"]["started"], float) and steps["b"]["ended"] >= steps["b"]["started"]
    assert set(steps) == {"a", "b", "c"}
    text = invoke("runs", "show", run_id[:12]).output  # a unique prefix works
    assert "word=w4" in text
    logs = invoke("logs", run_id, "b").output
    assert "saying w4" in logs
    assert "==> c [succeeded] <==" in invoke("logs", run_id).output
    bad = invoke("logs", run_id, "nope")
    assert bad.exit_code == 2 and "no step 'nope'" in bad.output


def test_run_exit_status_and_json_progress(flow):
    flow.write("bad.py", FLOW.replace('handler="say", name="c"', 'handler="boom", name="c"'))
    result = invoke("run", "bad.py", "--progress", "json")
    assert result.exit_code == 1
    assert "FC216" in result.stderr  # boom() takes no 'word': a warning, on stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished"
    assert "StepFailed" in kinds and kinds.count("StepSucceeded") == 2
    assert events[-1]["state"] == "failed" and events[-1]["error"] == "failed: c"


def _strict_json(text):
    def reject(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=reject)


def test_non_finite_results_print_as_strict_json(flow):
    flow.write("nan.py", """
def odd(context, x: float = 1.0):
    context.log_result("score", float("nan"))
    context.log_result("big", float("inf"))
    context.log_result("x", [x, float("-inf")])
""")
    flow.write("nanflow.py", """
import flowc as fc

def pipeline():
    fc.run_function("nan.py", handler="odd", name="o", params={"x": 2.5},
                    outputs=["score:float", "big:float", "x:list"])
""")
    result = invoke("run", "nanflow.py", "--progress", "json")
    assert result.exit_code == 0, result.output
    events = [_strict_json(line) for line in result.stdout.splitlines()]
    finished = [e for e in events if e["event"] == "StepSucceeded"][0]
    assert finished["outputs"] == {"score": None, "big": None, "x": [2.5, None]}
    run_id = events[-1]["run_id"]
    shown = _strict_json(invoke("runs", "show", run_id, "--format", "json").output)
    assert shown["steps"][0]["results"] == {"score": None, "big": None, "x": [2.5, None]}
    assert _strict_json(invoke("runs", "--format", "json").output)[0]["run_id"] == run_id
    flow.write("project.yaml", """
kind: project
metadata: {name: nan}
spec:
  workflows:
  - name: main
    path: limit.py
    args_schema:
    - {name: limit, type: float, default: .inf}
""")
    flow.write("limit.py", """
import flowc as fc

def pipeline(limit: float = 1.0):
    fc.run_function("steps.py", handler="say", name="s", params={"word": limit})
""")
    plan = invoke("plan", "-w", "main", "--format", "json")
    assert plan.exit_code == 0, plan.output
    data = _strict_json(plan.output)
    assert data["arguments"] == {"limit": None} and data["steps"][0]["params"] == {"word": None}
    assert "score=NaN" in invoke("runs", "show", run_id).output  # text keeps the value


def test_project_option_everywhere_and_in_the_printed_hints(flow, tmp_path_factory, monkeypatch):
    import shlex

    flow.write("project.yaml", "kind: project\nmetadata: {name: px}\nspec:\n  workflows:\n"
                               "  - {name: main, path: flow.py}\n")
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    result = invoke("run", "-w", "main", "-p", flow.dir, "--progress", "plain")
    assert result.exit_code == 0, result.output
    run_id = result.stdout.strip().splitlines()[-1].split()[1]
    where = [line for line in result.stdout.splitlines() if line.startswith("artifacts: ")][0]
    details = where.split("details: ")[1].split(";")[0]
    logs_hint = where.split("logs: ")[1].rstrip(")")
    assert details.startswith(f"flowc runs show {run_id} -p ")
    for hint in (details, logs_hint):  # the printed commands work from here
        shown = invoke(*shlex.split(hint)[1:])
        assert shown.exit_code == 0, (hint, shown.output)
        assert run_id in shown.output or "saying" in shown.output
    for args in (["runs", "show", run_id, "-p", flow.dir], ["runs", "-p", flow.dir, "show", run_id],
                 ["runs", "show", run_id, "--project", flow.dir, "--format", "json"],
                 ["logs", run_id, "-p", flow.dir], ["runs", "-p", flow.dir],
                 ["plan", "-w", "main", "-p", flow.dir]):
        assert invoke(*args).exit_code == 0, args
    monkeypatch.chdir(flow.dir)  # inside the project: no -p in the hint
    again = invoke("run", "-w", "main", "--progress", "plain")
    assert "-p " not in again.stdout and "(details: flowc runs show " in again.stdout


def test_run_prints_param_lint_findings_as_warnings_and_runs_anyway(flow):
    flow.write("typo.py", """
import flowc as fc

def pipeline():
    fc.run_function("steps.py", handler="add", name="a", params={"x": 1, "yy": 2})
    fc.run_function("steps.py", handler="add", name="b", params={"x": "one"})
    fc.run_function("steps.py", handler="add", name="c", params={"x": 1, "zz": 2})  # noqa: FC216
    fc.run_function("steps.py", handler="ad", name="d", params={"x": 1})
""")
    result = invoke("run", "typo.py", "--progress", "plain")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    # lint owns the wording; the run shows each finding once, located, in file order
    assert [w.split(" ")[1:3] for w in warnings] == [
        ["typo.py:4:74:", "FC216"], ["typo.py:5:66:", "FC218"], ["typo.py:7:41:", "FC302"]]
    assert "'yy'" in warnings[0] and "'ad'" in warnings[2]
    assert "hint: did you mean 'y'?" in result.stderr
    assert "step 'a' SUCCEEDED" in result.stderr  # the warnings do not stop the run
    assert result.exit_code == 1 and "step 'd' FAILED" in result.stderr
    flow.write("unknown.py", """
import flowc as fc

def pipeline():
    fc.run_function("nosuch", params={"x": 1})
""")
    refused = invoke("run", "unknown.py", "--progress", "plain")
    assert refused.exit_code == 2
    assert refused.stderr.count("FC301") == 1  # the run's error, not a warning too
    assert "warning:" not in refused.stderr


def test_a_failing_lint_check_never_stops_a_run(flow, monkeypatch):
    from flowc.lint import checks

    def broken(ctx):
        raise RuntimeError("lint bug")

    monkeypatch.setattr(checks, "CHECKS", [*checks.CHECKS, (("FC216",), broken)])
    result = invoke("run", "flow.py", "--progress", "quiet")
    assert result.exit_code == 0 and "warning" not in result.stderr


def test_run_refuses_unknown_resume_and_bad_usage(flow):
    result = invoke("run", "--resume", "does-not-exist")
    assert result.exit_code == 2 and "no run" in result.output
    assert invoke("run").exit_code == 2


def test_git_dirty_check_refuses_unless_dirty(flow):
    def git(*args):
        subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
                       cwd=flow.dir, check=True, capture_output=True)

    git("init", "-q")
    git("add", "flow.py", "steps.py")
    git("commit", "-q", "-m", "x")
    assert invoke("run", "flow.py", "--progress", "quiet").exit_code == 0  # clean: runs
    with open(os.path.join(flow.dir, "flow.py"), "a") as handle:
        handle.write("\n# edit\n")
    refused = invoke("run", "flow.py", "--progress", "quiet")
    assert refused.exit_code == 2 and "--dirty" in refused.output
    assert invoke("run", "flow.py", "--dirty", "--progress", "quiet").exit_code == 0


class _Collector(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    _Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Collector.received
    server.shutdown()
    server.server_close()


def test_project_run_with_notifications(flow, http_server, monkeypatch, capsys):
    from flowc.project import new_project

    url, received = http_server
    monkeypatch.setenv("SLACK_WEBHOOK", url + "/slack")
    project = new_project("demo", flow.dir)
    project.set_workflow("main", "flow.py")
    project.save()
    project.notifiers.add_notification(notification_type="webhook", params={"url": url + "/hook"})
    project.notifiers.add_notification(notification_type="webhook",
                                       params={"url": "http://127.0.0.1:9/refused"})
    project.notifiers.add_notification(notification_type="console")
    run = project.run("main", arguments={"x": 5}, watch=True, progress="quiet")
    assert run.state == "succeeded"
    assert run.outputs["b"] == {"word": "w6"}
    paths = sorted(p for p, _ in received)
    assert paths == ["/hook", "/slack"]
    hook = dict(received)["/hook"]
    assert hook["run_id"] == run.run_id and hook["state"] == "succeeded"
    assert [s["name"] for s in hook["steps"]] == ["a", "b", "c"]
    slack = dict(received)["/slack"]
    assert f"flowc run `{run.run_id}`" in slack["text"] and "• b: succeeded" in slack["text"]
    assert slack["flowc"]["steps"][1]["results"] == {"word": "w6"}
    err = capsys.readouterr().err
    assert "warning: notification 'webhook' failed" in err  # the refused one: warned, run ok


def test_project_run_in_background_and_with_a_callable(flow):
    from flowc.project import new_project

    project = new_project("demo", flow.dir)
    run = project.run(workflow_path="flow.py", watch=False, arguments={"x": 1})
    run.wait_for_completion()
    assert run.state == "succeeded" and run.outputs["a"] == {"sum": 2}

    import importlib.util

    spec = importlib.util.spec_from_file_location("flowmod", os.path.join(flow.dir, "flow.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = project.run(workflow_handler=module.pipeline, arguments={"x": 10}, progress="quiet",
                      max_parallel=1)
    assert run.state == "succeeded" and run.outputs["a"] == {"sum": 11}


def test_engine_kfp_submits_the_loaded_workflow(flow, monkeypatch):
    import flowc.backends.kfp.submit as submit_module

    calls = []
    monkeypatch.setattr(submit_module, "submit",
                        lambda loaded, host, experiment=None: calls.append(
                            (loaded.workflow.name, loaded.arguments, host, experiment)) or "kfp-1")
    result = invoke("run", "flow.py", "-A", "x=4", "--engine", "kfp", "--host",
                    "http://127.0.0.1:8888", "--experiment", "exp")
    assert result.exit_code == 0, result.output
    assert calls == [("pipeline", {"x": 4}, "http://127.0.0.1:8888", "exp")]
    assert "submitted run kfp-1" in result.output
    assert not os.path.exists(os.path.join(flow.dir, ".flowc", "runs.db"))
    missing = invoke("run", "flow.py", "--engine", "kfp")
    assert missing.exit_code == 2 and "--host" in missing.output


def test_background_run_can_be_aborted(flow):
    from flowc.project import new_project

    flow.write("slow.py", """
import flowc as fc

def pipeline():
    slow = fc.run_function("steps.py", handler="nap", name="slow", params={"seconds": 30})
    fc.run_function("steps.py", handler="say", name="later").after(slow)
""")
    project = new_project("demo", flow.dir)
    run = project.run(workflow_path="slow.py", watch=False)
    deadline = time.time() + 10
    while not os.path.exists(os.path.join(flow.dir, "nap-.pid")):  # the step is running
        assert time.time() < deadline
        time.sleep(0.02)
    run.abort()
    run.wait_for_completion(timeout=20)
    assert run.state == "aborted"
    assert {s.name: s.state for s in run.record.steps} == {"slow": "aborted",
                                                           "later": "aborted"}


def test_plan_shows_conditions_hyper_params_and_secrets_as_placeholders(flow):
    flow.write("cond.py", """
import flowc as fc
from flowc.compiler.dsl import get_current_project

def pipeline(limit: int = 3):
    a = fc.run_function("steps.py", handler="add", name="a", params={"x": 1}, outputs=["sum:int"],
                        hyperparams={"y": [1, 2]},
                        hyper_param_options=fc.HyperParamOptions(selector="max.sum",
                                                                 stop_condition="sum > 2"))
    with fc.Condition(a.outputs["sum"] > limit):
        fc.run_function("steps.py", handler="show_secret", name="s",
                        params={"token": get_current_project().get_secret("TOKEN")})
""")
    text = invoke("plan", "cond.py").output
    assert "    when: {{a.sum}} > 3" in text
    assert "    hyper: strategy=grid selector=max.sum stop_condition=sum > 2" in text
    assert "      y in [1, 2]" in text
    assert "param token = {{secret:TOKEN}}" in text


def test_runs_show_lists_hyper_iterations(flow):
    flow.write("hyper.py", """
import flowc as fc

def pipeline():
    fc.run_function("steps.py", handler="score", name="t", hyperparams={"p": [2, -1, 3]},
                    hyper_param_options=fc.HyperParamOptions(selector="max.score"),
                    outputs=["score:int"])
""")
    result = invoke("run", "hyper.py", "--progress", "quiet")
    assert result.exit_code == 0, result.output
    run_id = result.output.split()[1]
    shown = json.loads(invoke("runs", "show", run_id, "--format", "json").output)
    iterations = shown["steps"][0]["iterations"]
    assert [(i["iteration"], i["state"], i["results"].get("score")) for i in iterations] == [
        (1, "succeeded", 20), (2, "failed", None), (3, "succeeded", 30)]
    assert "negative -1" in iterations[1]["error"]
    text = invoke("runs", "show", run_id).output
    assert "  t #3 succeeded: score=30" in text


def test_project_run_engine_kfp_submits(flow, monkeypatch):
    import flowc.backends.kfp.submit as submit_module
    from flowc.project import new_project

    seen = []
    monkeypatch.setattr(submit_module, "submit", lambda loaded, host, experiment=None:
                        seen.append((loaded.workflow.name, host, experiment)) or "kfp-7")
    project = new_project("demo", flow.dir)
    run = project.run(workflow_path="flow.py", engine="kfp", host="http://127.0.0.1:9",
                      experiment="e")
    assert (run.run_id, run.state) == ("kfp-7", "submitted")
    assert seen == [("pipeline", "http://127.0.0.1:9", "e")]
    from flowc.diagnostics import FlowcError

    with pytest.raises(FlowcError, match="host"):
        project.run(workflow_path="flow.py", engine="kfp")
    with pytest.raises(TypeError, match="unknown run option"):
        project.run(workflow_path="flow.py", colour="blue")


def test_a_failing_cli_run_leaves_no_traceback(flow):
    import sys

    result = subprocess.run([sys.executable, "-m", "flowc.cli", "run", "flow.py", "-A", "x=abc"],
                            cwd=flow.dir, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "must be an int" in result.stderr and "Traceback" not in result.stderr
