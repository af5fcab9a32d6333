"""Renderers for executor events: ``plain`` lines, ``json`` lines, ``quiet``, or a ``rich`` table.

Progress goes to stderr, the summary table and the final line to stdout (JSON lines, when
chosen, go to stdout: they are the result). ``auto`` picks rich only on a terminal outside CI.
rich is imported only by :class:`RichRenderer`.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO

from . import jsonout
from .events import (Event, IterationFinished, RunFinished, RunStarted, StepFinished,
                     StepStarted)

PROGRESS_MODES = ("auto", "rich", "plain", "json", "quiet")


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at * 1000) % 1000:03d}"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:04.1f}s"


def summary_table(steps: tuple[tuple[str, str, float | None], ...]) -> str:
    """A plain text table: step, state, duration."""
    rows = [("STEP", "STATE", "DURATION")] + [(n, s, format_duration(d)) for n, s, d in steps]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}"
                     for r in rows)


def final_line(event: RunFinished) -> str:
    text = f"run {event.run_id} {event.state} in {format_duration(event.duration)}"
    if event.error and event.state != "succeeded":
        text += f" ({event.error})"
    return text


def where_line(event: RunFinished) -> str:
    project = project_option(event.base_dir)
    return (f"artifacts: {event.artifact_dir}  (details: flowc runs show {event.run_id}"
            f"{project}; logs: flowc logs {event.run_id}{project})")


def project_option(base_dir: str | None, cwd: str | None = None) -> str:
    """`` -p DIR`` when ``flowc runs``/``logs`` run in ``cwd`` would not find ``base_dir``'s
    runs database by themselves (they look for the nearest project.yaml, else use cwd)."""
    import shlex

    from ...project import find_project_dir

    if not base_dir:
        return ""
    cwd = cwd or os.getcwd()
    found = find_project_dir(cwd) or cwd
    if os.path.realpath(found) == os.path.realpath(base_dir):
        return ""
    relative = os.path.relpath(base_dir, cwd)
    shown = base_dir if relative.startswith("..") else relative
    return f" -p {shlex.quote(shown)}"


def _escape(text: str) -> str:
    """User text (step names, errors) shown by rich must not be read as markup."""
    from rich.markup import escape

    return escape(text)


class PlainRenderer:
    """One line per event, for CI logs and pipes."""

    def __init__(self, err: IO[str] | None = None, out: IO[str] | None = None) -> None:
        self.err = err or sys.stderr
        self.out = out or sys.stdout

    def _line(self, event: Event, text: str) -> None:
        self.err.write(f"{_clock(event.at)} | {text}\n")
        self.err.flush()

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            verb = "resumed" if event.resumed else "started"
            self._line(event, f"run {event.run_id} {verb}: workflow {event.workflow!r}, "
                              f"{len(event.steps)} steps, artifacts in {event.artifact_path}")
        elif isinstance(event, StepStarted):
            extra = f" ({event.iterations} iterations)" if event.iterations else ""
            self._line(event, f"step {event.step!r} started{extra}")
        elif isinstance(event, IterationFinished):
            text = f"step {event.step!r} iteration {event.iteration} {event.state}"
            if event.error:
                text += f": {event.error}"
            self._line(event, text)
        elif isinstance(event, StepFinished):
            text = f"step {event.step!r} {event.state.upper()}"
            if event.reason:
                text += f" ({event.reason})"
            if event.duration is not None:
                text += f" in {format_duration(event.duration)}"
            if event.error and event.state not in ("succeeded", "cached"):
                text += f": {event.error}"
            self._line(event, text)
        elif isinstance(event, RunFinished):
            self.out.write(summary_table(event.steps) + "\n")
            if event.artifact_dir:
                self.out.write(where_line(event) + "\n")
            self.out.write(final_line(event) + "\n")
            self.out.flush()


class JsonRenderer:
    """JSON Lines on stdout, one object per event (``"event"`` names its type)."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self.out = out or sys.stdout

    def __call__(self, event: Event) -> None:
        self.out.write(jsonout.dumps(event.to_json(), sort_keys=True) + "\n")
        self.out.flush()


