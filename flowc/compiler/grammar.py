"""The lark grammar for placeholder strings and condition expressions. Never ``eval``.

Two jobs:

* :func:`parse_template` turns a string that holds stand-in placeholder tokens (what
  ``f"{arg}-x"`` produces while tracing) back into an IR :class:`~flowc.ir.Concat`.
* :func:`parse_expression` turns a condition or ``stop_condition`` string
  (``"accuracy > 0.9 and loss < 0.2"``) into an IR :class:`~flowc.ir.Expr` tree.
"""

from __future__ import annotations

import functools
import re
from typing import Callable

from ..ir import ArgRef, Concat, Expr, Name, OutputRef, SecretRef, Value

# A stand-in formats itself as one of these tokens; the grammar reads them back.
TOKEN_OPEN = "{{flowc:"
TOKEN_CLOSE = "}}"

_GRAMMAR = r"""
    // ---- templates: free text with placeholder tokens
    template: (TEXT | placeholder)*
    TEXT: /(?:(?!\{\{flowc:)[\s\S])+/

    placeholder: "{{flowc:" PTYPE ":" PKEY (":" PKEY)? "}}"
    PTYPE: "arg" | "out" | "secret"
    PKEY: /[A-Za-z0-9_.\-]+/

    // ---- expressions: conditions and stop conditions
    ?expr: or_expr
    ?or_expr: and_expr (_OR and_expr)*
    ?and_expr: not_expr (_AND not_expr)*
    ?not_expr: _NOT not_expr -> not_
             | comparison
    ?comparison: atom (COMP_OP atom)?
    ?atom: SIGNED_NUMBER -> number
         | STRING -> string
         | TRUE -> true
         | FALSE -> false
         | NONE -> none
         | dotted_name
         | placeholder
         | "(" expr ")"
    dotted_name: NAME ("." NAME)*

    _OR.2: /or\b/ | "||"
    _AND.2: /and\b/ | "&&"
    _NOT.2: /not\b/ | "!"
    TRUE.2: /(true|True)\b/
    FALSE.2: /(false|False)\b/
    NONE.2: /(None|null)\b/
    COMP_OP: "==" | "!=" | "<=" | ">=" | "<" | ">"
    STRING: /"(?:[^"\\]|\\.)*"/ | /'(?:[^'\\]|\\.)*'/

    %import common.CNAME -> NAME
    %import common.SIGNED_NUMBER
    %import common.WS
    %ignore WS
"""


class ExpressionSyntaxError(ValueError):
    """An unparsable expression; ``column`` is 1-based, ``context`` shows a caret under it."""

    def __init__(self, message: str, text: str, column: int) -> None:
        super().__init__(message)
        self.text = text
        self.column = column
        self.context = f"{text}\n{' ' * max(column - 1, 0)}^"


@functools.lru_cache(maxsize=None)
def _parser(start: str):
    from lark import Lark

    return Lark(_GRAMMAR, start=start, parser="lalr", maybe_placeholders=False)


def has_placeholder(text: str) -> bool:
    """True when ``text`` holds at least one stand-in token."""
    return TOKEN_OPEN in text


def token(kind: str, *keys: str) -> str:
    """The placeholder token for a stand-in (``kind`` is arg, out or secret)."""
    return TOKEN_OPEN + kind + ":" + ":".join(keys) + TOKEN_CLOSE


def _placeholder_value(tree) -> Value:
    kind, *keys = [str(t) for t in tree.children]
    if (kind == "out") != (len(keys) == 2):
        raise ExpressionSyntaxError(f"malformed placeholder {kind}:{':'.join(keys)}", kind, 1)
    return _reference(kind, keys[0], keys[1] if len(keys) > 1 else None)


# The same token syntax as the grammar's ``placeholder`` rule, as one regex: splitting the
# (machine-written) tokens out of a string this way is ~50x faster than a lark parse, which
# matters at 100,000 steps. ``parse_template_with_grammar`` is the reference; a property test
# holds the two to the same answers.
_TOKEN_RE = re.compile(r"\{\{flowc:(arg|out|secret):([A-Za-z0-9_.\-]+)(?::([A-Za-z0-9_.\-]+))?\}\}")


