"""Secrets for a local run: where their values come from, and keeping them out of records.

Values come from the project's ``get_secret`` (environment ``FLOWC_SECRET_<KEY>``), the
``secrets`` mapping (a secrets file), or ``FLOWC_SECRET_<KEY>``. Every value handed out is
remembered, and :meth:`Secrets.redact` replaces it with ``***`` in anything recorded or shown:
results, errors, iteration tables, step logs.
"""

from __future__ import annotations

import os
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


def read_secrets_file(path: str) -> dict[str, str]:
    """``KEY=VALUE`` lines (``#`` comments, optional quotes); never logged or recorded."""
    from ...diagnostics import FlowcError

    values: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise FlowcError(f"{path}:{number}: expected KEY=VALUE", code="FC021",
                                 hint="one secret per line, e.g. TOKEN=abc")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            values[key.strip()] = value
    return values
