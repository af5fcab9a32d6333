"""Trace a workflow function into the IR: call it once with stand-ins, never run a step."""

from __future__ import annotations

import gc
import inspect
import os
import traceback
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..diagnostics import CycleError, Diagnostic, FlowcError, Location, TraceError
from ..ir import ARG_TYPES, Arg, ArgRef, Step, Workflow
from . import context as ctx
from .values import Symbolic

if TYPE_CHECKING:  # pragma: no cover
    from ..project import Project

_PY_TYPES = {str: "str", int: "int", float: "float", bool: "bool", list: "list", dict: "dict",
             "str": "str", "int": "int", "float": "float", "bool": "bool", "list": "list",
             "dict": "dict"}


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceResult:
    """The IR plus the warnings the tracer noticed on the way (for lint)."""

    workflow: Workflow
    diagnostics: tuple[Diagnostic, ...] = ()


def trace(fn: Callable, *, project: "Project | None" = None, name: str | None = None,
          description: str | None = None, args_schema: list | None = None,
          base_dir: str | None = None) -> Workflow:
    """Trace ``fn`` and return its :class:`~flowc.ir.Workflow` (see :func:`trace_function`)."""
    return trace_function(fn, project=project, name=name, description=description,
                          args_schema=args_schema, base_dir=base_dir).workflow


def trace_function(fn: Callable, *, project: "Project | None" = None, name: str | None = None,
                   description: str | None = None, args_schema: list | None = None,
                   base_dir: str | None = None) -> TraceResult:
    """Call ``fn`` once with stand-ins for its parameters and record every DSL call."""
    marker = getattr(fn, "__flowc_workflow__", None) or {}
    name = name or marker.get("name") or fn.__name__
    if description is None:
        description = marker.get("description") or inspect.getdoc(fn) or ""
    schema = list(args_schema or []) + list(marker.get("args_schema") or [])
    source_file = fn.__code__.co_filename
    if base_dir is None:
        base_dir = project.context if project is not None else os.path.dirname(
            os.path.abspath(source_file))
    base_dir = os.path.abspath(base_dir)

    diagnostics: list[Diagnostic] = []
    args, call_names = build_args(fn, schema, diagnostics)
    state = ctx.TraceState(name=name, args={a.name: a for a in args}, base_dir=base_dir,
                           project=project)
    kwargs = {n: Symbolic(ArgRef(n)) for n in call_names}
    token = ctx.activate(state)
    # Tracing allocates many small objects that all stay alive; the cyclic GC would rescan
    # them again and again (superlinear at 100,000 steps) while finding nothing to free.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            fn(**kwargs)
        except FlowcError:
            raise
        except (Exception, SystemExit) as exc:
            raise _user_exception(exc, fn) from exc
        finally:
            ctx.deactivate(token)
        steps = tuple(_freeze(record, state, base_dir) for record in state.steps)
        _check_cycles(state, steps)
    finally:
        if gc_was_enabled:
            gc.enable()
    code = fn.__code__
    workflow = Workflow(
        name=name, description=description, args=tuple(args), steps=steps,
        source=Location(file=ctx.relpath_from(source_file, base_dir),
                        line=code.co_firstlineno, col=1),
        project=project.name if project is not None else None,
    )
    return TraceResult(workflow=workflow, diagnostics=tuple(diagnostics + state.diagnostics))


# --------------------------------------------------------------------------- arguments


def _annotation_type(annotation: Any) -> str | None:
    if annotation is inspect.Parameter.empty:
        return None
    origin = typing.get_origin(annotation)
    if origin is not None:
        if origin in (list, tuple):
            return "list"
        if origin is dict:
            return "dict"
        if origin is typing.Union:  # Optional[X]
            inner = [a for a in typing.get_args(annotation) if a is not type(None)]
            return _annotation_type(inner[0]) if len(inner) == 1 else None
        return None
    if isinstance(annotation, str):
        annotation = annotation.replace("typing.", "").split("[")[0]
        annotation = {"List": "list", "Dict": "dict"}.get(annotation, annotation)
    return _PY_TYPES.get(annotation)


def _value_type(value: Any) -> str:
    for py, name in ((bool, "bool"), (int, "int"), (float, "float"), (list, "list"),
                     (tuple, "list"), (dict, "dict")):
        if isinstance(value, py):
            return name
    return "str"


