"""execute(): binding, results, artifacts, declared outputs, failures, JSON round trips."""

from __future__ import annotations

import json
import os
import stat

import pytest

from flowc.runtime.core import StepCall, StepFailed, StepResult, execute


def test_context_results_artifacts_and_returned_dict(make_call, tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    call = make_call("""
        def train(context, dataset, n: int = 1, flag: bool = False):
            context.log_result("acc", 0.5 * n)
            context.log_artifact("report", body="<b>hi</b>", format="html")
            return {"total": n + 1, "flag": flag, "data": dataset.get(encoding="utf-8")}
    """, "train", params={"n": "3", "flag": "true"}, inputs={"dataset": str(data)},
        outputs=[("acc", "float"), ("report", "artifact")])
    result = execute(call)
    assert result.results == {"acc": 1.5, "total": 4, "flag": True, "data": "a,b\n1,2\n"}
    report = result.artifacts["report"]
    assert report["kind"] == "artifact"
    assert report["uri"] == "store://artifacts/proj/report"
    assert report["path"] == os.path.join(call.artifact_dir, "report.html")
    with open(report["path"]) as handle:
        assert handle.read() == "<b>hi</b>"
    mode = stat.S_IMODE(os.stat(report["path"]).st_mode)
    assert mode & 0o044, "artifacts are readable by others like normal files"
    assert result.outputs()["report"] == report["path"]
    assert result.outputs()["acc"] == 1.5
    # no temporary files are left behind
    assert sorted(os.listdir(call.artifact_dir)) == ["report.html"]


def test_missing_declared_output_names_it(make_call):
    call = make_call("""
        def train(context):
            context.log_result("accuracy", 1.0)
    """, "train", outputs=[("accuracy", "float"), ("model", "model"), ("test_set", "dataset")])
    with pytest.raises(StepFailed) as info:
        execute(call)
    message = str(info.value)
    assert "'model'" in message and "'test_set'" in message
    assert "accuracy" in message  # what it did produce


def test_handler_exception_names_type_message_and_line(make_call):
    call = make_call("""
        def boom(x: int):
            y = x + 1
            raise ValueError(f"bad value {y}")
    """, "boom", params={"x": 1})
    with pytest.raises(StepFailed) as info:
        execute(call)
    message = str(info.value)
    assert "ValueError: bad value 2" in message
    assert f"{call.source_file}:4 in boom" in message
    assert "Traceback" in info.value.details


def test_handler_traceback_goes_to_the_step_log(make_call, capsys):
    call = make_call("def boom():\n    raise RuntimeError('kaput')\n", "boom")
    with pytest.raises(StepFailed):
        execute(call)
    err = capsys.readouterr().err
    assert "ERROR [step] handler 'boom' failed" in err
    assert "Traceback (most recent call last)" in err and "RuntimeError: kaput" in err


def test_missing_parameter_and_unknown_handler(make_call):
    call = make_call("def f(a, b=2):\n    return {'s': a + b}\n", "f")
    with pytest.raises(StepFailed, match="needs 'a'"):
        execute(call)
    call = make_call("def f(a):\n    return a\n\ndef g():\n    pass\n", "nope")
    with pytest.raises(StepFailed, match=r"'nope' is not defined .*functions there: f, g"):
        execute(call)


def test_syntax_error_and_import_error_are_step_failures(make_call):
    call = make_call("def f(:\n    pass\n", "f")
    with pytest.raises(StepFailed, match=r"handlers\d+\.py:1:\d+: syntax error"):
        execute(call)
    call = make_call("import no_such_module_xyz\n\ndef f():\n    pass\n", "f")
    with pytest.raises(StepFailed, match="ModuleNotFoundError"):
        execute(call)


def test_scalar_return_fills_the_single_declared_output(make_call):
    call = make_call("def f(x: float):\n    return x * 2\n", "f",
                     params={"x": "1.25"}, outputs=[("y", "float")])
    assert execute(call).results == {"y": 2.5}


def test_tuple_return_maps_to_declared_outputs_and_mismatch_fails(make_call):
    call = make_call("def f():\n    return 1, 'a'\n", "f", outputs=[("n", "int"), ("s", "str")])
    assert execute(call).results == {"n": 1, "s": "a"}
    call = make_call("def f():\n    return 1\n", "f", outputs=[("n", "int"), ("s", "str")])
    with pytest.raises(StepFailed, match="return a dict"):
        execute(call)


def test_not_json_result_is_a_clear_failure(make_call):
    call = make_call("""
        class Thing:
            pass

        def f(context):
            context.log_result("thing", Thing())
    """, "f")
    with pytest.raises(StepFailed, match="result 'thing' is a .*Thing.*not JSON data"):
        execute(call)


def test_numpy_values_become_plain_json(make_call):
    call = make_call("""
        import numpy as np

        def f():
            return {"a": np.float64(0.25), "b": np.arange(3), "c": np.int64(7)}
    """, "f")
    result = execute(call)
    assert result.results == {"a": 0.25, "b": [0, 1, 2], "c": 7}
    assert type(result.results["c"]) is int
    json.dumps(result.to_json())


def test_param_coercion(make_call):
    call = make_call("""
        from typing import Optional

        def f(a: int, b: float, c: bool, d: list, e: dict, g: Optional[int] = None, h="x"):
            return {"v": [a, b, c, d, e, g, h]}
    """, "f", params={"a": "4", "b": "0.5", "c": "False", "d": "[1, 2]", "e": '{"k": 1}',
                      "g": "9", "h": 5})
    assert execute(call).results["v"] == [4, 0.5, False, [1, 2], {"k": 1}, 9, 5]
    bad = make_call("def f(a: int):\n    return a\n", "f", params={"a": "four"})
    with pytest.raises(StepFailed, match="parameter 'a'"):
        execute(bad)


def test_kwargs_handler_receives_everything_and_extras_are_ignored_otherwise(make_call):
    call = make_call("""
        def f(context, **kwargs):
            return {"keys": sorted(kwargs), "p": context.get_param("p")}
    """, "f", params={"p": 1, "q": 2})
    assert execute(call).results == {"keys": ["p", "q"], "p": 1}
    call = make_call("def f(p):\n    return {'p': p}\n", "f", params={"p": 1, "extra": 2})
    assert execute(call).results == {"p": 1}


def test_input_annotated_str_gets_a_path(make_call, tmp_path):
    data = tmp_path / "x.txt"
    data.write_text("hello")
    call = make_call("""
        def f(path: str, item):
            return {"path": path, "url": item.url, "text": open(item.local()).read()}
    """, "f", inputs={"path": str(data), "item": str(data)})
    assert execute(call).results == {"path": str(data), "url": str(data), "text": "hello"}


def test_returned_dataframe_and_path_become_artifacts(make_call, tmp_path):
    src = tmp_path / "out.bin"
    src.write_bytes(b"\x00\x01")
    call = make_call(f"""
        import pandas as pd

        def f():
            return {{"table": pd.DataFrame({{"a": [1, 2]}}), "blob": {str(src)!r}}}
    """, "f", outputs=[("table", "dataset"), ("blob", "artifact")])
    result = execute(call)
    assert result.artifacts["table"]["kind"] == "dataset"
    assert result.artifacts["table"]["path"].endswith("table.parquet")
    assert result.artifacts["blob"]["path"] == os.path.join(call.artifact_dir, "blob.bin")
    with open(result.artifacts["blob"]["path"], "rb") as handle:
        assert handle.read() == b"\x00\x01"


def test_embedded_source_code(make_call):
    call = make_call("def f(x):\n    return {'y': x * 3}\n", "f", params={"x": 2}, embed=True)
    assert call.source_file is None
    assert execute(call).results == {"y": 6}


def test_system_exit_zero_is_success_nonzero_fails(make_call):
    call = make_call("import sys\n\ndef f():\n    sys.exit(0)\n", "f")
    assert execute(call).results == {}
    call = make_call("import sys\n\ndef f():\n    sys.exit(3)\n", "f")
    with pytest.raises(StepFailed, match="exited with status 3"):
        execute(call)


def test_handler_file_named_like_stdlib_module_does_not_shadow_it(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "random.py").write_text("def f():\n    return {'ok': 1}\n")
    call = StepCall(step="s", run_id="r", project=None, handler="f",
                    source_file=str(folder / "random.py"), source_code=None,
                    artifact_dir=str(tmp_path / "art"))
    assert execute(call).results == {"ok": 1}
    import random

    assert hasattr(random, "randint")


def test_sibling_module_import(tmp_path):
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "helpers_sibling_mod.py").write_text("VALUE = 41\n")
    (folder / "main_handlers.py").write_text(
        "from helpers_sibling_mod import VALUE\n\ndef f():\n    return {'v': VALUE + 1}\n")
    call = StepCall(step="s", run_id="r", project=None, handler="f",
                    source_file=str(folder / "main_handlers.py"), source_code=None,
                    artifact_dir=str(tmp_path / "art"))
    assert execute(call).results == {"v": 42}


