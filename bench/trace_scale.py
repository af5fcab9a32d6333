"""Trace + IR-build time for generated workflows of 1,000 / 10,000 / 100,000 steps.

Each workflow is a generated Python file (as a user would write it, one DSL call per line):
a chain in which every step reads the previous step's output, with every tenth step also
ordered with ``.after()`` on the step ten back, plus a fan-in of ten outputs every 100 steps.
Phases: ``load`` (compile + run the module body), ``trace`` (call the function with stand-ins,
freeze the IR), ``json`` (dump the IR document). With ``--kfp`` it also times kfp's own
``@dsl.pipeline`` tracing of an equivalent chain (1,000 steps takes several seconds).

    python bench/trace_scale.py [--sizes 1000 10000 100000] [--kfp]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def generate(n: int) -> str:
    lines = ["import flowc as fc", "", "", "def pipeline(lr: float = 0.1):",
             "    s0 = fc.run_function('step', params={'lr': lr}, outputs=['out'])"]
    for i in range(1, n):
        extra = ""
        if i % 100 == 0 and i >= 10:
            fan = ", ".join(f"'in{k}': s{i - k}.outputs['out']" for k in range(1, 11))
            lines.append(f"    s{i} = fc.run_function('step', inputs={{{fan}}}, outputs=['out'])")
            continue
        if i % 10 == 0:
            extra = f".after(s{i - 10})"
        lines.append(f"    s{i} = fc.run_function('step', params={{'i': {i}, 'tag': f'{{lr}}-{i}'}}, "
                     f"inputs={{'x': s{i - 1}.outputs['out']}}, outputs=['out']){extra}")
    return "\n".join(lines) + "\n"


def bench_flowc(n: int, folder: str) -> dict:
    from flowc.compiler import loader, tracer

    path = os.path.join(folder, f"chain_{n}.py")
    with open(path, "w") as handle:
        handle.write(generate(n))
    t0 = time.perf_counter()
    module = loader._execute(path, None, None)
    fn, _ = loader._find_handler(module, None, path)
    t1 = time.perf_counter()
    result = tracer.trace_function(fn, base_dir=folder)
    t2 = time.perf_counter()
    text = result.workflow.dumps()
    t3 = time.perf_counter()
    assert len(result.workflow.steps) == n
    return {"n": n, "load": t1 - t0, "trace": t2 - t1, "json": t3 - t2, "bytes": len(text)}


def bench_kfp(n: int) -> float:
    from kfp import dsl

    @dsl.component(base_image="python:3.11")
    def step(x: str) -> str:
        return x

    def body():
        prev = step(x="0")
        for _ in range(1, n):
            prev = step(x=prev.output)

    t0 = time.perf_counter()
    dsl.pipeline(name=f"chain-{n}")(body)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--kfp", action="store_true", help="also time kfp's tracing (slow)")
    options = parser.parse_args()
    sys.setrecursionlimit(10000)
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'steps':>8} {'load s':>8} {'trace s':>8} {'µs/step':>8} {'json s':>8} "
              f"{'IR MB':>7}")
        previous = None
        for n in options.sizes:
            row = bench_flowc(n, folder)
            per_step = row["trace"] / n * 1e6
            print(f"{n:>8} {row['load']:>8.3f} {row['trace']:>8.3f} {per_step:>8.1f} "
                  f"{row['json']:>8.3f} {row['bytes'] / 1e6:>7.1f}")
            if previous:
                growth = row["trace"] / previous["trace"]
                print(f"{'':>8} trace time x{growth:.1f} for x{n / previous['n']:.0f} steps")
            previous = row
    if options.kfp:
        for n in (100, 1000):
            seconds = bench_kfp(n)
            print(f"kfp @dsl.pipeline tracing of a {n}-step chain: {seconds:.2f} s")


if __name__ == "__main__":
    main()
