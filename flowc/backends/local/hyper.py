"""Hyper-parameter runs: generate iterations, pick the best one, write ``iteration_results``."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import random
from dataclasses import dataclass, field
from typing import Any

from ... import ir
from ...diagnostics import FlowcError
from ...evaluate import EvaluationError, evaluate

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
                             f"got {values!r}", code="FC207")
    keys = list(params)
    if strategy == "grid":
        combos = [dict(zip(keys, values)) for values in itertools.product(*params.values())]
    elif strategy == "list":
        lengths = {k: len(v) for k, v in params.items()}
        if len(set(lengths.values())) > 1:
            raise FlowcError(f"strategy 'list' needs lists of equal length, got {lengths}",
                             code="FC207", hint="use strategy 'grid' for all combinations")
        combos = [dict(zip(keys, values)) for values in zip(*params.values())]
    elif strategy == "random":
        rng = random.Random(seed)
        count = max_iterations or DEFAULT_RANDOM_ITERATIONS
        combos = [{k: rng.choice(v) for k, v in params.items()} for _ in range(count)]
    else:
        raise FlowcError(f"unknown hyper-parameter strategy {strategy!r}", code="FC207",
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


@dataclass
class HyperRun:
    """The iterations of one hyper-parameter step: what starts next, when to stop, the best.

    Pure bookkeeping; the executor launches the iterations and records them.
    """

    combos: list[dict[str, Any]]
    selector: str | None = None
    stop_condition: ir.Value = None
    max_errors: int | None = None
    parallel: int = 1
    arguments: dict[str, Any] = field(default_factory=dict)
    next_index: int = 0
    running: int = 0
    stopped: str | None = None
    iterations: list[dict] = field(default_factory=list)
    reused: set[int] = field(default_factory=set)

    def exhausted(self) -> bool:
        """No iteration is left to start (all started, or stopped early)."""
        return self.stopped is not None or self.next_index >= len(self.combos)

    def take_next(self) -> tuple[int, dict[str, Any]] | None:
        """The next iteration to start (1-based number, its hyper-parameters), if allowed now."""
        while not self.exhausted() and self.running < self.parallel:
            self.next_index += 1
            if self.next_index in self.reused:
                continue
            self.running += 1
            return self.next_index, self.combos[self.next_index - 1]
        return None

    def reuse(self, recorded: list[dict]) -> None:
        """Count iterations that succeeded in an earlier attempt (``--resume``) as done.

        An entry is reused only if its recorded params hold the same hyper-parameters.
        """
        for entry in sorted(recorded, key=lambda e: e["iteration"]):
            number = entry["iteration"]
            if entry["state"] != "succeeded" or not 1 <= number <= len(self.combos):
                continue
            combo = self.combos[number - 1]
            if any(entry["params"].get(k) != v for k, v in combo.items()):
                continue
            self.reused.add(number)
            self.running += 1  # record() counts it back down
            self.record(number, combo, entry["params"], state="succeeded",
                        results=entry["results"], artifacts=entry["artifacts"])

    def stop(self, why: str) -> None:
        self.stopped = self.stopped or why

    def finished(self) -> bool:
        return self.running == 0 and self.exhausted()

    def record(self, iteration: int, hyper: dict, params: dict, *, state: str,
               results: dict | None = None, artifacts: dict | None = None,
               error: str | None = None) -> dict:
        """Note an iteration's end; applies ``stop_condition`` and ``max_errors``."""
        self.running -= 1
        entry = {"iteration": iteration, "state": state, "params": params, "hyper": hyper,
                 "results": dict(results or {}), "artifacts": dict(artifacts or {}),
                 "error": error}
        if state == "failed":
            failures = sum(1 for it in self.iterations if it["state"] == "failed") + 1
            if self.max_errors is not None and failures >= self.max_errors:
                self.stop(f"max_errors ({self.max_errors}) reached")
        elif state == "succeeded" and self.stop_condition is not None and self.stopped is None:
            try:
                if evaluate(self.stop_condition, args=self.arguments, names=entry["results"]):
                    self.stop(f"stop condition met at iteration {iteration}")
            except EvaluationError as exc:
                entry["error"] = f"stop_condition not evaluated: {exc}"
        self.iterations.append(entry)
        return entry

    def outcome(self) -> tuple[dict | None, str]:
        """``(best iteration, reason)`` when the step succeeds, ``(None, error)`` when not."""
        failed = [it for it in self.iterations if it["state"] == "failed"]
        best = select_best(self.iterations, self.selector)
        too_many = self.max_errors is not None and len(failed) >= self.max_errors
        if best is None or too_many:
            if too_many:
                why = f"{len(failed)} iteration(s) failed (max_errors {self.max_errors})"
            elif not any(it["state"] == "succeeded" for it in self.iterations):
                why = "no iteration succeeded"
            else:
                why = f"no iteration has a numeric {self.selector!r} result"
            first_error = next((it["error"] for it in failed if it["error"]), None)
            return None, why + (f"; first error: {first_error}" if first_error else "")
        reason = f"best iteration {best['iteration']} of {len(self.iterations)}"
        return best, reason + (f"; {self.stopped}" if self.stopped else "")
