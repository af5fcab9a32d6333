"""Render lint findings: ``text``, ``json``, ``github`` (workflow commands) and ``sarif`` 2.1.0."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Callable, Sequence

from .. import __version__
from ..diagnostics import Diagnostic, Severity, relative_path
from .catalog import RULES, TRACE_FAILURE, Rule, get_rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_ANSI = {"bold": "\033[1m", "red": "\033[31m", "yellow": "\033[33m", "blue": "\033[34m",
         "cyan": "\033[36m", "dim": "\033[2m", "reset": "\033[0m"}
_SEVERITY_COLOUR = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}

ReadLines = Callable[[str], Sequence[str]]


def rule_name(code: str) -> str:
    rule = get_rule(code)
    return rule.name if rule else code


def sort_key(diag: Diagnostic) -> tuple:
    loc = diag.location
    return (loc.file if loc else "", loc.line if loc else 0, loc.col if loc else 0, diag.code,
            diag.message)


def use_colour(stream) -> bool:
    """Colour only on a TTY, never with ``NO_COLOR``; ``FORCE_COLOR`` forces it."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


# --------------------------------------------------------------------------- text


def format_text(diags: Sequence[Diagnostic], *, colour: bool = False,
                read_lines: ReadLines | None = None, show_source: bool = True) -> str:
    """``path:line:col: CODE message [name]``, the source line with a caret, and the hint."""

    def c(name: str, text: str) -> str:
        return f"{_ANSI[name]}{text}{_ANSI['reset']}" if colour else text

    out: list[str] = []
    for diag in diags:
        loc = diag.location
        where = ""
        if loc is not None:
            where = relative_path(loc.file)
            if loc.line:
                where += f":{loc.line}:{loc.col or 1}"
            where = c("bold", where) + ": "
        code = c(_SEVERITY_COLOUR[diag.severity], diag.code)
        out.append(f"{where}{code} {diag.message} {c('dim', '[' + rule_name(diag.code) + ']')}")
        if show_source and read_lines and loc is not None and loc.line:
            lines = read_lines(loc.file)
            if 0 < loc.line <= len(lines):
                source = lines[loc.line - 1].rstrip("\n").expandtabs(1)
                col = max(loc.col or 1, 1)
                width = 1
                if loc.end_col and (loc.end_line in (None, loc.line)) and loc.end_col > col:
                    width = loc.end_col - col
                out.append(f"  {loc.line:>4} | {source}")
                carets = c(_SEVERITY_COLOUR[diag.severity], "^" * width)
                out.append(f"       | {' ' * (col - 1)}{carets}")
        if diag.hint:
            out.append(f"  {c('cyan', 'hint')}: {diag.hint}")
    return "\n".join(out) + ("\n" if out else "")


def summary_line(diags: Sequence[Diagnostic]) -> str:
    if not diags:
        return "All checks passed!"
    counts = Counter(d.severity for d in diags)
    parts = [f"{counts[s]} {s.value}{'s' if counts[s] != 1 and s is not Severity.INFO else ''}"
             for s in (Severity.ERROR, Severity.WARNING, Severity.INFO) if counts[s]]
    n = len(diags)
    return f"Found {n} problem{'s' if n != 1 else ''} ({', '.join(parts)})."


def format_statistics(diags: Sequence[Diagnostic]) -> str:
    """One line per code: count, code, name, severity; most frequent first."""
    counts = Counter(d.code for d in diags)
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return "".join(f"{n:>5}  {code}  {rule_name(code)}\n" for code, n in rows)


# --------------------------------------------------------------------------- json


def format_json(diags: Sequence[Diagnostic]) -> str:
    items = []
    for diag in diags:
        loc = diag.location
        items.append({
            "code": diag.code,
            "name": rule_name(diag.code),
            "severity": diag.severity.value,
            "message": diag.message,
            "hint": diag.hint,
            "filename": relative_path(loc.file) if loc else None,
            "location": {"row": loc.line, "column": loc.col} if loc and loc.line else None,
            "end_location": ({"row": loc.end_line or loc.line, "column": loc.end_col}
                             if loc and loc.line and loc.end_col else None),
        })
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- github

