"""Per-step overhead of flowc's local engine vs kfp.local, and parallel sleeps.

Runs, in one process:

* a chain of N no-op steps and a fan-out of N independent no-op steps through flowc's
  executor: with the fork server (each step its own process), with a fresh interpreter per
  step (``python -m flowc.runtime exec``, fewer steps: it is slow) and in-process;
* the same two pipelines through ``kfp.local`` with ``SubprocessRunner(use_venv=False)`` and
  ``@dsl.component(install_kfp_package=False)`` (its fastest setting);
* 16 steps that each sleep 0.5 s under ``max_parallel=16``.

Prints wall times, per-step overhead (wall / N, since the steps do nothing) and the ratio.
Usage: ``python bench/local_overhead.py [--steps 100] [--skip-kfp]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from kfp import dsl

HANDLERS = """
import time


def noop():
    pass


def nap(seconds: float = 0.5):
    time.sleep(seconds)
"""


@dsl.component(install_kfp_package=False, base_image="python:3.11")
def kfp_noop():
    pass


def flowc_workflow(n: int, shape: str, handler: str = "noop", params: dict | None = None):
    from flowc import ir

    fn = ir.FunctionRef(name="steps", url="steps.py", handler=handler)
    steps = []
    for i in range(n):
        after = (f"s{i - 1}",) if shape == "chain" and i else ()
        steps.append(ir.Step(name=f"s{i}", kind="run", function=fn, params=dict(params or {}),
                             after=after))
    return ir.Workflow(name=f"{shape}-{n}", steps=tuple(steps))


def run_flowc(folder: str, workflow, launcher: str, max_parallel: int,
              window: list | None = None) -> float:
    """Wall time of ``Executor.run()`` (fork server start included); ``window`` gets the
    span from the first step's start to the last step's end."""
    from flowc.backends.local.executor import Executor, RunOptions

    executor = Executor(workflow, arguments={}, base_dir=folder,
                        options=RunOptions(launcher=launcher, max_parallel=max_parallel))
    start = time.perf_counter()
    record = executor.run()
    wall = time.perf_counter() - start
    bad = [s.name for s in record.steps if s.state != "succeeded"]
    if bad:
        raise SystemExit(f"flowc run {record.run_id} failed steps: {bad[:5]}")
    if window is not None:
        window.append(max(s.ended for s in record.steps) - min(s.started for s in record.steps))
    return wall


SLEEPS_WORKFLOW = """
import flowc as fc


def pipeline():
    for i in range(16):
        fc.run_function("steps.py", handler="nap", name=f"s{i}", params={"seconds": 0.5})
"""


def run_cli_sleeps(folder: str) -> float:
    """``flowc run`` of 16 parallel sleeps; the run's own duration from its JSON events."""
    import json
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "flowc.cli", "run", "sleeps.py",
                           "--max-parallel", "16", "--progress", "json"], cwd=folder,
                          capture_output=True, text=True, check=True)
    finished = [json.loads(line) for line in proc.stdout.splitlines()][-1]
    assert finished["event"] == "RunFinished" and finished["state"] == "succeeded", finished
    return finished["duration"]


def run_kfp(n: int, shape: str) -> float:
    from kfp import local

    local.init(runner=local.SubprocessRunner(use_venv=False),
               pipeline_root=tempfile.mkdtemp(prefix="kfp-bench-"))

    @dsl.pipeline(name=f"{shape}-{n}")
    def pipeline():
        previous = None
        for _ in range(n):
            task = kfp_noop()
            if shape == "chain" and previous is not None:
                task.after(previous)
            previous = task

    start = time.perf_counter()
    pipeline()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--fresh-steps", type=int, default=20,
                        help="steps for the fresh-interpreter launcher (slow)")
    parser.add_argument("--skip-kfp", action="store_true")
    args = parser.parse_args()
    n = args.steps
    cpus = os.cpu_count() or 2
    folder = tempfile.mkdtemp(prefix="flowc-bench-")
    with open(os.path.join(folder, "steps.py"), "w", encoding="utf-8") as handle:
        handle.write(HANDLERS)

    rows = []
    for shape in ("chain", "fanout"):
        wall = run_flowc(folder, flowc_workflow(n, shape), "forkserver", cpus)
        rows.append((f"flowc fork server ({shape}, {n})", wall, n))
        wall = run_flowc(folder, flowc_workflow(n, shape), "in-process", cpus)
        rows.append((f"flowc in-process ({shape}, {n})", wall, n))
    m = args.fresh_steps
    wall = run_flowc(folder, flowc_workflow(m, "chain"), "subprocess", cpus)
    rows.append((f"flowc fresh interpreter (chain, {m})", wall, m))
    kfp_rows = []
    if not args.skip_kfp:
        import logging

        logging.disable(logging.INFO)  # kfp.local logs every task; keep the table readable
        devnull = open(os.devnull, "w")  # noqa: SIM115
        saved = sys.stdout
        for shape in ("chain", "fanout"):
            sys.stdout = devnull
            try:
                wall = run_kfp(n, shape)
            finally:
                sys.stdout = saved
            kfp_rows.append((f"kfp.local SubprocessRunner ({shape}, {n})", wall, n))
        rows.extend(kfp_rows)

    print(f"{'pipeline':<44} {'wall s':>8} {'per step ms':>12}")
    for label, wall, count in rows:
        print(f"{label:<44} {wall:8.3f} {wall / count * 1000:12.2f}")
    if kfp_rows:
        for shape, index in (("chain", 0), ("fanout", 2)):
            flowc_per = rows[index][1] / n
            kfp_per = [r for r in kfp_rows if shape in r[0]][0][1] / n
            print(f"ratio kfp.local / flowc fork server ({shape}): {kfp_per / flowc_per:.1f}x")

    sleeps = flowc_workflow(16, "fanout", handler="nap", params={"seconds": 0.5})
    for attempt in range(3):
        window: list = []
        wall = run_flowc(folder, sleeps, "forkserver", 16, window)
        verdict = "ok" if wall <= 0.6 else "over"
        print(f"16 parallel 0.5 s sleeps, max_parallel=16, try {attempt + 1}: "
              f"run {wall:.3f} s incl. fork server start ({verdict} vs 0.600 s); "
              f"first step start -> last step end {window[0]:.3f} s")
    with open(os.path.join(folder, "sleeps.py"), "w", encoding="utf-8") as handle:
        handle.write(SLEEPS_WORKFLOW)
    for attempt in range(3):
        duration = run_cli_sleeps(folder)
        verdict = "ok" if duration <= 0.6 else "over"
        print(f"flowc run sleeps.py --max-parallel 16, try {attempt + 1}: run {duration:.3f} s "
              f"({verdict} vs 0.600 s; the CLI starts the fork server while tracing)")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {cpus} CPUs (numbers above are wall times on a shared machine)")


if __name__ == "__main__":
    main()
