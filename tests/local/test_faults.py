"""Killed runners, signals and --resume: records stay whole and resume reruns only the rest."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

FLOW = """
import flowc as fc

def pipeline():
    a = fc.run_function("steps.py", handler="add", name="a", params={"x": 1}, outputs=["sum:int"])
    slow = fc.run_function("steps.py", handler="nap", name="slow",
                           params={"seconds": SECONDS, "tag": "x"}, outputs=["tag:str"]).after(a)
    fc.run_function("steps.py", handler="add", name="c", params={"x": a.outputs["sum"]},
                    outputs=["sum:int"]).after(slow)
"""


def _start(project, seconds):
    project.write("flow.py", FLOW.replace("SECONDS", str(seconds)))
    return subprocess.Popen([sys.executable, "-m", "flowc.cli", "run", "flow.py",
                             "--progress", "plain"], cwd=project.dir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_state(project, step, state, timeout=20):
    deadline = time.time() + timeout
    db = os.path.join(project.dir, ".flowc", "runs.db")
    while time.time() < deadline:
        if os.path.exists(db):
            try:
                with sqlite3.connect(db) as conn:
                    row = conn.execute("SELECT run_id, state FROM steps WHERE name=?",
                                       (step,)).fetchone()
            except sqlite3.OperationalError:
                row = None
            if row and row[1] == state:
                return row[0]
        time.sleep(0.05)
    raise AssertionError(f"step {step} never reached {state}")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_resume_after_runner_killed_with_sigkill(project):
    proc = _start(project, 30)
    run_id = _wait_for_state(project, "slow", "running")
    pid_file = os.path.join(project.dir, "nap-x.pid")
    deadline = time.time() + 10
    while not os.path.exists(pid_file) and time.time() < deadline:
        time.sleep(0.02)
    step_pid = int(open(pid_file).read())
    before = project.step_rows(run_id)
    assert before["a"]["state"] == "succeeded" and before["a"]["outputs"] == {"sum": 2}
    proc.kill()  # SIGKILL: the runner gets no chance to clean up or record anything
    proc.wait(timeout=10)
    deadline = time.time() + 5
    while _pid_alive(step_pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not _pid_alive(step_pid), "the step process outlived its killed runner"
    rows = project.step_rows(run_id)
    assert rows["a"] == before["a"]                     # whole, unchanged record
    assert (rows["slow"]["state"], rows["c"]["state"]) == ("running", "pending")
    listing = subprocess.run([sys.executable, "-m", "flowc.cli", "runs", "--format", "json"],
                             cwd=project.dir, capture_output=True, text=True, check=True)
    assert json.loads(listing.stdout)[0]["state"] == "interrupted"
    shown = [json.loads(subprocess.run(
        [sys.executable, "-m", "flowc.cli", "runs", "show", run_id, "--format", "json"],
        cwd=project.dir, capture_output=True, text=True, check=True).stdout) for _ in range(2)]
    assert shown[0]["duration"] == shown[1]["duration"]  # no longer grows
    assert [s["state"] for s in shown[0]["steps"]] == ["succeeded", "interrupted", "pending"]

    # resume uses the recorded IR (slow keeps seconds=30), so make nap fast in the code
    steps = os.path.join(project.dir, "steps.py")
    text = open(steps).read().replace("time.sleep(seconds)", "time.sleep(min(seconds, 0.05))")
    open(steps, "w").write(text)
    resumed = subprocess.run([sys.executable, "-m", "flowc.cli", "run", "--resume", run_id,
                              "--progress", "plain"], cwd=project.dir, capture_output=True,
                             text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert f"run {run_id} succeeded" in resumed.stdout
    after = project.step_rows(run_id)
    assert {n: r["state"] for n, r in after.items()} == dict.fromkeys(["a", "slow", "c"],
                                                                      "succeeded")
    assert after["a"]["started"] == before["a"]["started"]  # not re-run
    assert after["a"]["attempt"] == 1 and after["slow"]["attempt"] == 2
    assert after["c"]["outputs"] == {"sum": 3}
    with sqlite3.connect(os.path.join(project.dir, ".flowc", "runs.db")) as conn:
        state, attempt = conn.execute("SELECT state, attempt FROM runs WHERE run_id=?",
                                      (run_id,)).fetchone()
    assert (state, attempt) == ("succeeded", 2)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_abort_running_steps_and_record_them(project, sig):
    proc = _start(project, 30)
    run_id = _wait_for_state(project, "slow", "running")
    time.sleep(0.2)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    rows = project.step_rows(run_id)
    assert rows["a"]["state"] == "succeeded"
    assert rows["slow"]["state"] == "aborted"
    assert rows["slow"]["ended"] - rows["slow"]["started"] < 10
    assert rows["c"]["state"] == "aborted"
    assert f"run {run_id} aborted" in out
    step_pid = int(open(os.path.join(project.dir, "nap-x.pid")).read())
    deadline = time.time() + 3  # its socket closes a moment before the process is gone
    while _pid_alive(step_pid) and time.time() < deadline:
        time.sleep(0.02)
    assert not _pid_alive(step_pid)
    with sqlite3.connect(os.path.join(project.dir, ".flowc", "runs.db")) as conn:
        assert conn.execute("SELECT state FROM runs").fetchone()[0] == "aborted"


HYPER_FLOW = """
import flowc as fc