_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """Escape a workflow-command message (actions/toolkit ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow-command property value (actions/toolkit ``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(diags: Sequence[Diagnostic]) -> str:
    """``::error file=…,line=…,col=…,title=FC301 (name)::message`` per finding."""
    out = []
    for diag in diags:
        props = []
        loc = diag.location
        if loc is not None:
            props.append(f"file={escape_property(_posix(relative_path(loc.file)))}")
            if loc.line:
                props.append(f"line={loc.line}")
                props.append(f"col={loc.col or 1}")
                if loc.end_line or loc.end_col:
                    props.append(f"endLine={loc.end_line or loc.line}")
                if loc.end_col:
                    props.append(f"endColumn={loc.end_col}")
        props.append(f"title={escape_property(f'{diag.code} ({rule_name(diag.code)})')}")
        message = diag.message + (f"\nhint: {diag.hint}" if diag.hint else "")
        out.append(f"::{_GITHUB_LEVEL[diag.severity]} {','.join(props)}::{escape_data(message)}")
    return "\n".join(out) + ("\n" if out else "")


def _posix(path: str) -> str:
    return path.replace(os.sep, "/")


# --------------------------------------------------------------------------- sarif

_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _sarif_rule(rule: Rule) -> dict:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.explanation},
        "help": {"text": f"{rule.explanation}\n\nFix: {rule.hint}",
                 "markdown": f"{rule.explanation}\n\n**Fix:** {rule.hint}"},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
        "properties": {"tags": [rule.target]},
    }


def artifact_uri(path: str, root: str) -> tuple[str, bool]:
    """(uri, relative?) for ``path``: repo-relative POSIX when below ``root``."""
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute, root)
    if rel.startswith(".."):
        return Path(absolute).as_uri(), False
    return _posix(rel), True


def fingerprint(diag: Diagnostic, uri: str, line_text: str) -> str:
    """A hash of code, file and the offending line's text: stable when other lines move."""
    basis = "\x00".join([diag.code, uri, line_text.strip(), diag.message])
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


def format_sarif(diags: Sequence[Diagnostic], *, root: str,
                 read_lines: ReadLines | None = None) -> str:
    """One SARIF 2.1.0 run with the metadata of every rule and one result per finding."""
    rules = [*RULES.values(), TRACE_FAILURE]
    index = {r.code: i for i, r in enumerate(rules)}
    results = []
    seen: Counter = Counter()
    for diag in diags:
        rule = get_rule(diag.code)
        rule_id = diag.code
        result: dict = {
            "ruleId": rule_id,
            "level": _SARIF_LEVEL[diag.severity],
            "message": {"text": diag.message + (f"\nhint: {diag.hint}" if diag.hint else "")},
        }
        if rule is not None:
            result["ruleIndex"] = index[rule.code] if rule.code == rule_id else index["FC000"]
        loc = diag.location
        if loc is not None:
            uri, is_relative = artifact_uri(loc.file, root)
            artifact: dict = {"uri": uri}
            if is_relative:
                artifact["uriBaseId"] = "%SRCROOT%"
            physical: dict = {"artifactLocation": artifact}
            line_text = ""
            if loc.line:
                region = {"startLine": loc.line, "startColumn": max(loc.col, 1)}
                if loc.end_line or loc.end_col:
                    region["endLine"] = loc.end_line or loc.line
                if loc.end_col:
                    region["endColumn"] = loc.end_col
                physical["region"] = region
                if read_lines:
                    lines = read_lines(loc.file)
                    if 0 < loc.line <= len(lines):
                        line_text = lines[loc.line - 1]
            result["locations"] = [{"physicalLocation": physical}]
            digest = fingerprint(diag, uri, line_text)
            seen[digest] += 1
            result["partialFingerprints"] = {"flowcFingerprint/v1": f"{digest}:{seen[digest]}"}
        results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "flowc",
                "semanticVersion": __version__,
                "rules": [_sarif_rule(r) for r in rules],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(os.path.abspath(root)).as_uri()
                                                 .rstrip("/") + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
