"""Deploy steps serve a model on 127.0.0.1 for the run; the hub tester calls it."""

import urllib.error
import urllib.request

import pytest

ML = '''
import json
import urllib.request


def train(context):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=300).fit(X, y)
    context.log_model("model", model)
    table = X.copy()
    table["label"] = y
    context.log_dataset("test_set", table.sample(12, random_state=1))


def ask(context, endpoint: str, row: list):
    request = urllib.request.Request(f"{endpoint}/v2/models/iris/infer",
                                     data=json.dumps({"inputs": [row]}).encode(), method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.load(response)
    context.log_result("prediction", body["outputs"][0])
    context.log_result("endpoint_seen", endpoint)
'''


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["forkserver", "in-process"])
def test_deploy_serves_model_for_the_run_and_stops_after(project, launcher):
    project.write("ml.py", ML)
    status = project.run("""
    def pipeline():
        t = fc.run_function("ml.py", handler="train", name="train", outputs=["model", "test_set"])
        serving = fc.import_function("hub://v2_model_server", new_name="serving")
        deploy = fc.deploy_function(serving, models=[{"key": "iris", "model_path": t.outputs["model"]}])
        fc.run_function("ml.py", handler="ask", name="ask",
                        params={"endpoint": deploy.outputs["endpoint"], "row": [5.1, 3.5, 1.4, 0.2]},
                        outputs=["prediction"])
        tester = fc.import_function("hub://v2_model_tester", new_name="live-tester")
        fc.run_function(tester, name="model-tester",
                        params={"addr": deploy.outputs["endpoint"], "model": "iris"},
                        inputs={"table": t.outputs["test_set"]})
    """, launcher=launcher)
    rows = project.step_rows(status.run_id)
    assert status.state == "succeeded", {n: r["error"] for n, r in rows.items()}
    deploy = next(n for n in rows if n.startswith("deploy-"))
    endpoint = status.outputs[deploy]["endpoint"]
    assert endpoint.startswith("http://127.0.0.1:")
    assert status.outputs[deploy]["name"] == "serving"
    assert status.outputs["ask"]["prediction"] == 0
    assert rows["model-tester"]["results"]["total_tests"] > 0
    assert rows["model-tester"]["results"]["errors"] == 0
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"{endpoint}/v2/models/iris/ready", timeout=2)


def test_deploy_of_missing_model_fails_the_step(project):
    status = project.run("""
    def pipeline():
        serving = fc.import_function("hub://v2_model_server", new_name="serving")
        d = fc.deploy_function(serving, models=[{"key": "m", "model_path": "nothing/here.pkl"}])
        fc.run_function("steps.py", handler="say", name="after", params={"word": d.outputs["endpoint"]})
    """)
    rows = project.step_rows(status.run_id)
    deploy = next(n for n in rows if n.startswith("deploy-"))
    assert rows[deploy]["state"] == "failed" and "'m'" in rows[deploy]["error"]
    assert rows["after"]["state"] == "upstream_failed"


@pytest.mark.slow
def test_model_server_dies_with_a_killed_runner(project):
    import json as _json
    import os
    import sqlite3
    import subprocess
    import sys
    import time

    project.write("ml.py", ML)
    project.write("flow.py", """
import flowc as fc

def pipeline():
    t = fc.run_function("ml.py", handler="train", name="train", outputs=["model", "test_set"])
    serving = fc.import_function("hub://v2_model_server", new_name="serving")
    d = fc.deploy_function(serving, models=[{"key": "iris", "model_path": t.outputs["model"]}])
    fc.run_function("steps.py", handler="nap", name="wait", params={"seconds": 60}).after(d)
""")
    proc = subprocess.Popen([sys.executable, "-m", "flowc.cli", "run", "flow.py",
                             "--progress", "quiet"], cwd=project.dir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = os.path.join(project.dir, ".flowc", "runs.db")
    deadline = time.time() + 60
    endpoint = None
    while endpoint is None:
        assert time.time() < deadline and proc.poll() is None
        try:
            with sqlite3.connect(db) as conn:
                row = conn.execute("SELECT outputs FROM steps WHERE name='deploy-serving' "
                                   "AND state='succeeded'").fetchone()
        except sqlite3.OperationalError:
            row = None
        endpoint = _json.loads(row[0])["endpoint"] if row else None
        time.sleep(0.1)
    urllib.request.urlopen(f"{endpoint}/v2/models/iris/ready", timeout=5).close()  # serving
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{endpoint}/v2/models/iris/ready", timeout=1).close()
        except (urllib.error.URLError, ConnectionError):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the model server outlived its killed runner")
