"""``flowc graph``: draw a workflow's step graph as Mermaid or Graphviz (dot, svg, png)."""

from __future__ import annotations

import shutil
import subprocess

import click

from ..ir import Workflow
from .common import emit, load_target, user_errors, workflow_target

_KIND_SHAPES = {"run": ("[", "]"), "build": ("[[", "]]"), "deploy": ("([", "])")}


def to_mermaid(workflow: Workflow) -> str:
    """A Mermaid flowchart: data edges solid, ``after`` edges dotted, condition edges labelled."""
    lines = ["flowchart TD"]
    ids = {step.name: f"s{index}" for index, step in enumerate(workflow.steps)}
    for step in workflow.steps:
        left, right = _KIND_SHAPES.get(step.kind, ("[", "]"))
        label = step.name if step.kind == "run" else f"{step.kind}: {step.name}"
        if step.hyper is not None:
            label += " (hyper)"
        if step.condition is not None:
            label += " (conditional)"
        lines.append(f'    {ids[step.name]}{left}"{_escape(label)}"{right}')
    for up, down, kind in workflow.edges():
        arrow = {"data": "-->", "after": "-.->", "condition": "-- if -->"}[kind]
        lines.append(f"    {ids[up]} {arrow} {ids[down]}")
    return "\n".join(lines) + "\n"


def to_dot(workflow: Workflow) -> str:
    """A Graphviz digraph with the same conventions as :func:`to_mermaid`."""
    shapes = {"run": "box", "build": "box3d", "deploy": "component"}
    lines = [f"digraph {_quote(workflow.name)} {{", "  rankdir=TB;",
             '  node [fontname="Helvetica", style=rounded];']
    for step in workflow.steps:
        label = step.name if step.kind == "run" else f"{step.kind}: {step.name}"
        lines.append(f"  {_quote(step.name)} [label={_quote(label)}, "
                     f"shape={shapes.get(step.kind, 'box')}];")
    for up, down, kind in workflow.edges():
        style = {"data": "", "after": " [style=dashed]", "condition": ' [label="if"]'}[kind]
        lines.append(f"  {_quote(up)} -> {_quote(down)}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace('"', "#quot;")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@click.command("graph")
@workflow_target
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot", "svg", "png"]),
              default="mermaid", show_default=True,
              help="svg and png need Graphviz's `dot` on PATH.")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of stdout.")
def graph(target, workflow_name, project_dir, arguments, fmt, output):
    """Draw a workflow's step graph."""
    from ..diagnostics import FlowcError

    with user_errors():
        loaded = load_target(target, workflow_name, project_dir, arguments,
                             require_values=False)
        if fmt == "mermaid":
            emit(to_mermaid(loaded.workflow), output)
            return
        dot_text = to_dot(loaded.workflow)
        if fmt == "dot":
            emit(dot_text, output)
            return
        dot = shutil.which("dot")
        if dot is None:
            raise FlowcError(f"--format {fmt} needs Graphviz's `dot`, which is not installed",
                             code="FC006", hint="install graphviz, or use --format dot|mermaid")
        if not output:
            raise FlowcError(f"--format {fmt} writes binary/XML output: pass -o FILE",
                             code="FC006")
        rendered = subprocess.run([dot, f"-T{fmt}"], input=dot_text.encode(),
                                  capture_output=True, check=False)
        if rendered.returncode != 0:
            raise FlowcError(f"dot failed: {rendered.stderr.decode(errors='replace').strip()}",
                             code="FC006")
        from ..fsutil import write_bytes_atomic

        try:
            write_bytes_atomic(output, rendered.stdout)
        except OSError as exc:
            raise FlowcError(f"cannot write {output}: {exc.strerror or exc}", code="FC007",
                             hint="choose a writable file path for -o") from None
