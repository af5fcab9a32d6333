"""The core CLI commands as a user meets them: exit codes, messages, outputs."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from flowc.cli import cli

SEED = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "iris", "workflow.py")


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_version():
    from flowc import __version__

    result = invoke("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_ir_json_is_the_schema_valid_document_and_byte_stable():
    from flowc.schema import validate_ir_document

    first = invoke("ir", SEED)
    second = invoke("ir", SEED)
    assert first.exit_code == 0
    assert first.stdout == second.stdout
    document = json.loads(first.stdout)
    validate_ir_document(document)
    assert document["apiVersion"] == "flowc/v1" and document["kind"] == "Workflow"
    assert [s["name"] for s in document["steps"]][:2] == ["build-gen-iris", "get-data"]


def test_ir_yaml_and_output_file(tmp_path):
    import yaml

    out = tmp_path / "sub" / "ir.yaml"
    result = invoke("ir", SEED, "--format", "yaml", "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert yaml.safe_load(out.read_text())["name"] == "Demo training pipeline"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".flowc-")]


@pytest.mark.parametrize("source, code, needle", [
    ("def pipeline(:\n", "FC002", "flow.py:1:"),
    ("import flowc as fc\ndef pipeline(x: int = 1):\n    if x > 1:\n        pass\n", "FC011",
     "flow.py:3:"),
    ("import flowc as fc\ndef pipeline():\n    1/0\n", "FC003", "flow.py:3:"),
    ("import flowc as fc\ndef other():\n    pass\n", "FC005", "flow.py"),
])
def test_user_errors_exit_2_with_one_located_message(tmp_path, monkeypatch, source, code, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flow.py").write_text(source)
    result = invoke("ir", "flow.py")
    assert result.exit_code == 2
    assert f"{code} " in result.stderr and needle in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_bad_argument_exits_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flow.py").write_text("import flowc as fc\ndef pipeline(n: int = 1):\n"
                                      "    fc.run_function('a', params={'n': n})\n")
    result = invoke("ir", "flow.py", "-A", "n=lots")
    assert result.exit_code == 2
    assert "argument 'n' must be an int (got 'lots')" in result.stderr
    ok = invoke("ir", "flow.py", "-A", "n=4")
    assert json.loads(ok.stdout)["args"][0]["default"] == 4
    usage = invoke("ir", "flow.py", "-A", "n")
    assert usage.exit_code == 2 and "KEY=VALUE" in usage.output


def test_cycle_exits_2_naming_the_cycle(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flow.py").write_text(
        "import flowc as fc\ndef pipeline():\n    a = fc.run_function('a')\n"
        "    b = fc.run_function('b').after(a)\n    a.after(b)\n")
    result = invoke("ir", "flow.py")
    assert result.exit_code == 2
    assert "flow.py:5:5: FC101 the steps form a cycle: a -> b -> a" in result.stderr


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flow.py").write_text("def pipeline(:\n")
    result = invoke("--debug", "ir", "flow.py")
    assert result.exit_code == 2 and "Traceback" in result.stderr


def test_handler_selection(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flow.py").write_text(
        "import flowc as fc\ndef one():\n    fc.run_function('a')\n"
        "def two():\n    fc.run_function('b')\n")
    result = invoke("ir", "flow.py:two")
    assert [s["name"] for s in json.loads(result.stdout)["steps"]] == ["b"]
    missing = invoke("ir", "flow.py:three")
    assert missing.exit_code == 2 and "has no function 'three'" in missing.stderr


def test_graph_mermaid_and_dot():
    mermaid = invoke("graph", SEED)
    assert mermaid.exit_code == 0
    assert mermaid.stdout.startswith("flowchart TD")
    assert mermaid.stdout.count("-->") == 6
    dot = invoke("graph", SEED, "--format", "dot")
    assert '"train" -> "test";' in dot.stdout


def test_console_script_start_up_imports_nothing_heavy():
    code = ("import sys, flowc.cli\n"
            "heavy = [m for m in ('kfp', 'networkx', 'jsonschema', 'lark', 'yaml', 'rich',"
            " 'pandas', 'google.protobuf') if m in sys.modules]\n"
            "print(','.join(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


def test_ir_does_not_need_values_for_required_arguments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flow.py").write_text("import flowc as fc\ndef pipeline(dataset: str):\n"
                                      "    fc.run_function('a', params={'d': dataset})\n")
    result = invoke("ir", "flow.py")
    assert result.exit_code == 0, result.stderr
    arg = json.loads(result.stdout)["args"][0]
    assert (arg["name"], arg["required"], arg["default"]) == ("dataset", True, None)


def test_svg_without_graphviz_or_output_is_a_clear_error(monkeypatch):
    import shutil

    if shutil.which("dot") is None:
        result = invoke("graph", SEED, "--format", "svg", "-o", "g.svg")
        assert result.exit_code == 2 and "needs Graphviz" in result.stderr
    else:
        result = invoke("graph", SEED, "--format", "svg")
        assert result.exit_code == 2 and "pass -o FILE" in result.stderr


@pytest.mark.parametrize("source, message", [
    ("import sys\nsys.exit(3)\n", "loading the workflow file raised SystemExit: 3"),
    ("import argparse\nargparse.ArgumentParser().parse_args()\n"
     "import flowc as fc\ndef pipeline():\n    fc.run_function('a')\n", None),
    ("import sys\nimport flowc as fc\ndef pipeline():\n    fc.run_function('a')\n    sys.exit()\n",
     "the workflow function raised SystemExit"),
])
def test_exit_and_argparse_in_workflow_files_are_contained(tmp_path, monkeypatch, source, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flow.py").write_text(source)
    result = invoke("ir", "flow.py")
    if message is None:  # a module-level argparse sees no arguments of flowc's
        assert result.exit_code == 0, result.stderr
        return
    assert result.exit_code == 2
    assert "FC003" in result.stderr and message in result.stderr and "flow.py:" in result.stderr


def test_unwritable_output_is_a_user_error(tmp_path):
    result = invoke("ir", SEED, "-o", str(tmp_path))  # a folder
    assert result.exit_code == 2
    assert "FC007 cannot write" in result.stderr and "Traceback" not in result.stderr


def test_path_and_workflow_name_together_is_a_usage_error():
    result = invoke("ir", SEED, "-w", "main")
    assert result.exit_code == 2 and "not both" in result.stderr


def test_unsupported_kfp_api_is_located(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flow.py").write_text(
        "from kfp import dsl\nimport mlrun\n\n@dsl.pipeline(name='x')\ndef p():\n"
        "    with dsl.ParallelFor([1, 2]):\n        mlrun.run_function('a')\n")
    result = invoke("ir", "flow.py")
    assert result.exit_code == 2
    assert "flow.py:6:10: FC016 kfp.dsl.ParallelFor is not supported" in result.stderr


def test_trace_errors_show_paths_relative_to_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "flow.py").write_text(
        "import flowc as fc\ndef pipeline():\n    a = fc.run_function('a', outputs=['model'])\n"
        "    fc.run_function('b', inputs={'m': a.outputs['modle']})\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("ir", "sub/flow.py")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: sub/flow.py:4:")
    assert "hint: did you mean 'model'?" in result.stderr
