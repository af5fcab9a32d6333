"""IR rules (FC1xx-FC4xx) over a loaded workflow.

Each check is a function ``check(ctx) -> Iterable[Diagnostic]`` registered with the codes it
can report; a check whose codes are all deselected is skipped. The tracer's own diagnostics
(``LoadedWorkflow.diagnostics``) are passed through unchanged.
"""

from __future__ import annotations

import os
from typing import Callable, Iterable

from ...diagnostics import Diagnostic, Location
from .context import WorkflowContext

Check = Callable[[WorkflowContext], Iterable[Diagnostic]]
CHECKS: list[tuple[tuple[str, ...], Check]] = []


def check(*codes: str) -> Callable[[Check], Check]:
    """Register a check that reports ``codes``."""

    def register(func: Check) -> Check:
        CHECKS.append((codes, func))
        return func

    return register


def run_checks(loaded, config, sources) -> list[Diagnostic]:
    """The tracer's diagnostics plus every selected IR check, locations made absolute."""
    from . import functions, graph, params, portability  # noqa: F401  (registers the checks)

    ctx = WorkflowContext(loaded, sources)
    result = [ctx.absolute(d) for d in loaded.diagnostics]
    for codes, func in CHECKS:
        if any(config.is_selected(code) for code in codes):
            result.extend(func(ctx))
    return result


def absolute_location(location: Location | None, base_dir: str) -> Location | None:
    """``location`` with its file made absolute (IR paths are relative to ``base_dir``)."""
    if location is None or os.path.isabs(location.file):
        return location
    candidate = os.path.join(base_dir, location.file)
    path = candidate if os.path.exists(candidate) else os.path.abspath(location.file)
    return Location(file=path, line=location.line, col=location.col,
                    end_line=location.end_line, end_col=location.end_col)
