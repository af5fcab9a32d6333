"""The fork server itself: steps in their own processes, preloading that never delays a step."""

import os
import socket
import subprocess
import time

import pytest

from flowc.backends.local.launch import ForkServerLauncher, Job, StepError

HANDLERS = '''
import os
import sys


def probe(context):
    context.log_result("preloaded", "slowmod" in sys.modules)
    context.log_result("pid", os.getpid())
'''

SLOWMOD = "import time\ntime.sleep(2)\n"


def _call(folder, name):
    return {"step": name, "run_id": "r", "project": None, "handler": "probe",
            "source_file": os.path.join(folder, "probe.py"), "source_code": None, "params": {},
            "inputs": {}, "outputs": [], "artifact_dir": os.path.join(folder, "art", name)}


def _run(launcher, folder, name):
    job = Job(call=_call(folder, name), result_path=os.path.join(folder, f"{name}.json"),
              log_path=os.path.join(folder, f"{name}.log"))
    return launcher.run(job)["results"]


def _server_pids(socket_path):
    out = subprocess.run(["pgrep", "-f", socket_path], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


@pytest.mark.slow
def test_preloading_happens_in_a_successor_and_never_delays_steps(tmp_path, monkeypatch):
    folder = str(tmp_path)
    (tmp_path / "probe.py").write_text(HANDLERS)
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / "slowmod.py").write_text(SLOWMOD)
    monkeypatch.setenv("PYTHONPATH", str(libs))
    launcher = ForkServerLauncher()
    launcher.start()
    try:
        launcher.preload(["slowmod"])
        started = time.monotonic()
        first = _run(launcher, folder, "first")
        assert time.monotonic() - started < 1.5  # not blocked by the 2 s import
        assert first["preloaded"] is False
        deadline = time.monotonic() + 10
        while True:
            later = _run(launcher, folder, "later")
            if later["preloaded"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert later["preloaded"] is True  # forked from the successor that imported it
        assert later["pid"] != first["pid"]
        assert len(_server_pids(launcher.socket_path)) >= 2  # server + successor
    finally:
        path = launcher.socket_path
        launcher.close()
    deadline = time.monotonic() + 5
    while _server_pids(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _server_pids(path) == []  # the successor died with the server


def test_a_step_error_and_a_missing_handler_are_reported(tmp_path):
    (tmp_path / "probe.py").write_text(HANDLERS + "\n\ndef broken():\n    raise KeyError('x')\n")
    launcher = ForkServerLauncher()
    try:
        call = _call(str(tmp_path), "b")
        call["handler"] = "broken"
        job = Job(call=call, result_path=str(tmp_path / "b.json"), log_path=str(tmp_path / "b.log"))
        with pytest.raises(StepError, match="KeyError"):
            launcher.run(job)
        assert "Traceback" in (tmp_path / "b.log").read_text()
        call["handler"] = "nothing_here"
        job = Job(call=call, result_path=str(tmp_path / "c.json"), log_path=str(tmp_path / "c.log"))
        with pytest.raises(StepError, match="nothing_here"):
            launcher.run(job)
    finally:
        launcher.close()


def test_server_accepts_again_when_its_successor_dies(tmp_path, monkeypatch):
    import signal

    folder = str(tmp_path)
    (tmp_path / "probe.py").write_text(HANDLERS)
    launcher = ForkServerLauncher()
    launcher.start()
    try:
        root = launcher._proc.pid
        launcher.preload(["colorsys"])  # not imported by the server yet
        deadline = time.monotonic() + 5
        while len(_server_pids(launcher.socket_path)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # the successor has taken over
        successor = [p for p in _server_pids(launcher.socket_path) if p != root]
        assert len(successor) == 1
        os.kill(successor[0], signal.SIGKILL)
        time.sleep(0.2)
        socket.setdefaulttimeout(10)  # a server that no longer accepts fails, not hangs
        assert _run(launcher, folder, "after")["preloaded"] is False  # served by the root
    finally:
        socket.setdefaulttimeout(None)
        launcher.close()


def test_a_preload_that_starts_threads_is_not_used(tmp_path, monkeypatch):
    folder = str(tmp_path)
    (tmp_path / "probe.py").write_text(HANDLERS.replace('"slowmod"', '"threadmod"'))
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / "threadmod.py").write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n")
    monkeypatch.setenv("PYTHONPATH", str(libs))
    launcher = ForkServerLauncher()
    launcher.start()
    try:
        launcher.preload(["threadmod"])
        time.sleep(1.0)  # the successor imported it, saw a thread and left
        assert _run(launcher, folder, "s")["preloaded"] is False
        assert len(_server_pids(launcher.socket_path)) == 1
    finally:
        launcher.close()
