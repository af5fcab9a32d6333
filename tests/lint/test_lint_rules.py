"""Every rule has a fixture that triggers it and one that does not."""

from __future__ import annotations

import pytest

from flowc.diagnostics import Location
from flowc.ir import Arg, FunctionRef, Output, OutputRef, Step, Workflow
from flowc.lint.catalog import RULES
from lint_helpers import RULE_FIXTURES, codes, lint

BAD = sorted(p.name for p in RULE_FIXTURES.glob("fc*_bad*.py"))
GOOD = sorted(p.name for p in RULE_FIXTURES.glob("fc*_good*.py"))
# Rules the tracer never produces from real workflow code: tested on hand-built IR below.
IR_ONLY = {"FC107", "FC402"}
# FC5xx rules are tested by mutating kfp-compiled YAML (test_lint_kfp_yaml.py).
# Loader/tracer codes that lint only passes through have their own tests in tests/core.
ARGS_SCHEMA = {"FC211", "FC212"}  # need a project with args_schema: test_args_schema_conflicts


def _code(name: str) -> str:
    return name[:5].upper()


@pytest.mark.parametrize("name", BAD)
def test_bad_fixture_triggers_its_rule(name):
    found = codes(lint(RULE_FIXTURES / name, select=["ALL"]))
    assert _code(name) in found, found


@pytest.mark.parametrize("name", GOOD)
def test_good_fixture_does_not_trigger_its_rule(name):
    found = codes(lint(RULE_FIXTURES / name, select=["ALL"]))
    assert _code(name) not in found, found


def test_every_lint_rule_has_both_fixtures():
    have_bad = {_code(n) for n in BAD}
    have_good = {_code(n) for n in GOOD}
    lint_rules = {c for c, r in RULES.items() if r.target in ("workflow", "meta")}
    missing = sorted(c for c in lint_rules - IR_ONLY - ARGS_SCHEMA
                     if c not in have_bad or c not in have_good)
    assert not missing, f"rules without a bad+good fixture: {missing}"


def test_at_least_twenty_lint_rules():
    assert len([r for r in RULES.values() if r.target != "trace"]) >= 20


def test_catalogue_knows_every_code_flowc_emits():
    """A code that any module raises but that is missing here would have no --explain text."""
    import pathlib
    import re

    import flowc

    root = pathlib.Path(flowc.__file__).parent
    used = set()
    for path in root.glob("**/*.py"):
        used |= set(re.findall(r"\"(FC\d{3})\"", path.read_text()))
    assert used - set(RULES) == {"FC000"}  # FlowcError's default; the trace-failure pseudo-rule


def test_args_schema_conflicts(tmp_path):
    (tmp_path / "project.yaml").write_text(
        "kind: project\nmetadata: {name: p}\nspec:\n  workflows:\n"
        "  - name: main\n    path: flow.py\n    args_schema:\n"
        "    - {name: size, type: str, default: 7}\n"
        "  - name: ok\n    path: ok.py\n    args_schema:\n"
        "    - {name: size, type: int, default: 5}\n")
    body = ("import mlrun\n\ndef pipeline(size: int = 5):\n"
            "    mlrun.run_function('x.py', handler='h', params={'n': size})\n")
    (tmp_path / "flow.py").write_text(body)
    (tmp_path / "ok.py").write_text(body)
    (tmp_path / "x.py").write_text("def h(n: int):\n    pass\n")
    found = lint(tmp_path / "project.yaml")
    by_file = {(d.location.file.rsplit("/", 1)[-1], d.code) for d in found}
    assert ("flow.py", "FC211") in by_file and ("flow.py", "FC212") in by_file
    assert not any(f == "ok.py" and c in ("FC211", "FC212") for f, c in by_file)


# --------------------------------------------------------------------------- hand-built IR


