"""Strict JSON for everything the local engine prints or sends (RFC 8259: no NaN/Infinity).

Python's ``json`` writes ``NaN``/``Infinity`` for non-finite floats, which strict parsers (jq,
JavaScript, Go) reject. Such values become ``null``, as JavaScript's ``JSON.stringify`` does.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (in dicts, lists and tuples too) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dumps(value: Any, **options: Any) -> str:
    """``json.dumps`` that always yields strict JSON (non-finite floats as null)."""
    return json.dumps(finite(value), allow_nan=False, default=str, **options)
