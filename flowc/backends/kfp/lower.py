"""Lower an ``ir.Workflow`` to a KFP v2 PipelineSpec (plain data) and a PlatformSpec.

One pass assigns every step to a DAG scope (root, a condition sub-DAG, a hyper-parameter
loop); a second pass builds each step's task, component and executor, wiring its values
through :func:`flowc.backends.kfp.scopes.wire`; finally the group tasks are emitted,
innermost first. Reading the IR only: nothing here knows how tracing works.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from ... import __version__, ir
from ...diagnostics import ArgumentError, CycleError, Diagnostic, FlowcError
from . import components as comps
from .build_deploy import BuildDeployLowering
from .conditions import ConditionError, to_cel
from .hyper import HyperLowering, common_type, selector_metric
from .sources import FunctionSources
from .scopes import (OutsideScopeError, Scope, arg_channel, lowest_common, output_channel,
                     representative, wire)
from .types import (ARTIFACT_SCHEMA, PARAMETER_TYPE, annotation_type, artifact_type,
                    compatible, literal_type, to_struct_value, type_error)

SCHEMA_VERSION = "2.1.0"
METRICS_OUTPUT = "flowc_metrics"
SDK_VERSION = f"flowc-{__version__}"
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

# Outputs a step kind always has, even when the trace did not declare them.
IMPLICIT_OUTPUTS = {
    "build": (("image", "str"),),
    "deploy": (("endpoint", "str"), ("name", "str")),
}


@dataclass
class Options:
    """Knobs of the lowering; defaults give a self-contained pipeline."""

    registry: str | None = None          # where build steps push images
    default_image: str = comps.DEFAULT_IMAGE
    secret_name: str | None = None       # Kubernetes secret holding project secrets
    hyper_seed: int | None = None        # random strategy seed (default: from the step name)
    enable_cache: bool = True
    # Identical step definitions share one component and executor. kfp.local names output
    # folders after the component, so tasks sharing one overwrite each other's artifacts
    # there (KFP itself keys outputs by task); turn sharing off to run under kfp.local.
    share_components: bool = True
    function_names: tuple[str, ...] = ()  # the project's functions, for did-you-mean hints


@dataclass
class Lowered:
    spec: dict
    platform: dict | None
    description: str
    warnings: list = field(default_factory=list)  # Diagnostic: things KFP will not honour


def lower(workflow: ir.Workflow, *, arguments: dict | None = None, base_dir: str | None = None,
          project: str | None = None, options: Options | None = None) -> Lowered:
    """Lower ``workflow``; ``arguments`` become the root parameters' defaults."""
    return _Lowering(workflow, arguments or {}, base_dir or os.getcwd(),
                     project or workflow.project, options or Options()).run()


@dataclass
class _Group:
    scope: Scope
    key: tuple | None = None
    items: list[dict] = field(default_factory=list)
    step: ir.Step | None = None
    condition: Any = None  # a condition group's own condition (within its parent group)


