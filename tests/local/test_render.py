"""Renderers: plain lines in CI, JSON lines, rich table; the CLI module stays light."""

import io
import json
import subprocess
import sys

from flowc.backends.local.events import RunFinished, RunStarted, StepFinished, StepStarted
from flowc.backends.local.render import (JsonRenderer, PlainRenderer, QuietRenderer,
                                         make_renderer, summary_table)

EVENTS = [
    RunStarted("r1", workflow="wf", steps=("a", "b"), artifact_path="/tmp/art"),
    StepStarted("r1", step="a"),
    StepFinished("r1", step="a", state="succeeded", duration=1.25),
    StepFinished("r1", step="b", state="upstream_failed", error="upstream: a"),
    RunFinished("r1", state="failed", duration=1.5,
                steps=(("a", "succeeded", 1.25), ("b", "upstream_failed", None))),
]


def test_plain_renderer_one_line_per_event_and_summary_on_stdout():
    err, out = io.StringIO(), io.StringIO()
    renderer = PlainRenderer(err=err, out=out)
    for event in EVENTS:
        renderer(event)
    lines = err.getvalue().splitlines()
    assert len(lines) == 4
    assert lines[1].endswith("| step 'a' started")
    assert lines[2].endswith("| step 'a' SUCCEEDED in 1.25s")
    assert lines[3].endswith("| step 'b' UPSTREAM_FAILED: upstream: a")
    assert out.getvalue().splitlines()[-1] == "run r1 failed in 1.50s"
    assert "a     succeeded           1.25s" in out.getvalue()


def test_json_renderer_emits_typed_events():
    out = io.StringIO()
    renderer = JsonRenderer(out)
    for event in EVENTS:
        renderer(event)
    kinds = [json.loads(line)["event"] for line in out.getvalue().splitlines()]
    assert kinds == ["RunStarted", "StepStarted", "StepSucceeded", "StepUpstreamFailed",
                     "RunFinished"]


def test_quiet_renderer_prints_only_the_final_line():
    out = io.StringIO()
    renderer = QuietRenderer(out)
    for event in EVENTS:
        renderer(event)
    assert out.getvalue() == "run r1 failed in 1.50s\n"


def test_auto_is_plain_in_ci_or_without_a_terminal(monkeypatch):
    monkeypatch.setenv("CI", "1")
    assert isinstance(make_renderer("auto"), PlainRenderer)


def test_rich_renderer_draws_the_summary_table(capsys):
    renderer = make_renderer("rich")
    for event in EVENTS:
        renderer(event)
    out = capsys.readouterr().out
    assert "upstream_failed" in out and "1.25s" in out and "run r1 failed" in out


def test_summary_table_alignment():
    text = summary_table((("x", "succeeded", 0.5), ("longer", "skipped (local)", None)))
    assert text.splitlines() == ["STEP    STATE            DURATION",
                                 "x       succeeded           0.50s",
                                 "longer  skipped (local)         -"]


def test_cli_module_imports_no_heavy_modules():
    code = ("import sys, flowc.backends.local.cli; "
            "heavy = [m for m in ('rich', 'networkx', 'pandas', 'sklearn', 'kfp', 'lark') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_rich_renderer_shows_markup_like_text_literally(capsys):
    renderer = make_renderer("rich")
    events = [RunStarted("r2", workflow="wf", steps=("s[1]",), artifact_path="/tmp/[x]"),
              StepFinished("r2", step="s[1]", state="failed", error="bad [/oops] [red]x"),
              RunFinished("r2", state="failed", duration=0.1,
                          steps=(("s[1]", "failed", 0.1),))]
    for event in events:
        renderer(event)
    captured = capsys.readouterr()
    assert "bad [/oops] [red]x" in captured.err
    assert "s[1]" in captured.out


def test_progress_rich_without_rich_falls_back_to_plain_with_a_warning(project, monkeypatch):
    from click.testing import CliRunner

    from flowc.cli import cli

    monkeypatch.chdir(project.dir)
    project.write("flow.py", "import flowc as fc\n\ndef pipeline():\n"
                             "    fc.run_function('steps.py', handler='say', name='s')\n")
    monkeypatch.setitem(sys.modules, "rich", None)
    result = CliRunner().invoke(cli, ["run", "flow.py", "--progress", "rich", "--in-process"])
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert "pip install 'flowc[progress]'" in result.stderr
    assert "Traceback" not in result.output
    assert " step 's' SUCCEEDED" in result.stderr  # the plain renderer took over
    assert " succeeded in " in result.stdout.strip().splitlines()[-1]


def test_auto_progress_without_rich_is_plain_and_quiet_about_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "rich", None)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert isinstance(make_renderer("auto"), PlainRenderer)
    assert isinstance(make_renderer("rich"), PlainRenderer)
    assert capsys.readouterr().err.count("flowc[progress]") == 1  # only the explicit request
