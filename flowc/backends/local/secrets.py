"""Secrets for a local run: where their values come from, and keeping them out of records.

Values come from the project's ``get_secret`` (environment ``FLOWC_SECRET_<KEY>``), the
``secrets`` mapping (a secrets file), or ``FLOWC_SECRET_<KEY>``. Every value handed out is
remembered, and :meth:`Secrets.redact` replaces it with ``***`` in anything recorded or shown:
results, errors, iteration tables, step logs.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable

from ...evaluate import EvaluationError

MASK = "***"
MIN_REDACTED_LENGTH = 4  # shorter values would mask ordinary text


def env_key(key: str) -> str:
    return "FLOWC_SECRET_" + key.upper().replace("-", "_").replace(".", "_")


class Secrets:
    """A ``key -> value`` lookup (for ``evaluate(secrets=...)``) that remembers what it gave."""

    def __init__(self, lookup: Callable[[str], Any] | None = None,
                 values: dict[str, str] | None = None) -> None:
        self._lookup = lookup
        self._values = dict(values or {})
        self._used: set[str] = set()

    def __call__(self, key: str) -> Any:
        value = self._find(key)
        if isinstance(value, str) and len(value) >= MIN_REDACTED_LENGTH:
            self._used.add(value)
        return value

    def _find(self, key: str) -> Any:
        if self._lookup is not None:
            value = self._lookup(key)
            if value is not None:
                return value
        if key in self._values:
            return self._values[key]
        if env_key(key) in os.environ:
            return os.environ[env_key(key)]
        raise EvaluationError(f"secret {key!r} is not set (set the environment variable "
                              f"{env_key(key)} or add it to the secrets file)")

    def redact(self, value: Any) -> Any:
        """``value`` (text, or dicts/lists of it) with every secret handed out so far masked."""
        if not self._used or value is None:
            return value
        if isinstance(value, str):
            for secret in self._used:
                value = value.replace(secret, MASK)
            return value
        if isinstance(value, dict):
            return {k: self.redact(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact(v) for v in value]
        return value

    def redact_file(self, path: str) -> None:
        """Rewrite a text file (a step log) without secret values, atomically."""
        if not self._used or not os.path.exists(path):
            return
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        clean = self.redact(text)
        if clean != text:
            tmp = f"{path}.redact"
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(clean)
            os.replace(tmp, path)


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def read_secrets_file(path: str) -> dict[str, str]:
    """Secrets from a dotenv-style file; never logged or recorded.

    One ``KEY=VALUE`` a line, optionally prefixed with ``export``; ``#`` starts a comment
    line or (after a space) an inline comment of an unquoted value; values may be quoted:
    ``'...'`` literally, ``"..."`` with ``\\"``, ``\\\\``, ``\\n``, ``\\t`` escapes.
    """
    from ...diagnostics import FlowcError, Location

    values: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                parsed = _parse_line(line)
            except ValueError as exc:
                raise FlowcError(str(exc), code="FC021",
                                 location=Location(file=path, line=number),
                                 hint="one secret per line, e.g. TOKEN=abc or "
                                      "export TOKEN=\"abc\"") from None
            if parsed is not None:
                values[parsed[0]] = parsed[1]
    return values


def _parse_line(line: str) -> tuple[str, str] | None:
    """``(key, value)`` of one dotenv line, None for a blank or comment line."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if text.startswith("export") and text[6:7].isspace():
        text = text[6:].lstrip()
    key, sep, rest = text.partition("=")
    key = key.strip()
    if not sep or not _KEY.fullmatch(key):
        raise ValueError("expected KEY=VALUE")
    rest = rest.strip()
    if rest[:1] in ("'", '"'):
        value, after = _quoted(rest)
        if after.strip() and not after.strip().startswith("#"):
            raise ValueError(f"unexpected text after the quoted value of {key}")
        return key, value
    comment = re.search(r"\s#", rest)
    return key, (rest[:comment.start()] if comment else rest).strip()


def _quoted(text: str) -> tuple[str, str]:
    """The value of a quoted string at the start of ``text`` and the text after it."""
    quote, out, i = text[0], [], 1
    while i < len(text):
        char = text[i]
        if char == quote:
            return "".join(out), text[i + 1:]
        if char == "\\" and quote == '"' and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(char)
        i += 1
    raise ValueError(f"unterminated {quote} quote (values are one line)")