def _ir_lint(workflow: Workflow, tmp_path):
    from flowc.lint.checks import run_checks
    from flowc.lint.config import LintConfig
    from flowc.lint.runner import SourceCache

    class Loaded:
        pass

    loaded = Loaded()
    loaded.workflow, loaded.project, loaded.base_dir = workflow, None, str(tmp_path)
    loaded.path, loaded.handler, loaded.diagnostics = str(tmp_path / "flow.py"), "pipeline", ()
    return run_checks(loaded, LintConfig(), SourceCache())


def _step(name, **kw):
    return Step(name=name, kind="run", function=FunctionRef(name="f", url="s3://x/f.py"),
                location=Location(file="flow.py", line=3, col=5), **kw)


def test_ir_unknown_step_and_cycle_and_collision(tmp_path):
    wf = Workflow(name="w", steps=(
        _step("a", after=("ghost",)),
        _step("b", inputs={"d": OutputRef("c", "out")}, outputs=(Output(name="out"),)),
        _step("c", inputs={"d": OutputRef("b", "out")}, outputs=(Output(name="out"),)),
        _step("Get_Data"), _step("get-data"),
        _step("d", params={"x": OutputRef("b", "missing")}),
    ))
    found = codes(_ir_lint(wf, tmp_path))
    assert found.count("FC107") == 1
    assert found.count("FC101") == 1
    assert found.count("FC402") == 1
    assert found.count("FC102") == 1


def test_ir_clean_graph_has_no_graph_findings(tmp_path):
    wf = Workflow(name="w", args=(Arg(name="n", type="int", default=3),), steps=(
        _step("a", outputs=(Output(name="out", type="dataset"),)),
        _step("b", inputs={"d": OutputRef("a", "out")}),
    ))
    assert not set(codes(_ir_lint(wf, tmp_path))) & {"FC101", "FC102", "FC107", "FC402",
                                                      "FC108", "FC215"}


def test_ir_default_outside_choices(tmp_path):
    wf = Workflow(name="w", args=(Arg(name="mode", default="fast", choices=("slow", "exact")),),
                  steps=(_step("a"),))
    assert "FC215" in codes(_ir_lint(wf, tmp_path))


def test_ir_unused_output_only_on_consumed_steps(tmp_path):
    """FC108: sink outputs are results; a long generated chain gives no warning at all."""
    chain = [_step("s0", outputs=(Output(name="out"),))]
    for i in range(1, 1000):
        chain.append(_step(f"s{i}", inputs={"d": OutputRef(f"s{i - 1}", "out")},
                           outputs=(Output(name="out"),)))
    assert "FC108" not in codes(_ir_lint(Workflow(name="w", steps=tuple(chain)), tmp_path))
    wf = Workflow(name="w", steps=(
        _step("a", outputs=(Output(name="out"), Output(name="typo"))),
        _step("b", inputs={"d": OutputRef("a", "out")}, outputs=(Output(name="model"),)),
        _step("c", outputs=(Output(name="stats"),)),
        _step("d", after=("c",)),
    ))
    found = [d.message for d in _ir_lint(wf, tmp_path) if d.code == "FC108"]
    assert len(found) == 2 and "'typo' of step 'a'" in found[0] and "'stats'" in found[1]


def test_project_function_without_url_is_fc303_not_fc301(tmp_path):
    """Lint and the local engine agree: the function exists in the project, its source does not."""
    (tmp_path / "project.yaml").write_text(
        "kind: project\nmetadata: {name: p}\nspec:\n  functions:\n  - {name: prep}\n"
        "  workflows:\n  - {name: main, path: flow.py}\n")
    (tmp_path / "flow.py").write_text("import mlrun\n\ndef pipeline():\n"
                                      "    mlrun.run_function('prep')\n")
    from flowc.lint.runner import lint_paths

    codes = [d.code for d in lint_paths([str(tmp_path / "flow.py")]).diagnostics]
    assert "FC303" in codes and "FC301" not in codes
