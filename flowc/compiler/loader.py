"""Load a workflow file (or a project's registered workflow) and trace it.

This is the one front door the CLI, the backends and lint use: ``load_workflow(...)`` →
:class:`LoadedWorkflow` (IR + project + where relative paths start + typed argument values).
"""

from __future__ import annotations

import contextlib
import os
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Callable

from ..diagnostics import Diagnostic, FlowcError, Location, TraceError, relative_path
from ..ir import Arg, Workflow
from ..project import Project, WorkflowSpec, find_project_dir, load_project

_HANDLER_NAMES = ("kfpipeline", "pipeline")


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedWorkflow:
    """A traced workflow with everything a backend needs around it."""

    workflow: Workflow
    project: Project | None
    base_dir: str            # FunctionRef.url paths are relative to this folder
    path: str                # the workflow file (or project.yaml for embedded code)
    handler: str
    arguments: dict[str, Any] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()
    engine: str | None = None


def split_target(target: str) -> tuple[str, str | None]:
    """``"flow.py:main"`` → ``("flow.py", "main")``; a bare path has no handler."""
    path, sep, handler = target.rpartition(":")
    if sep and path and handler.isidentifier() and not os.path.exists(target):
        return path, handler
    return target, None


def load_workflow(target: str | None = None, *, workflow: str | None = None,
                  project_dir: str | None = None, arguments: dict[str, Any] | None = None,
                  validate_arguments: bool = True, require_values: bool = True,
                  handler: str | None = None, project: Project | None = None) -> LoadedWorkflow:
    """Trace a workflow named by file (``PATH[:HANDLER]``) or by project workflow name.

    ``arguments`` (strings from the CLI, or typed values) are coerced by the args schema and
    validated; they also become the IR args' defaults. ``validate_arguments=False`` skips the
    checks (lint reports such problems as findings instead); ``require_values=False`` lets
    required arguments stay without a value (compiling and drawing need none). ``project``
    (an in-memory :class:`Project`, e.g. not saved yet) is used instead of reading
    project.yaml.
    """
    given_project = project
    spec: WorkflowSpec | None = None
    code: str | None = None
    if workflow:
        project = given_project or load_project(
            project_dir or find_project_dir(target or os.getcwd()) or ".")
        spec = project.workflows.get(workflow)
        if spec is None:
            known = ", ".join(project.workflows) or "none"
            raise FlowcError(f"project {project.name!r} has no workflow {workflow!r} "
                             f"(registered: {known})", code="FC004",
                             location=Location(file=relative_path(
                                 os.path.join(project.context, "project.yaml"))),
                             hint="register it with project.set_workflow(name, path)")
        handler = handler or spec.handler
        if spec.code is not None:
            path = os.path.join(project.context, "project.yaml")
            code = spec.code
        else:
            path = _inside(project.context, spec.path or "", "workflow path")
    else:
        if not target:
            raise FlowcError("no workflow given", code="FC001",
                             hint="pass a workflow file PATH[:HANDLER] or -w NAME")
        path, target_handler = split_target(target)
        handler = handler or target_handler
        path = os.path.abspath(path)
        if not os.path.isfile(path):
            raise FlowcError(f"workflow file {target!r} does not exist", code="FC001",
                             hint="check the path")
        found = None if given_project else (project_dir or find_project_dir(os.path.dirname(path)))
        project = given_project or (load_project(found) if found else None)
        if project is not None:
            spec = _spec_for_path(project, path)
            if spec is not None and handler is None:
                handler = spec.handler
    base_dir = project.context if project is not None else os.path.dirname(path)

    from .tracer import trace_function

    # The user's print() calls must not corrupt documents that commands write to stdout.
    with contextlib.redirect_stdout(sys.stderr):
        module = _execute(path, code, project)
        fn, handler_name = _find_handler(module, handler, path)
        marker = getattr(fn, "__flowc_workflow__", None) or {}
        result = trace_function(fn, project=project,
                                name=marker.get("name") or (spec.name if spec else None),
                                args_schema=spec.args_schema if spec else None,
                                base_dir=base_dir)
    display = relative_path(path)
    wf = result.workflow
    values: dict[str, Any] = {}
    given = dict(arguments or {})
    if validate_arguments:
        from ..schema.args import resolve_arguments

        values = resolve_arguments(wf.args, given, Location(file=display),
                                   require_values=require_values)
        wf = _with_defaults(wf, values, given)
    return LoadedWorkflow(workflow=wf, project=project, base_dir=base_dir, path=path,
                          handler=handler_name, arguments=values,
                          diagnostics=result.diagnostics,
                          engine=spec.engine if spec else None)


def load_callable(fn: Callable, *, project: Project | None = None,
                  arguments: dict[str, Any] | None = None,
                  require_values: bool = True) -> LoadedWorkflow:
    """Trace a Python workflow function directly (``project.run(workflow_handler=fn)``)."""
    from ..schema.args import resolve_arguments
    from .tracer import trace_function

    source = fn.__code__.co_filename
    base_dir = project.context if project is not None else os.path.dirname(os.path.abspath(source))
    with contextlib.redirect_stdout(sys.stderr):
        result = trace_function(fn, project=project, base_dir=base_dir)
    given = dict(arguments or {})
    values = resolve_arguments(result.workflow.args, given, Location(file=relative_path(source)),
                               require_values=require_values)
    return LoadedWorkflow(workflow=_with_defaults(result.workflow, values, given),
                          project=project, base_dir=base_dir, path=source,
                          handler=fn.__name__, arguments=values,
                          diagnostics=result.diagnostics)