class _Lowering(FunctionSources, HyperLowering, BuildDeployLowering):
    def __init__(self, wf: ir.Workflow, arguments: dict, base_dir: str, project: str | None,
                 options: Options) -> None:
        self.wf = wf
        self.arguments = arguments
        self.base_dir = base_dir
        self.project = project
        self.options = options
        self.function_names = tuple(options.function_names)
        self.steps = {s.name: s for s in wf.steps}
        self.root = Scope(None, "root")
        self.scopes: list[Scope] = [self.root]
        self.groups: dict[str, _Group] = {}
        self.exec_scope: dict[str, Scope] = {}
        self.out_scope: dict[str, Scope] = {}
        self.registry = comps.Registry(share=options.share_components)
        self.secret_executors: dict[str, dict] = {}
        self._counter = 0
        self._sources: dict[str, tuple[str, str, Any]] = {}
        self._function_cache: dict[tuple, tuple] = {}
        self._outputs_cache: dict[str, list[tuple[str, str]]] = {}
        self._used_names = set(self.steps)
        self._upstream = {s.name: s.upstream() for s in wf.steps}
        self.warnings: list[Diagnostic] = []

    # ------------------------------------------------------------------ driver

    def run(self) -> Lowered:
        self._check_arguments()
        self._assign_scopes()
        for step in self.wf.steps:
            self._lower_step(step)
        self._emit_groups()
        spec = {
            "components": self.registry.components,
            "deploymentSpec": {"executors": self.registry.executors},
            "pipelineInfo": {"name": k8s_name(self.wf.name)},
            "root": {"dag": {"tasks": self.root.tasks}},
            "schemaVersion": SCHEMA_VERSION,
            "sdkVersion": SDK_VERSION,
        }
        if self.wf.description:
            spec["pipelineInfo"]["description"] = self.wf.description
        root_params = self._root_parameters()
        if root_params:
            spec["root"]["inputDefinitions"] = {"parameters": root_params}
        platform = None
        if self.registry.platform_executors:
            platform = {"platforms": {"kubernetes": {"deploymentSpec": {
                "executors": self.registry.platform_executors}}}}
        return Lowered(spec, platform, self.wf.description, self.warnings)

    # ------------------------------------------------------------------ arguments

    def _check_arguments(self) -> None:
        known = {a.name for a in self.wf.args}
        unknown = sorted(set(self.arguments) - known)
        if unknown:
            raise ArgumentError(
                f"unknown workflow argument(s) {', '.join(unknown)}",
                code="FC202", location=self.wf.source,
                hint=f"known arguments: {', '.join(sorted(known)) or '(none)'}")

    def _root_parameters(self) -> dict:
        params = {}
        for arg in self.wf.args:
            if arg.type not in PARAMETER_TYPE:
                raise ArgumentError(f"argument {arg.name!r} has type {arg.type!r}, which KFP "
                                    "pipeline parameters cannot carry", code="FC214",
                                    location=self.wf.source)
            body: dict[str, Any] = {"parameterType": PARAMETER_TYPE[arg.type]}
            value = self.arguments.get(arg.name, arg.default)
            if isinstance(value, (ir.ArgRef, ir.OutputRef, ir.SecretRef, ir.Concat, ir.Expr)):
                value = None
            if value is not None:
                body["defaultValue"] = to_struct_value(value)
                body["isOptional"] = True
            elif not arg.required:
                body["isOptional"] = True
            params[arg.name] = body
        return params

    # ------------------------------------------------------------------ scopes

    def _new_group(self, kind: str, parent: Scope) -> Scope:
        prefix = "condition" if kind == "condition" else "for-loop"
        while True:
            self._counter += 1
            name = f"{prefix}-{self._counter}"
            if name not in self._used_names:
                break
        self._used_names.add(name)
        scope = Scope(name, kind, parent=parent, depth=parent.depth + 1)
        self.scopes.append(scope)
        return scope

    def _assign_scopes(self) -> None:
        """Put steps sharing a condition into one sub-DAG (as a `with Condition` block); a
        condition that extends another (nested blocks trace to ``and(outer, inner)``) gets a
        sub-DAG inside the outer one; every hyper-parameter step's trials go into a loop."""
        open_groups: dict[tuple, Scope] = {}
        scope_of: dict[str, Scope] = {}
        reach: dict[str, frozenset] = {}  # ids of the groups a step transitively depends on
        for step in self.wf.steps:
            upstream = self._upstream[step.name]
            for up in upstream:
                if up not in self.steps:
                    raise FlowcError(f"step {step.name!r} refers to unknown step {up!r}",
                                     code="FC107", location=step.location)
                if up not in reach:
                    raise CycleError(f"step {step.name!r} depends on step {up!r}, which does "
                                     "not run before it (a cycle)", code="FC101",
                                     location=step.location)
            upstream_reach = frozenset().union(
                *(reach[u] | _group_ids(scope_of[u]) for u in upstream))

            def joinable(group: Scope) -> bool:
                # Joining must not make the group depend on itself through outside steps.
                return not any(id(group) not in _group_ids(scope_of[u])
                               and id(group) in reach[u] for u in upstream)

            scope = self.root
            if step.condition is not None:
                parts = _conjuncts(step.condition)
                keys = tuple(json.dumps(ir.value_to_json(p), sort_keys=True) for p in parts)
                scope = open_groups.get(keys)
                if scope is None or not joinable(scope):
                    parent, start = self.root, 0
                    for cut in range(len(keys) - 1, 0, -1):
                        outer = open_groups.get(keys[:cut])
                        if outer is not None and joinable(outer):
                            parent, start = outer, cut
                            break
                    scope = self._new_group("condition", parent)
                    rest = parts[start:]
                    condition = rest[0] if len(rest) == 1 else ir.Expr("and", tuple(rest))
                    self.groups[scope.name] = _Group(scope, key=keys, step=step,
                                                     condition=condition)
                    open_groups[keys] = scope
            scope_of[step.name] = scope
            reach[step.name] = upstream_reach
            self.out_scope[step.name] = scope
            if step.hyper is not None:
                loop = self._new_group("loop", scope)
                self.groups[loop.name] = _Group(loop, step=step)
                self.exec_scope[step.name] = loop
            else:
                self.exec_scope[step.name] = scope

    # ------------------------------------------------------------------ wiring helpers

    def _output_type(self, ref: ir.OutputRef, step: ir.Step) -> str:
        producer = self.steps.get(ref.step)
        if producer is None:
            raise FlowcError(f"step {step.name!r} reads {ref.step}.outputs[{ref.name!r}] but "
                             f"there is no step {ref.step!r}", code="FC107",
                             location=step.location)
        for name, typ in self._outputs(producer):
            if name == ref.name:
                return typ
        raise FlowcError(
            f"step {step.name!r} reads output {ref.name!r} of step {ref.step!r}, which does "
            "not declare it", code="FC102", location=step.location,
            hint=f"add {ref.name!r} to outputs=[...] of step {ref.step!r}")

    def _outputs(self, step: ir.Step) -> list[tuple[str, str]]:
        """Declared outputs plus those the step kind always has (a fresh list)."""
        cached = self._outputs_cache.get(step.name)
        if cached is None:
            cached = self._outputs_cache[step.name] = self._compute_outputs(step)
        return list(cached)

    def _compute_outputs(self, step: ir.Step) -> list[tuple[str, str]]:
        outs = [(o.name, o.type) for o in step.outputs]
        declared = {n for n, _ in outs}
        outs += [o for o in IMPLICIT_OUTPUTS.get(step.kind, ()) if o[0] not in declared]
        if step.hyper is not None:
            metric = selector_metric(step)
            if metric and metric not in declared:
                outs.append((metric, "float"))
            if "best_iteration" not in declared:
                outs.append(("best_iteration", "int"))
        return outs

    def _ref_type(self, ref: ir.ArgRef | ir.OutputRef, step: ir.Step) -> str:
        if isinstance(ref, ir.ArgRef):
            arg = self.wf.arg(ref.name)
            if arg is None:
                raise FlowcError(f"step {step.name!r} uses unknown argument {ref.name!r}",
                                 code="FC202", location=step.location)
            return arg.type
        return self._output_type(ref, step)

    def _wire(self, ref: ir.ArgRef | ir.OutputRef, scope: Scope, step: ir.Step,
              *, want: str = "parameter") -> dict:
        """Wiring for ``ref`` read by a task of ``step`` in ``scope``."""
        typ = self._ref_type(ref, step)
        is_artifact = typ in ARTIFACT_SCHEMA
        if want == "parameter" and is_artifact:
            raise type_error(
                f"passes artifact output {ref.step}.outputs[{ref.name!r}] ({typ}) as a "
                "parameter", step, hint="pass artifacts in inputs={...}, not params={...}")
        kind = "artifact" if is_artifact else "parameter"
        definition = ({"artifactType": artifact_type(typ)} if is_artifact
                      else {"parameterType": PARAMETER_TYPE[typ]})
        if isinstance(ref, ir.ArgRef):
            return wire(kind=kind, channel=ref.name, definition=definition, producer=None,
                        output=None, producer_scope=self.root, scope=scope)
        try:
            return wire(kind=kind, channel="", definition=definition, producer=ref.step,
                        output=ref.name, producer_scope=self.out_scope[ref.step], scope=scope)
        except OutsideScopeError:
            raise FlowcError(
                f"step {step.name!r} reads {ref.step}.outputs[{ref.name!r}], but step "
                f"{ref.step!r} runs only under a condition that step {step.name!r} does not "
                "share", code="FC436", location=step.location,
                hint="put both steps under the same Condition") from None

    @staticmethod
    def _channel_name(ref: ir.ArgRef | ir.OutputRef) -> str:
        if isinstance(ref, ir.ArgRef):
            return arg_channel(ref.name)
        return output_channel(ref.step, ref.name)

    def _secret_env(self, key: str, step: ir.Step) -> str:
        if not _SECRET_KEY.match(key):
            raise FlowcError(f"secret key {key!r} is not a valid Kubernetes secret key",
                             code="FC210", location=step.location,
                             hint="use letters, digits, '-', '_' and '.'")
        return "FLOWC_SECRET_" + re.sub(r"[^A-Z0-9]", "_", key.upper())

    def _secret_name(self) -> str:
        name = self.options.secret_name or (
            f"flowc-secrets-{self.project}" if self.project else "flowc-secrets")
        name = name.lower()
        if not _K8S_NAME.match(name):
            raise FlowcError(f"secret name {name!r} is not a valid Kubernetes name",
                             code="FC439")
        return name

    # ------------------------------------------------------------------ one step

    def _lower_step(self, step: ir.Step) -> None:
        if step.kind == "build":
            task_name, task, comp_name = self._build_task(step)
        elif step.kind == "deploy":
            task_name, task, comp_name = self._deploy_task(step)
        elif step.kind == "run":
            task_name, task, comp_name = self._run_task(step)
        else:
            raise FlowcError(f"step {step.name!r} has unknown kind {step.kind!r}",
                             code="FC430", location=step.location)
        scope = self.exec_scope[step.name]
        task["componentRef"] = {"name": comp_name}
        task["taskInfo"] = {"name": task_name}
        deps: set[str] = set()
        own = _task_dependencies(step) if step.condition is not None else None
        for up in self._upstream[step.name]:
            if own is not None and up not in own:
                continue  # read only by the condition: its group task depends on it
            common = lowest_common(self.out_scope[up], scope)
            rep_up = representative(up, self.out_scope[up], common)
            if common is scope:
                deps.add(rep_up)
            else:
                group = scope if scope.parent is common else common.child_toward(scope)
                group.deps.add(rep_up)
        if deps:
            task["dependentTasks"] = sorted(deps)
        scope.tasks[task_name] = task
        if step.hyper is not None:
            self._hyper_selector(step)

    # ------------------------------------------------------------------ run steps

    def _image(self, step: ir.Step, scope: Scope, task_inputs: dict, comp_inputs: dict) -> str:
        """The executor image: literal, default, or a placeholder for an argument or a build
        step's ``image`` output (wired as a task input, as kfp does for dynamic images)."""
        image = step.function.image
        if image is None or image == "":
            return self.options.default_image
        if isinstance(image, str):
            return image
        if isinstance(image, (ir.OutputRef, ir.ArgRef)):
            channel = self._channel_name(image)
            task_inputs[channel] = self._wire(image, scope, step)
            comp_inputs[channel] = {"parameterType": "STRING"}
            return "{{$.inputs.parameters['" + channel + "']}}"
        raise type_error("has an image KFP cannot resolve (only a literal, an argument or a "
                         "build step's image output)", step, code="FC432")

    def _run_task(self, step: ir.Step) -> tuple[str, dict, str]:
        """The task, component and executor of a run step (a hyper step's trial task)."""
        scope = self.exec_scope[step.name]
        source, source_name, handler, info = self._function_source(step)
        annotated = {p.name: annotation_type(p.annotation) for p in info.params} if info else {}
        io = _StepIO(spec={"kind": "run", "function": step.function.name, "handler": handler,
                           "params": {}, "data": [], "outputs": [], "project": self.project})
        if source_name:
            io.spec["source_name"] = source_name
        self._run_params(step, scope, io, annotated, handler)
        if step.hyper is not None:
            self.groups[scope.name].items = self._hyper_items(step)
            self._hyper_params(step, scope, io, annotated, handler)
        self._run_data_inputs(step, scope, io)
        out_params, out_artifacts = self._run_outputs(step, io)
        image = self._image(step, scope, io.task_params, io.comp_params)
        if io.templates:
            io.spec["templates"] = io.templates
        platform = None
        if io.secrets:
            io.spec["secrets"] = io.secrets
            io.spec["secret_env"] = io.secret_env
            platform = {"secretAsEnv": [{
                "secretName": self._secret_name(),
                "keyToEnv": [{"secretKey": key, "envVar": env}
                             for key, env in sorted(io.secret_env.items())]}]}
        component = comps.component_dict(io.comp_params, io.comp_artifacts, out_params,
                                         out_artifacts)
        executor = comps.runtime_container(image, io.spec, source, self._requirements(step))
        comp_name = self.registry.add(comps.component_base(handler), component, executor,
                                      platform)
        task: dict[str, Any] = {"cachingOptions": {"enableCache": self.options.enable_cache}}
        inputs = comps.task_inputs(io.task_params, io.task_artifacts)
        if inputs:
            task["inputs"] = inputs
        name = step.name if step.hyper is None else self._trial_name(step)
        return name, task, comp_name

    def _run_params(self, step: ir.Step, scope: Scope, io: "_StepIO", annotated: dict,
                    handler: str) -> None:
        """``params=``: constants, references, f-strings, templates and secrets."""
        hyper_names = set(step.hyper.params) if step.hyper is not None else set()
        for name, value in step.params.items():
            if name in hyper_names or value is None:
                continue
            if any(isinstance(v, ir.SecretRef) for v in ir.walk_values(value)):
                self._secret_param(step, name, value, io.secrets, io.secret_env)
                continue
            typ = self._param_value(step, scope, name, value, io.task_params, io.comp_params,
                                    io.templates)
            if typ is not None:
                io.spec["params"][name] = typ
                _check_annotation(step, handler, "param", name, typ, annotated)

    def _hyper_params(self, step: ir.Step, scope: Scope, io: "_StepIO", annotated: dict,
                      handler: str) -> None:
        """Each hyper-parameter reads its value from the ParallelFor item."""
        assert step.hyper is not None
        loop_item = f"pipelinechannel--loop-item-param-{scope.name.rsplit('-', 1)[1]}"
        for name, candidates in step.hyper.params.items():
            typ = common_type(step, name, candidates)
            _check_annotation(step, handler, "hyper-parameter", name, typ, annotated)
            io.comp_params[name] = {"parameterType": PARAMETER_TYPE[typ]}
            io.task_params[name] = {"componentInputParameter": loop_item,
                                    "parameterExpressionSelector":
                                        f'parseJson(string_value)["{name}"]'}
            io.spec["params"][name] = typ

    def _run_data_inputs(self, step: ir.Step, scope: Scope, io: "_StepIO") -> None:
        """``inputs=``: artifacts, or path/URL strings passed as parameters."""
        for name, value in step.inputs.items():
            if value is None:
                continue
            io.spec["data"].append(name)
            if isinstance(value, ir.OutputRef) and \
                    self._output_type(value, step) in ARTIFACT_SCHEMA:
                typ = self._output_type(value, step)
                io.comp_artifacts[name] = {"artifactType": artifact_type(typ)}
                io.task_artifacts[name] = self._wire(value, scope, step, want="artifact")
                continue
            typ = self._param_value(step, scope, name, value, io.task_params, io.comp_params,
                                    io.templates)
            if typ is not None and typ != "str":
                raise type_error(f"input {name!r} is a {typ}; data inputs take an artifact "
                                 "or a path/URL string", step, code="FC219")
            io.spec["params"][name] = "str"

    def _run_outputs(self, step: ir.Step, io: "_StepIO") -> tuple[dict, dict]:
        """Output definitions (a trial also outputs the selector's result, and every run
        component a ``system.Metrics`` artifact); records them in the runtime spec."""
        if step.hyper is None:
            outputs = self._outputs(step)
        else:
            outputs = [(o.name, o.type) for o in step.outputs]
            metric = selector_metric(step)
            if metric and metric not in {n for n, _ in outputs}:
                outputs.append((metric, "float"))
        for n, t in outputs:
            if t not in PARAMETER_TYPE and t not in ARTIFACT_SCHEMA:
                raise type_error(f"output {n!r} has unknown type {t!r}", step, code="FC437")
        io.spec["outputs"] = [[n, t] for n, t in outputs]
        out_params = {n: {"parameterType": PARAMETER_TYPE[t]} for n, t in outputs
                      if t in PARAMETER_TYPE}
        out_artifacts = {n: {"artifactType": artifact_type(t)} for n, t in outputs
                         if t in ARTIFACT_SCHEMA}
        if METRICS_OUTPUT not in out_artifacts and METRICS_OUTPUT not in out_params:
            # Every numeric result the handler logs, as KFP's native scalar metrics.
            out_artifacts[METRICS_OUTPUT] = {"artifactType": {"schemaTitle": "system.Metrics",
                                                              "schemaVersion": "0.0.1"}}
            io.spec["metrics"] = METRICS_OUTPUT
        return out_params, out_artifacts

    def _param_value(self, step: ir.Step, scope: Scope, name: str, value: Any,
                     task_params: dict, comp_params: dict, templates: dict) -> str | None:
        """Wire one parameter value; returns its IR type (None for a template)."""
        if isinstance(value, (ir.ArgRef, ir.OutputRef)):
            typ = self._ref_type(value, step)
            task_params[name] = self._wire(value, scope, step)
            comp_params[name] = {"parameterType": PARAMETER_TYPE[typ]}
            return typ
        if isinstance(value, ir.Concat):
            text = self._concat(step, scope, value, task_params)
            comp_params[name] = {"parameterType": "STRING"}
            task_params[name] = {"runtimeValue": {"constant": text}}
            return "str"
        if isinstance(value, (ir.Expr, ir.Name)):
            raise type_error(f"param {name!r} is an expression; KFP cannot pass it", step,
                             code="FC432")
        if ir.is_literal(value):
            typ = literal_type(value)
            comp_params[name] = {"parameterType": PARAMETER_TYPE[typ]}
            task_params[name] = {"runtimeValue": {"constant": to_struct_value(value)}}
            return typ
        # A list/dict holding references: the runtime fills it in from channel inputs.
        templates[name] = self._template(step, scope, value, task_params, comp_params)
        return None

    def _concat(self, step: ir.Step, scope: Scope, value: ir.Concat,
                task_params: dict) -> str:
        """An f-string over arguments/outputs as kfp lowers it: one constant holding
        ``{{$.inputs.parameters['pipelinechannel--...']}}`` placeholders, plus those inputs."""
        parts = []
        for part in value.parts:
            if isinstance(part, (ir.ArgRef, ir.OutputRef)):
                channel = self._channel_name(part)
                task_params[channel] = self._wire(part, scope, step)
                parts.append("{{$.inputs.parameters['" + channel + "']}}")
            elif isinstance(part, ir.Concat):
                parts.append(self._concat(step, scope, part, task_params))
            elif isinstance(part, str):
                parts.append(part)
            elif part is None or isinstance(part, (bool, int, float, list, dict)) and \
                    ir.is_literal(part):
                parts.append(json.dumps(part) if isinstance(part, (bool, list, dict)) or
                             part is None else str(part))
            else:
                raise type_error("an f-string part KFP cannot pass", step, code="FC432")
        return "".join(parts)

    def _template(self, step: ir.Step, scope: Scope, value: Any, task_params: dict,
                  comp_params: dict, task_artifacts: dict | None = None,
                  comp_artifacts: dict | None = None) -> Any:
        """``value`` as JSON where each reference is ``{"$input": channel}`` (a parameter)
        or ``{"$artifact": channel}``, with those channels wired as inputs."""
        if isinstance(value, (ir.ArgRef, ir.OutputRef)):
            channel = self._channel_name(value)
            typ = self._ref_type(value, step)
            if typ in ARTIFACT_SCHEMA:
                if task_artifacts is None or comp_artifacts is None:
                    raise type_error(f"passes artifact output {value.step}.outputs"
                                     f"[{value.name!r}] inside a parameter", step,
                                     hint="pass artifacts in inputs={...}")
                task_artifacts[channel] = self._wire(value, scope, step, want="artifact")
                comp_artifacts[channel] = {"artifactType": artifact_type(typ)}
                return {"$artifact": channel}
            task_params[channel] = self._wire(value, scope, step)
            comp_params[channel] = {"parameterType": PARAMETER_TYPE[typ]}
            return {"$input": channel}
        if isinstance(value, ir.Concat):
            return {"$concat": [self._template(step, scope, p, task_params, comp_params,
                                               task_artifacts, comp_artifacts)
                                for p in value.parts]}
        if isinstance(value, dict):
            return {"$literal": {k: self._template(step, scope, v, task_params, comp_params,
                                                   task_artifacts, comp_artifacts)
                                 for k, v in value.items()}}
        if isinstance(value, (list, tuple)):
            return [self._template(step, scope, v, task_params, comp_params, task_artifacts,
                                   comp_artifacts) for v in value]
        if isinstance(value, (ir.SecretRef, ir.Expr, ir.Name)):
            raise type_error(f"a {type(value).__name__} inside a parameter cannot be passed "
                             "on KFP", step, code="FC432")
        return value

    def _secret_param(self, step: ir.Step, name: str, value: Any, secrets: dict,
                      secret_env: dict) -> None:
        for item in ir.walk_values(value):
            if isinstance(item, (ir.ArgRef, ir.OutputRef, ir.Expr, ir.Name)):
                raise type_error(f"param {name!r} mixes a secret with other references; KFP "
                                 "can only pass secrets with literal text", step,
                                 code="FC438")
            if isinstance(item, ir.SecretRef):
                secret_env[item.key] = self._secret_env(item.key, step)
        secrets[name] = ir.value_to_json(value)

    # ------------------------------------------------------------------ groups

    def _emit_groups(self) -> None:
        for scope in sorted(self.scopes[1:], key=lambda s: -s.depth):
            group = self.groups[scope.name]
            component: dict[str, Any] = {"dag": {"tasks": scope.tasks}}
            task: dict[str, Any] = {"componentRef": {"name": f"comp-{scope.name}"},
                                    "taskInfo": {"name": scope.name}}
            if scope.kind == "condition":
                step = group.step
                assert step is not None
                cel = self._condition(step, group.condition, scope)
                task["triggerPolicy"] = {"condition": cel}
            else:
                if scope.dag_outputs:
                    component["dag"]["outputs"] = scope.dag_outputs
                    component["outputDefinitions"] = scope.output_definitions
                number = scope.name.rsplit("-", 1)[1]
                item = f"pipelinechannel--loop-item-param-{number}"
                scope.parameters.setdefault(item, ({"parameterType": "STRUCT"}, {}))
                task["parameterIterator"] = {
                    "itemInput": item,
                    "items": {"raw": json.dumps(group.items, sort_keys=True)}}
                hyper = group.step.hyper if group.step else None
                if hyper is not None and hyper.parallel_runs:
                    task["iteratorPolicy"] = {"parallelismLimit": int(hyper.parallel_runs)}
            definitions: dict[str, Any] = {}
            if scope.parameters:
                definitions["parameters"] = {k: d for k, (d, _) in scope.parameters.items()}
            if scope.artifacts:
                definitions["artifacts"] = {k: d for k, (d, _) in scope.artifacts.items()}
            if definitions:
                component["inputDefinitions"] = definitions
            inputs = comps.task_inputs({k: w for k, (_, w) in scope.parameters.items() if w},
                             {k: w for k, (_, w) in scope.artifacts.items()})
            if inputs:
                task["inputs"] = inputs
            if scope.deps:
                task["dependentTasks"] = sorted(scope.deps)
            self.registry.add_dag(scope.name, component)
            assert scope.parent is not None
            scope.parent.tasks[scope.name] = task

    def _condition(self, step: ir.Step, condition: Any, scope: Scope) -> str:
        def resolve(ref: ir.ArgRef | ir.OutputRef) -> tuple[str, str]:
            wiring = self._wire(ref, scope, step)
            typ = self._ref_type(ref, step)
            return wiring["componentInputParameter"], typ

        try:
            return to_cel(condition, resolve)
        except ConditionError as exc:
            raise FlowcError(f"step {step.name!r}: condition cannot run on KFP: {exc}",
                             code="FC435", location=step.location) from None


