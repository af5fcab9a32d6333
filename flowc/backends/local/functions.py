"""Find the code a step runs: a project file relative to the project folder, or ``hub://NAME``."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ... import ir
from ...diagnostics import FlowcError


@dataclass(frozen=True)
class ResolvedFunction:
    """Where a step's handler lives, as the local engine will run it."""

    name: str
    kind: str
    url: str | None
    handler: str | None
    source_file: str | None
    requirements: tuple[str, ...] = ()
    default_class: str | None = None


def resolve_function(step: ir.Step, base_dir: str) -> ResolvedFunction:
    """Resolve ``step.function`` against ``base_dir`` (and the hub); raise FlowcError if missing."""
    fn = step.function
    url = fn.url
    handler = step.handler or fn.handler
    if url and url.startswith("hub://"):
        from ... import hub

        try:
            found = hub.resolve(url)
        except FlowcError:
            raise
        except Exception as exc:  # the hub reports unknown names its own way
            raise FlowcError(f"step {step.name!r}: cannot resolve {url}: {exc}", code="FC301",
                             location=step.location,
                             hint="check the name, or add its folder to FLOWC_HUB_PATH") from None
        return ResolvedFunction(
            name=fn.name, kind=found.kind or fn.kind, url=url,
            handler=handler or found.handler, source_file=found.source_file,
            requirements=tuple(fn.requirements or ()) or tuple(found.requirements or ()),
            default_class=getattr(found, "default_class", None))
    if not url:
        if step.kind == "build":
            return ResolvedFunction(name=fn.name, kind=fn.kind, url=None, handler=handler,
                                    source_file=None, requirements=tuple(fn.requirements))
        raise _no_code_error(step, base_dir)
    path = safe_join(base_dir, url, what=f"function {fn.name!r} of step {step.name!r}",
                     location=step.location)
    if not os.path.isfile(path):
        raise FlowcError(f"step {step.name!r}: function file {url} not found under {base_dir}",
                         code="FC303", location=step.location,
                         hint="fix the function's url (it is relative to the project folder)")
    if not path.endswith(".py"):
        raise FlowcError(f"step {step.name!r}: the local engine runs Python files; {url} is not "
                         "one", code="FC307", location=step.location,
                         hint="point the function's url at the .py file holding its handler")
    return ResolvedFunction(name=fn.name, kind=fn.kind, url=url, handler=handler,
                            source_file=path, requirements=tuple(fn.requirements))


def _no_code_error(step: ir.Step, base_dir: str) -> FlowcError:
    """FC301 for a function the project does not define (with a close match as the hint);
    FC303 for one it defines without a source file."""
    import difflib

    name = step.function.name
    known = project_function_names(base_dir)
    if name in known:
        return FlowcError(f"step {step.name!r}: function {name!r} has no source file (no url)",
                          code="FC303", location=step.location,
                          hint="give the function a .py file in project.yaml")
    close = difflib.get_close_matches(name, known, n=1)
    where = ("the project" if os.path.isfile(os.path.join(base_dir, "project.yaml"))
             else "a project (no project.yaml)")
    return FlowcError(f"step {step.name!r}: function {name!r} is not in {where} nor on the "
                      "hub", code="FC301", location=step.location,
                      hint=f"did you mean {close[0]!r}?" if close else
                      "add it to project.yaml (project.set_function) or import it with "
                      "import_function()")


def project_function_names(base_dir: str) -> list[str]:
    """Names of the functions in ``base_dir/project.yaml`` (none when it is absent or broken)."""
    from ...project import PROJECT_FILE, load_project

    if not os.path.isfile(os.path.join(base_dir, PROJECT_FILE)):
        return []
    try:
        return sorted(load_project(base_dir).functions)
    except Exception:  # only used for a hint: a broken project file is reported elsewhere
        return []


def safe_join(base_dir: str, relative: str, *, what: str, location=None) -> str:
    """``base_dir/relative``, refusing a relative path whose ``..`` leaves ``base_dir``.

    An absolute path is taken as is: the tracer writes one for a Python function defined
    outside the project folder (the user's own imported code).
    """
    if os.path.isabs(relative):
        return os.path.realpath(relative)
    base = os.path.realpath(base_dir)
    path = os.path.realpath(os.path.join(base, relative))
    if path != base and not path.startswith(base + os.sep):
        raise FlowcError(f"{what}: {relative} escapes the project folder {base}",
                         code="FC015", location=location,
                         hint="keep function files inside the project folder")
    return path
