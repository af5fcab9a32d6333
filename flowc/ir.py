"""The typed intermediate representation of a traced workflow.

Both backends (KFP and local) and the linter read this; none of them knows the tracer. All
classes are frozen, slotted, keyword-only dataclasses. The JSON document (``flowc ir``)
round-trips exactly: ``Workflow.from_json(wf.to_json()) == wf``.

Values (params, inputs, conditions, ...) are a small closed union:

* JSON literals (``str``, ``int``, ``float``, ``bool``, ``None``) and lists/dicts of values,
* :class:`ArgRef` (a workflow argument), :class:`OutputRef` (a step's output),
  :class:`SecretRef` (a project secret, never its value),
* :class:`Concat` (an f-string over stand-ins), :class:`Expr` (conditions, stop conditions),
  :class:`Name` (a bare identifier inside an expression, e.g. a result in ``stop_condition``).

In JSON a reference is a one-key object (``{"$arg": "x"}``); a literal dict that holds a ``$``
key is wrapped as ``{"$literal": {...}}`` so that it is never mistaken for a reference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Union

from .diagnostics import Location

API_VERSION = "flowc/v1"

STEP_KINDS = ("run", "build", "deploy")
ARTIFACT_TYPES = ("artifact", "dataset", "model")
PARAMETER_TYPES = ("str", "int", "float", "bool", "list", "dict")
OUTPUT_TYPES = ARTIFACT_TYPES + PARAMETER_TYPES
ARG_TYPES = PARAMETER_TYPES

# Comparison and boolean operators an Expr may hold.
COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=")
BOOL_OPS = ("and", "or", "not")


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class ArgRef:
    """The value of a workflow argument."""

    name: str


@dataclass(frozen=True, slots=True)
class OutputRef:
    """The output ``name`` of step ``step``."""

    step: str
    name: str


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A project secret by key; backends resolve it at run time, never at compile time."""

    key: str


@dataclass(frozen=True, slots=True)
class Name:
    """A bare identifier in an expression (a result name in a ``stop_condition``)."""

    id: str


@dataclass(frozen=True, slots=True)
class Concat:
    """String concatenation of values: what an f-string over stand-ins becomes."""

    parts: tuple["Value", ...]


@dataclass(frozen=True, slots=True)
class Expr:
    """An operator applied to values: ``op`` is one of COMPARE_OPS or BOOL_OPS."""

    op: str
    args: tuple["Value", ...]


Ref = Union[ArgRef, OutputRef, SecretRef]
Value = Any  # JSON literal | list | dict | ArgRef | OutputRef | SecretRef | Name | Concat | Expr

_REF_TYPES = (ArgRef, OutputRef, SecretRef, Name, Concat, Expr)