# ---------------------------------------------------------------------- helpers


@dataclass
class _StepIO:
    """What one run step's lowering accumulates: task inputs, component interface, and the
    runtime spec (with value templates and secrets)."""

    spec: dict
    task_params: dict = field(default_factory=dict)
    task_artifacts: dict = field(default_factory=dict)
    comp_params: dict = field(default_factory=dict)
    comp_artifacts: dict = field(default_factory=dict)
    templates: dict = field(default_factory=dict)
    secrets: dict = field(default_factory=dict)
    secret_env: dict = field(default_factory=dict)


def _check_annotation(step: ir.Step, handler: str, what: str, name: str, typ: str,
                      annotated: dict) -> None:
    """A value of IR type ``typ`` must suit the handler parameter's annotation, if any."""
    want = annotated.get(name)
    if want and not compatible(typ, want):
        raise type_error(f"{what} {name!r} is {typ} but handler {handler!r} declares {want}",
                         step, code="FC218")


def k8s_name(name: str) -> str:
    """A pipeline name as kfp writes it: lower case, runs of other characters as one ``-``
    (``Demo training pipeline`` -> ``demo-training-pipeline``)."""
    return re.sub(r"[^0-9a-z]+", "-", name.lower()).strip("-") or "pipeline"


def _conjuncts(condition: Any) -> list:
    """``and(a, b, c)`` -> [a, b, c] (how nested Condition blocks trace); else [condition]."""
    if isinstance(condition, ir.Expr) and condition.op == "and":
        return list(condition.args)
    return [condition]


def _group_ids(scope: Scope) -> frozenset:
    """Ids of ``scope`` and its enclosing groups (the root excluded)."""
    return frozenset(id(s) for s in scope.ancestors() if s.parent is not None)


def _task_dependencies(step: ir.Step) -> set[str]:
    """Steps whose outputs the task itself (not its condition) reads, plus ``after``."""
    deps: set[str] = set(step.after)
    values = [step.function.image, *step.params.values(), *step.inputs.values()]
    if step.hyper is not None:
        values.append(step.hyper.params)
    for value in values:
        deps.update(ref.step for ref in ir.output_refs(value))
    return deps