class QuietRenderer:
    """Only the final line."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self.out = out or sys.stdout

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            self.out.write(final_line(event) + "\n")
            self.out.flush()


class RichRenderer:
    """A live table of steps on the terminal, then the summary."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(stderr=True)
        self.out = Console()
        self.rows: dict[str, list] = {}
        self._live = Live(console=self.console, refresh_per_second=8, transient=True)
        self._started = False

    def _table(self):
        from rich.table import Table

        table = Table(box=None, show_header=True, header_style="bold")
        table.add_column("step")
        table.add_column("state")
        table.add_column("time", justify="right")
        now = time.time()
        colors = {"succeeded": "green", "cached": "green", "failed": "red",
                  "upstream_failed": "red", "aborted": "yellow", "skipped": "dim",
                  "running": "cyan"}
        for name, (state, started, duration, note) in self.rows.items():
            shown = duration if duration is not None else (now - started if started else None)
            label = f"[{colors.get(state, 'white')}]{state}[/]" + (f" {_escape(note)}"
                                                                  if note else "")
            table.add_row(_escape(name), label, format_duration(shown))
        return table

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.rows = {name: ["pending", None, None, ""] for name in event.steps}
            self.console.print(f"run [bold]{event.run_id}[/] workflow "
                               f"{_escape(repr(event.workflow))}: artifacts in "
                               f"{_escape(event.artifact_path)}")
            self._live.start()
            self._started = True
        elif isinstance(event, StepStarted):
            self.rows[event.step] = ["running", event.at, None,
                                     f"0/{event.iterations}" if event.iterations else ""]
        elif isinstance(event, IterationFinished):
            row = self.rows.get(event.step)
            if row and row[3]:
                done, total = row[3].split("/")
                row[3] = f"{int(done) + 1}/{total}"
        elif isinstance(event, StepFinished):
            row = self.rows.setdefault(event.step, ["", None, None, ""])
            row[0], row[2] = event.state, event.duration
            row[3] = f"({event.reason})" if event.reason else ""
            if event.error and event.state == "failed":
                self.console.print(f"[red]step {_escape(repr(event.step))} failed:[/] "
                                   f"{_escape(event.error)}")
        if self._started:
            self._live.update(self._table())
        if isinstance(event, RunFinished):
            if self._started:
                self._live.stop()
            from rich.table import Table

            table = Table(title=None)
            table.add_column("step")
            table.add_column("state")
            table.add_column("duration", justify="right")
            for name, state, duration in event.steps:
                table.add_row(_escape(name), _escape(state), format_duration(duration))
            self.out.print(table)
            if event.artifact_dir:
                self.out.print(where_line(event), highlight=False)
            self.out.print(final_line(event), highlight=False)


def _rich_available() -> bool:
    try:
        import rich.console  # noqa: F401
        import rich.live  # noqa: F401
    except ImportError:
        return False
    return True


def make_renderer(mode: str = "auto"):
    """The renderer for ``--progress MODE``."""
    if mode == "auto":
        ci = os.environ.get("CI") or os.environ.get("GITHUB_ACTIONS")
        mode = "rich" if sys.stderr.isatty() and not ci and _rich_available() else "plain"
    if mode == "rich":
        if _rich_available():
            return RichRenderer()
        sys.stderr.write("warning: --progress rich needs the rich package "
                         "(pip install 'flowc[progress]'); showing plain progress\n")
        return PlainRenderer()
    if mode == "plain":
        return PlainRenderer()
    if mode == "json":
        return JsonRenderer()
    if mode == "quiet":
        return QuietRenderer()
    raise ValueError(f"unknown progress mode {mode!r} ({', '.join(PROGRESS_MODES)})")