def walk_values(value: Value) -> Iterator[Value]:
    """Yield ``value`` and every value nested in it (depth first, in order)."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk_values(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from walk_values(item)
    elif isinstance(value, Concat):
        for item in value.parts:
            yield from walk_values(item)
    elif isinstance(value, Expr):
        for item in value.args:
            yield from walk_values(item)


def output_refs(value: Value) -> Iterator[OutputRef]:
    """Every :class:`OutputRef` nested in ``value``."""
    for item in walk_values(value):
        if isinstance(item, OutputRef):
            yield item


def is_literal(value: Value) -> bool:
    """True when ``value`` holds no reference at all (a plain JSON value)."""
    return not any(isinstance(v, _REF_TYPES) for v in walk_values(value))


def value_to_json(value: Value) -> Any:
    """Encode a value as JSON data (see the module docstring)."""
    if isinstance(value, ArgRef):
        return {"$arg": value.name}
    if isinstance(value, OutputRef):
        return {"$output": {"step": value.step, "name": value.name}}
    if isinstance(value, SecretRef):
        return {"$secret": value.key}
    if isinstance(value, Name):
        return {"$name": value.id}
    if isinstance(value, Concat):
        return {"$concat": [value_to_json(p) for p in value.parts]}
    if isinstance(value, Expr):
        return {"$expr": {"op": value.op, "args": [value_to_json(a) for a in value.args]}}
    if isinstance(value, dict):
        encoded = {str(k): value_to_json(v) for k, v in value.items()}
        if any(k.startswith("$") for k in encoded):
            return {"$literal": encoded}
        return encoded
    if isinstance(value, (list, tuple)):
        return [value_to_json(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"not an IR value: {value!r} ({type(value).__name__})")


def value_from_json(data: Any) -> Value:
    """Decode :func:`value_to_json` output."""
    if isinstance(data, dict):
        if len(data) == 1:
            (key, inner), = data.items()
            if key == "$arg":
                return ArgRef(inner)
            if key == "$output":
                return OutputRef(inner["step"], inner["name"])
            if key == "$secret":
                return SecretRef(inner)
            if key == "$name":
                return Name(inner)
            if key == "$concat":
                return Concat(tuple(value_from_json(p) for p in inner))
            if key == "$expr":
                return Expr(inner["op"], tuple(value_from_json(a) for a in inner["args"]))
            if key == "$literal":
                return {k: value_from_json(v) for k, v in inner.items()}
        return {k: value_from_json(v) for k, v in data.items()}
    if isinstance(data, list):
        return [value_from_json(v) for v in data]
    return data


# --------------------------------------------------------------------------- structure


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionRef:
    """The function a step runs: a project function, a hub/YAML import, or a Python callable.

    ``url`` is where its code lives (``train.py``, ``hub://v2_model_server``, ``fn.yaml``);
    ``image`` is a value because a preceding build step's ``image`` output may supply it.
    """

    name: str
    url: str | None = None
    kind: str = "job"
    handler: str | None = None
    image: Value = None
    requirements: tuple[str, ...] = ()

    def to_json(self) -> dict:
        data: dict[str, Any] = {"name": self.name, "url": self.url, "kind": self.kind,
                                "handler": self.handler, "image": value_to_json(self.image)}
        if self.requirements:
            data["requirements"] = list(self.requirements)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "FunctionRef":
        return cls(name=data["name"], url=data.get("url"), kind=data.get("kind", "job"),
                   handler=data.get("handler"), image=value_from_json(data.get("image")),
                   requirements=tuple(data.get("requirements", ())))


@dataclass(frozen=True, slots=True, kw_only=True)
class Output:
    """A declared step output; ``type`` is one of OUTPUT_TYPES."""

    name: str
    type: str = "artifact"

    @property
    def is_artifact(self) -> bool:
        return self.type in ARTIFACT_TYPES

    def to_json(self) -> dict:
        return {"name": self.name, "type": self.type}

    @classmethod
    def from_json(cls, data: dict) -> "Output":
        return cls(name=data["name"], type=data.get("type", "artifact"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Hyper:
    """A hyper-parameter run: ``params`` maps names to candidate lists."""

    params: dict[str, Value]
    strategy: str = "grid"
    selector: str | None = None
    stop_condition: Value = None
    max_iterations: int | None = None
    max_errors: int | None = None
    parallel_runs: int | None = None

    def to_json(self) -> dict:
        return {
            "params": value_to_json(self.params),
            "strategy": self.strategy,
            "selector": self.selector,
            "stop_condition": value_to_json(self.stop_condition),
            "max_iterations": self.max_iterations,
            "max_errors": self.max_errors,
            "parallel_runs": self.parallel_runs,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Hyper":
        return cls(params=value_from_json(data["params"]), strategy=data.get("strategy", "grid"),
                   selector=data.get("selector"),
                   stop_condition=value_from_json(data.get("stop_condition")),
                   max_iterations=data.get("max_iterations"),
                   max_errors=data.get("max_errors"), parallel_runs=data.get("parallel_runs"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One traced DSL call.

    ``params`` are value parameters, ``inputs`` data inputs (artifacts); for ``build`` steps
    ``params`` holds ``image``/``base_image``/``commands``/``requirements``, for ``deploy``
    steps ``models``/``env``. ``after`` lists only explicit ``.after()`` names; data edges are
    derived from the references in the values.
    """

    name: str
    kind: str
    function: FunctionRef
    handler: str | None = None
    params: dict[str, Value] = field(default_factory=dict)
    inputs: dict[str, Value] = field(default_factory=dict)
    outputs: tuple[Output, ...] = ()
    hyper: Hyper | None = None
    after: tuple[str, ...] = ()
    condition: Value = None
    location: Location | None = None

    def output(self, name: str) -> Output | None:
        """The declared output called ``name``, or None."""
        for out in self.outputs:
            if out.name == name:
                return out
        return None

    def values(self) -> Iterator[Value]:
        """Every top-level value this step reads (params, inputs, image, hyper, condition)."""
        yield self.function.image
        yield from self.params.values()
        yield from self.inputs.values()
        if self.hyper is not None:
            yield self.hyper.params
            yield self.hyper.stop_condition
        yield self.condition

    def data_dependencies(self) -> list[str]:
        """Names of steps whose outputs this step reads, in first-use order, no repeats."""
        seen: dict[str, None] = {}
        for value in self.values():
            for ref in output_refs(value):
                seen.setdefault(ref.step, None)
        return list(seen)

    def upstream(self) -> list[str]:
        """Data dependencies plus explicit ``after`` steps, no repeats."""
        return list(dict.fromkeys([*self.data_dependencies(), *self.after]))

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "function": self.function.to_json(),
            "handler": self.handler,
            "params": value_to_json(self.params),
            "inputs": value_to_json(self.inputs),
            "outputs": [o.to_json() for o in self.outputs],
            "after": list(self.after),
            "hyper": self.hyper.to_json() if self.hyper else None,
            "condition": value_to_json(self.condition),
            "location": self.location.to_json() if self.location else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Step":
        return cls(
            name=data["name"],
            kind=data["kind"],
            function=FunctionRef.from_json(data["function"]),
            handler=data.get("handler"),
            params=_unwrap_literal(data.get("params") or {}),
            inputs=_unwrap_literal(data.get("inputs") or {}),
            outputs=tuple(Output.from_json(o) for o in data.get("outputs", ())),
            hyper=Hyper.from_json(data["hyper"]) if data.get("hyper") else None,
            after=tuple(data.get("after", ())),
            condition=value_from_json(data.get("condition")),
            location=Location.from_json(data["location"]) if data.get("location") else None,
        )


def _unwrap_literal(data: dict) -> dict:
    value = value_from_json(data)
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Arg:
    """A workflow argument: the function signature merged with ``args_schema``.

    ``default`` None means "no default"; ``required`` means a value must be given.
    """

    name: str
    type: str = "str"
    default: Value = None
    doc: str = ""
    required: bool = False
    choices: tuple[Value, ...] | None = None

    def to_json(self) -> dict:
        data: dict[str, Any] = {"name": self.name, "type": self.type,
                                "default": value_to_json(self.default), "doc": self.doc,
                                "required": self.required}
        if self.choices is not None:
            data["choices"] = value_to_json(list(self.choices))
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Arg":
        choices = data.get("choices")
        return cls(name=data["name"], type=data.get("type", "str"),
                   default=value_from_json(data.get("default")), doc=data.get("doc", ""),
                   required=data.get("required", False),
                   choices=tuple(value_from_json(choices)) if choices is not None else None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Workflow:
    """A traced workflow: arguments and steps in trace order."""

    name: str
    description: str = ""
    args: tuple[Arg, ...] = ()
    steps: tuple[Step, ...] = ()
    source: Location | None = None
    project: str | None = None

    def step(self, name: str) -> Step:
        """The step called ``name`` (KeyError if there is none)."""
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def arg(self, name: str) -> Arg | None:
        for arg in self.args:
            if arg.name == name:
                return arg
        return None

    def edges(self) -> list[tuple[str, str, str]]:
        """``(upstream, downstream, kind)`` triples in trace order.

        ``kind`` is ``data`` (an output is read), ``condition`` (an output is read only by the
        step's condition) or ``after`` (explicit ordering, no data).
        """
        result = []
        for step in self.steps:
            data = step.data_dependencies()
            only_condition = {ref.step for ref in output_refs(step.condition)}
            for value in step.values():
                if value is not step.condition:
                    only_condition -= {ref.step for ref in output_refs(value)}
            for up in data:
                result.append((up, step.name, "condition" if up in only_condition else "data"))
            for up in step.after:
                if up not in data:
                    result.append((up, step.name, "after"))
        return result

    def graph(self):
        """A ``networkx.DiGraph`` of the steps; edges carry ``kind`` (see :meth:`edges`).

        Nodes carry ``step`` (the :class:`Step`). Imports networkx on first use.
        """
        import networkx as nx

        graph = nx.DiGraph(name=self.name)
        for step in self.steps:
            graph.add_node(step.name, step=step)
        for up, down, kind in self.edges():
            graph.add_edge(up, down, kind=kind)
        return graph

    def to_json(self) -> dict:
        data: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": "Workflow",
            "name": self.name,
            "description": self.description,
        }
        if self.project is not None:
            data["project"] = self.project
        if self.source is not None:
            data["source"] = self.source.to_json()
        data["args"] = [a.to_json() for a in self.args]
        data["steps"] = [s.to_json() for s in self.steps]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Workflow":
        if data.get("apiVersion") != API_VERSION or data.get("kind") != "Workflow":
            raise ValueError(
                f"not a flowc IR document (apiVersion {data.get('apiVersion')!r}, "
                f"kind {data.get('kind')!r}; expected {API_VERSION!r}, 'Workflow')")
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            args=tuple(Arg.from_json(a) for a in data.get("args", ())),
            steps=tuple(Step.from_json(s) for s in data.get("steps", ())),
            source=Location.from_json(data["source"]) if data.get("source") else None,
            project=data.get("project"),
        )

    def dumps(self) -> str:
        """The IR document as byte-stable JSON text."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def loads(cls, text: str) -> "Workflow":
        return cls.from_json(json.loads(text))


def format_value(value: Value) -> str:
    """A short human-readable rendering of a value (``train.accuracy > 0.9``)."""
    if isinstance(value, ArgRef):
        return value.name
    if isinstance(value, OutputRef):
        return f"{value.step}.{value.name}"
    if isinstance(value, SecretRef):
        return f"secret:{value.key}"
    if isinstance(value, Name):
        return value.id
    if isinstance(value, Concat):
        return "f" + json.dumps("".join(p if isinstance(p, str) else "{" + format_value(p) + "}"
                                        for p in value.parts))
    if isinstance(value, Expr):
        if value.op == "not":
            return f"not {_wrap(value.args[0])}"
        return f" {value.op} ".join(_wrap(a) for a in value.args)
    if isinstance(value, (dict, list)):
        return json.dumps(value_to_json(value))
    return json.dumps(value)


def _wrap(value: Value) -> str:
    text = format_value(value)
    return f"({text})" if isinstance(value, Expr) and value.op in ("and", "or") else text
