"""Lint findings worth seeing before a local run: params that do not fit the handler.

``flowc run`` prints them as ``warning:`` lines and runs anyway (the run decides). Only the
checks of :data:`RUN_CODES` run, on the workflow already loaded, so it stays cheap.
"""

from __future__ import annotations

import os

from ...diagnostics import Diagnostic, FlowcError, Location

# unknown / missing / mistyped params, artifact-value mixups, unknown function or handler,
# missing source file
RUN_CODES = ("FC216", "FC217", "FC218", "FC219", "FC301", "FC302", "FC303")


def run_warnings(loaded) -> list[Diagnostic]:
    """The :data:`RUN_CODES` findings for ``loaded`` (a ``LoadedWorkflow``), ``# noqa``
    respected, minus the code the local plan itself rejects as an error (it would be said
    twice). A linter failure never stops a run: it yields no findings.

    Only the lint modules these rules live in are imported (not the lint runner, its output
    formats or the KFP YAML checks), which keeps this at a few milliseconds.
    """
    try:
        found = _findings(loaded)
    except Exception:  # the linter is advice here; the run itself reports real problems
        return []
    if not found:
        return found
    refused = _plan_error_code(loaded)
    return [d for d in found if d.code != refused]


def _findings(loaded) -> list[Diagnostic]:
    from ...lint.checks import CHECKS
    from ...lint.checks import functions, params  # noqa: F401  (register their checks)
    from ...lint.checks.context import WorkflowContext
    from ...lint.noqa import NoqaIndex

    sources = _Sources()
    ctx = WorkflowContext(loaded, sources)
    raw = [ctx.absolute(d) for d in loaded.diagnostics]
    for codes, check in CHECKS:
        if any(code in RUN_CODES for code in codes):
            raw.extend(check(ctx))
    noqa = NoqaIndex(sources.text)
    result, seen = [], set()
    for diag in raw:
        key = (diag.code, diag.message, diag.location)
        if diag.code in RUN_CODES and key not in seen and not noqa.suppresses(diag):
            seen.add(key)
            result.append(diag)
    result.sort(key=lambda d: (d.location.file, d.location.line, d.location.col, d.code)
                if d.location is not None else ("", 0, 0, d.code))
    return result


class _Sources:
    """File text read once (what the lint checks and ``noqa`` ask for)."""

    def __init__(self) -> None:
        self._text: dict[str, str] = {}

    def text(self, path: str) -> str:
        key = os.path.abspath(path)
        if key not in self._text:
            try:
                with open(key, encoding="utf-8", errors="replace") as handle:
                    self._text[key] = handle.read()
            except OSError:
                self._text[key] = ""
        return self._text[key]

    def lines(self, path: str) -> list[str]:
        return self.text(path).splitlines()


def _plan_error_code(loaded) -> str | None:
    from .plan import build_plan

    try:
        build_plan(loaded.workflow, loaded.arguments, loaded.base_dir)
    except FlowcError as exc:
        return exc.diagnostic.code
    return None


def format_warning(diag: Diagnostic, cwd: str | None = None) -> str:
    """``warning: path:line:col: CODE message`` (path relative to ``cwd`` when inside it)."""
    loc = diag.location
    if loc is not None and os.path.isabs(loc.file):
        relative = os.path.relpath(loc.file, cwd or os.getcwd())
        if not relative.startswith(".."):
            loc = Location(file=relative, line=loc.line, col=loc.col)
    shown = Diagnostic(code=diag.code, message=diag.message, severity=diag.severity,
                       location=loc, hint=diag.hint)
    return f"warning: {shown.format()}"
