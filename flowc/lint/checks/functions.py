"""FC3xx: the functions steps run and their handlers; built images; deploy steps."""

from __future__ import annotations

import difflib
import os
from typing import Iterator

from ...diagnostics import Diagnostic, Location
from ...ir import Step, output_refs
from ..catalog import finding
from . import check
from .context import WorkflowContext

# Functions flowc ships, used when the hub module is not available to ask.
_BUILTIN_HUB = {"v2_model_server", "v2_model_tester"}


def _hub_known(url: str) -> bool:
    try:
        from ...hub import resolve
    except ImportError:
        name = url[len("hub://"):].split(":")[0].split("/")[-1]
        return name in _BUILTIN_HUB
    try:
        return resolve(url) is not None
    except Exception:
        return False


def _first_arg_location(ctx: WorkflowContext, step: Step) -> Location:
    call = ctx.call_node(step)
    if call is not None and call.args:
        return ctx.node_location(step, call.args[0])
    return ctx.step_location(step)


@check("FC301", "FC302", "FC303", "FC306")
def functions_and_handlers(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    project_functions = sorted(ctx.project.functions) if ctx.project is not None else []
    reported_sources: set[str] = set()
    for step in ctx.workflow.steps:
        ref = step.function

        def where(step=step):  # located only when there is a finding
            return _first_arg_location(ctx, step)

        if not ref.url and ref.name in project_functions:
            yield finding("FC303", f"function {ref.name!r} has no source: its project entry "
                          "has no url", where(),
                          hint="set url: <file>.py (or hub://NAME) on the function in "
                               "project.yaml")
            continue
        if not ref.url:
            close = difflib.get_close_matches(ref.name, project_functions, n=1)
            hint = (f"did you mean {close[0]!r}?" if close else
                    "add it to project.yaml (project.set_function) or import it with "
                    "import_function()")
            where_project = "the project" if ctx.project is not None else "a project (none found)"
            yield finding("FC301", f"function {ref.name!r} is not in {where_project} nor on "
                          "the hub", where(), hint=hint)
            continue
        if ref.url.startswith("hub://"):
            if not _hub_known(ref.url):
                yield finding("FC301", f"hub function {ref.url!r} is not known", where(),
                              hint="check the name; FLOWC_HUB_PATH lists extra hub folders")
            continue
        if ref.url.startswith(("db://", "store://", "git://", "http://", "https://", "s3://")):
            continue
        path = ref.url if os.path.isabs(ref.url) else os.path.join(ctx.base_dir, ref.url)
        if not os.path.exists(path):
            if path not in reported_sources:
                reported_sources.add(path)
                yield finding("FC303", f"source {ref.url!r} of function {ref.name!r} does not "
                              f"exist", where())
            continue
        if step.kind != "run":
            continue
        info, error = ctx.handler(step)
        if error is not None:
            if path not in reported_sources:
                reported_sources.add(path)
                loc = error.location
                if loc is not None and not os.path.isabs(loc.file):
                    loc = Location(file=os.path.abspath(loc.file), line=loc.line, col=loc.col)
                yield finding("FC306", f"cannot read handlers of {ref.url!r}: {error.message}",
                              loc or where())
            continue
        handler = step.handler or ref.handler
        if info is None and handler and ref.url.endswith(".py") \
                and not _bound_otherwise(ctx, path, handler):
            from ...compiler.handlers import list_functions

            names = list_functions(path)
            close = difflib.get_close_matches(handler, names, n=1)
            yield finding("FC302", f"handler {handler!r} is not a function in {ref.url}",
                          _handler_location(ctx, step, where()),
                          hint=f"did you mean {close[0]!r}?" if close else
                          f"functions there: {', '.join(names) or 'none'}")


def _bound_otherwise(ctx: WorkflowContext, path: str, name: str) -> bool:
    """True when the source binds ``name`` at top level by an import, class or assignment
    (the step still finds it; `flowc compile` accepts it the same way)."""
    from ...compiler.handlers import other_top_level_names

    tree = ctx.tree(path)
    return tree is not None and name in other_top_level_names(tree)


def _handler_location(ctx: WorkflowContext, step: Step, default: Location) -> Location:
    kw = ctx.keyword(step, "handler")
    return ctx.node_location(step, kw.value) if kw is not None else default


@check("FC304")
def unused_built_images(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    used: set[str] = set()
    for step in ctx.workflow.steps:
        for value in step.values():
            for ref in output_refs(value):
                if ref.name == "image":
                    used.add(ref.step)
    for step in ctx.workflow.steps:
        if step.kind == "build" and step.name not in used:
            yield finding("FC304", f"the image built by {step.name!r} is never used: no later "
                          f"step runs function {step.function.name!r} or reads its image",
                          ctx.step_location(step))


@check("FC305")
def deploy_models(ctx: WorkflowContext) -> Iterator[Diagnostic]:
    for step in ctx.workflow.steps:
        if step.kind == "deploy" and not step.params.get("models"):
            yield finding("FC305", f"deploy step {step.name!r} serves no models",
                          ctx.step_location(step))
