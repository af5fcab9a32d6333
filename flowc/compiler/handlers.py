"""Read handler signatures and logged outputs statically, with ``ast`` (never importing).

A handler is a plain function in a function's source file. What flowc needs to know without
running it: its parameters (names, annotations, defaults), whether it takes a ``context``, and
which results/artifacts it logs (``context.log_model("model", ...)`` → ``model: model``), so
that untyped outputs get a type and lint can check params against the signature.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import FlowcError, Location

# context method -> the output type its first argument names
_LOG_METHODS = {
    "log_model": "model",
    "log_dataset": "dataset",
    "log_artifact": "artifact",
    "log_result": None,  # typed from the value when it is a literal, else float
}

_ANNOTATION_TYPES = {
    "str": "str", "int": "int", "float": "float", "bool": "bool",
    "list": "list", "dict": "dict", "List": "list", "Dict": "dict",
    "DataItem": "artifact", "pd.DataFrame": "dataset", "DataFrame": "dataset",
}

_NO_DEFAULT = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlerParam:
    """One parameter of a handler; ``default`` is a literal (or None when not literal)."""

    name: str
    annotation: str | None = None
    has_default: bool = False
    default: Any = None
    line: int = 0
    col: int = 0

    @property
    def type(self) -> str | None:
        """The flowc type the annotation names (``str``, ``artifact``, ...), or None."""
        if self.annotation is None:
            return None
        return _ANNOTATION_TYPES.get(self.annotation.replace("typing.", ""))


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlerInfo:
    """What a handler's source says about it."""

    name: str
    file: str
    line: int
    col: int
    params: tuple[HandlerParam, ...] = ()
    has_context: bool = False
    accepts_kwargs: bool = False
    logged: dict[str, str] = field(default_factory=dict)
    # True when some logged key is computed (log_result(name, v), log_results(metrics),
    # return result): a key missing from ``logged`` may still be produced.
    logs_computed_keys: bool = False

    def param(self, name: str) -> HandlerParam | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    @property
    def location(self) -> Location:
        return Location(file=self.file, line=self.line, col=self.col)


_cache: dict[tuple[str, float], dict[str, HandlerInfo]] = {}


def _parse(path: str) -> dict[str, HandlerInfo]:
    try:
        mtime = os.stat(path).st_mtime
    except OSError as exc:
        raise FlowcError(f"cannot read function source {path}: {exc.strerror}", code="FC301",
                         location=Location(file=path),
                         hint="check the function's url in project.yaml") from None
    key = (os.path.abspath(path), mtime)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise FlowcError(f"syntax error in function source: {exc.msg}", code="FC002",
                         location=Location(file=path, line=exc.lineno or 0, col=exc.offset or 0),
                         hint="fix the syntax error; flowc reads handlers without running them")
    infos = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            infos[node.name] = _describe(node, path)
    _cache[key] = infos
    return infos


def read_handler(path: str, name: str) -> HandlerInfo | None:
    """Describe the top-level function ``name`` in ``path``; None when the file lacks it."""
    return _parse(path).get(name)


def list_functions(path: str) -> list[str]:
    """Names of the top-level functions in ``path``, in source order."""
    return list(_parse(path))


def other_top_level_names(tree) -> set[str]:
    """Names a module binds at top level other than by ``def``: imports, assignments, classes."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _annotation(node: ast.expr | None) -> str | None:
    if node is None:
        return None
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - ast.unparse handles every expression
        return None


def _literal(node: ast.expr) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _describe(node: ast.FunctionDef | ast.AsyncFunctionDef, path: str) -> HandlerInfo:
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[Any] = [_NO_DEFAULT] * (len(positional) - len(args.defaults)) + list(args.defaults)
    params: list[HandlerParam] = []
    for arg, default in zip(positional, defaults):
        params.append(_param(arg, default))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        params.append(_param(arg, default if default is not None else _NO_DEFAULT))
    has_context = bool(params) and params[0].name == "context"
    if has_context:
        params = params[1:]
    logged, computed = _logged_outputs(node)
    return HandlerInfo(
        name=node.name, file=path, line=node.lineno, col=node.col_offset + 1,
        params=tuple(params), has_context=has_context, accepts_kwargs=args.kwarg is not None,
        logged=logged, logs_computed_keys=computed,
    )


def _param(arg: ast.arg, default: Any) -> HandlerParam:
    if default is _NO_DEFAULT:
        return HandlerParam(name=arg.arg, annotation=_annotation(arg.annotation),
                            line=arg.lineno, col=arg.col_offset + 1)
    _, value = _literal(default)
    return HandlerParam(name=arg.arg, annotation=_annotation(arg.annotation), has_default=True,
                        default=value, line=arg.lineno, col=arg.col_offset + 1)


def _logged_outputs(func: ast.AST) -> tuple[dict[str, str], bool]:
    """``({key: type}, computed)`` from ``*.log_*("key", ...)`` calls, ``log_results({...})``
    and returned dict literals; ``computed`` when some key is not a literal."""
    logged: dict[str, str] = {}
    computed = False
    for node in ast.walk(func):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            first = node.args[0] if node.args else None
            if method == "log_results":
                if isinstance(first, ast.Dict) and all(
                        isinstance(k, ast.Constant) and isinstance(k.value, str)
                        for k in first.keys):
                    for key, value in zip(first.keys, first.values):
                        logged.setdefault(key.value, _value_type(value))
                else:
                    computed = True
                continue
            if method not in _LOG_METHODS or first is None:
                continue
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                computed = True
                continue
            kind = _LOG_METHODS[method]
            if kind is None:
                value = node.args[1] if len(node.args) > 1 else _keyword(node, "value")
                kind = _value_type(value)
            logged.setdefault(first.value, kind)
        elif isinstance(node, ast.Return) and node.value is not None:
            value = node.value
            if isinstance(value, ast.Constant) and value.value is None:
                continue
            if isinstance(value, ast.Dict) and all(
                    isinstance(k, ast.Constant) and isinstance(k.value, str) for k in value.keys):
                for key, item in zip(value.keys, value.values):
                    logged.setdefault(key.value, _value_type(item))
            else:
                computed = True
    return logged, computed


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def _value_type(node: ast.expr | None) -> str:
    """The output type a logged value has, judged from its expression."""
    if isinstance(node, (ast.JoinedStr,)):
        return "str"
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int):
            return "int"
        if isinstance(value, str):
            return "str"
    if isinstance(node, (ast.List, ast.ListComp, ast.Tuple)):
        return "list"
    if isinstance(node, (ast.Dict, ast.DictComp)):
        return "dict"
    return "float"  # metrics are the common case: accuracy, loss, ...
