"""What the IR checks share: the loaded workflow, handler facts and precise source locations.

Step locations point at the DSL call; for finer locations (the key of a misspelled param, the
``.after()`` argument, the ``selector=`` string) the workflow source is re-parsed with ``ast``
and the node is found inside the call at the step's location.
"""

from __future__ import annotations

import ast
import os
from typing import Any, Iterator

from ...diagnostics import Diagnostic, FlowcError, Location
from ...ir import Step, Workflow


class WorkflowContext:
    """One loaded workflow plus caches for its handlers and source trees."""

    def __init__(self, loaded, sources) -> None:
        self.loaded = loaded
        self.workflow: Workflow = loaded.workflow
        self.project = loaded.project
        self.base_dir: str = os.path.abspath(loaded.base_dir)
        self.sources = sources
        self._handlers: dict[tuple[str, str], tuple[Any, Diagnostic | None]] = {}
        self._trees: dict[str, ast.AST | None] = {}
        self._calls: dict[str, dict[tuple[int, int], ast.Call]] = {}
        self._step_locations: dict[str, Location] = {}

    # ------------------------------------------------------------------ locations

    def absolute(self, diag: Diagnostic) -> Diagnostic:
        from . import absolute_location

        loc = absolute_location(diag.location, self.base_dir)
        if loc is diag.location:
            return diag
        return Diagnostic(code=diag.code, message=diag.message, severity=diag.severity,
                          location=loc, hint=diag.hint)

    def step_location(self, step: Step) -> Location:
        cached = self._step_locations.get(step.name)
        if cached is None:
            from . import absolute_location

            cached = absolute_location(step.location, self.base_dir) or self.workflow_location()
            self._step_locations[step.name] = cached
        return cached

    def workflow_location(self) -> Location:
        from . import absolute_location

        loc = absolute_location(self.workflow.source, self.base_dir)
        return loc or Location(file=os.path.abspath(self.loaded.path))

    def tree(self, path: str) -> ast.AST | None:
        key = os.path.abspath(path)
        if key not in self._trees:
            try:
                self._trees[key] = ast.parse(self.sources.text(key), filename=key)
            except (SyntaxError, ValueError):
                self._trees[key] = None
        return self._trees[key]

    def call_node(self, step: Step) -> ast.Call | None:
        """The DSL call that recorded ``step`` (matched by its line and column)."""
        loc = self.step_location(step)
        if not loc.line:
            return None
        key = os.path.abspath(loc.file)
        if key not in self._calls:
            tree = self.tree(key)
            index: dict[tuple[int, int], ast.Call] = {}
            if tree is not None:
                for node in ast.walk(tree):
                    # a chained `.after()` call starts where the DSL call does: prefer the latter
                    if isinstance(node, ast.Call) and (
                            _call_name(node) in _DSL_CALLS
                            or (node.lineno, node.col_offset + 1) not in index):
                        index[(node.lineno, node.col_offset + 1)] = node
            self._calls[key] = index
        calls = self._calls[key]
        node = calls.get((loc.line, loc.col))
        if node is None:  # column unknown: the DSL call on that line
            for (line, _), candidate in sorted(calls.items()):
                if line == loc.line and _call_name(candidate) in _DSL_CALLS:
                    return candidate
        return node

    def node_location(self, step: Step, node: ast.AST | None) -> Location:
        if node is None or not hasattr(node, "lineno"):
            return self.step_location(step)
        loc = self.step_location(step)
        return Location(file=loc.file, line=node.lineno, col=node.col_offset + 1,
                        end_line=getattr(node, "end_lineno", None),
                        end_col=(node.end_col_offset + 1) if getattr(node, "end_col_offset",
                                                                      None) is not None else None)

    def keyword(self, step: Step, name: str) -> ast.keyword | None:
        call = self.call_node(step)
        if call is None:
            return None
        for kw in call.keywords:
            if kw.arg == name:
                return kw
        return None

    def key_location(self, step: Step, keyword: str, key: str) -> Location:
        """Where ``key`` is written in the ``keyword={...}`` dict of the step's call."""
        kw = self.keyword(step, keyword)
        if kw is None:
            return self.step_location(step)
        if isinstance(kw.value, ast.Dict):
            for key_node in kw.value.keys:
                if isinstance(key_node, ast.Constant) and key_node.value == key:
                    return self.node_location(step, key_node)
        elif isinstance(kw.value, ast.Call) and _call_name(kw.value) == "dict":
            for inner in kw.value.keywords:
                if inner.arg == key:
                    return self.node_location(step, inner)
        return self.node_location(step, kw)

    def after_location(self, step: Step, upstream: str) -> Location:
        """The argument of ``.after(...)`` chained on the step's call that names ``upstream``."""
        call = self.call_node(step)
        tree = self.tree(self.step_location(step).file) if call is not None else None
        if tree is not None:
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "after" and node.func.value is call):
                    for arg in node.args:
                        if _mentions(arg, upstream):
                            return self.node_location(step, arg)
                    if len(node.args) == 1:
                        return self.node_location(step, node.args[0])
                    return self.node_location(step, node)
        return self.step_location(step)

    # ------------------------------------------------------------------ functions

    def source_path(self, step: Step) -> str | None:
        from ...compiler.dsl import function_source_path

        try:
            return function_source_path(step.function, self.base_dir)
        except Exception:
            return None

    def handler(self, step: Step):
        """``(HandlerInfo | None, error)``: the step's handler read statically, cached."""
        path = self.source_path(step)
        name = step.handler or step.function.handler
        if path is None or not name:
            return None, None
        key = (path, name)
        if key not in self._handlers:
            from ...compiler.handlers import read_handler

            try:
                self._handlers[key] = (read_handler(path, name), None)
            except FlowcError as exc:
                self._handlers[key] = (None, exc.diagnostic)
        return self._handlers[key]

    def logged_results(self, step: Step) -> tuple[set[str], bool] | None:
        """``(keys, computed)`` the handler logs, or None when the handler is unknown.

        ``computed`` is True when some key is not a literal (``log_results(metrics)``,
        ``log_result(name, v)``, ``return result``), so an unknown key may still be logged.
        """
        info, _ = self.handler(step)
        if info is None:
            return None
        return set(info.logged), info.logs_computed_keys

    def run_steps(self) -> Iterator[Step]:
        return (s for s in self.workflow.steps if s.kind == "run")


_DSL_CALLS = {"run_function", "build_function", "deploy_function"}


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _mentions(node: ast.AST, name: str) -> bool:
    """Loose match of an ``.after()`` argument to a step name (variable or string)."""
    simple = name.replace("-", "_")
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id in (name, simple):
            return True
        if isinstance(child, ast.Constant) and child.value == name:
            return True
    return False
