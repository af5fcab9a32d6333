"""Selection, config in pyproject.toml, per-file-ignores, exclude, noqa, discovery, exit codes."""

from __future__ import annotations

import json

import pytest

from flowc.lint.config import LintConfig
from flowc.lint.discovery import pipeline_functions
from flowc.lint.noqa import parse_noqa
from lint_helpers import RULE_FIXTURES, write

FLOW = """import mlrun


def pipeline():
    mlrun.run_function("x.py", handler="h", params={{"nn": 1}}){noqa}
"""
HANDLER = "def h(n: int = 1):\n    pass\n"


def _project(root, noqa="", name="flow.py"):
    write(root / "x.py", HANDLER)
    return write(root / name, FLOW.format(noqa=noqa))


def _json(cli, *args, cwd):
    code, out, err = cli("lint", "--format", "json", *args, cwd=cwd)
    return code, [d["code"] for d in json.loads(out)] if out.strip() else [], err


def test_selection_prefix_and_specificity():
    config = LintConfig(select=["FC2"], ignore=["FC21"], extend_select=["FC216"])
    assert config.is_selected("FC201")
    assert not config.is_selected("FC215")
    assert config.is_selected("FC216")  # more specific than the ignore
    assert not config.is_selected("FC301")
    assert LintConfig(select=["ALL"], ignore=["FC3"]).is_selected("FC101")
    assert not LintConfig(select=["FC"], ignore=["FC301"]).is_selected("FC301")


def test_select_ignore_extend_select_cli(cli, workdir):
    _project(workdir)
    assert _json(cli, "flow.py", cwd=workdir)[1] == ["FC216"]
    assert _json(cli, "--ignore", "FC216", "flow.py", cwd=workdir)[:2] == (0, [])
    assert _json(cli, "--select", "FC3", "flow.py", cwd=workdir)[:2] == (0, [])
    assert _json(cli, "--select", "FC3", "--extend-select", "FC21", "flow.py",
                 cwd=workdir)[1] == ["FC216"]


def test_unknown_code_is_a_usage_error(cli, workdir):
    _project(workdir)
    code, out, err = cli("lint", "--select", "XX9", "flow.py", cwd=workdir)
    assert code == 2 and "matches no rule" in err


def test_missing_path_is_a_usage_error(cli, workdir):
    code, _, err = cli("lint", "nope.py", cwd=workdir)
    assert code == 2 and "nope.py" in err


def test_pyproject_config(cli, workdir):
    _project(workdir)
    write(workdir / "pyproject.toml", '[tool.flowc.lint]\nignore = ["FC216"]\n')
    assert _json(cli, "flow.py", cwd=workdir)[:2] == (0, [])
    # CLI --select replaces the config's selection but the config's ignore stays
    assert _json(cli, "--select", "FC2", "flow.py", cwd=workdir)[:2] == (0, [])


def test_pyproject_per_file_ignores_and_exclude(cli, workdir):
    _project(workdir, name="flows/a.py")
    write(workdir / "flows/x.py", HANDLER)
    _project(workdir, name="legacy/b.py")
    write(workdir / "legacy/x.py", HANDLER)
    _project(workdir, name="other/c.py")
    write(workdir / "other/x.py", HANDLER)
    write(workdir / "pyproject.toml",
          '[tool.flowc.lint]\nexclude = ["legacy"]\n'
          '[tool.flowc.lint.per-file-ignores]\n"other/*.py" = ["FC216"]\n')
    code, out, _ = cli("lint", "--format", "json", ".", cwd=workdir)
    files = sorted({d["filename"] for d in json.loads(out)})
    assert files == ["flows/a.py"] and code == 1


def test_invalid_config_exits_2(cli, workdir):
    _project(workdir)
    write(workdir / "pyproject.toml", '[tool.flowc.lint]\nselct = ["FC1"]\n')
    code, _, err = cli("lint", "flow.py", cwd=workdir)
    assert code == 2 and "unknown key(s): selct" in err
    write(workdir / "pyproject.toml", '[tool.flowc.lint]\nfail-on = "fatal"\n')
    assert cli("lint", "flow.py", cwd=workdir)[0] == 2
    write(workdir / "pyproject.toml", '[tool.flowc.lint\n')
    assert cli("lint", "flow.py", cwd=workdir)[0] == 2


