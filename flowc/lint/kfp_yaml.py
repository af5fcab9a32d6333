"""FC5xx: checks on compiled KFP v2 PipelineSpec YAML (from flowc or from kfp itself).

kfp's loader only checks the protobuf schema, so a dangling task reference, a Dataset wired
into a Model input or a cycle all load. These checks walk every DAG (the root and each
sub-DAG component) and resolve every reference. Locations are the YAML lines of the
offending keys. No kfp import: the YAML is read with PyYAML.
"""

from __future__ import annotations

from typing import Any, Iterator

import yaml

from ..diagnostics import Diagnostic, Location
from .catalog import finding

_ANY_ARTIFACT = "system.Artifact"
# parameterType -> Python types a constant of that type may have
_CONSTANT_TYPES: dict[str, tuple[type, ...]] = {
    "STRING": (str,),
    "NUMBER_INTEGER": (int, float),
    "NUMBER_DOUBLE": (int, float),
    "BOOLEAN": (bool,),
    "LIST": (list,),
    "STRUCT": (dict,),
}


class _Map(dict):
    """A YAML mapping that remembers where it and each of its keys are (1-based line, col)."""

    __slots__ = ("mark", "marks")

    def __init__(self) -> None:
        super().__init__()
        self.mark: tuple[int, int] = (0, 0)
        self.marks: dict[Any, tuple[int, int]] = {}


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Map:
    result = _Map()
    result.mark = (node.start_mark.line + 1, node.start_mark.column + 1)
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[key] = loader.construct_object(value_node, deep=True)
        result.marks[key] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    return result


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def looks_like_kfp(text: str) -> bool:
    """Cheap content test: a compiled KFP pipeline has ``pipelineInfo`` and ``root`` keys."""
    return ("pipelineInfo:" in text and "\nroot:" in text) or text.lstrip().startswith(
        "# PIPELINE DEFINITION")


def lint_kfp_text(text: str, path: str) -> list[Diagnostic]:
    """Every FC5xx finding in the compiled pipeline ``text`` read from ``path``."""
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = Location(file=path, line=mark.line + 1, col=mark.column + 1) if mark else \
            Location(file=path)
        return [finding("FC500", f"not valid YAML: {getattr(exc, 'problem', exc)}", loc)]
    spec = next((d for d in documents if isinstance(d, dict) and "root" in d), None)
    if spec is None:
        return [finding("FC500", "no pipeline document (a mapping with `root`) in the file",
                        Location(file=path, line=1, col=1))]
    return list(_SpecChecker(spec, path).run())


