"""A fast YAML writer that produces exactly what ``yaml.dump_all(..., sort_keys=True)`` writes
for a PipelineSpec, without building PyYAML's node graph for every scalar.

PyYAML's representer costs about 3 µs per node, which is most of the time at 10,000 steps.
The block structure of a spec (mappings, indentless sequences, ``{}``/``[]``) is simple and
written here directly; a scalar is written directly only when it is certainly a plain
scalar that PyYAML would not quote or fold. Every other scalar (and every unusual shape) is
rendered by PyYAML itself, in the same position (same indentation and column, so line
folding matches), and cached. Tests check byte equality against ``yaml.dump_all``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# Words PyYAML resolves to booleans/nulls (YAML 1.1) must be quoted; be conservative.
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none", "nan",
             "inf"}


def dump_all(documents: list[Any]) -> str:
    """``yaml.dump_all(documents, sort_keys=True)``, byte for byte."""
    out: list[str] = []
    for index, document in enumerate(documents):
        if index:
            out.append("---\n")
        if isinstance(document, dict) and document:
            _mapping(document, 0, out)
        else:
            out.append(_fallback_document(document))
    return "".join(out)


def _plain(value: str) -> bool:
    return bool(_PLAIN.match(value)) and value.lower() not in _RESERVED


def _scalar_inline(value: Any) -> str | None:
    """The text of a scalar that never depends on its position, or None."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(repr(value))  # by repr: 0.0 and -0.0 are equal keys
    if isinstance(value, str) and _plain(value):
        return value
    return None


@lru_cache(maxsize=4096)
def _float_text(text: str) -> str:
    import yaml

    return yaml.dump(float(text), Dumper=_dumper()).split("\n", 1)[0]


def _mapping(mapping: dict, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for key in sorted(mapping):
        value = mapping[key]
        if not isinstance(key, str) or not _KEY.match(key) or key.lower() in _RESERVED:
            out.append(_fallback_item(key, value, indent))
            continue
        if isinstance(value, dict):
            if value:
                out.append(f"{pad}{key}:\n")
                _mapping(value, indent + 2, out)
            else:
                out.append(f"{pad}{key}: {{}}\n")
        elif isinstance(value, list):
            if value:
                out.append(f"{pad}{key}:\n")
                _sequence(value, indent, out)
            else:
                out.append(f"{pad}{key}: []\n")
        else:
            text = _scalar_inline(value)
            if text is None:
                out.append(_fallback_item(key, value, indent))
            else:
                out.append(f"{pad}{key}: {text}\n")


def _sequence(items: list, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict) and item:
            inner: list[str] = []
            _mapping(item, indent + 2, inner)
            first = inner[0]
            inner[0] = pad + "- " + first[indent + 2:]
            out.extend(inner)
        elif isinstance(item, (dict, list)):
            out.append(_fallback_sequence_item(_freeze(item), indent))
        else:
            text = _scalar_inline(item)
            if text is None:
                out.append(_fallback_sequence_item(_freeze(item), indent))
            else:
                out.append(f"{pad}- {text}\n")


# ---------------------------------------------------------------------- PyYAML fallbacks


def _dumper():
    import yaml

    return getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = {"a": value}
    return value


def _fallback_item(key: Any, value: Any, indent: int) -> str:
    """``key: value`` at ``indent``, rendered by PyYAML inside wrapper mappings."""
    frozen = _freeze(value)
    try:
        return _cached_item(key, frozen, indent)
    except TypeError:  # unhashable key: render without the cache
        return _render_item(key, value, indent)


@lru_cache(maxsize=65536)
def _cached_item(key: Any, frozen: Any, indent: int) -> str:
    return _render_item(key, _thaw(frozen), indent)


def _render_item(key: Any, value: Any, indent: int) -> str:
    import yaml

    depth = indent // 2
    text = yaml.dump(_nest({key: value}, depth), Dumper=_dumper(), sort_keys=True)
    lines = text.splitlines(keepends=True)
    return "".join(lines[depth:])


@lru_cache(maxsize=65536)
def _fallback_sequence_item(frozen: Any, indent: int) -> str:
    """``- item`` at ``indent`` (an indentless sequence under a key at ``indent``)."""
    import yaml

    depth = indent // 2
    text = yaml.dump(_nest({"k": [_thaw(frozen)]}, depth), Dumper=_dumper(), sort_keys=True)
    lines = text.splitlines(keepends=True)
    return "".join(lines[depth + 1:])


def _fallback_document(document: Any) -> str:
    import yaml

    return yaml.dump(document, Dumper=_dumper(), sort_keys=True)


class _Frozen(tuple):
    """A hashable stand-in for a list or dict (tagged so they thaw back correctly)."""


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return _Frozen(("d",) + tuple((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return _Frozen(("l",) + tuple(_freeze(v) for v in value))
    # Tag scalars with their type (1, 1.0 and True are equal keys otherwise), floats by
    # repr (0.0 and -0.0 are equal keys otherwise).
    if isinstance(value, float):
        return _Frozen(("f", repr(value)))
    return _Frozen(("s", type(value).__name__, value))


def _thaw(value: Any) -> Any:
    if isinstance(value, _Frozen):
        if value[0] == "d":
            return {k: _thaw(v) for k, v in value[1:]}
        if value[0] == "l":
            return [_thaw(v) for v in value[1:]]
        if value[0] == "f":
            return float(value[1])
        return value[2]
    return value
