"""FC2xx: step params and inputs against the handler's signature, workflow argument defaults."""

from __future__ import annotations

import difflib
from typing import Any, Iterator

from ...diagnostics import Diagnostic, Location
from ...ir import ARTIFACT_TYPES, PARAMETER_TYPES, Name, OutputRef, Step, is_literal, walk_values
from ..catalog import finding
from . import check
from .context import WorkflowContext

# annotation type -> Python types a literal of that type may have
_LITERAL_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "int": (int,), "float": (int, float), "bool": (bool,),
    "list": (list, tuple), "dict": (dict,),
}


def literal_matches(value: Any, type_name: str) -> bool:
    """True when the literal ``value`` is acceptable for a parameter of ``type_name``."""
    allowed = _LITERAL_TYPES.get(type_name)
    if allowed is None or value is None:
        return True
    if isinstance(value, bool) and type_name != "bool":
        return False
    return isinstance(value, allowed)


def _type_name(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list",
            dict: "dict"}.get(type(value), type(value).__name__)


def _step_values(step: Step) -> Iterator[tuple[str, str, Any]]:
    """``(keyword, key, value)`` for every param, input and hyper-parameter of a step."""
    for key, value in step.params.items():
        yield "params", key, value
    for key, value in step.inputs.items():
        yield "inputs", key, value
    if step.hyper is not None and isinstance(step.hyper.params, dict):
        for key, value in step.hyper.params.items():
            yield "hyperparams", key, value