class _SpecChecker:
    def __init__(self, spec: dict, path: str) -> None:
        self.spec = spec
        self.path = path

    # ------------------------------------------------------------------ helpers

    def loc(self, mapping: Any, key: Any = None) -> Location:
        line, col = 0, 0
        if isinstance(mapping, _Map):
            line, col = mapping.marks.get(key, mapping.mark) if key is not None else mapping.mark
        return Location(file=self.path, line=line, col=col)

    @staticmethod
    def section(mapping: Any, *keys: str) -> dict:
        for key in keys:
            if not isinstance(mapping, dict):
                return {}
            mapping = mapping.get(key)
        return mapping if isinstance(mapping, dict) else {}

    def shape_error(self, mapping: Any, key: Any, what: str) -> Diagnostic:
        return finding("FC500", what, self.loc(mapping, key))

    # ------------------------------------------------------------------ checks

    def run(self) -> Iterator[Diagnostic]:
        spec = self.spec
        for key in ("root", "pipelineInfo"):
            if not isinstance(spec.get(key), dict):
                yield self.shape_error(spec, key if key in spec else None,
                                       f"`{key}` is missing or not a mapping")
                return
        components = spec.get("components") or {}
        if not isinstance(components, dict):
            yield self.shape_error(spec, "components", "`components` must be a mapping")
            return
        self.components = components
        self.executors = self.section(spec, "deploymentSpec", "executors")
        for name, comp in components.items():
            if not isinstance(comp, dict):
                yield self.shape_error(components, name, f"component {name!r} must be a mapping")
                continue
            if "dag" not in comp:
                label = comp.get("executorLabel")
                if label not in self.executors:
                    where = "executorLabel" if "executorLabel" in comp else None
                    what = (f"executor {label!r} of component {name!r} is not in "
                            "deploymentSpec.executors" if label else
                            f"component {name!r} has neither a `dag` nor an `executorLabel`")
                    yield finding("FC504", what, self.loc(comp, where))
        # Loop items are typed loosely by kfp (items of a `list` become STRING): no type check.
        self.loop_items: dict[str, set[str]] = {}
        for owner in [spec["root"], *components.values()]:
            for task in self.section(owner, "dag", "tasks").values():
                if not isinstance(task, dict):
                    continue
                comp_name = self.section(task, "componentRef").get("name")
                for iterator in ("parameterIterator", "artifactIterator"):
                    item = self.section(task, iterator).get("itemInput")
                    if item and comp_name:
                        self.loop_items.setdefault(comp_name, set()).add(item)
        yield from self.check_dag(spec["root"], "root")
        for name, comp in components.items():
            if isinstance(comp, dict) and isinstance(comp.get("dag"), dict):
                yield from self.check_dag(comp, name)

    def check_dag(self, owner: dict, owner_name: str) -> Iterator[Diagnostic]:
        dag = owner.get("dag")
        if not isinstance(dag, dict):
            yield self.shape_error(owner, "dag" if "dag" in owner else None,
                                   f"{owner_name}: `dag` is missing or not a mapping")
            return
        tasks = dag.get("tasks") or {}
        if not isinstance(tasks, dict):
            yield self.shape_error(dag, "tasks", f"{owner_name}: `dag.tasks` must be a mapping")
            return
        owner_inputs = self.section(owner, "inputDefinitions")
        self.current_loop_items = self.loop_items.get(owner_name, set())
        edges: dict[str, list[str]] = {name: [] for name in tasks}
        for task_name, task in tasks.items():
            if not isinstance(task, dict):
                yield self.shape_error(tasks, task_name, f"task {task_name!r} must be a mapping")
                continue
            yield from self.check_task(task_name, task, tasks, owner_inputs, edges[task_name])
        yield from self.check_dag_outputs(dag, tasks)
        yield from self.check_cycles(tasks, edges)

    def check_task(self, name: str, task: dict, tasks: dict, owner_inputs: dict,
                   upstream: list[str]) -> Iterator[Diagnostic]:
        comp_name = self.section(task, "componentRef").get("name")
        comp = self.components.get(comp_name) if comp_name else None
        if not isinstance(comp, dict):
            ref = self.section(task, "componentRef")
            yield finding("FC503", f"task {name!r} refers to component {comp_name!r}, which is "
                          "not in `components`",
                          self.loc(ref, "name") if ref else self.loc(task))
            comp = None
        dependent = task.get("dependentTasks") or []
        for index, dep in enumerate(dependent if isinstance(dependent, list) else []):
            if dep not in tasks:
                yield finding("FC502", f"task {name!r} depends on {dep!r}, which is not a task "
                              "of this DAG", self._item_loc(task, "dependentTasks", index))
            else:
                upstream.append(dep)
        declared = self.section(comp, "inputDefinitions") if comp else {}
        declared_params = self.section(declared, "parameters")
        declared_artifacts = self.section(declared, "artifacts")
        inputs = self.section(task, "inputs")
        params = self.section(inputs, "parameters")
        artifacts = self.section(inputs, "artifacts")
        for key, spec in params.items():
            yield from self.check_param_input(name, key, spec, params, tasks, owner_inputs,
                                              comp, declared_params, declared_artifacts, upstream)
        for key, spec in artifacts.items():
            yield from self.check_artifact_input(name, key, spec, artifacts, tasks, owner_inputs,
                                                 comp, declared_params, declared_artifacts,
                                                 upstream)
        if comp is None:
            return
        provided = set(params) | set(artifacts)
        for iterator in ("parameterIterator", "artifactIterator"):
            item = self.section(task, iterator).get("itemInput")
            if item:
                provided.add(item)
        for kind, declared_map in (("parameter", declared_params),
                                   ("artifact", declared_artifacts)):
            for key, definition in declared_map.items():
                if key in provided or not isinstance(definition, dict):
                    continue
                if definition.get("isOptional") or "defaultValue" in definition:
                    continue
                yield finding("FC508", f"task {name!r} does not provide the required {kind} "
                              f"input {key!r} of component {comp_name!r}",
                              self.loc(task, "inputs" if "inputs" in task else None))

    def _item_loc(self, mapping: dict, key: str, index: int) -> Location:
        loc = self.loc(mapping, key)
        if loc.line:  # list items follow their key, one per line in kfp's block style
            return Location(file=self.path, line=loc.line + 1 + index, col=loc.col)
        return loc

    def _producer(self, task: str, spec: dict, ref_key: str, tasks: dict,
                  upstream: list[str]) -> tuple[dict | None, Diagnostic | None]:
        producer = spec.get("producerTask")
        if producer not in tasks or not isinstance(tasks.get(producer), dict):
            return None, finding("FC501", f"task {task!r} reads an output of {producer!r}, which "
                                 "is not a task of this DAG", self.loc(spec, "producerTask"))
        upstream.append(producer)
        comp_name = self.section(tasks[producer], "componentRef").get("name")
        comp = self.components.get(comp_name)
        return (comp if isinstance(comp, dict) else None), None

    def check_param_input(self, task: str, key: str, spec: Any, params: dict, tasks: dict,
                          owner_inputs: dict, comp: dict | None, declared_params: dict,
                          declared_artifacts: dict, upstream: list[str]) -> Iterator[Diagnostic]:
        where = self.loc(params, key)
        if comp is not None and key not in declared_params:
            if key in declared_artifacts:
                yield finding("FC505", f"task {task!r} passes {key!r} as a parameter, but the "
                              "component declares it as an artifact input", where)
            elif not _feeds_placeholder(key, params):
                yield finding("FC509", f"task {task!r} passes parameter {key!r}, which the "
                              "component does not declare", where)
            return
        want = self.section(declared_params, key).get("parameterType")
        if not isinstance(spec, dict):
            yield self.shape_error(params, key, f"task {task!r}: input {key!r} must be a mapping")
            return
        if "taskOutputArtifact" in spec or "componentInputArtifact" in spec:
            yield finding("FC505", f"task {task!r} feeds parameter {key!r} from an artifact",
                          where)
        elif "taskOutputParameter" in spec:
            output = yield from self._producer_output(task, key, spec["taskOutputParameter"],
                                                      "parameter", tasks, upstream)
            if output is not None:
                yield from self._param_types(task, key, want, output.get("parameterType"),
                                             where)
        elif "componentInputParameter" in spec:
            source = spec["componentInputParameter"]
            if source in self.section(owner_inputs, "artifacts"):
                yield finding("FC505", f"task {task!r} feeds parameter {key!r} from input "
                              f"{source!r}, which is an artifact", where)
            elif source not in self.section(owner_inputs, "parameters"):
                yield finding("FC510", f"task {task!r} reads input {source!r}, which the "
                              "enclosing DAG does not declare",
                              self.loc(spec, "componentInputParameter"))
            elif source not in self.current_loop_items:
                have = self.section(owner_inputs, "parameters", source).get("parameterType")
                yield from self._param_types(task, key, want, have, where)
        elif "runtimeValue" in spec:
            constant = self.section(spec, "runtimeValue")
            if "constant" in constant and want in _CONSTANT_TYPES:
                value = constant["constant"]
                ok = isinstance(value, _CONSTANT_TYPES[want]) and not (
                    isinstance(value, bool) and want != "BOOLEAN")
                if not ok:
                    yield finding("FC512", f"task {task!r} passes constant {value!r} to "
                                  f"parameter {key!r} of type {want}", where)
        elif "taskFinalStatus" in spec:
            producer = self.section(spec, "taskFinalStatus").get("producerTask")
            if producer not in tasks:
                yield finding("FC501", f"task {task!r} reads the final status of {producer!r}, "
                              "which is not a task of this DAG",
                              self.loc(spec["taskFinalStatus"], "producerTask"))

    def _producer_output(self, task: str, key: str, ref: Any, kind: str, tasks: dict,
                         upstream: list[str]):
        """Check a ``taskOutput{Parameter,Artifact}`` reference; yield its findings and return
        the producer's output definition when the reference is sound (else None)."""
        if not isinstance(ref, dict):
            return None
        field = "outputParameterKey" if kind == "parameter" else "outputArtifactKey"
        same, other, other_kind = (("parameters", "artifacts", "an artifact")
                                   if kind == "parameter"
                                   else ("artifacts", "parameters", "a parameter"))
        producer_comp, error = self._producer(task, ref, field, tasks, upstream)
        if error:
            yield error
            return None
        if producer_comp is None:
            return None
        out_key = ref.get(field)
        outputs = self.section(producer_comp, "outputDefinitions")
        if out_key in self.section(outputs, other):
            yield finding("FC505", f"task {task!r} feeds {kind} {key!r} from "
                          f"{ref.get('producerTask')}.{out_key}, which is {other_kind}",
                          self.loc(ref, field))
        elif out_key not in self.section(outputs, same):
            yield finding("FC511", f"task {task!r} reads output {out_key!r} of "
                          f"{ref.get('producerTask')!r}, which declares no such output",
                          self.loc(ref, field))
        else:
            return self.section(outputs, same, out_key)
        return None

    def _param_types(self, task: str, key: str, want: Any, have: Any,
                     where: Location) -> Iterator[Diagnostic]:
        if not want or not have or want == have:
            return
        if {want, have} <= {"NUMBER_INTEGER", "NUMBER_DOUBLE"}:
            return
        yield finding("FC512", f"task {task!r} feeds a {have} value into parameter {key!r} of "
                      f"type {want}", where)

    def check_artifact_input(self, task: str, key: str, spec: Any, artifacts: dict, tasks: dict,
                             owner_inputs: dict, comp: dict | None, declared_params: dict,
                             declared_artifacts: dict, upstream: list[str]
                             ) -> Iterator[Diagnostic]:
        where = self.loc(artifacts, key)
        if comp is not None and key not in declared_artifacts:
            if key in declared_params:
                yield finding("FC505", f"task {task!r} passes {key!r} as an artifact, but the "
                              "component declares it as a parameter input", where)
            else:
                yield finding("FC509", f"task {task!r} passes artifact {key!r}, which the "
                              "component does not declare", where)
            return
        if not isinstance(spec, dict):
            yield self.shape_error(artifacts, key,
                                   f"task {task!r}: input {key!r} must be a mapping")
            return
        want = self.section(declared_artifacts, key, "artifactType").get("schemaTitle")
        if "taskOutputParameter" in spec or "componentInputParameter" in spec \
                or "runtimeValue" in spec:
            yield finding("FC505", f"task {task!r} feeds artifact {key!r} from a parameter", where)
        elif "taskOutputArtifact" in spec:
            output = yield from self._producer_output(task, key, spec["taskOutputArtifact"],
                                                      "artifact", tasks, upstream)
            if output is not None:
                have = self.section(output, "artifactType").get("schemaTitle")
                yield from self._artifact_types(task, key, want, have, where)
        elif "componentInputArtifact" in spec:
            source = spec["componentInputArtifact"]
            if source in self.section(owner_inputs, "parameters"):
                yield finding("FC505", f"task {task!r} feeds artifact {key!r} from input "
                              f"{source!r}, which is a parameter", where)
            elif source not in self.section(owner_inputs, "artifacts"):
                yield finding("FC510", f"task {task!r} reads input {source!r}, which the "
                              "enclosing DAG does not declare",
                              self.loc(spec, "componentInputArtifact"))
            else:
                have = self.section(owner_inputs, "artifacts", source, "artifactType").get(
                    "schemaTitle")
                yield from self._artifact_types(task, key, want, have, where)

    def _artifact_types(self, task: str, key: str, want: Any, have: Any,
                        where: Location) -> Iterator[Diagnostic]:
        if not want or not have or want == have or _ANY_ARTIFACT in (want, have):
            return
        yield finding("FC506", f"task {task!r} wires a {have} into artifact input {key!r} of "
                      f"type {want}", where)

    def check_dag_outputs(self, dag: dict, tasks: dict) -> Iterator[Diagnostic]:
        outputs = self.section(dag, "outputs")
        for key, spec in self.section(outputs, "parameters").items():
            ref = self.section(spec, "valueFromParameter")
            producer = ref.get("producerSubtask")
            if ref and producer not in tasks:
                yield finding("FC501", f"DAG output {key!r} reads task {producer!r}, which is "
                              "not a task of this DAG", self.loc(ref, "producerSubtask"))
        for key, spec in self.section(outputs, "artifacts").items():
            selectors = spec.get("artifactSelectors") if isinstance(spec, dict) else None
            for selector in selectors if isinstance(selectors, list) else []:
                if isinstance(selector, dict) and selector.get("producerSubtask") not in tasks:
                    yield finding("FC501", f"DAG output {key!r} reads task "
                                  f"{selector.get('producerSubtask')!r}, which is not a task of "
                                  "this DAG", self.loc(selector, "producerSubtask"))

    def check_cycles(self, tasks: dict, edges: dict[str, list[str]]) -> Iterator[Diagnostic]:
        for cycle in find_cycles(edges):
            first = cycle[0]
            path = " -> ".join([*cycle, first])
            yield finding("FC507", f"tasks form a cycle: {path}", self.loc(tasks, first))


