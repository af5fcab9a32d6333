"""The many-mistakes workflow (exact codes, lines, columns) and the output formats."""

from __future__ import annotations

import json
import os
import re

import pytest

from flowc.diagnostics import Diagnostic, Location, Severity
from flowc.lint.formats import (escape_data, escape_property, format_github, format_sarif,
                                format_text)
from lint_helpers import FIXTURES, RULE_FIXTURES

EXPECTED = [
    ("many_mistakes.py", 6, 26, "FC215"),
    ("many_mistakes.py", 8, 45, "FC216"),
    ("many_mistakes.py", 8, 77, "FC108"),
    ("many_mistakes.py", 11, 33, "FC209"),
    ("many_mistakes.py", 11, 60, "FC218"),
    ("many_mistakes.py", 14, 68, "FC220"),
    ("many_mistakes.py", 16, 13, "FC109"),
    ("many_mistakes.py", 17, 44, "FC219"),
    ("many_mistakes.py", 18, 24, "FC301"),
    ("many_mistakes.py", 19, 67, "FC901"),
    ("many_mistakes.py", 21, 41, "FC404"),
    ("project.yaml", 12, 46, "FC401"),
]


def test_many_mistakes_exact_codes_lines_columns(cli):
    code, out, _ = cli("lint", "--format", "json", "--select", "ALL", "many_mistakes.py",
                       cwd=RULE_FIXTURES)
    assert code == 1
    found = [(d["filename"], d["location"]["row"], d["location"]["column"], d["code"])
             for d in json.loads(out)]
    assert found == EXPECTED


def test_many_mistakes_text_format(cli):
    code, out, _ = cli("lint", "many_mistakes.py", cwd=RULE_FIXTURES)
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("many_mistakes.py:6:26: FC215 argument 'rows'")
    assert "  hint: did you mean 'rows'?" in out  # the FC216 suggestion
    # the source line and a caret under the column
    lines = out.splitlines()
    index = lines.index(next(l for l in lines if l.startswith("many_mistakes.py:8:45:")))
    assert lines[index + 1].endswith('params={"rowz": rows}, outputs=["data", "count"])')
    caret_line = lines[index + 2]
    source_line = lines[index + 1]
    assert source_line.index('"rowz"') == caret_line.index("^")
    assert out.rstrip().endswith("Found 12 problems (5 errors, 6 warnings, 1 info).")
    assert "\033[" not in out  # not a TTY: no colour


def test_fail_on_and_exit_zero(cli):
    args = ("lint", "--select", "FC109", "many_mistakes.py")
    assert cli(*args, cwd=RULE_FIXTURES)[0] == 0  # info only: below the default fail-on
    assert cli(*args, "--fail-on", "info", cwd=RULE_FIXTURES)[0] == 1
    assert cli("lint", "many_mistakes.py", "--exit-zero", cwd=RULE_FIXTURES)[0] == 0


def test_statistics(cli):
    code, out, _ = cli("lint", "--statistics", "--no-show-source", "--select", "FC2",
                       "many_mistakes.py", cwd=RULE_FIXTURES)
    stats = [l.split() for l in out.splitlines() if re.match(r"^\s+\d+\s+FC\d{3}\s", l)]
    assert ["1", "FC216", "unknown-param"] in stats
    assert {row[1] for row in stats} == {"FC209", "FC215", "FC216", "FC218", "FC219", "FC220"}


# --------------------------------------------------------------------------- github


def test_github_escaping():
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    diag = Diagnostic(code="FC216", message="bad, key: 100%\nsecond line", hint="fix: it",
                      severity=Severity.WARNING,
                      location=Location(file=os.path.abspath("dir,x/a:b.py"), line=3, col=7))
    (line,) = format_github([diag]).splitlines()
    assert line == ("::warning file=dir%2Cx/a%3Ab.py,line=3,col=7,"
                    "title=FC216 (unknown-param)::bad, key: 100%25%0Asecond line%0Ahint: fix: it")


def test_github_format_cli(cli):
    code, out, _ = cli("lint", "--format", "github", "--select", "FC216,FC109",
                       "many_mistakes.py", cwd=RULE_FIXTURES)
    lines = out.splitlines()
    assert lines[0] == ("::error file=many_mistakes.py,line=8,col=45,endLine=8,endColumn=51,"
                        "title=FC216 (unknown-param)::handler 'gen' has no parameter 'rowz'"
                        "%0Ahint: did you mean 'rows'?")
    assert lines[1].startswith("::notice file=many_mistakes.py,line=16,col=13,")


# --------------------------------------------------------------------------- sarif


@pytest.fixture(scope="module")
def sarif_validator():
    import jsonschema

    schema = json.loads((FIXTURES.parent / "data" / "sarif-schema-2.1.0.json").read_text())
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def test_sarif_validates_against_the_official_schema(cli, sarif_validator):
    code, out, _ = cli("lint", "--format", "sarif", "--select", "ALL", ".",
                       cwd=RULE_FIXTURES)
    assert code == 1
    document = json.loads(out)
    errors = sorted(sarif_validator.iter_errors(document), key=str)
    assert not errors, errors[0]
    run = document["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    for result in run["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"] or result["ruleId"].startswith("FC0")
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith("/") and ".." not in uri  # repo-relative
    codes = {r["ruleId"] for r in run["results"]}
    assert {"FC002", "FC216", "FC401"} <= codes


def test_sarif_fingerprints_are_stable_when_lines_move(tmp_path):
    source = RULE_FIXTURES / "handlers.py"
    path = tmp_path / "flow.py"
    path.write_text("x = 1\n")
    diag = Diagnostic(code="FC216", message="m", location=Location(file=str(path), line=1, col=1))
    first = json.loads(format_sarif([diag], root=str(tmp_path),
                                    read_lines=lambda p: open(p).read().splitlines()))
    path.write_text("\n\nx = 1\n")
    moved = Diagnostic(code="FC216", message="m", location=Location(file=str(path), line=3, col=1))
    second = json.loads(format_sarif([moved], root=str(tmp_path),
                                     read_lines=lambda p: open(p).read().splitlines()))
    fp = lambda doc: doc["runs"][0]["results"][0]["partialFingerprints"]
    assert fp(first) == fp(second)
    assert source.exists()


def test_text_colour_only_when_asked():
    diag = Diagnostic(code="FC216", message="m", location=Location(file="a.py", line=1, col=1))
    assert "\033[" in format_text([diag], colour=True)
    assert "\033[" not in format_text([diag], colour=False)


def test_no_color_env_wins(monkeypatch):
    from flowc.lint.formats import use_colour

    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(Tty())
    monkeypatch.delenv("NO_COLOR")
    assert use_colour(Tty())


@pytest.mark.parametrize("name", ["fc208_bad.py", "fc208_bad_condition.py"])
def test_unparsable_expression_caret_lands_inside_the_string(cli, name):
    code, out, _ = cli("lint", "--select", "FC208", name, cwd=RULE_FIXTURES)
    assert code == 1
    header, source, caret = out.splitlines()[:3]
    match = re.search(r"cannot parse expression '(.+)' at column (\d+)", header)
    expression, column = match.group(1), int(match.group(2))
    text = source.split(" | ", 1)[1]
    caret_col = caret.split(" | ", 1)[1].index("^")
    start = text.index(expression)
    assert caret_col == start + column - 1
    line, col = map(int, header.split(":")[1:3])
    assert col == caret_col + 1
