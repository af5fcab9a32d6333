"""Where a run step's code comes from: a project file or a ``hub://`` function, read once
per function and embedded in the executor; the handler's signature is read statically."""

from __future__ import annotations

import os
from typing import Any

from ... import ir
from ...diagnostics import FlowcError


class FunctionSources:
    """Mixin of the lowering: ``_function_source(step)`` with a per-function cache.

    Expects ``self.base_dir``, ``self._function_cache`` and ``self._sources``.
    """

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
                raise FlowcError(
                    f"step {step.name!r}: function {fn.name!r} has no source file and no "
                    "image, so there is nothing to run on KFP", code="FC303",
                    location=step.location,
                    hint="give the function a url (a .py file) or an image")
            if not handler:
                raise FlowcError(f"step {step.name!r}: function {fn.name!r} has no handler",
                                 code="FC302", location=step.location)
            return None, None, handler, None
        if not handler:
            raise FlowcError(f"step {step.name!r}: function {fn.name!r} has no handler",
                             code="FC302", location=step.location,
                             hint="pass handler=... to run_function or set it on the function")
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
        return cached[0], os.path.basename(path), handler, info


def _handler_info(path: str, handler: str):
    try:
        from ...compiler.handlers import read_handler
    except ImportError:
        return None
    try:
        return read_handler(path, handler)
    except Exception:  # an unparsable file is reported when the step runs
        return None