def pipeline():
    fc.run_function("steps.py", handler="nap", name="h", hyperparams={"seconds": [0, 0.01, 30]},
                    params={"tag": "x"},
                    hyper_param_options=fc.HyperParamOptions(parallel_runs=1, selector="max.t"),
                    outputs=["t:float"])
"""


@pytest.mark.slow
def test_resume_reuses_succeeded_hyper_iterations(project):
    project.write("flow.py", HYPER_FLOW)
    proc = subprocess.Popen([sys.executable, "-m", "flowc.cli", "run", "flow.py",
                             "--progress", "plain"], cwd=project.dir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = os.path.join(project.dir, ".flowc", "runs.db")
    deadline = time.time() + 20
    while True:
        assert time.time() < deadline, "the first two iterations never finished"
        try:
            with sqlite3.connect(db) as conn:
                done = conn.execute("SELECT iteration, started FROM iterations "
                                    "ORDER BY iteration").fetchall()
        except sqlite3.OperationalError:
            done = []
        if len(done) == 2:
            break
        time.sleep(0.05)
    time.sleep(0.3)  # iteration 3 is sleeping now
    proc.kill()
    proc.wait(timeout=10)
    run_id = _wait_for_state(project, "h", "running")
    steps = os.path.join(project.dir, "steps.py")
    text = open(steps).read().replace("time.sleep(seconds)", "time.sleep(min(seconds, 0.05))")
    open(steps, "w").write(text)
    resumed = subprocess.run([sys.executable, "-m", "flowc.cli", "run", "--resume", run_id,
                              "--progress", "plain"], cwd=project.dir, capture_output=True,
                             text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert "iteration 1 " not in resumed.stderr and "iteration 3 succeeded" in resumed.stderr
    with sqlite3.connect(db) as conn:
        after = conn.execute("SELECT iteration, started, state FROM iterations "
                             "ORDER BY iteration").fetchall()
    assert [(i, s) for i, s, _ in after[:2]] == done  # kept, not re-run
    assert [state for *_, state in after] == ["succeeded"] * 3
    rows = project.step_rows(run_id)
    assert rows["h"]["state"] == "succeeded" and rows["h"]["results"]["best_iteration"] == 3
    table = open(rows["h"]["artifacts"]["iteration_results"]["path"]).read().splitlines()
    assert len(table) == 4


def _cli(project, *args):
    from click.testing import CliRunner

    from flowc.cli import cli

    old = os.getcwd()
    os.chdir(project.dir)
    try:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def test_a_killed_runner_leaves_interrupted_steps_whose_durations_do_not_grow(project):
    from flowc.backends.local.db import RunsDB

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    db = RunsDB.for_project(project.dir)
    db.create_run(run_id="r-killed", project=None, workflow="w", ir='{"steps": []}',
                  arguments={}, artifact_path=project.dir, base_dir=project.dir,
                  workflow_path=None, options={}, steps=[("a", "run"), ("b", "run")])
    db.step_started("r-killed", "a", params={}, log_path=None, cache_key=None)
    db.step_finished("r-killed", "a", state="succeeded")
    db.step_started("r-killed", "b", params={}, log_path=None, cache_key=None)
    t0 = time.time() - 100  # the runner died ~96 s ago, 4 s into the run
    with sqlite3.connect(db.path) as conn:
        conn.execute("UPDATE runs SET pid=?, started=?, attempt_started=?", (dead.pid, t0, t0))
        conn.execute("UPDATE steps SET started=?, ended=? WHERE name='a'", (t0 + 1, t0 + 3))
        conn.execute("UPDATE steps SET started=? WHERE name='b'", (t0 + 4,))
    shown = _cli(project, "runs", "show", "r-killed").output
    assert "state interrupted  duration 4.00s" in shown
    assert [line.split() for line in shown.splitlines() if line.startswith(("a ", "b "))] == [
        ["a", "succeeded", "2.00s"], ["b", "interrupted", "-"]]
    data = json.loads(_cli(project, "runs", "show", "r-killed", "--format", "json").output)
    assert data["state"] == "interrupted" and data["duration"] == pytest.approx(4.0)
    assert [(s["state"], s["duration"]) for s in data["steps"]] == [
        ("succeeded", pytest.approx(2.0)), ("interrupted", None)]
    listing = _cli(project, "runs").output.splitlines()[1].split()
    assert listing[2] == "interrupted" and listing[5] == "4.00s"


def test_a_resumed_run_counts_its_attempts_not_the_gap_between_them(project):
    project.write("flaky.py", """
