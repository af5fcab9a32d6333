"""Lint configuration: ``[tool.flowc.lint]`` in pyproject.toml merged with CLI options.

Selection works on code prefixes (``FC1`` = all graph rules, ``FC`` or ``ALL`` = everything).
When several prefixes match a code, the longest wins; on a tie ``ignore`` wins (as in ruff).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field

from ..diagnostics import FlowcError, Location, Severity

SEVERITY_NAMES = ("info", "warning", "error")
FORMATS = ("text", "json", "github", "sarif")
DEFAULT_EXCLUDE = (".git", ".hg", ".venv", "venv", ".tox", ".nox", "__pycache__", "node_modules",
                   "build", "dist", ".eggs", "*.egg-info", ".mypy_cache", ".pytest_cache",
                   ".ruff_cache")
_KEYS = {"select", "ignore", "extend-select", "extend-ignore", "per-file-ignores", "exclude",
         "extend-exclude", "fail-on", "format"}


class ConfigError(FlowcError):
    """pyproject.toml's ``[tool.flowc.lint]`` table is invalid."""


@dataclass(slots=True)
class LintConfig:
    """Effective settings for one lint run."""

    select: list[str] = field(default_factory=lambda: ["FC"])
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    fail_on: str = "warning"
    format: str = "text"
    root: str = field(default_factory=os.getcwd)  # folder of pyproject.toml, or cwd
    config_file: str | None = None

    def is_selected(self, code: str) -> bool:
        """True when ``code`` is enabled by select/extend-select and not ignored."""
        best_len, enabled = -1, False
        for prefix in [*self.select, *self.extend_select]:
            n = _match_len(prefix, code)
            if n > best_len:
                best_len, enabled = n, True
        for prefix in self.ignore:
            n = _match_len(prefix, code)
            if n >= best_len and n >= 0:
                best_len, enabled = n, False
        return enabled

    def ignored_for_file(self, path: str) -> list[str]:
        """Code prefixes that ``per-file-ignores`` switches off for ``path``."""
        rel = _posix(os.path.relpath(os.path.abspath(path), self.root))
        result: list[str] = []
        for pattern, codes in self.per_file_ignores.items():
            if _glob_match(rel, pattern):
                result.extend(codes)
        return result

    def is_excluded(self, path: str) -> bool:
        """True when ``path`` (or one of its folders) matches an ``exclude`` pattern."""
        rel = _posix(os.path.relpath(os.path.abspath(path), self.root))
        parts = rel.split("/")
        for pattern in self.exclude:
            if _glob_match(rel, pattern):
                return True
            if "/" not in pattern.strip("/") and any(fnmatch.fnmatchcase(p, pattern.strip("/"))
                                                     for p in parts):
                return True
        return False

    @property
    def fail_rank(self) -> int:
        return Severity(self.fail_on).rank


def _match_len(prefix: str, code: str) -> int:
    prefix = prefix.strip().upper()
    if prefix == "ALL":
        return 0
    return len(prefix) if code.startswith(prefix) else -1


def _posix(path: str) -> str:
    return path.replace(os.sep, "/")


def _glob_match(rel: str, pattern: str) -> bool:
    pattern = _posix(pattern).removeprefix("./")
    if fnmatch.fnmatchcase(rel, pattern):
        return True
    # "dir/" or "dir" matches everything below it; "**/x" also matches "x" at the top.
    stripped = pattern.rstrip("/")
    if rel.startswith(stripped + "/"):
        return True
    if pattern.startswith("**/") and fnmatch.fnmatchcase(rel, pattern[3:]):
        return True
    return False


def find_pyproject(start: str) -> str | None:
    """The nearest pyproject.toml at or above ``start`` that has a ``[tool.flowc]`` table,
    else the nearest pyproject.toml at all."""
    directory = os.path.abspath(start if os.path.isdir(start) else os.path.dirname(start) or ".")
    first = None
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate):
            first = first or candidate
            with open(candidate, "rb") as handle:
                if b"[tool.flowc" in handle.read():
                    return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return first
        directory = parent


def load_config(path: str | None = None, *, start: str | None = None) -> LintConfig:
    """Read ``[tool.flowc.lint]`` from ``path`` (or the nearest pyproject.toml above ``start``)."""
    if path is None:
        path = find_pyproject(start or os.getcwd())
    if path is None:
        return LintConfig()
    import tomllib

    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", code="FC902") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", code="FC902",
                          location=Location(file=path)) from None
    table = data.get("tool", {}).get("flowc", {}).get("lint", {})
    config = LintConfig(root=os.path.dirname(os.path.abspath(path)), config_file=path)
    return apply_table(config, table, source=path)


def apply_table(config: LintConfig, table: dict, *, source: str) -> LintConfig:
    """Apply one ``[tool.flowc.lint]`` table to ``config`` (validating every key)."""
    where = Location(file=source)

    def fail(message: str) -> ConfigError:
        return ConfigError(f"[tool.flowc.lint] {message}", code="FC902", location=where,
                           hint="see `flowc lint --help` and docs/lint.md for the options")

    if not isinstance(table, dict):
        raise fail("must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise fail(f"unknown key(s): {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")

    def code_list(key: str) -> list[str]:
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(f"`{key}` must be a list of rule codes")
        for code in value:
            check_code_prefix(code, lambda m: fail(f"`{key}`: {m}"))
        return list(value)

    if "select" in table:
        config.select = code_list("select")
    if "extend-select" in table:
        config.extend_select = code_list("extend-select")
    if "ignore" in table:
        config.ignore = code_list("ignore")
    if "extend-ignore" in table:
        config.ignore = [*config.ignore, *code_list("extend-ignore")]
    if "exclude" in table or "extend-exclude" in table:
        for key in ("exclude", "extend-exclude"):
            value = table.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise fail(f"`{key}` must be a list of glob patterns")
        if "exclude" in table:
            config.exclude = list(table["exclude"])
        config.exclude = [*config.exclude, *table.get("extend-exclude", [])]
    if "per-file-ignores" in table:
        value = table["per-file-ignores"]
        if not isinstance(value, dict):
            raise fail("`per-file-ignores` must be a table of glob = [codes]")
        for pattern, codes in value.items():
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise fail(f"`per-file-ignores` entry {pattern!r} must be a list of codes")
            for code in codes:
                check_code_prefix(code, lambda m: fail(f"`per-file-ignores`: {m}"))
        config.per_file_ignores = {k: list(v) for k, v in value.items()}
    if "fail-on" in table:
        if table["fail-on"] not in SEVERITY_NAMES:
            raise fail(f"`fail-on` must be one of {', '.join(SEVERITY_NAMES)}")
        config.fail_on = table["fail-on"]
    if "format" in table:
        if table["format"] not in FORMATS:
            raise fail(f"`format` must be one of {', '.join(FORMATS)}")
        config.format = table["format"]
    return config


def check_code_prefix(code: str, error) -> None:
    """Raise ``error(message)`` unless ``code`` is ``ALL`` or a prefix of some rule code."""
    upper = code.strip().upper()
    if upper == "ALL":
        return
    from .catalog import RULES

    if upper.startswith("FC0") and upper[:5] == upper and len(upper) <= 5 and upper[2:].isdigit():
        return  # loader codes
    if not any(c.startswith(upper) for c in RULES) and upper not in ("FC",):
        raise error(f"{code!r} matches no rule code (see `flowc rules`)")
