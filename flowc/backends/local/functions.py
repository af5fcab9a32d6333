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
        raise FlowcError(f"step {step.name!r}: function {fn.name!r} has no code (no url)",
                         code="FC302", location=step.location,
                         hint="register the function with a .py file in project.yaml")
    path = safe_join(base_dir, url, what=f"function {fn.name!r} of step {step.name!r}",
                     location=step.location)
    if not os.path.isfile(path):
        raise FlowcError(f"step {step.name!r}: function file {url} not found under {base_dir}",
                         code="FC303", location=step.location,
                         hint="fix the function's url (it is relative to the project folder)")
    if not path.endswith(".py"):
        raise FlowcError(f"step {step.name!r}: the local engine runs Python files; {url} is not one",
                         code="FC304", location=step.location)
    return ResolvedFunction(name=fn.name, kind=fn.kind, url=url, handler=handler,
                            source_file=path, requirements=tuple(fn.requirements))


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
                         code="FC305", location=location,
                         hint="keep function files inside the project folder")
    return path