import os

def maybe_fail(context):
    if os.path.exists("fail.flag"):
        raise RuntimeError("flag set")
    context.log_result("ok", 1)
""")
    project.write("flow.py", """
import flowc as fc

def pipeline():
    a = fc.run_function("steps.py", handler="add", name="a", params={"x": 1})
    fc.run_function("flaky.py", handler="maybe_fail", name="f").after(a)
""")
    project.write("fail.flag", "")
    first = _cli(project, "run", "flow.py", "--progress", "quiet")
    assert first.exit_code == 1, first.output
    run_id = first.output.split()[1]
    with sqlite3.connect(os.path.join(project.dir, ".flowc", "runs.db")) as conn:
        conn.execute("UPDATE runs SET started=started-1000, ended=ended-1000, "
                     "attempt_started=attempt_started-1000")  # the first attempt: long ago
        conn.execute("UPDATE steps SET started=started-1000, ended=ended-1000")
    os.unlink(os.path.join(project.dir, "fail.flag"))
    resumed = _cli(project, "run", "--resume", run_id, "--progress", "quiet")
    assert resumed.exit_code == 0, resumed.output
    final = resumed.output.strip().splitlines()[-1]
    shown_duration = final.split(" in ")[-1]
    assert shown_duration.endswith("s") and "m" not in shown_duration  # not ~16 minutes
    listing = _cli(project, "runs").output.splitlines()[1].split()
    assert listing[0] == run_id and listing[5] == shown_duration  # one duration everywhere
    data = json.loads(_cli(project, "runs", "show", run_id, "--format", "json").output)
    assert 0 < data["duration"] < 60 and data["attempt"] == 2


def test_a_database_from_an_older_flowc_gains_the_new_columns(tmp_path):
    from flowc.backends.local.db import RunsDB

    path = tmp_path / "runs.db"
    with sqlite3.connect(path) as conn:  # the runs table as the first release wrote it
        conn.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, project TEXT, workflow TEXT "
                     "NOT NULL, state TEXT NOT NULL, started REAL NOT NULL, ended REAL, "
                     "arguments TEXT NOT NULL DEFAULT '{}', artifact_path TEXT NOT NULL, "
                     "base_dir TEXT NOT NULL, workflow_path TEXT, ir TEXT NOT NULL, "
                     "options TEXT NOT NULL DEFAULT '{}', pid INTEGER, attempt INTEGER NOT NULL "
                     "DEFAULT 1, error TEXT)")
        conn.execute("INSERT INTO runs (run_id, workflow, state, started, ended, artifact_path, "
                     "base_dir, ir) VALUES ('old', 'w', 'succeeded', 10, 15, '/a', '/b', '{}')")
    record = RunsDB(str(path)).get_run("old")
    assert record.duration == 5 and record.elapsed == 0
    RunsDB(str(path))  # opening it again changes nothing


def test_notifications_report_the_summed_duration_of_a_resumed_run():
    from flowc.backends.local.db import RunRecord
    from flowc.backends.local.notify import run_summary

    record = RunRecord(run_id="r", project=None, workflow="w", state="succeeded", started=100.0,
                       ended=1003.0, arguments={}, artifact_path="/a", base_dir="/b",
                       workflow_path=None, ir="{}", options={}, pid=None, attempt=2, error=None,
                       attempt_started=1000.0, elapsed=4.0)
    assert run_summary(record)["duration"] == 7.0  # 4 s before, 3 s now; not the 903 s span