def test_step_call_and_result_json_round_trip():
    call = StepCall(step="train", run_id="r1", project="p", handler="train",
                    source_file="/x/t.py", source_code=None, params={"a": [1, {"b": 2}]},
                    inputs={"d": "/tmp/d.csv"}, outputs=[("model", "model"), ("acc", "float")],
                    artifact_dir="/a/r1/train", iteration=3)
    assert StepCall.from_json(json.loads(json.dumps(call.to_json()))) == call
    result = StepResult(results={"acc": 0.9},
                        artifacts={"m": {"path": "/a/m", "kind": "model", "uri": "store://x"}})
    assert StepResult.from_json(json.loads(json.dumps(result.to_json()))) == result
    assert StepCall.from_json({**call.to_json(), "outputs": [{"name": "m", "type": "model"},
                                                             "plain"]}).outputs == [
        ("m", "model"), ("plain", "artifact")]
    with pytest.raises(ValueError, match="missing step"):
        StepCall.from_json({"run_id": "r", "handler": "h", "artifact_dir": "/a"})


def test_parameter_values_never_appear_in_failure_messages_or_logs(make_call, capsys):
    call = make_call("def f(context, needed, token=None):\n    pass\n", "f",
                     params={"token": "s3cr3t-value", "other": "hunter2"})
    with pytest.raises(StepFailed) as info:
        execute(call)
    assert "needed" in str(info.value) and "token" in str(info.value)
    assert "s3cr3t-value" not in str(info.value) and "hunter2" not in str(info.value)
    import os as _os

    _os.environ["FLOWC_LOG_LEVEL"] = "debug"
    try:
        ok = make_call("def f(token):\n    return {'n': len(token)}\n", "f",
                       params={"token": "s3cr3t-value", "other": "hunter2"})
        assert execute(ok).results == {"n": 12}
    finally:
        del _os.environ["FLOWC_LOG_LEVEL"]
    err = capsys.readouterr().err
    assert "other" in err  # the ignored param is named ...
    assert "hunter2" not in err and "s3cr3t-value" not in err  # ... its value is not


