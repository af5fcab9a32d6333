"""FC1xx: the step graph (cycles, dangling references, unused outputs, redundant ordering)."""

from __future__ import annotations

from typing import Iterator

from ...diagnostics import Diagnostic
from ...ir import OutputRef, output_refs
from ..catalog import finding
from ..kfp_yaml import find_cycles
from . import check
from .context import WorkflowContext


@check("FC106")
def empty_workflow(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    if not ctx.workflow.steps:
        yield finding("FC106", f"workflow {ctx.workflow.name!r} has no steps",
                      ctx.workflow_location())


@check("FC102", "FC107")
def dangling_references(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    steps = {s.name: s for s in ctx.workflow.steps}
    for step in ctx.workflow.steps:
        reported: set[tuple[str, str]] = set()
        for value in step.values():
            for ref in output_refs(value):
                if (ref.step, ref.name) in reported:
                    continue
                reported.add((ref.step, ref.name))
                producer = steps.get(ref.step)
                if producer is None:
                    yield finding("FC107", f"step {step.name!r} reads {ref.step}.{ref.name}, but "
                                  f"there is no step {ref.step!r}", ctx.step_location(step))
                elif producer.output(ref.name) is None:
                    declared = ", ".join(o.name for o in producer.outputs) or "none"
                    yield finding("FC102", f"step {step.name!r} reads output {ref.name!r} of "
                                  f"{ref.step!r}, which declares: {declared}",
                                  ctx.step_location(step))
        for name in step.after:
            if name not in steps:
                yield finding("FC107", f"step {step.name!r} runs after {name!r}, but there is "
                              "no such step", ctx.after_location(step, name))


@check("FC101")
def cycles(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    upstream = {s.name: s.upstream() for s in ctx.workflow.steps}
    for cycle in find_cycles(upstream):
        first = ctx.workflow.step(cycle[0])
        yield finding("FC101", f"the steps form a cycle: {' -> '.join([*cycle, cycle[0]])}",
                      ctx.step_location(first))


@check("FC110")
def outputs_outside_condition(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    """A step reads an output of a step whose condition it does not share.

    Nested ``Condition`` blocks trace to ``and(outer, inner)``; the reader's conditions must
    start with all of the producer's (the KFP backend raises FC436 otherwise: the producer may
    not run, and its outputs are not visible outside its condition's sub-DAG).
    """
    steps = {s.name: s for s in ctx.workflow.steps}
    keys = {s.name: _condition_keys(s.condition) for s in ctx.workflow.steps}
    for step in ctx.workflow.steps:
        reported: set[str] = set()
        for field, key, value in _located_values(step):
            for ref in output_refs(value):
                producer = steps.get(ref.step)
                if producer is None or ref.step in reported or ref.step == step.name:
                    continue
                need = keys[ref.step]
                if keys[step.name][:len(need)] == need:
                    continue
                reported.add(ref.step)
                where = (ctx.key_location(step, field, key) if field else
                         ctx.step_location(step))
                yield finding("FC110", f"step {step.name!r} reads {ref.step}.outputs"
                              f"[{ref.name!r}], but step {ref.step!r} runs only under a "
                              f"condition that step {step.name!r} does not share", where)


def _condition_keys(condition) -> tuple[str, ...]:
    """The conjuncts of a step condition (one per nested ``Condition`` block), comparable."""
    import json

    from ...ir import Expr, value_to_json

    if condition is None:
        return ()
    parts = condition.args if isinstance(condition, Expr) and condition.op == "and" \
        else (condition,)
    return tuple(json.dumps(value_to_json(p), sort_keys=True) for p in parts)


def _located_values(step) -> Iterator[tuple[str | None, str | None, object]]:
    """``(keyword, key, value)`` for each value a step reads; keyword None for the rest."""
    for name, value in step.params.items():
        yield "params", name, value
    for name, value in step.inputs.items():
        yield "inputs", name, value
    yield None, None, step.function.image
    if step.hyper is not None:
        yield None, None, step.hyper.params
        yield None, None, step.hyper.stop_condition
    yield None, None, step.condition


@check("FC108")
def unused_outputs(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    """An output nobody reads, of a step that other steps do consume (a likely typo or a
    forgotten wiring). The outputs of sink steps are the workflow's results: not reported."""
    used: set[tuple[str, str]] = set()
    consumed: set[str] = set()  # steps that some other step reads from or runs after
    for step in ctx.workflow.steps:
        for value in step.values():
            for ref in output_refs(value):
                used.add((ref.step, ref.name))
                if ref.step != step.name:
                    consumed.add(ref.step)
        consumed.update(name for name in step.after if name != step.name)
    for step in ctx.run_steps():
        if step.name not in consumed:
            continue
        for output in step.outputs:
            if (step.name, output.name) not in used:
                yield finding("FC108", f"output {output.name!r} of step {step.name!r} is never "
                              "used, although later steps use the step",
                              _output_location(ctx, step, output.name))


def _output_location(ctx: WorkflowContext, step, name: str):
    import ast

    kw = ctx.keyword(step, "outputs")
    if kw is not None and isinstance(kw.value, (ast.List, ast.Tuple)):
        for element in kw.value.elts:
            if isinstance(element, ast.Constant) and isinstance(element.value, str) and \
                    element.value.partition(":")[0].strip() == name:
                return ctx.node_location(step, element)
        return ctx.node_location(step, kw)
    return ctx.step_location(step)


@check("FC109")
def redundant_after(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    """An ``.after(u)`` edge is redundant when u is already an ancestor through other edges."""
    upstream = {s.name: s.upstream() for s in ctx.workflow.steps}
    for step in ctx.workflow.steps:
        data = set(step.data_dependencies())
        for name in step.after:
            if name not in upstream:
                continue
            if name in data:
                image = step.function.image
                only_image = isinstance(image, OutputRef) and image.step == name and not any(
                    ref.step == name for value in step.values() if value is not image
                    for ref in output_refs(value))
                why = (f"it already runs on the image that {name!r} builds" if only_image
                       else f"it already reads an output of {name!r}")
            else:
                via = _ancestor_via(upstream, step.name, name)
                if via is None:
                    continue
                why = f"it already depends on {name!r} through {via!r}"
            yield finding("FC109", f"`.after({name})` on step {step.name!r} is redundant: {why}",
                          ctx.after_location(step, name))


def _ancestor_via(upstream: dict[str, list[str]], start: str, target: str) -> str | None:
    """The direct upstream of ``start`` (other than ``target``) through which ``target`` is
    reached, or None."""
    for first in upstream.get(start, ()):
        if first == target:
            continue
        seen = {first}
        stack = [first]
        while stack:
            node = stack.pop()
            if node == target:
                return first
            for dep in upstream.get(node, ()):
                if dep not in seen and dep != start:
                    seen.add(dep)
                    stack.append(dep)
    return None
