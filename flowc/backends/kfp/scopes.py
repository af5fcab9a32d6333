"""DAG scopes of a lowered pipeline: the root DAG, condition sub-DAGs and ParallelFor loops.

A value produced in one scope reaches a task in a nested scope the way kfp wires it: through
``pipelinechannel--<task>-<output>`` (or ``pipelinechannel--<arg>``) inputs declared on every
group component on the way down. A :class:`Scope` collects those inputs, its group task's
dependencies and its tasks; :func:`wire` resolves one reference for a task in a scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(eq=False)
class Scope:
    """One DAG: the root (``name`` None) or a group (``condition-N`` / ``for-loop-N``)."""

    name: str | None
    kind: str  # root | condition | loop
    parent: "Scope | None" = None
    tasks: dict[str, dict] = field(default_factory=dict)
    # channel input name -> (definition dict for inputDefinitions, wiring dict in the parent)
    parameters: dict[str, tuple[dict, dict]] = field(default_factory=dict)
    artifacts: dict[str, tuple[dict, dict]] = field(default_factory=dict)
    deps: set[str] = field(default_factory=set)  # group task's dependentTasks (parent names)
    depth: int = 0
    # A loop's collected trial outputs: dag.outputs and the matching outputDefinitions.
    dag_outputs: dict = field(default_factory=dict)
    output_definitions: dict = field(default_factory=dict)

    def ancestors(self) -> list["Scope"]:
        """This scope and its parents, innermost first."""
        chain, scope = [], self
        while scope is not None:
            chain.append(scope)
            scope = scope.parent
        return chain

    def child_toward(self, inner: "Scope") -> "Scope":
        """The direct child of ``self`` on the path down to ``inner`` (a descendant)."""
        scope = inner
        while scope.parent is not self:
            assert scope.parent is not None, "not a descendant"
            scope = scope.parent
        return scope


def lowest_common(a: Scope, b: Scope) -> Scope:
    """The innermost scope holding both ``a`` and ``b``."""
    seen = set(map(id, a.ancestors()))
    for scope in b.ancestors():
        if id(scope) in seen:
            return scope
    raise AssertionError("scopes without a common root")


def representative(node: str, node_scope: Scope, in_scope: Scope) -> str:
    """The task in ``in_scope`` that stands for ``node`` (itself, or its enclosing group)."""
    if node_scope is in_scope:
        return node
    child = in_scope.child_toward(node_scope)
    assert child.name is not None
    return child.name


def output_channel(task: str, output: str) -> str:
    """The channel input name for ``task``'s ``output`` in a nested scope.

    kfp writes ``pipelinechannel--<task>-<output>``; flowc separates with ``--`` because KFP
    accepts any input name, while kfp.local's condition evaluator can only resolve a task
    output it can split unambiguously (``<task>--<output>``).
    """
    return f"pipelinechannel--{task}--{output}"


def arg_channel(arg: str) -> str:
    return f"pipelinechannel--{arg}"


class OutsideScopeError(Exception):
    """A task reads an output that lives in a nested scope it is not part of."""


ParamDef = dict
Wiring = dict


def wire(*, kind: str, channel: str, definition: ParamDef, producer: str | None,
         output: str | None, producer_scope: Scope, scope: Scope) -> Wiring:
    """The input wiring for a task in ``scope`` that reads a value made in ``producer_scope``.

    ``kind`` is ``parameter`` or ``artifact``; ``producer``/``output`` name a task output, or
    are None for a pipeline argument (``channel``'s root name then is the argument name).
    """
    if scope is producer_scope:
        if producer is None:
            return {"componentInputParameter": channel}
        if kind == "parameter":
            return {"taskOutputParameter": {"producerTask": producer,
                                            "outputParameterKey": output}}
        return {"taskOutputArtifact": {"producerTask": producer, "outputArtifactKey": output}}
    if scope.parent is None or producer_scope not in _ancestor_list(scope):
        raise OutsideScopeError(producer)
    name = arg_channel(channel) if producer is None else output_channel(producer, output)
    table = scope.parameters if kind == "parameter" else scope.artifacts
    if name not in table:
        outer = wire(kind=kind, channel=channel, definition=definition, producer=producer,
                     output=output, producer_scope=producer_scope, scope=scope.parent)
        table[name] = (definition, outer)
        if producer is not None and scope.parent is producer_scope:
            scope.deps.add(producer)
    if kind == "parameter":
        return {"componentInputParameter": name}
    return {"componentInputArtifact": name}


def _ancestor_list(scope: Scope) -> list[Scope]:
    return scope.ancestors()[1:]
