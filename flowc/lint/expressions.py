"""Point an unparsable ``condition``/``stop_condition`` (FC208) at the exact column.

The tracer reports FC208 at the DSL call with the expression and a 1-based column inside it.
Here the string literal holding the expression is found in the source (at or below the
reported line) so the location, and the caret under it, land on the offending character.
"""

from __future__ import annotations

import ast
import re

from ..diagnostics import Diagnostic, Location

_MESSAGE = re.compile(r"cannot parse expression (?P<text>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\") "
                      r"at column (?P<col>\d+)")


def refine_expression_error(diag: Diagnostic, source: str) -> Diagnostic:
    """``diag`` relocated to the offending character of its expression, when found."""
    loc = diag.location
    match = _MESSAGE.search(diag.message)
    if loc is None or not loc.line or match is None:
        return diag
    try:
        text = ast.literal_eval(match.group("text"))
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return diag
    column = int(match.group("col"))
    best: ast.Constant | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value == text and node.lineno >= loc.line \
                and node.lineno == node.end_lineno:
            if best is None or (node.lineno, node.col_offset) < (best.lineno, best.col_offset):
                best = node
    first_line = diag.message.splitlines()[0]
    if best is None:
        return Diagnostic(code=diag.code, message=first_line, severity=diag.severity,
                          location=loc, hint=diag.hint)
    line_text = source.splitlines()[best.lineno - 1]
    literal = line_text.encode("utf-8")[best.col_offset:best.end_col_offset].decode("utf-8")
    prefix = len(literal) - len(literal.lstrip("rRbBuUfF"))
    quote = 3 if literal[prefix:prefix + 3] in ('"""', "'''") else 1
    start = len(line_text.encode("utf-8")[:best.col_offset].decode("utf-8"))
    col = start + prefix + quote + column  # 1-based
    return Diagnostic(code=diag.code, message=first_line, severity=diag.severity,
                      location=Location(file=loc.file, line=best.lineno, col=col,
                                        end_line=best.lineno, end_col=col + 1), hint=diag.hint)
