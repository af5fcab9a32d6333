"""Typed events the executor emits; renderers (``render.py``) turn them into output."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Event:
    run_id: str
    at: float = field(default_factory=time.time, kw_only=True)

    @property
    def kind(self) -> str:
        return type(self).__name__

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["event"] = self.kind
        return data


@dataclass(frozen=True)
class RunStarted(Event):
    workflow: str
    steps: tuple[str, ...]
    artifact_path: str
    resumed: bool = False


@dataclass(frozen=True)
class StepStarted(Event):
    step: str
    attempt: int = 1
    iterations: int | None = None


@dataclass(frozen=True)
class IterationFinished(Event):
    step: str
    iteration: int
    state: str
    results: dict = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class StepFinished(Event):
    """A step reached a final state: succeeded, cached, failed, skipped, upstream_failed, aborted."""

    step: str
    state: str
    duration: float | None = None
    reason: str | None = None
    error: str | None = None
    outputs: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "Step" + "".join(p.capitalize() for p in self.state.split("_"))


@dataclass(frozen=True)
class RunFinished(Event):
    state: str
    duration: float
    steps: tuple[tuple[str, str, float | None], ...]   # (name, display state, duration)
    error: str | None = None
    artifact_dir: str | None = None                    # <artifact-path>/<run-id>
    base_dir: str | None = None                        # the project folder (runs database)


Listener = Callable[[Event], None]