def test_noqa_suppresses_and_unused_is_reported(cli, workdir):
    _project(workdir, noqa="  # noqa: FC216")
    assert _json(cli, "flow.py", cwd=workdir)[:2] == (0, [])
    _project(workdir, noqa="  # noqa: FC216, FC301, E501")
    assert _json(cli, "flow.py", cwd=workdir)[1] == ["FC901"]
    # a bare noqa (for other linters) suppresses nothing
    _project(workdir, noqa="  # noqa")
    assert _json(cli, "flow.py", cwd=workdir)[1] == ["FC216"]
    # an unused noqa for a deselected code is not reported
    _project(workdir, noqa="  # noqa: FC216, FC301")
    assert _json(cli, "--ignore", "FC3", "flow.py", cwd=workdir)[1] == []


def test_parse_noqa_columns():
    comments = parse_noqa("a = 1\nb = 2  # noqa:FC101,FC2  x\n")
    assert list(comments) == [2]
    assert comments[2].codes == {"FC101": 15}


def test_trace_failure_is_a_finding_and_linting_continues(cli, workdir):
    _project(workdir)
    write(workdir / "broken.py", "def pipeline(:\n    pass\n")
    write(workdir / "raises.py", "def pipeline():\n    x = 1\n    raise KeyError('k')\n")
    code, out, _ = cli("lint", "--format", "json", "broken.py", "raises.py", "flow.py",
                       cwd=workdir)
    found = [(d["filename"], d["code"], d["location"]["row"]) for d in json.loads(out)]
    assert ("broken.py", "FC002", 1) in found
    assert ("raises.py", "FC003", 3) in found
    assert ("flow.py", "FC216", 5) in found
    assert code == 1


def test_explain_and_rules(cli):
    code, out, _ = cli("lint", "--explain", "FC216")
    assert code == 0 and out.startswith("FC216 (unknown-param) [error]") and "Fix:" in out
    assert cli("lint", "--explain", "FC999")[0] == 2
    code, out, _ = cli("rules")
    assert code == 0 and "FC216  unknown-param" in out and "FC512" in out
    code, out, _ = cli("rules", "--format", "json")
    rules = json.loads(out)
    assert all(r["explanation"] and r["hint"] and r["name"] for r in rules)


def test_pipeline_detection_is_static():
    source = ("import flowc\nfrom kfp import dsl\n\n@flowc.workflow\ndef a(): ...\n\n"
              "@dsl.pipeline(name='b')\ndef b(): ...\n\ndef kfpipeline(): ...\n\n"
              "def helper(): ...\n")
    assert pipeline_functions(source) == ["a", "b", "kfpipeline"]
    assert pipeline_functions("def pipeline(:\n") is None
    assert pipeline_functions("x = 1\n") == []


def test_folder_discovery_projects_pipelines_and_kfp_yaml(workdir, cli):
    write(workdir / "proj/project.yaml",
          "kind: project\nmetadata: {name: p}\nspec:\n  functions:\n"
          "  - {url: x.py, name: fx, handler: h, image: 'a/b:1'}\n"
          "  workflows:\n  - {name: main, path: main.py}\n")
    write(workdir / "proj/x.py", HANDLER)
    write(workdir / "proj/main.py", "import mlrun\n\ndef pipeline():\n"
          "    mlrun.run_function('fx', params={'nx': 1})\n")
    write(workdir / "standalone.py", "from kfp import dsl\nimport mlrun\n\n"
          "@dsl.pipeline(name='s')\ndef flow():\n    mlrun.run_function('ghost')\n")
    write(workdir / "helper.py", "def util():\n    return 1\n")
    write(workdir / "compiled.yaml", (RULE_FIXTURES.parent / "kfp" / "dangling.yaml").read_text())
    write(workdir / "values.yaml", "a: 1\n")
    write(workdir / ".venv/lib/flow.py", "def pipeline(:\n")
    code, out, _ = cli("lint", "--format", "json", ".", cwd=workdir)
    found = sorted((d["filename"], d["code"]) for d in json.loads(out))
    assert found == [("compiled.yaml", "FC501"), ("proj/main.py", "FC216"),
                     ("standalone.py", "FC301")]


def test_workflow_prints_do_not_leak_into_the_report(cli):
    code, out, err = cli("lint", "--format", "json", "fc011_bad.py", cwd=RULE_FIXTURES)
    assert [d["code"] for d in json.loads(out)] == ["FC011"]
    assert "goes nowhere" not in out + err