def parse_template(text: str) -> Value:
    """A string with placeholder tokens → ``Concat`` (or the lone reference, or the string)."""
    if not has_placeholder(text):
        return text
    parts: list[Value] = []
    position = 0
    for match in _TOKEN_RE.finditer(text):
        if match.start() > position:
            parts.append(text[position:match.start()])
        kind, first, second = match.groups()
        if (kind == "out") != (second is not None):
            break
        parts.append(_reference(kind, first, second))
        position = match.end()
    else:
        if position < len(text):
            parts.append(text[position:])
        if TOKEN_OPEN not in "".join(p for p in parts if isinstance(p, str)):
            return _concat(parts)
    # Something token-like that is not a well-formed token: let the grammar say where.
    return parse_template_with_grammar(text)


def parse_template_with_grammar(text: str) -> Value:
    """:func:`parse_template` done by the lark grammar (the reference implementation)."""
    from lark.exceptions import LarkError

    try:
        tree = _parser("template").parse(text)
    except LarkError as exc:  # a malformed token, e.g. a hand-written "{{flowc:"
        raise ExpressionSyntaxError(f"malformed placeholder in {text!r}", text,
                                    getattr(exc, "column", 1) or 1) from None
    parts: list[Value] = []
    for child in tree.children:
        if isinstance(child, str):
            parts.append(str(child))
        else:
            parts.append(_placeholder_value(child))
    return _concat(parts)


def _concat(parts: list[Value]) -> Value:
    if len(parts) == 1 and not isinstance(parts[0], str):
        return parts[0]
    return Concat(tuple(parts))


def _reference(kind: str, first: str, second: str | None) -> Value:
    if kind == "arg":
        return ArgRef(first)
    if kind == "secret":
        return SecretRef(first)
    return OutputRef(first, second or "")


def parse_expression(text: str, resolve_name: Callable[[str], Value] | None = None) -> Value:
    """Parse a condition/stop-condition string into an IR value tree.

    ``resolve_name`` maps an identifier (``x`` or ``step.output``) to a value; by default every
    identifier becomes a :class:`~flowc.ir.Name`. It may raise ``KeyError`` for unknown names.
    """
    from lark import Token, Tree
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        tree = _parser("expr").parse(text)
    except UnexpectedInput as exc:
        column = getattr(exc, "column", 1) or 1
        if column < 0:  # unexpected end of input
            column = len(text) + 1
        raise ExpressionSyntaxError(f"cannot parse expression {text!r} at column {column}",
                                    text, column) from None
    except LarkError as exc:
        raise ExpressionSyntaxError(f"cannot parse expression {text!r}: {exc}", text, 1) from None

    resolve = resolve_name or Name

    def convert(node) -> Value:
        if isinstance(node, Token):
            raise ExpressionSyntaxError(f"unexpected token {node!s}", text, node.column or 1)
        rule = node.data
        kids = node.children
        if rule == "number":
            raw = str(kids[0])
            return float(raw) if any(c in raw for c in ".eE") else int(raw)
        if rule == "string":
            return _unquote(str(kids[0]))
        if rule == "true":
            return True
        if rule == "false":
            return False
        if rule == "none":
            return None
        if rule == "dotted_name":
            name = ".".join(str(k) for k in kids)
            try:
                return resolve(name)
            except KeyError as exc:
                column = kids[0].column or 1
                raise ExpressionSyntaxError(exc.args[0] if exc.args else f"unknown name {name!r}",
                                            text, column) from None
        if rule == "placeholder":
            return _placeholder_value(node)
        if rule == "not_":
            return Expr("not", (convert(kids[0]),))
        if rule == "comparison":
            left, op, right = kids
            return Expr(str(op), (convert(left), convert(right)))
        if rule in ("or_expr", "and_expr"):
            return Expr("or" if rule == "or_expr" else "and", tuple(convert(k) for k in kids))
        raise ExpressionSyntaxError(f"unsupported expression {rule}", text, 1)

    assert isinstance(tree, (Tree, Token))
    return convert(tree)


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    out = []
    chars = iter(body)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
        else:
            out.append(ch)
    return "".join(out)
