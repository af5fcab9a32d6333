"""Hyper-parameter runs: generate iterations, pick the best one, write ``iteration_results``."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import random
from typing import Any

from ...diagnostics import FlowcError

DEFAULT_RANDOM_ITERATIONS = 10


def generate(params: dict[str, Any], strategy: str, *, max_iterations: int | None = None,
             seed: str = "") -> list[dict[str, Any]]:
    """The parameter sets of each iteration, in order.

    ``grid``: every combination (first key varies slowest); ``list``: the i-th value of every
    list (all lists must have one length); ``random``: ``max_iterations`` (default 10) random
    picks, reproducible for the same ``seed``.
    """
    for key, values in params.items():
        if not isinstance(values, list) or not values:
            raise FlowcError(f"hyper-parameter {key!r} must be a non-empty list of candidates, "
                             f"got {values!r}", code="FC210")
    keys = list(params)
    if strategy == "grid":
        combos = [dict(zip(keys, values)) for values in itertools.product(*params.values())]
    elif strategy == "list":
        lengths = {k: len(v) for k, v in params.items()}
        if len(set(lengths.values())) > 1:
            raise FlowcError(f"strategy 'list' needs lists of equal length, got {lengths}",
                             code="FC211", hint="use strategy 'grid' for all combinations")
        combos = [dict(zip(keys, values)) for values in zip(*params.values())]
    elif strategy == "random":
        rng = random.Random(seed)
        count = max_iterations or DEFAULT_RANDOM_ITERATIONS
        combos = [{k: rng.choice(v) for k, v in params.items()} for _ in range(count)]
    else:
        raise FlowcError(f"unknown hyper-parameter strategy {strategy!r}", code="FC212",
                         hint="use grid, list or random")
    if max_iterations and strategy != "random":
        combos = combos[:max_iterations]
    return combos


def parse_selector(selector: str | None) -> tuple[str, str] | None:
    """``"max.accuracy"`` -> ``("max", "accuracy")``; a bare key means max; None -> None."""
    if not selector:
        return None
    head, sep, tail = selector.partition(".")
    if sep and head in ("max", "min"):
        return head, tail
    return "max", selector


def select_best(iterations: list[dict], selector: str | None) -> dict | None:
    """The best succeeded iteration by ``selector``; without one, the first that succeeded.

    Iterations lacking the selected result (or with a non-numeric one) never win.
    """
    ok = [it for it in iterations if it["state"] == "succeeded"]
    if not ok:
        return None
    parsed = parse_selector(selector)
    if parsed is None:
        return min(ok, key=lambda it: it["iteration"])
    direction, key = parsed
    scored = []
    for it in ok:
        value = it["results"].get(key)
        try:
            scored.append((float(value), it))
        except (TypeError, ValueError):
            continue
    if not scored:
        return None
    if direction == "max":
        return max(scored, key=lambda pair: (pair[0], -pair[1]["iteration"]))[1]
    return min(scored, key=lambda pair: (pair[0], pair[1]["iteration"]))[1]


def iteration_table(iterations: list[dict]) -> str:
    """CSV text: ``iter``, ``state``, ``param.<k>``..., ``output.<k>``..., ``error``.

    ``param.`` columns are the hyper-parameters (each iteration's ``hyper`` dict).
    """
    param_keys: dict[str, None] = {}
    result_keys: dict[str, None] = {}
    for it in iterations:
        param_keys.update(dict.fromkeys(it.get("hyper", it["params"])))
        result_keys.update(dict.fromkeys(k for k, v in it["results"].items()
                                         if isinstance(v, (int, float, str, bool)) or v is None))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["iter", "state", *(f"param.{k}" for k in param_keys),
                     *(f"output.{k}" for k in result_keys), "error"])
    for it in sorted(iterations, key=lambda i: i["iteration"]):
        writer.writerow([it["iteration"], it["state"],
                         *(_cell(it.get("hyper", it["params"]).get(k)) for k in param_keys),
                         *(_cell(it["results"].get(k)) for k in result_keys),
                         it.get("error") or ""])
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return "" if value is None else value


def write_table(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
