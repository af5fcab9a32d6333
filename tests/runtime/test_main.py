"""``python -m flowc.runtime exec``: the process boundary the engines use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from flowc.runtime.core import StepCall

pytestmark = pytest.mark.slow


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "flowc.runtime", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd)


def test_exec_success_and_failure(make_call, tmp_path):
    call = make_call("def f(context, x: int):\n    context.log_result('y', x + 1)\n", "f",
                     params={"x": "41"}, outputs=[("y", "int")])
    call_file = tmp_path / "call.json"
    call_file.write_text(json.dumps(call.to_json()))
    result_file = tmp_path / "result.json"
    proc = _run("exec", "--call", str(call_file), "--result", str(result_file))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(result_file.read_text()) == {"results": {"y": 42}, "artifacts": {}}

    failing = make_call("def f():\n    raise KeyError('k')\n", "f")
    call_file.write_text(json.dumps(failing.to_json()))
    proc = _run("exec", "--call", str(call_file), "--result", str(result_file))
    assert proc.returncode == 1
    payload = json.loads(result_file.read_text())
    assert "KeyError" in payload["error"] and "Traceback" in payload["traceback"]
    assert "KeyError" in proc.stderr


def test_exec_bad_usage_exits_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = _run("exec", "--call", str(bad), "--result", str(tmp_path / "r.json"))
    assert proc.returncode == 2 and "error:" in proc.stderr
    proc = _run("exec", "--call")
    assert proc.returncode == 2
    proc = _run("frobnicate")
    assert proc.returncode == 2 and "unknown command" in proc.stderr


def test_import_is_light():
    code = ("import sys, flowc.runtime.core, flowc.runtime.__main__; "
            "heavy = [m for m in ('pandas', 'numpy', 'sklearn', 'click', 'kfp', 'networkx') "
            "if m in sys.modules]; print(heavy)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_result_to_stdout(make_call, tmp_path):
    call = make_call("def f():\n    return {'ok': True}\n", "f")
    call_file = tmp_path / "c.json"
    call_file.write_text(json.dumps(call.to_json()))
    proc = _run("exec", "--call", str(call_file), "--result", "-")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["results"] == {"ok": True}
    assert StepCall.from_json(json.loads(call_file.read_text())) == call


def test_kfp_command_dispatches_to_the_kfp_executor(monkeypatch):
    import flowc.runtime.kfp_executor as kfp_executor
    from flowc.runtime.__main__ import main

    seen = []
    monkeypatch.setattr(kfp_executor, "main", lambda argv: seen.append(argv) or 3)
    assert main(["kfp", "--executor-input", "{}"]) == 3
    assert seen == [["--executor-input", "{}"]]


def test_serve_command_errors(tmp_path):
    proc = _run("serve", "--spec", str(tmp_path / "missing.json"))
    assert proc.returncode == 2 and "cannot read serve spec" in proc.stderr
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"class_name": "X", "models": []}))
    proc = _run("serve", "--spec", str(spec))
    assert proc.returncode == 2 and "needs source_file or source_code" in proc.stderr
    source = tmp_path / "srv.py"
    source.write_text("from flowc.runtime.serving import V2ModelServer\n\n"
                      "class Bad(V2ModelServer):\n    def load(self):\n"
                      "        raise OSError('disk gone')\n")
    spec.write_text(json.dumps({"source_file": str(source), "class_name": "Bad",
                                "models": [{"key": "m"}]}))
    proc = _run("serve", "--spec", str(spec))
    assert proc.returncode == 1 and "disk gone" in proc.stderr and proc.stdout == ""


def test_serve_ready_file_and_sigterm(tmp_path):
    import os
    import signal
    import time
    import urllib.request

    source = tmp_path / "srv.py"
    source.write_text("from flowc.runtime.serving import V2ModelServer\n\n"
                      "class Echo(V2ModelServer):\n    def load(self):\n        pass\n\n"
                      "    def predict(self, body):\n        return body['inputs']\n")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"source_code": source.read_text(), "class_name": "Echo",
                                "models": [{"key": "echo"}]}))
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen([sys.executable, "-m", "flowc.runtime", "serve", "--spec",
                             str(spec), "--ready-file", str(ready)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        info = json.loads(ready.read_text())
        assert info["url"] == url and info["pid"] == proc.pid and info["models"] == ["echo"]
        req = urllib.request.Request(f"{url}/v2/models/echo/infer", method="POST",
                                     data=json.dumps({"inputs": [7]}).encode())
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert json.loads(resp.read())["outputs"] == [7]
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_sigkill_mid_write_never_leaves_a_partial_artifact(make_call, tmp_path):
    import os
    import signal
    import time

    size = 8 * 1024 * 1024
    call = make_call(f"""
        import os

        def f(context):
            os.makedirs(context.artifact_path, exist_ok=True)
            open(os.path.join(context.artifact_path, "started"), "w").close()
            for i in range(10000):
                context.log_artifact("big", body=bytes([i % 256]) * {size}, format="bin")
    """, "f")
    call_file = tmp_path / "c.json"
    call_file.write_text(json.dumps(call.to_json()))
    proc = subprocess.Popen([sys.executable, "-m", "flowc.runtime", "exec", "--call",
                             str(call_file), "--result", str(tmp_path / "r.json")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    final = os.path.join(call.artifact_dir, "big.bin")
    deadline = time.monotonic() + 30
    while not os.path.exists(final) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # kill while later writes are going on
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert os.path.exists(final), "the first write did not complete within 30 s"
    with open(final, "rb") as handle:
        data = handle.read()
    assert len(data) == size and data == data[:1] * size  # one whole write, never a mix
    assert not os.path.exists(tmp_path / "r.json")
    # a later attempt of the step into the same folder removes the killed writer's leftovers
    # (the kill may or may not have landed mid-write; make sure one leftover of each kind exists)
    open(os.path.join(call.artifact_dir, ".flowc-tmp-extra"), "wb").close()
    os.makedirs(os.path.join(call.artifact_dir, ".flowc-old-extra", "entry"))
    from flowc.runtime.core import execute

    call.source_code = "def f():\n    return None\n"
    call.source_file = None
    execute(call)
    assert sorted(os.listdir(call.artifact_dir)) == ["big.bin", "started"]
