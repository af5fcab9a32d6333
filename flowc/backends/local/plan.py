"""IR -> an explicit local execution plan: stages, functions, resolved params, input sources.

The plan is what ``flowc plan`` prints and what the executor follows; building it runs nothing.
Values that are only known at run time (step outputs, secrets) appear as placeholders such as
``{{train.model}}`` and ``{{secret:TOKEN}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ... import ir
from ...diagnostics import CycleError, FlowcError
from ...evaluate import evaluate
from .functions import ResolvedFunction, resolve_function


@dataclass
class PlanStep:
    """One step as the local engine will run it."""

    name: str
    kind: str
    stage: int
    function: ResolvedFunction
    params: dict[str, Any]
    inputs: dict[str, str]          # input name -> where its value comes from
    upstream: list[str]
    condition: str | None = None
    hyper: dict[str, Any] | None = None
    outputs: list[tuple[str, str]] = field(default_factory=list)
    note: str | None = None

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "stage": self.stage,
                "function": self.function.name, "url": self.function.url,
                "source_file": self.function.source_file, "handler": self.function.handler,
                "params": self.params, "inputs": self.inputs, "upstream": self.upstream,
                "condition": self.condition, "hyper": self.hyper,
                "outputs": [{"name": n, "type": t} for n, t in self.outputs], "note": self.note}


@dataclass
class Plan:
    """The whole plan: stages of step names (each stage may run in parallel) and the steps."""

    workflow: ir.Workflow
    arguments: dict[str, Any]
    base_dir: str
    stages: list[list[str]]
    steps: dict[str, PlanStep]

    def to_json(self) -> dict:
        return {"workflow": self.workflow.name, "project": self.workflow.project,
                "arguments": self.arguments, "base_dir": self.base_dir,
                "stages": self.stages,
                "steps": [self.steps[name].to_json() for stage in self.stages for name in stage]}

    def format_text(self) -> str:
        lines = [f"workflow {self.workflow.name}"
                 + (f" (project {self.workflow.project})" if self.workflow.project else "")]
        if self.arguments:
            lines.append("arguments: " + ", ".join(f"{k}={_short(v)}"
                                                   for k, v in self.arguments.items()))
        for index, stage in enumerate(self.stages, 1):
            lines.append(f"stage {index}:")
            for name in stage:
                step = self.steps[name]
                fn = step.function
                where = fn.url or "-"
                lines.append(f"  {name} [{step.kind}] {fn.name} ({where})"
                             + (f" handler={fn.handler}" if fn.handler else ""))
                if step.note:
                    lines.append(f"    note: {step.note}")
                if step.upstream:
                    lines.append(f"    needs: {', '.join(step.upstream)}")
                if step.condition:
                    lines.append(f"    when: {step.condition}")
                for key, value in step.params.items():
                    lines.append(f"    param {key} = {_short(value)}")
                for key, source in step.inputs.items():
                    lines.append(f"    input {key} <- {source}")
                if step.hyper:
                    options = {k: v for k, v in step.hyper.items() if k != "params" and v}
                    lines.append("    hyper: " + " ".join(f"{k}={v}" for k, v in options.items()))
                    for key, values in step.hyper["params"].items():
                        lines.append(f"      {key} in {_short(values)}")
                if step.outputs:
                    lines.append("    outputs: " + ", ".join(f"{n}:{t}" for n, t in step.outputs))
        return "\n".join(lines) + "\n"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def placeholder_outputs(step: str, name: str) -> str:
    return "{{" + f"{step}.{name}" + "}}"


def placeholder_secret(key: str) -> str:
    return "{{secret:" + key + "}}"


def describe(value: ir.Value, args: dict[str, Any]) -> Any:
    """``value`` with arguments filled in and run-time values shown as placeholders."""
    return evaluate(value, args=args, outputs=placeholder_outputs, secrets=placeholder_secret)


def describe_expr(value: ir.Value, args: dict[str, Any]) -> str:
    """An expression (condition, stop condition) as readable text."""
    if isinstance(value, ir.Expr):
        if value.op == "not":
            return f"not ({describe_expr(value.args[0], args)})"
        if value.op in ("and", "or"):
            return f" {value.op} ".join(f"({describe_expr(a, args)})"
                                        if isinstance(a, ir.Expr) and a.op in ("and", "or")
                                        else describe_expr(a, args) for a in value.args)
        left, right = (describe_expr(a, args) for a in value.args)
        return f"{left} {value.op} {right}"
    if isinstance(value, ir.Name):
        return value.id
    described = describe(value, args)
    return described if isinstance(value, (ir.OutputRef, ir.SecretRef)) else json.dumps(
        described, default=str)


def stages_of(workflow: ir.Workflow) -> list[list[str]]:
    """Topological generations of the step graph, steps in trace order within a stage."""
    import networkx as nx

    names = {s.name for s in workflow.steps}
    for step in workflow.steps:
        for up in step.upstream():
            if up not in names:
                raise FlowcError(f"step {step.name!r} depends on unknown step {up!r}",
                                 code="FC107", location=step.location)
    order = {s.name: i for i, s in enumerate(workflow.steps)}
    graph = workflow.graph()
    try:
        generations = list(nx.topological_generations(graph))
    except nx.NetworkXUnfeasible:
        cycle = " -> ".join(u for u, _ in nx.find_cycle(graph))
        raise CycleError(f"the step graph has a cycle: {cycle}", code="FC101") from None
    return [sorted(gen, key=order.__getitem__) for gen in generations]


def _input_source(value: ir.Value, args: dict[str, Any]) -> str:
    if isinstance(value, ir.OutputRef):
        return f"output {value.name!r} of step {value.step!r}"
    if isinstance(value, ir.ArgRef):
        return f"argument {value.name!r} = {_short(args.get(value.name))}"
    described = describe(value, args)
    if isinstance(described, str) and described.startswith("store://"):
        return f"artifact {described}"
    return f"path {_short(described)}"


def build_plan(workflow: ir.Workflow, arguments: dict[str, Any], base_dir: str) -> Plan:
    """Plan ``workflow`` for a local run; raises FlowcError on unresolvable functions or cycles."""
    stages = stages_of(workflow)
    stage_of = {name: i for i, stage in enumerate(stages) for name in stage}
    steps: dict[str, PlanStep] = {}
    for step in workflow.steps:
        function = resolve_function(step, base_dir)
        hyper = None
        if step.hyper is not None:
            h = step.hyper
            hyper = {"params": describe(h.params, arguments), "strategy": h.strategy,
                     "selector": h.selector, "max_iterations": h.max_iterations,
                     "max_errors": h.max_errors, "parallel_runs": h.parallel_runs,
                     "stop_condition": (describe_expr(h.stop_condition, arguments)
                                        if h.stop_condition is not None else None)}
        note = None
        if step.kind == "build":
            note = "skipped locally unless --build (then: a virtual environment)"
        elif step.kind == "deploy":
            note = "starts a model server on 127.0.0.1 for the length of the run"
        steps[step.name] = PlanStep(
            name=step.name, kind=step.kind, stage=stage_of[step.name], function=function,
            params={k: describe(v, arguments) for k, v in step.params.items()},
            inputs={k: _input_source(v, arguments) for k, v in step.inputs.items()},
            upstream=step.upstream(),
            condition=(describe_expr(step.condition, arguments)
                       if step.condition is not None else None),
            hyper=hyper, outputs=[(o.name, o.type) for o in step.outputs], note=note)
    return Plan(workflow=workflow, arguments=dict(arguments), base_dir=base_dir, stages=stages,
                steps=steps)
