"""Helpers for the step-runtime tests: write a handler file and build a StepCall for it."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

from flowc.runtime.core import StepCall


@pytest.fixture
def make_call(tmp_path: Path) -> Callable[..., StepCall]:
    """``make_call(source, handler, params=..., inputs=..., outputs=...)`` -> StepCall whose
    handler lives in a fresh file under ``tmp_path`` and whose artifacts go to tmp_path/art."""
    counter = {"n": 0}

    def build(source: str, handler: str, *, params: dict[str, Any] | None = None,
              inputs: dict[str, str] | None = None,
              outputs: list[tuple[str, str]] | None = None, step: str = "step",
              project: str | None = "proj", embed: bool = False,
              iteration: int | None = None) -> StepCall:
        counter["n"] += 1
        folder = tmp_path / f"src{counter['n']}"
        folder.mkdir()
        path = folder / f"handlers{counter['n']}.py"
        code = textwrap.dedent(source)
        path.write_text(code)
        return StepCall(step=step, run_id="run1", project=project, handler=handler,
                        source_file=None if embed else str(path),
                        source_code=code if embed else None,
                        params=params or {}, inputs=inputs or {}, outputs=outputs or [],
                        artifact_dir=str(tmp_path / "art" / "run1" / step),
                        iteration=iteration)

    return build
