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
