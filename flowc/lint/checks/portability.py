"""FC4xx: what works on one backend but not the other (images, names, paths, secrets)."""

from __future__ import annotations

import os
import re
from typing import Iterator

from ...diagnostics import Diagnostic, Location
from ...ir import Step
from ..catalog import finding
from . import check
from .context import WorkflowContext

_SECRET_KEY = re.compile(r"(passw(or)?d|passwd|secret|token|api[_-]?key|access[_-]?key|"
                         r"credential|private[_-]?key)", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def image_tag_problem(image: str) -> str | None:
    """Why ``image`` is unpinned (``"no tag"`` / ``"the :latest tag"``), or None."""
    if "@" in image:
        return None  # pinned by digest
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "no tag"
    if last.rsplit(":", 1)[1] == "latest":
        return "the :latest tag"
    return None


def _project_line(ctx: WorkflowContext, text: str) -> Location | None:
    """The line of project.yaml that holds ``text`` (where a function's image is set)."""
    if ctx.project is None:
        return None
    path = os.path.join(ctx.project.context, "project.yaml")
    for number, line in enumerate(ctx.sources.lines(path), start=1):
        col = line.find(text)
        if col >= 0 and "image" in line:
            return Location(file=os.path.abspath(path), line=number, col=col + 1,
                            end_line=number, end_col=col + 1 + len(text))
    return None


@check("FC401")
def unpinned_images(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    seen: set[tuple[str, str]] = set()
    for step in ctx.workflow.steps:
        candidates: list[tuple[str, Location]] = []
        if isinstance(step.function.image, str) and step.function.image:
            image = step.function.image
            where = _project_line(ctx, image) or ctx.step_location(step)
            candidates.append((image, where))
        if step.kind == "build":
            for key in ("image", "base_image"):
                value = step.params.get(key)
                if isinstance(value, str) and value:
                    kw = ctx.keyword(step, key)
                    where = ctx.node_location(step, kw.value) if kw else ctx.step_location(step)
                    candidates.append((value, where))
        for image, where in candidates:
            problem = image_tag_problem(image)
            key = (image, str(where))
            if problem and key not in seen:
                seen.add(key)
                yield finding("FC401", f"image {image!r} of step {step.name!r} has {problem}",
                              where)


def kfp_name(name: str) -> str:
    """The DNS-1123 name KFP derives from a task name."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", name.lower())).strip("-")


@check("FC402")
def name_collisions(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    by_name: dict[str, Step] = {}
    for step in ctx.workflow.steps:
        sanitised = kfp_name(step.name)
        other = by_name.get(sanitised)
        if other is not None:
            yield finding("FC402", f"steps {other.name!r} and {step.name!r} both become "
                          f"{sanitised!r} on KFP", ctx.step_location(step))
        else:
            by_name[sanitised] = step


@check("FC403")
def local_paths(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    for step in ctx.run_steps():
        for key, value in step.inputs.items():
            if not isinstance(value, str) or _SCHEME.match(value):
                continue
            local = value.startswith(("/", "./", "../", "~")) or os.path.exists(
                os.path.join(ctx.base_dir, value))
            if local:
                yield finding("FC403", f"input {key!r} of step {step.name!r} is the local path "
                              f"{value!r}", ctx.key_location(step, "inputs", key))


@check("FC404")
def hardcoded_secrets(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    for step in ctx.workflow.steps:
        for key, value in step.params.items():
            if _SECRET_KEY.search(key) and isinstance(value, str) and value:
                yield finding("FC404", f"param {key!r} of step {step.name!r} is a literal "
                              "secret", ctx.key_location(step, "params", key))