def test_module_cache_reloads_a_changed_file(tmp_path):
    import time

    source = tmp_path / "cached_handlers.py"
    source.write_text("COUNT = []\n\ndef f():\n    COUNT.append(1)\n    return {'n': len(COUNT)}\n")
    call = StepCall(step="s", run_id="r", project=None, handler="f", source_file=str(source),
                    source_code=None, artifact_dir=str(tmp_path / "art"))
    assert execute(call).results == {"n": 1}
    assert execute(call).results == {"n": 2}  # same module object: loaded once
    time.sleep(0.01)
    source.write_text("def f():\n    return {'n': 'new'}\n")
    assert execute(call).results == {"n": "new"}


def test_relogging_a_model_replaces_the_folder(make_call):
    call = make_call("""
        def f(context):
            context.log_model("m", {"v": 1})
            context.log_model("m", {"v": 2})
    """, "f", outputs=[("m", "model")])
    result = execute(call)
    from flowc.runtime.artifacts import load_model

    assert load_model(result.artifacts["m"]["path"]) == {"v": 2}
    assert sorted(os.listdir(call.artifact_dir)) == ["m"]


def test_unwritable_artifact_folder_is_a_step_failure(make_call, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    call = make_call("def f():\n    pass\n", "f")
    call.artifact_dir = str(blocker / "sub")
    with pytest.raises(StepFailed, match="cannot create the artifact folder"):
        execute(call)


def test_returned_value_that_cannot_be_stored_is_a_step_failure(make_call):
    call = make_call("""
        import pandas as pd

        def f():
            return {"table": pd.DataFrame({"a": [object()]})}
    """, "f")
    with pytest.raises(StepFailed, match="storing what handler 'f' returned failed"):
        execute(call)


def test_preload_modules_lists_installed_imports_without_importing(tmp_path):
    import sys

    from flowc.runtime.loading import preload_modules

    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "mine.py").write_text("X = 1\n")
    (folder / "h.py").write_text(
        "from __future__ import annotations\nimport json, mine\nimport mlrun\n"
        "from . import rel\nfrom sklearn.linear_model import LogisticRegression\n\n"
        "def f():\n    import no_such_pkg_xyz\n    import pandas as pd\n"
        "    from sklearn.metrics import accuracy_score\n")
    (folder / "broken.py").write_text("def (:\n")
    before = set(sys.modules)
    assert preload_modules([str(folder / "h.py"), str(folder / "broken.py"),
                            str(folder / "missing.py")]) == [
        "json", "sklearn.linear_model", "pandas", "sklearn.metrics"]
    assert not ({"sklearn", "sklearn.linear_model"} & (set(sys.modules) - before))
