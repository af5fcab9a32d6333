"""Loading a step's handler from its source file or embedded source code.

Executing the user's handler module is the runtime's job (this is the one place where flowc
runs user code). Loaded modules are cached by file identity (path, mtime, size) or code hash,
so running many steps from one file in one process imports it once.
"""

from __future__ import annotations

import hashlib
import os
import sys
import types
from typing import Any, Callable, Iterable


class HandlerLoadError(Exception):
    """The handler's source cannot be read or executed, or the handler is not in it."""


_cache: dict[tuple, types.ModuleType] = {}


def load_handler(handler: str, source_file: str | None, source_code: str | None) -> Callable:
    """The callable ``handler`` (``name`` or ``obj.attr``) from the source file or code."""
    if not handler:
        raise HandlerLoadError("the step names no handler")
    module = load_module(source_file, source_code)
    target: Any = module
    for part in handler.split("."):
        target = getattr(target, part, None)
        if target is None:
            names = sorted(n for n, v in vars(module).items()
                           if callable(v) and not n.startswith("_")
                           and getattr(v, "__module__", None) == module.__name__)
            where = source_file or "the embedded source"
            raise HandlerLoadError(
                f"handler {handler!r} is not defined in {where} "
                f"(functions there: {', '.join(names) or 'none'})")
    if not callable(target):
        raise HandlerLoadError(f"handler {handler!r} is not callable "
                               f"(it is a {type(target).__name__})")
    return target


def load_module(source_file: str | None, source_code: str | None) -> types.ModuleType:
    """Execute the handler's module once per process and return it."""
    if source_code is None and not source_file:
        raise HandlerLoadError("the step has neither a source file nor source code")
    if source_code is None:
        path = os.path.abspath(source_file)  # type: ignore[arg-type]
        try:
            stat = os.stat(path)
            with open(path, encoding="utf-8") as handle:
                code_text = handle.read()
        except OSError as exc:
            raise HandlerLoadError(f"cannot read handler source {path}: "
                                   f"{exc.strerror or exc}") from None
        cache_key: tuple = ("file", path, stat.st_mtime_ns, stat.st_size)
        filename = path
    else:
        code_text = source_code
        digest = hashlib.sha256(code_text.encode("utf-8")).hexdigest()
        path = os.path.abspath(source_file) if source_file else None
        cache_key = ("code", digest, path)
        filename = path or f"<flowc step source {digest[:12]}>"
    cached = _cache.get(cache_key)
    if cached is not None:
        return cached

    stem = os.path.splitext(os.path.basename(path))[0] if path else "step_source"
    if path:
        folder = os.path.dirname(path)
        if folder not in sys.path:
            sys.path.insert(0, folder)  # so the handler can import its sibling modules
    name = _module_name(stem, path)
    module = types.ModuleType(name)
    module.__file__ = filename
    try:
        code = compile(code_text, filename, "exec")
    except SyntaxError as exc:
        raise HandlerLoadError(
            f"{filename}:{exc.lineno}:{exc.offset or 1}: syntax error in handler source: "
            f"{exc.msg}") from None
    if "mlrun" in code_text:
        from .mlrun_compat import install

        install()  # handlers written for MLRun: a stand-in unless the real mlrun is installed
    sys.modules[name] = module  # pickle and dataclasses look classes up by module name
    try:
        exec(code, module.__dict__)  # noqa: S102 - running the user's handler module is the job
    except Exception as exc:
        sys.modules.pop(name, None)
        raise HandlerLoadError(
            f"importing {filename} failed: {type(exc).__name__}: {exc}") from exc
    _cache[cache_key] = module
    return module


def _module_name(stem: str, path: str | None) -> str:
    """The file's own name when an import of that name would find this very file (so objects
    pickled by handlers unpickle elsewhere); otherwise a private name, so that a handler file
    called ``random.py`` or ``pandas.py`` never shadows the real module."""
    private = f"_flowc_step_{stem if stem.isidentifier() else 'source'}"
    if not path or not stem.isidentifier() or stem in sys.modules \
            or stem in sys.stdlib_module_names:
        return private
    import importlib.util

    try:
        spec = importlib.util.find_spec(stem)
    except (ImportError, ValueError):
        return private
    if spec is None or not spec.origin or os.path.realpath(spec.origin) != os.path.realpath(path):
        return private
    return stem


def preload_modules(source_files: Iterable[str]) -> list[str]:
    """Modules the handler files import (anywhere in the file), for a fork server to import
    once before forking: pandas/sklearn cost ~1-2 s per forked step otherwise.

    Static (``ast``), imports nothing: keeps absolute imports whose top-level package is
    installed and is not a module next to the handler file (user code must stay fresh per
    step). Unreadable or invalid files are skipped. Order: first appearance.
    """
    import ast
    import importlib.util

    found: dict[str, None] = {}
    for path in source_files:
        try:
            with open(path, encoding="utf-8") as handle:
                tree = ast.parse(handle.read(), filename=path)
        except (OSError, SyntaxError, ValueError):
            continue
        folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".", 1)[0]
                if name in found or top in ("__future__", "mlrun"):
                    continue
                if os.path.exists(os.path.join(folder, top + ".py")) \
                        or os.path.isdir(os.path.join(folder, top)):
                    continue  # the user's own module
                try:
                    spec = importlib.util.find_spec(top)
                except (ImportError, ValueError):
                    spec = None
                if spec is not None:
                    found[name] = None
    return list(found)
