"""The trace context: a ContextVar holding the state of the workflow being traced.

Tracing is re-entrant and thread-safe because the state lives in a ContextVar, not a global
(unlike kfp's class-level ``Pipeline._default_pipeline``). ``TraceState`` collects mutable
step records while the user's function runs; the tracer freezes them into IR at the end.
"""

from __future__ import annotations

import os
import re
import sys
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import CodeType
from typing import TYPE_CHECKING

from ..diagnostics import Diagnostic, Location, TraceError, relative_path
from ..ir import Arg, FunctionRef, Hyper, Output, Value

if TYPE_CHECKING:  # pragma: no cover
    from ..project import Project

_FLOWC_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

_current: ContextVar["TraceState | None"] = ContextVar("flowc_trace", default=None)


@dataclass(slots=True)
class CallSite:
    """Where a DSL call happened: the calling code object and its last instruction.

    Line and column are computed lazily from ``co_positions()`` (see ``TraceState.locate``):
    even ``frame.f_lineno`` scans the line table from the start, which is quadratic for a
    generated workflow with 100,000 calls in one function.
    """

    file: str
    code: CodeType | None = None
    lasti: int = -1
    fallback_line: int = 0

    def position(self, cache: dict[int, list] | None = None) -> tuple[int, int]:
        """1-based ``(line, col)``; 0 where unknown."""
        if self.code is None or self.lasti < 0:
            return self.fallback_line, 0
        positions = None if cache is None else cache.get(id(self.code))
        if positions is None:
            positions = list(self.code.co_positions())
            if cache is not None:
                cache[id(self.code)] = positions
        index = self.lasti // 2
        if index >= len(positions):
            return self.fallback_line, 0
        line, _, col, _ = positions[index]
        return line or self.fallback_line, (col + 1) if col is not None else 0

    @property
    def line(self) -> int:
        return self.position()[0]


@dataclass(slots=True)
class StepRecord:
    """A step while tracing is under way (``after`` may still grow)."""

    name: str
    kind: str
    function: FunctionRef
    handler: str | None
    params: dict[str, Value]
    inputs: dict[str, Value]
    outputs: tuple[Output, ...]
    hyper: Hyper | None
    condition: Value
    site: CallSite
    after: list[str] = field(default_factory=list)
    after_sites: dict[str, CallSite] = field(default_factory=dict)


@dataclass(slots=True)
class TraceState:
    """Everything recorded while one workflow function runs under trace."""

    name: str
    args: dict[str, Arg]
    base_dir: str
    project: "Project | None" = None
    steps: list[StepRecord] = field(default_factory=list)
    by_name: dict[str, StepRecord] = field(default_factory=dict)
    used_names: set[str] = field(default_factory=set)
    next_suffix: dict[str, int] = field(default_factory=dict)
    conditions: list[Value] = field(default_factory=list)
    condition_blocks: list = field(default_factory=list)  # the open Condition objects
    # function name -> build step that produced its image (later runs use that image)
    built_images: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # keyed by id(): hashing a code object hashes its whole bytecode (quadratic at scale)
    _positions: dict[int, list] = field(default_factory=dict)
    _display: dict[str, str] = field(default_factory=dict)  # file -> path shown to the user

    def unique_name(self, wanted: str) -> str:
        """A KFP-legal step name, suffixed ``-2``, ``-3``… when already taken."""
        base = legal_name(wanted)
        name = base
        # Resume probing where the last duplicate of this base stopped: a linear probe from
        # -2 each time is quadratic (kfp's make_name_unique_by_adding_index is).
        index = self.next_suffix.get(base, 2)
        while name in self.used_names:
            name = f"{base}-{index}"
            index += 1
        self.next_suffix[base] = index
        self.used_names.add(name)
        return name

    def add(self, record: StepRecord) -> None:
        self.steps.append(record)
        self.by_name[record.name] = record

    def locate(self, site: CallSite | None) -> Location | None:
        """Turn a call site into a ``Location`` with a 1-based column.

        Columns come from ``co_positions()``; it is computed once per code object and cached,
        so a generated workflow with 100,000 calls in one function stays linear.
        """
        if site is None:
            return None
        line, col = site.position(self._positions)
        shown = self._display.get(site.file)
        if shown is None:
            shown = self._display[site.file] = relative_path(site.file)
        return Location(file=shown, line=line, col=col)

    def warn(self, code: str, message: str, site: CallSite | None, hint: str | None = None,
             severity: str = "warning") -> None:
        from ..diagnostics import Severity

        self.diagnostics.append(Diagnostic(code=code, message=message, location=self.locate(site),
                                           hint=hint, severity=Severity(severity)))


def current() -> TraceState | None:
    """The active trace, or None outside of tracing."""
    return _current.get()


def require(what: str) -> TraceState:
    """The active trace; a clear error when a DSL call happens outside of one."""
    state = _current.get()
    if state is None:
        site = call_site()
        raise TraceError(
            f"{what}() was called outside of a workflow trace",
            code="FC010",
            location=Location(file=relative_path(site.file), line=site.line),
            hint="flowc records DSL calls only while it traces a workflow: use `flowc ir|run|"
                 "compile FILE`, or flowc.trace(fn)",
        )
    return state


def activate(state: TraceState):
    """Make ``state`` the active trace; returns the token for :func:`deactivate`."""
    return _current.set(state)


def deactivate(token) -> None:
    _current.reset(token)


def call_site() -> CallSite:
    """The innermost frame outside the flowc package: the user's DSL call."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith((_FLOWC_DIR, "<frozen")):
        frame = frame.f_back
    if frame is None:  # pragma: no cover - only when called from flowc itself
        return CallSite(file="<unknown>")
    return CallSite(file=frame.f_code.co_filename, code=frame.f_code, lasti=frame.f_lasti)


_ILLEGAL = re.compile(r"[^a-z0-9-]+")


def legal_name(text: str) -> str:
    """A Kubernetes/KFP-legal name: lowercase letters, digits and ``-``."""
    name = _ILLEGAL.sub("-", str(text).lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    return name or "step"


def relpath_from(path: str, base_dir: str) -> str:
    """``path`` relative to ``base_dir`` with ``/`` separators when inside it, else absolute."""
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute, base_dir)
    if rel.startswith(".."):
        return absolute
    return rel.replace(os.sep, "/")
