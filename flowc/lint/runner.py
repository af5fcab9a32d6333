"""Run the linter: discover targets, check each one, then filter by selection and ``noqa``.

A target that cannot be loaded or traced becomes a diagnostic (with the loader's code and
location) and linting goes on with the next one.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from typing import Iterable

from ..diagnostics import Diagnostic, FlowcError, Location, Severity
from .config import LintConfig
from .discovery import PROJECT_FILES, Target, discover, read_text
from .formats import sort_key
from .noqa import NoqaIndex


class SourceCache:
    """File text and lines, read once per run (noqa, snippets, source re-parsing share it)."""

    def __init__(self) -> None:
        self._text: dict[str, str] = {}
        self._lines: dict[str, list[str]] = {}

    def text(self, path: str) -> str:
        key = os.path.abspath(path)
        if key not in self._text:
            try:
                self._text[key] = read_text(path)
            except OSError:
                self._text[key] = ""
        return self._text[key]

    def lines(self, path: str) -> list[str]:
        key = os.path.abspath(path)
        if key not in self._lines:
            self._lines[key] = self.text(path).splitlines()
        return self._lines[key]


@dataclass(slots=True)
class LintResult:
    """What a lint run found (after filtering) and which files it looked at."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    targets: int = 0

    def failed(self, config: LintConfig) -> bool:
        return any(d.severity.rank >= config.fail_rank for d in self.diagnostics)


def lint_paths(paths: Iterable[str], config: LintConfig | None = None,
               sources: SourceCache | None = None) -> LintResult:
    """Lint ``paths`` (files or folders) with ``config``."""
    config = config or LintConfig()
    sources = sources or SourceCache()
    targets = discover(list(paths), config)
    raw: list[Diagnostic] = []
    files: list[str] = []
    for target in targets:
        files.append(os.path.abspath(target.path))
        raw.extend(_absolute(d) for d in lint_target(target, config, sources, files))
    return LintResult(diagnostics=filter_diagnostics(raw, files, config, sources),
                      files=list(dict.fromkeys(files)), targets=len(targets))


def _absolute(diag: Diagnostic) -> Diagnostic:
    """``diag`` with an absolute file; a whole-file project finding points at line 1."""
    loc = diag.location
    whole_project_file = (loc is not None and not loc.line
                          and os.path.basename(loc.file) in PROJECT_FILES)
    if loc is None or (os.path.isabs(loc.file) and not whole_project_file):
        return diag
    line, col = (1, 1) if whole_project_file else (loc.line, loc.col)
    return Diagnostic(code=diag.code, message=diag.message, severity=diag.severity,
                      location=Location(file=os.path.abspath(loc.file), line=line,
                                        col=col, end_line=loc.end_line, end_col=loc.end_col),
                      hint=diag.hint)


def lint_target(target: Target, config: LintConfig, sources: SourceCache,
                files: list[str] | None = None) -> list[Diagnostic]:
    """Raw findings for one target (before selection and noqa).

    ``files`` (when given) receives the workflow files a project target lints, so that their
    ``noqa`` comments are checked for use (FC901) like those of files named directly.
    """
    if target.kind == "kfp":
        from .kfp_yaml import lint_kfp_text

        return lint_kfp_text(sources.text(target.path), target.path)
    if target.kind == "project":
        return _lint_project(target, config, sources, files if files is not None else [])
    return _lint_workflow(target, config, sources)


def _lint_project(target: Target, config: LintConfig, sources: SourceCache,
                  files: list[str]) -> list[Diagnostic]:
    """The project file's own validity (FC014, as the loader reports it), then each workflow
    it registers."""
    from ..project import load_project

    try:
        project = load_project(target.path)
    except FlowcError as exc:
        diag = exc.diagnostic
        if diag.location is None:
            diag = Diagnostic(code=diag.code, message=diag.message, severity=diag.severity,
                              location=Location(file=target.path), hint=diag.hint)
        return [diag]
    result: list[Diagnostic] = []
    for workflow in project.workflows.values():
        report_path = (os.path.join(target.project_dir or ".", workflow.path)
                       if isinstance(workflow.path, str) else target.path)
        files.append(os.path.abspath(report_path))
        result.extend(_lint_workflow(
            Target("project-workflow", report_path, workflow=workflow.name,
                   project_dir=target.project_dir), config, sources))
    return result


def _lint_workflow(target: Target, config: LintConfig, sources: SourceCache) -> list[Diagnostic]:
    try:
        loaded = _load(target)
    except FlowcError as exc:
        diag = exc.diagnostic
        if diag.code == "FC208" and diag.location is not None:
            from .expressions import refine_expression_error

            diag = refine_expression_error(diag, sources.text(diag.location.file))
        if diag.location is None:
            diag = Diagnostic(code=diag.code, message=diag.message, severity=diag.severity,
                              location=Location(file=target.path), hint=diag.hint)
        return [diag]
    except Exception as exc:  # the user's pipeline function raised something unexpected
        return [_unexpected(exc, target)]
    from .checks import run_checks

    return run_checks(loaded, config, sources)


def _load(target: Target):
    """Trace the target; what the workflow prints while traced is not part of the report."""
    import contextlib
    import io

    with contextlib.redirect_stderr(io.StringIO()):
        return _load_quietly(target)


def _load_quietly(target: Target):
    from ..compiler.loader import load_workflow

    if target.kind == "project-workflow":
        return load_workflow(None, workflow=target.workflow, project_dir=target.project_dir,
                             validate_arguments=False)
    return load_workflow(target.path, handler=target.handler, validate_arguments=False)


def _unexpected(exc: BaseException, target: Target) -> Diagnostic:
    """A trace failure the loader did not wrap: point at the deepest frame in the file."""
    path = os.path.abspath(target.path)
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename) == path:
            line = frame.lineno or 0
    return Diagnostic(code="FC003", message=f"tracing raised {type(exc).__name__}: {exc}",
                      severity=Severity.ERROR, location=Location(file=target.path, line=line,
                                                                 col=1 if line else 0),
                      hint="the pipeline function must run with stand-in values; "
                           "`flowc --debug ir FILE` shows the traceback")


def filter_diagnostics(raw: list[Diagnostic], files: list[str], config: LintConfig,
                       sources: SourceCache) -> list[Diagnostic]:
    """Apply selection, per-file-ignores and ``noqa``; add FC901 for unused ``noqa``s."""
    noqa = NoqaIndex(sources.text)
    kept: list[Diagnostic] = []
    seen: set[tuple] = set()
    per_file: dict[str, list[str]] = {}
    for diag in raw:
        if not config.is_selected(diag.code):
            continue
        if diag.location is not None:
            path = diag.location.file
            if path not in per_file:
                per_file[path] = config.ignored_for_file(path)
            if any(diag.code.startswith(p.upper()) for p in per_file[path]):
                continue
        key = (diag.code, diag.message, diag.location)
        if key in seen:
            continue
        seen.add(key)
        if noqa.suppresses(diag):
            continue
        kept.append(diag)
    if config.is_selected("FC901"):
        noqa_files = [f for f in dict.fromkeys(files)
                      if os.path.basename(f) not in PROJECT_FILES]
        for diag in noqa.unused(noqa_files, config.is_selected):
            if not any("FC901".startswith(p.upper()) for p in config.ignored_for_file(
                    diag.location.file)):
                kept.append(diag)
    kept.sort(key=sort_key)
    return kept