@check("FC216", "FC217", "FC218", "FC219")
def handler_signature(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    outputs = {(s.name, o.name): o for s in ctx.workflow.steps for o in s.outputs}
    for step in ctx.run_steps():
        info, _ = ctx.handler(step)
        given: set[str] = set()
        for keyword, key, value in _step_values(step):
            given.add(key)
            param = info.param(key) if info is not None else None
            def where(keyword=keyword, key=key):  # located only when there is a finding
                return ctx.key_location(step, keyword, key)

            if info is not None and param is None and not info.accepts_kwargs:
                names = [p.name for p in info.params]
                close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
                hint = (f"did you mean {close[0]!r}?" if close else
                        f"{info.name}() takes: {', '.join(names) or 'no parameters'}")
                yield finding("FC216", f"handler {info.name!r} has no parameter {key!r}", where(),
                              hint=hint)
                continue
            declared = param.type if param is not None else None
            # FC219: artifacts belong in inputs, values in params
            if keyword == "params":
                ref = value if isinstance(value, OutputRef) else None
                out = outputs.get((ref.step, ref.name)) if ref else None
                if out is not None and out.is_artifact and declared != "str":
                    yield finding("FC219", f"param {key!r} of step {step.name!r} gets the "
                                  f"{out.type} {ref.step}.{ref.name}; artifacts belong in "
                                  "`inputs=`", where())
                    continue
                if declared in ARTIFACT_TYPES:
                    yield finding("FC219", f"{info.name}() expects data for {key!r} "
                                  f"({param.annotation}), but the step passes it in `params=`",
                                  where(),
                                  hint="pass it in `inputs=` (a step output or a URI)")
                    continue
            elif keyword == "inputs":
                ref = value if isinstance(value, OutputRef) else None
                out = outputs.get((ref.step, ref.name)) if ref else None
                if out is not None and out.type in PARAMETER_TYPES:
                    yield finding("FC219", f"input {key!r} of step {step.name!r} gets the "
                                  f"{out.type} value {ref.step}.{ref.name}; values belong in "
                                  "`params=`", where())
                    continue
                if declared in PARAMETER_TYPES and declared != "str":
                    yield finding("FC219", f"{info.name}() expects a {declared} value for "
                                  f"{key!r}, but the step passes it as data in `inputs=`",
                                  where(), hint="pass it in `params=`")
                    continue
            # FC218: literal type against the annotation
            if declared in _LITERAL_TYPES:
                candidates = value if keyword == "hyperparams" and isinstance(value, list) \
                    else [value]
                for candidate in candidates:
                    if is_literal(candidate) and not literal_matches(candidate, declared):
                        what = "a candidate" if keyword == "hyperparams" else "the value"
                        yield finding("FC218", f"{what} {candidate!r} for {key!r} is "
                                      f"{_article(_type_name(candidate))}, but {info.name}() "
                                      f"annotates it as {param.annotation}", where(),
                                      hint=f"pass {_article(declared)}")
                        break
        if info is None:
            continue
        missing = [p.name for p in info.params if not p.has_default and p.name not in given]
        if missing:
            yield finding("FC217", f"step {step.name!r} does not set "
                          f"{', '.join(repr(m) for m in missing)}, required by handler "
                          f"{info.name!r}", ctx.step_location(step),
                          hint=f"pass {'it' if len(missing) == 1 else 'them'} in `params=` or "
                               "`inputs=`, or give the handler parameter a default")


def _article(type_name: str) -> str:
    return ("an " if type_name[:1] in "aeiou" else "a ") + type_name


@check("FC220")
def selector_results(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    for step in ctx.run_steps():
        hyper = step.hyper
        if hyper is None:
            continue
        info, _ = ctx.handler(step)
        facts = ctx.logged_results(step)
        if info is None or facts is None or facts[1]:
            continue  # unknown handler, or it logs computed keys: nothing certain to say
        logged = facts[0]
        known = logged | {o.name for o in step.outputs}
        if hyper.selector:
            result = hyper.selector.split(".", 1)[1] if "." in hyper.selector else hyper.selector
            if result not in known:
                close = difflib.get_close_matches(result, sorted(logged), n=1)
                yield finding("FC220", f"selector {hyper.selector!r} picks by result {result!r}, "
                              f"which handler {info.name!r} never logs",
                              _option_location(ctx, step, "selector"),
                              hint=f"did you mean {close[0]!r}?" if close else
                              f"it logs: {', '.join(sorted(logged)) or 'nothing'}")
        for value in walk_values(hyper.stop_condition):
            if isinstance(value, Name) and value.id not in known:
                yield finding("FC220", f"stop_condition reads result {value.id!r}, which "
                              f"handler {info.name!r} never logs",
                              _option_location(ctx, step, "stop_condition"))


def _option_location(ctx: WorkflowContext, step: Step, option: str) -> Location:
    """The ``option=`` keyword inside ``HyperParamOptions(...)`` passed to the step."""
    import ast

    kw = ctx.keyword(step, "hyper_param_options")
    if kw is not None and isinstance(kw.value, ast.Call):
        for inner in kw.value.keywords:
            if inner.arg == option:
                return ctx.node_location(step, inner.value)
    return ctx.node_location(step, kw) if kw is not None else ctx.step_location(step)


@check("FC215")
def argument_defaults(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    for arg in ctx.workflow.args:
        if arg.default is None:
            continue
        if arg.type in _LITERAL_TYPES and not literal_matches(arg.default, arg.type):
            # an int default for a float argument is fine
            yield finding("FC215", f"argument {arg.name!r} is {_article(arg.type)} but its "
                          f"default {arg.default!r} is {_article(_type_name(arg.default))}",
                          _arg_location(ctx, arg.name))
        elif arg.choices is not None and arg.default not in arg.choices:
            yield finding("FC215", f"default {arg.default!r} of argument {arg.name!r} is not "
                          f"one of its choices ({', '.join(repr(c) for c in arg.choices)})",
                          _arg_location(ctx, arg.name))


def _arg_location(ctx: WorkflowContext, name: str) -> Location:
    """The parameter ``name`` of the pipeline function (its default when it has one)."""
    import ast

    loc = ctx.workflow_location()
    tree = ctx.tree(loc.file) if loc.line else None
    if tree is None:
        return loc
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                and node.name == ctx.loaded.handler \
                and min([d.lineno for d in node.decorator_list] + [node.lineno]) <= loc.line \
                <= (node.end_lineno or node.lineno):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
            pairs = list(zip(positional, defaults)) + list(zip(args.kwonlyargs, args.kw_defaults))
            for arg, default in pairs:
                if arg.arg == name:
                    target = default if default is not None else arg
                    return Location(file=loc.file, line=target.lineno,
                                    col=target.col_offset + 1)
    return loc