def _schema_entry(entry: Any) -> dict:
    if isinstance(entry, dict):
        return dict(entry)
    to_dict = getattr(entry, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return {k: getattr(entry, k, None) for k in ("name", "type", "default", "doc", "required",
                                                   "choices")}


def build_args(fn: Callable, schema: list, diagnostics: list[Diagnostic]) -> tuple[list[Arg], list[str]]:
    """Merge the function signature with ``args_schema`` into IR args.

    Returns the args and the parameter names to call ``fn`` with. Conflicts between the two
    sources are recorded as warnings (the schema wins, as it is the explicit contract).
    """
    signature = inspect.signature(fn)
    code = fn.__code__
    where = Location(file=code.co_filename, line=code.co_firstlineno, col=1)
    from_signature: dict[str, Arg] = {}
    call_names: list[str] = []
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        call_names.append(param.name)
        has_default = param.default is not inspect.Parameter.empty
        default = param.default if has_default else None
        type_ = _annotation_type(param.annotation) or (
            _value_type(default) if has_default and default is not None else "str")
        from_signature[param.name] = Arg(
            name=param.name, type=type_, default=_jsonable(default),
            required=not has_default)

    merged = dict(from_signature)
    for raw in schema:
        entry = _schema_entry(raw)
        arg_name = str(entry.get("name") or "")
        if not arg_name:
            continue
        base = merged.get(arg_name)
        schema_type = entry.get("type")
        if schema_type is not None and schema_type not in ARG_TYPES:
            diagnostics.append(Diagnostic(
                code="FC214", message=f"args_schema type {schema_type!r} of {arg_name!r} is not "
                f"one of {', '.join(ARG_TYPES)}", location=where))
            schema_type = None
        if base is not None:
            if schema_type and base.type != schema_type and arg_name in from_signature and \
                    _annotation_type(signature.parameters[arg_name].annotation):
                diagnostics.append(Diagnostic(
                    code="FC211", message=f"argument {arg_name!r} is {base.type} in the function "
                    f"signature but {schema_type} in args_schema", location=where,
                    hint="make the annotation and the schema agree"))
            sig_default = base.default
            if entry.get("default") is not None and sig_default is not None and \
                    entry.get("default") != sig_default:
                diagnostics.append(Diagnostic(
                    code="FC212", message=f"argument {arg_name!r} defaults to {sig_default!r} in "
                    f"the function signature but {entry.get('default')!r} in args_schema",
                    location=where, hint="keep one default (args_schema's is used)"))
        elif from_signature or code.co_flags & inspect.CO_VARKEYWORDS == 0:
            diagnostics.append(Diagnostic(
                code="FC213", message=f"args_schema names {arg_name!r}, which the workflow "
                f"function does not take", location=where,
                hint=f"add a parameter {arg_name!r} to the workflow function or drop it"))
        default = entry.get("default")
        if default is None and base is not None:
            default = base.default
        type_ = schema_type or (base.type if base else None) or (
            _value_type(default) if default is not None else "str")
        required = entry.get("required")
        if required is None:
            required = base.required if base is not None else default is None
        if required and default is not None and base is not None and not base.required:
            required = True  # MLRun: required=True raises even with a default; keep the flag
        choices = entry.get("choices")
        merged[arg_name] = Arg(
            name=arg_name, type=type_, default=_jsonable(default),
            doc=str(entry.get("doc") or (base.doc if base else "")), required=bool(required),
            choices=tuple(choices) if choices is not None else None)
    return list(merged.values()), call_names


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# --------------------------------------------------------------------------- freezing


def _freeze(record: ctx.StepRecord, state: ctx.TraceState, base_dir: str) -> Step:
    location = state.locate(record.site)
    if location is not None:
        location = Location(file=ctx.relpath_from(location.file, base_dir), line=location.line,
                            col=location.col)
    return Step(name=record.name, kind=record.kind, function=record.function,
                handler=record.handler, params=record.params, inputs=record.inputs,
                outputs=record.outputs, hyper=record.hyper, after=tuple(record.after),
                condition=record.condition, location=location)


def _check_cycles(state: ctx.TraceState, steps: tuple[Step, ...]) -> None:
    """Raise a :class:`CycleError` naming the cycle if ``.after()`` closed one."""
    upstream = {step.name: step.upstream() for step in steps}

    WHITE, GREY, BLACK = 0, 1, 2
    colour = {name: WHITE for name in upstream}
    for root in upstream:
        if colour[root] != WHITE:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = [root]
        colour[root] = GREY
        while stack:
            node, index = stack[-1]
            deps = upstream.get(node, [])
            if index < len(deps):
                stack[-1] = (node, index + 1)
                dep = deps[index]
                if colour.get(dep, BLACK) == GREY:
                    cycle = path[path.index(dep):] + [dep]
                    _raise_cycle(state, list(reversed(cycle)))
                if colour.get(dep) == WHITE:
                    colour[dep] = GREY
                    stack.append((dep, 0))
                    path.append(dep)
            else:
                colour[node] = BLACK
                stack.pop()
                path.pop()


def _raise_cycle(state: ctx.TraceState, cycle: list[str]) -> None:
    site = None
    # Blame the .after() call that closed the cycle (the edge most recently added).
    for down, up in zip(cycle[1:], cycle[:-1]):
        record = state.by_name[down]
        if up in record.after_sites:
            site = record.after_sites[up]
    if site is None:
        site = state.by_name[cycle[-1]].site
    raise CycleError(f"the steps form a cycle: {' -> '.join(cycle)}", code="FC101",
                     location=state.locate(site),
                     hint="remove the .after() call that makes a step wait for its own output")


def _user_exception(exc: BaseException, fn: Callable) -> TraceError:
    """An exception raised by the user's pipeline function, located at the user's line."""
    user_file = fn.__code__.co_filename
    innermost = in_workflow_file = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if not filename.startswith(ctx._FLOWC_DIR):
            innermost = Location(file=filename, line=lineno)
            if filename == user_file:
                in_workflow_file = innermost
    location = in_workflow_file or innermost
    if location is not None:
        location = Location(file=_display(location.file), line=location.line)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return TraceError(f"the workflow function raised {detail}", code="FC003",
                      location=location,
                      hint="fix the error; flowc calls the function once with stand-ins, so "
                           "code that needs real argument values must run inside a step")


def _display(path: str) -> str:
    from ..diagnostics import relative_path

    return relative_path(path)