def find_cycles(upstream: dict[str, list[str]]) -> list[list[str]]:
    """One representative cycle per strongly connected component with a loop.

    ``upstream`` maps a node to the nodes it depends on; cycles are returned in dependency
    order starting from their smallest node, so output is deterministic.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(upstream):
        if root in index:
            continue
        # iterative Tarjan
        work = [(root, iter(sorted(set(upstream.get(root, ())))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in upstream:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(set(upstream.get(child, ()))))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    item = stack.pop()
                    on_stack.discard(item)
                    component.append(item)
                    if item == node:
                        break
                if len(component) > 1 or node in upstream.get(node, ()):
                    components.append(component)
    cycles = []
    for component in components:
        members = set(component)
        start = min(component)
        path = _path_back_to(start, upstream, members)
        # path = [start, u1, ..., uk]: start depends on u1, ..., uk depends on start.
        # Reported in run order: start runs before uk, ..., u1 runs before start.
        cycles.append([start, *reversed(path[1:])])
    return sorted(cycles)


def _path_back_to(start: str, upstream: dict[str, list[str]], members: set[str]) -> list[str]:
    """The shortest dependency path start -> ... -> (a node that depends on start)."""
    if start in upstream.get(start, ()):
        return [start]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        next_frontier = []
        for node in frontier:
            for dep in sorted(set(upstream.get(node, ()))):
                if dep not in members:
                    continue
                if dep == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return list(reversed(path))
                if dep not in previous:
                    previous[dep] = node
                    next_frontier.append(dep)
        frontier = next_frontier
    return [start]  # pragma: no cover - a strongly connected component always loops back


def _feeds_placeholder(key: str, params: dict) -> bool:
    """True for kfp's f-string inputs: a ``pipelinechannel--*`` parameter that another input's
    constant uses as ``{{$.inputs.parameters['<key>']}}`` (how kfp lowers f-strings)."""
    if not key.startswith("pipelinechannel--"):
        return False
    placeholder = "{{$.inputs.parameters['" + key + "']}}"
    for other, spec in params.items():
        if other == key or not isinstance(spec, dict):
            continue
        constant = (spec.get("runtimeValue") or {}).get("constant")
        if isinstance(constant, str) and placeholder in constant:
            return True
    return False