def _with_defaults(wf: Workflow, values: dict[str, Any], given: dict[str, Any]) -> Workflow:
    """Given argument values become the IR args' defaults (what `-A` means for compile)."""
    if not given:
        return wf
    args = tuple(Arg(name=a.name, type=a.type, default=values[a.name], doc=a.doc,
                     required=a.required, choices=a.choices) if a.name in given else a
                 for a in wf.args)
    return Workflow(name=wf.name, description=wf.description, args=args, steps=wf.steps,
                    source=wf.source, project=wf.project)


def _inside(root: str, relative: str, what: str) -> str:
    full = os.path.normpath(os.path.join(root, relative))
    if os.path.isabs(relative) or not full.startswith(os.path.abspath(root) + os.sep):
        raise FlowcError(f"{what} {relative!r} is outside the project folder {root}",
                         code="FC015", hint="keep workflow files inside the project folder")
    if not os.path.isfile(full):
        raise FlowcError(f"{what} {relative!r} does not exist in {root}", code="FC001",
                         location=Location(file=relative_path(os.path.join(root, "project.yaml"))))
    return full


def _spec_for_path(project: Project, path: str) -> WorkflowSpec | None:
    for spec in project.workflows.values():
        if spec.path and os.path.normpath(os.path.join(project.context, spec.path)) == path:
            return spec
    return None


class _Functions(dict):
    """MLRun's ``funcs`` global: project functions by name, as function handles."""

    def __init__(self, project: Project | None) -> None:
        super().__init__()
        self._project = project

    def __missing__(self, key: str):
        import difflib

        from .dsl import FunctionHandle
        from .values import user_location

        if self._project is not None and key in self._project.functions:
            return FunctionHandle(self._project.functions[key].to_ref())
        known = list(self._project.functions) if self._project is not None else []
        close = difflib.get_close_matches(str(key), known, n=1)
        raise TraceError(f"funcs[{key!r}]: the project has no function {key!r}", code="FC301",
                         location=user_location(),
                         hint=f"did you mean {close[0]!r}?" if close else
                         "add it to project.yaml (project.set_function)")


def _execute(path: str, code: str | None, project: Project | None) -> types.ModuleType:
    """Run the workflow file's module body (imports, decorators) with the shims installed."""
    from . import shims
    from .dsl import CurrentProjectProxy

    display = relative_path(path)
    if code is None:
        try:
            with open(path, encoding="utf-8") as handle:
                code = handle.read()
        except OSError as exc:
            raise FlowcError(f"cannot read {display}: {exc.strerror}", code="FC001") from None
    try:
        compiled = compile(code, path, "exec")
    except SyntaxError as exc:
        raise FlowcError(f"syntax error: {exc.msg}", code="FC002",
                         location=Location(file=display, line=exc.lineno or 0,
                                           col=exc.offset or 0),
                         hint="fix the syntax error in the workflow file") from None
    module = types.ModuleType(f"flowc_workflow_{abs(hash(path)):x}")
    module.__file__ = path
    folder = os.path.dirname(path)
    sys.path.insert(0, folder)
    # A module-level argparse must not read flowc's own command line.
    saved_argv, sys.argv = sys.argv, [path]
    try:
        with shims.installed():
            exec(compiled, module.__dict__)  # the user's own workflow file, by design
    except FlowcError:
        raise
    except (Exception, SystemExit) as exc:  # sys.exit() in a workflow file is a mistake too
        raise _located(exc, path, "loading the workflow file raised") from exc
    finally:
        sys.argv = saved_argv
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
    # Like MLRun, after the module body ran (so a file's own `funcs = {}` does not hide them).
    funcs = _Functions(project)
    module.__dict__.update(funcs=funcs, functions=funcs, this_project=CurrentProjectProxy())
    return module


def _located(exc: BaseException, path: str, what: str) -> TraceError:
    import traceback

    location = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == path:
            location = Location(file=relative_path(path), line=lineno)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return TraceError(f"{what} {detail}", code="FC003", location=location,
                      hint="fix the error at that line (flowc runs the module body once)")


def _find_handler(module: types.ModuleType, handler: str | None,
                  path: str) -> tuple[Callable, str]:
    functions = {name: obj for name, obj in vars(module).items()
                 if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__}
    display = relative_path(path)
    if handler:
        fn = functions.get(handler)
        if fn is None:
            raise FlowcError(f"{display} has no function {handler!r}", code="FC005",
                             location=Location(file=display),
                             hint=f"functions there: {', '.join(functions) or 'none'}")
        return fn, handler
    marked = [name for name, fn in functions.items() if hasattr(fn, "__flowc_workflow__")]
    if len(marked) == 1:
        return functions[marked[0]], marked[0]
    if len(marked) > 1:
        raise FlowcError(f"{display} defines several workflows ({', '.join(marked)})",
                         code="FC005", location=Location(file=display),
                         hint=f"pick one: {display}:{marked[0]}")
    for name in _HANDLER_NAMES:
        if name in functions:
            return functions[name], name
    raise FlowcError(f"{display} has no workflow function", code="FC005",
                     location=Location(file=display),
                     hint="decorate it with @flowc.workflow or @dsl.pipeline, name it "
                          "'pipeline', or pass PATH:HANDLER")
