"""Hyper-parameter runs on KFP: the trial items (grid, list, seeded random) and the selector
task that exposes the best trial's outputs under the step's own names."""

from __future__ import annotations

import itertools
import random
import zlib

from ... import ir
from ...diagnostics import Diagnostic, Severity
from . import components as comps
from .types import ARTIFACT_SCHEMA, PARAMETER_TYPE, artifact_type, literal_type, type_error


class HyperLowering:
    """Mixin of the lowering for steps with ``Step.hyper``.

    Expects ``self.options``, ``self.exec_scope``, ``self.out_scope``, ``self.groups``,
    ``self.registry`` and ``self._outputs(step)``.
    """

    def _hyper_items(self, step: ir.Step) -> list[dict]:
        hyper = step.hyper
        assert hyper is not None
        ignored = [name for name, value in (("stop_condition", hyper.stop_condition),
                                            ("max_errors", hyper.max_errors))
                   if value is not None]
        if ignored:
            self.warnings.append(Diagnostic(
                code="FC441", severity=Severity.WARNING, location=step.location,
                message=f"step {step.name!r}: {' and '.join(ignored)} cannot be applied by "
                        "a KFP ParallelFor; every trial runs",
                hint="the local engine applies them"))
        names = list(hyper.params)
        lists = []
        for name in names:
            candidates = hyper.params[name]
            if not isinstance(candidates, (list, tuple)) or not ir.is_literal(candidates):
                raise type_error(f"hyper-parameter {name!r} must be a literal list of "
                                 "candidates for KFP", step, code="FC433")
            lists.append(list(candidates))
        if not names:
            raise type_error("hyper-parameter run without parameters", step, code="FC433")
        strategy = hyper.strategy or "grid"
        if strategy == "grid":
            items = [dict(zip(names, combo)) for combo in itertools.product(*lists)]
        elif strategy == "list":
            if len({len(c) for c in lists}) != 1:
                raise type_error("hyper-parameter lists of the 'list' strategy must have "
                                 "equal lengths", step, code="FC433")
            items = [dict(zip(names, combo)) for combo in zip(*lists)]
        elif strategy == "random":
            rng = random.Random(self._seed(step))
            count = hyper.max_iterations or 10
            items = [{n: rng.choice(c) for n, c in zip(names, lists)} for _ in range(count)]
        else:
            raise type_error(f"hyper-parameter strategy {strategy!r} is not supported on KFP",
                             step, code="FC433", hint="use grid, list or random")
        if hyper.max_iterations and strategy != "random":
            items = items[:hyper.max_iterations]
        return items

    def _seed(self, step: ir.Step) -> int:
        if self.options.hyper_seed is not None:
            return self.options.hyper_seed
        return zlib.crc32(step.name.encode("utf-8"))

    def _hyper_selector(self, step: ir.Step) -> None:
        """The selector task (named as the step) that picks the best trial's outputs."""
        loop = self.exec_scope[step.name]
        parent = self.out_scope[step.name]
        trial = self._trial_name(step)
        group = self.groups[loop.name]
        trial_outputs = [(o.name, o.type) for o in step.outputs]
        metric = selector_metric(step)
        if metric and metric not in {n for n, _ in trial_outputs}:
            trial_outputs.append((metric, "float"))
        dag_outputs: dict[str, dict] = {}
        loop_out_defs: dict[str, dict] = {}
        sel_params: dict[str, dict] = {}
        sel_arts: dict[str, dict] = {}
        task_params: dict[str, dict] = {}
        task_arts: dict[str, dict] = {}
        for name, typ in trial_outputs:
            channel = f"pipelinechannel--{trial}-{name}"
            if typ in ARTIFACT_SCHEMA:
                dag_outputs.setdefault("artifacts", {})[channel] = {
                    "artifactSelectors": [{"producerSubtask": trial, "outputArtifactKey": name}]}
                loop_out_defs.setdefault("artifacts", {})[channel] = {
                    "artifactType": artifact_type(typ), "isArtifactList": True}
                sel_arts[name] = {"artifactType": artifact_type(typ), "isArtifactList": True}
                task_arts[name] = {"taskOutputArtifact": {"producerTask": loop.name,
                                                          "outputArtifactKey": channel}}
            else:
                dag_outputs.setdefault("parameters", {})[channel] = {
                    "valueFromParameter": {"producerSubtask": trial, "outputParameterKey": name}}
                loop_out_defs.setdefault("parameters", {})[channel] = {"parameterType": "LIST"}
                sel_params[name] = {"parameterType": "LIST"}
                task_params[name] = {"taskOutputParameter": {"producerTask": loop.name,
                                                             "outputParameterKey": channel}}
        self.groups[loop.name].step = step
        loop.dag_outputs = dag_outputs
        loop.output_definitions = loop_out_defs
        outputs = self._outputs(step)
        spec = {"kind": "select", "selector": step.hyper.selector, "metric": metric,
                "outputs": [[n, t] for n, t in outputs], "items": group.items,
                "strategy": step.hyper.strategy, "seed": self._seed(step)
                if step.hyper.strategy == "random" else None}
        out_params = {n: {"parameterType": PARAMETER_TYPE[t]} for n, t in outputs
                      if t in PARAMETER_TYPE}
        out_arts = {n: {"artifactType": artifact_type(t)} for n, t in outputs
                    if t in ARTIFACT_SCHEMA}
        component = comps.component_dict(sel_params, sel_arts, out_params, out_arts)
        executor = comps.runtime_container(self.options.default_image, spec)
        comp_name = self.registry.add(f"{step.name}-select", component, executor)
        parent.tasks[step.name] = {
            "cachingOptions": {"enableCache": self.options.enable_cache},
            "componentRef": {"name": comp_name},
            "dependentTasks": [loop.name],
            "inputs": comps.task_inputs(task_params, task_arts),
            "taskInfo": {"name": step.name},
        }

    # ------------------------------------------------------------------ build and deploy

    def _trial_name(self, step: ir.Step) -> str:
        return f"{step.name}-trial"


def selector_metric(step: ir.Step) -> str | None:
    """The result a step's selector ranks by (``max.accuracy`` -> ``accuracy``)."""
    selector = step.hyper.selector if step.hyper else None
    if not selector:
        return None
    _, _, metric = selector.rpartition(".")
    return metric or None


def common_type(step: ir.Step, name: str, candidates: list) -> str:
    """The one IR type of a hyper-parameter's candidates (int and float mix to float)."""
    types = {literal_type(v) for v in candidates if v is not None}
    if types == {"int", "float"}:
        return "float"
    if len(types) != 1:
        raise type_error(f"hyper-parameter {name!r} mixes value types "
                         f"({', '.join(sorted(t or 'None' for t in types))})", step,
                         code="FC433")
    return types.pop()  # type: ignore[return-value]
