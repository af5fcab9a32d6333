"""One diagnostic type for the tracer, validation, lint and the CLI.

A :class:`Diagnostic` is a located, coded message. A :class:`FlowcError` is the exception
that carries one: every user mistake (bad workflow file, bad argument, cycle, ...) is raised as
a ``FlowcError`` so that the CLI can print ``file:line:col: CODE message`` and exit 2 without
a traceback.

Codes are stable and never reused: ``FC0xx`` loading/tracing, ``FC1xx`` graph,
``FC2xx`` arguments and params, ``FC3xx`` functions and handlers, ``FC4xx`` backend
portability, ``FC5xx`` compiled KFP YAML.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass


class Severity(str, enum.Enum):
    """How bad a finding is; ordered ``info < warning < error``."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """A point in the user's source: 1-based line and column."""

    file: str
    line: int = 0
    col: int = 0
    end_line: int | None = None
    end_col: int | None = None

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.col or 1}"

    def to_json(self) -> dict:
        return {"file": self.file, "line": self.line, "col": self.col}

    @classmethod
    def from_json(cls, data: dict) -> "Location":
        return cls(file=data["file"], line=data.get("line", 0), col=data.get("col", 0))


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    """A coded, located message with an optional fix hint."""

    code: str
    message: str
    severity: Severity = Severity.ERROR
    location: Location | None = None
    hint: str | None = None

    def format(self) -> str:
        """``path:line:col: CODE message`` followed by an indented hint line."""
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.code} {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class FlowcError(Exception):
    """A user-facing error: bad input that flowc explains instead of crashing on."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "FC000",
        location: Location | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.diagnostic = Diagnostic(code=code, message=message, location=location, hint=hint)

    @property
    def code(self) -> str:
        return self.diagnostic.code

    @property
    def location(self) -> Location | None:
        return self.diagnostic.location

    @property
    def hint(self) -> str | None:
        return self.diagnostic.hint

    def __str__(self) -> str:
        return self.diagnostic.format()


class TraceError(FlowcError):
    """The pipeline function did something that cannot be traced (raised at the user's line)."""


class ArgumentError(FlowcError):
    """A workflow argument is missing, unknown or violates the args schema."""


class CycleError(FlowcError):
    """The step graph has a cycle."""


class ProjectError(FlowcError):
    """project.yaml is missing, unreadable or malformed."""


def relative_path(path: str, start: str | None = None) -> str:
    """``path`` relative to ``start`` (cwd) when it lies below it, else unchanged."""
    try:
        rel = os.path.relpath(path, start or os.getcwd())
    except ValueError:
        return path
    return path if rel.startswith("..") else rel
