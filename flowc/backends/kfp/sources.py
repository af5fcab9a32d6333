"""Where a run step's code comes from: a project file or a ``hub://`` function, read once
per function and embedded in the executor; the handler's signature is read statically."""

from __future__ import annotations

import difflib
import os
from typing import Any

from ... import ir
from ...compiler.handlers import other_top_level_names
from ...diagnostics import FlowcError


class FunctionSources:
    """Mixin of the lowering: ``_function_source(step)`` with a per-function cache.

    Expects ``self.base_dir``, ``self._function_cache`` and ``self._sources``;
    ``function_names`` (the project's, for did-you-mean hints) may be set by the lowering.
    """

    function_names: tuple[str, ...] = ()

    def _function_source(self, step: ir.Step) -> tuple[str | None, str | None, str, Any]:
        """(source code, file name, handler, HandlerInfo|None) of a run step's function."""
        key = (step.function.url, step.function.handler, step.handler,
               step.function.image is None)
        cached = self._function_cache.get(key)
        if cached is None:
            cached = self._read_function(step)
            self._function_cache[key] = cached
        return cached

    def _requirements(self, step: ir.Step) -> tuple[str, ...]:
        """Packages the step's function needs: its own plus its hub function's."""
        requirements = list(step.function.requirements)
        url = step.function.url
        if url and url.startswith("hub://"):
            try:
                from ...hub import resolve

                requirements += list(resolve(url).requirements)
            except Exception:  # resolution errors are reported by _function_source
                pass
        return tuple(dict.fromkeys(requirements))

    def _read_function(self, step: ir.Step) -> tuple[str | None, str | None, str, Any]:
        fn = step.function
        handler = step.handler or fn.handler
        url = fn.url
        path = None
        if url and url.startswith("hub://"):
            try:
                from ...hub import resolve
            except ImportError:
                raise FlowcError(f"step {step.name!r}: hub functions are not available in "
                                 "this build", code="FC301", location=step.location) from None
            try:
                hub_fn = resolve(url)
            except FlowcError:
                raise
            except Exception as exc:  # a hub lookup failure is the user's URL
                raise FlowcError(f"step {step.name!r}: cannot resolve {url}: {exc}",
                                 code="FC301", location=step.location) from None
            path = hub_fn.source_file
            handler = handler or hub_fn.handler
        elif url:
            if url.endswith((".yaml", ".yml")) or "://" in url:
                raise FlowcError(f"step {step.name!r}: function {fn.name!r} comes from {url}, "
                                 "which the KFP backend cannot embed", code="FC431",
                                 location=step.location,
                                 hint="point the function at a .py file or a hub:// function")
            path = os.path.normpath(os.path.join(self.base_dir, url))
            base = os.path.abspath(self.base_dir)
            if os.path.commonpath([base, os.path.abspath(path)]) != base:
                raise FlowcError(f"step {step.name!r}: function file {url!r} lies outside "
                                 "the project folder", code="FC015", location=step.location)
        if path is None:
            if fn.image is None:
                # No url and no image: the name is not a project or hub function (lint FC301).
                raise FlowcError(
                    f"step {step.name!r}: function {fn.name!r} is not in the project nor on "
                    "the hub", code="FC301", location=step.location,
                    hint=self._function_hint(fn.name))
            if not handler:
                raise FlowcError(f"step {step.name!r}: function {fn.name!r} has no handler",
                                 code="FC302", location=step.location)
            return None, None, handler, None
        if not handler:
            raise FlowcError(f"step {step.name!r}: function {fn.name!r} has no handler",
                             code="FC302", location=step.location,
                             hint="pass handler=... to run_function or set it on the function")
        if not os.path.exists(path):
            raise FlowcError(f"step {step.name!r}: source {url!r} of function {fn.name!r} does "
                             "not exist", code="FC303", location=step.location,
                             hint="fix the path in project.yaml, relative to the project folder")
        cached = self._sources.get(path)
        if cached is None:
            try:
                with open(path, encoding="utf-8") as handle:
                    code = handle.read()
            except OSError as exc:
                raise FlowcError(f"step {step.name!r}: cannot read function source {path}: "
                                 f"{exc.strerror}", code="FC306",
                                 location=step.location) from None
            cached = (code, path, None)
            self._sources[path] = cached
        info = _handler_info(path, handler)
        if info is None and step.kind == "run" and path.endswith(".py"):
            _check_handler_defined(step, path, handler)
        return cached[0], os.path.basename(path), handler, info

    def _function_hint(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.function_names, n=1)
        if close:
            return f"did you mean {close[0]!r}?"
        return ("add it to project.yaml (project.set_function) or import it with "
                "import_function()")


def _handler_info(path: str, handler: str):
    try:
        from ...compiler.handlers import read_handler
    except ImportError:
        return None
    try:
        return read_handler(path, handler)
    except Exception:  # an unparsable file: see _check_handler_defined
        return None


def _check_handler_defined(step: ir.Step, path: str, handler: str) -> None:
    """Raise lint's FC302 (handler missing) or FC306 (source unparsable) for a run step."""
    import ast

    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        why = getattr(exc, "msg", None) or str(exc)
        raise FlowcError(f"step {step.name!r}: cannot read handlers of {os.path.basename(path)}"
                         f"{f' (line {line})' if line else ''}: {why}", code="FC306",
                         location=step.location,
                         hint="fix the syntax error in the function's source file") from None
    names = [node.name for node in tree.body
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if handler in names or handler in other_top_level_names(tree):
        return  # a handler imported or assigned at top level still exists when the step runs
    close = difflib.get_close_matches(handler, names, n=1)
    raise FlowcError(f"step {step.name!r}: handler {handler!r} is not a function in "
                     f"{os.path.basename(path)}", code="FC302", location=step.location,
                     hint=f"did you mean {close[0]!r}?" if close else
                     f"functions there: {', '.join(names) or 'none'}")