def test_report_to_file(cli, workdir):
    _project(workdir)
    code, out, _ = cli("lint", "--format", "sarif", "-o", "report.sarif", "flow.py",
                       cwd=workdir)
    assert code == 1 and out == ""
    document = json.loads((workdir / "report.sarif").read_text())
    assert document["runs"][0]["results"][0]["ruleId"] == "FC216"
    assert [p.name for p in workdir.iterdir() if p.name.startswith(".flowc-")] == []


@pytest.mark.slow
def test_lint_process_stays_light():
    """`flowc lint` must not import kfp, networkx, rich or pandas (start-up time)."""
    import subprocess
    import sys

    code = ("import sys\nfrom flowc.cli import cli\n"
            "sys.argv = ['flowc', 'lint', '--exit-zero', 'fc216_good.py', 'many_mistakes.py']\n"
            "try:\n    cli(prog_name='flowc')\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in ('kfp', 'networkx', 'rich', 'pandas', 'sklearn')"
            " if m in sys.modules)\nprint('HEAVY', heavy)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=RULE_FIXTURES, capture_output=True,
                          text=True, timeout=60)
    assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr


def _registered_project(root, noqa=""):
    """A project that registers flow.py (so folder mode lints it through project.yaml)."""
    write(root / "project.yaml", "kind: project\nmetadata: {name: p}\nspec:\n"
          "  workflows:\n  - {name: main, path: flow.py}\n")
    return _project(root, noqa=noqa)


@pytest.mark.parametrize("args", [(), (".",), ("project.yaml",), ("flow.py",)])
def test_unused_noqa_is_reported_in_every_mode(cli, workdir, args):
    _registered_project(workdir, noqa="  # noqa: FC216, FC301")
    code, out, _ = cli("lint", "--format", "json", *args, cwd=workdir)
    found = [(d["filename"], d["code"], d["location"]["row"]) for d in json.loads(out)]
    assert found == [("flow.py", "FC901", 5)]
    assert code == 1
    _registered_project(workdir, noqa="  # noqa: FC216")
    assert _json(cli, *args, cwd=workdir)[:2] == (0, [])


@pytest.mark.parametrize("text, row", [
    ("", 1),                                          # empty
    ("- a\n- b\n", 1),                                # a list, not a mapping
    ("kind: project\nmetadata: {name: [}\n", 2),     # YAML syntax error
    ("kind: project\nmetadata: {name: p}\nspec:\n  functions: 3\n", 4),  # schema
])
@pytest.mark.parametrize("args", [("project.yaml",), (".",), ()])
def test_invalid_project_file_is_one_located_fc014(cli, workdir, text, row, args):
    write(workdir / "project.yaml", text)
    _project(workdir)  # a workflow next to it: folder mode loads it, meets the same FC014
    code, out, _ = cli("lint", "--format", "json", "--select", "FC0", *args, cwd=workdir)
    found = [(d["filename"], d["code"], d["location"]["row"]) for d in json.loads(out)]
    assert found == [("project.yaml", "FC014", row)]
    assert code == 1


def _emitted_codes() -> set[str]:
    """Every ``"FCnnn"`` literal in flowc's source (what flowc can print)."""
    import pathlib
    import re

    import flowc

    root = pathlib.Path(flowc.__file__).parent
    return {c for path in root.glob("**/*.py")
            for c in re.findall(r"\"(FC\d{3})\"", path.read_text())} - {"FC000"}


def test_every_code_is_explained_by_rules_and_explain(cli):
    """`flowc rules CODE` and `flowc lint --explain CODE` know every code flowc emits or
    catalogues, backend codes (FC436, FC440, FC441, ...) included."""
    from flowc.lint.catalog import RULES

    codes = sorted(set(RULES) | _emitted_codes())
    assert {"FC436", "FC440", "FC441", "FC110"} <= set(codes)
    for code in codes:
        name = RULES[code].name
        for args in (("rules", code), ("rules", code.lower()), ("lint", "--explain", code)):
            status, out, err = cli(*args)
            assert status == 0, (args, err)
            assert out.startswith(f"{code} ({name}) ["), (args, out)
            assert "Fix:" in out
    code, out, _ = cli("rules")
    listed = {line.split()[0] for line in out.splitlines()}
    assert set(RULES) <= listed
