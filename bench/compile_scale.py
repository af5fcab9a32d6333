"""Compile-time scaling: flowc's KFP backend vs kfp's own compiler.

    python bench/compile_scale.py [--sizes 100,1000,3000,10000] [--kfp-max 3000] [--repeat 1]

Builds chain (s_i reads s_{i-1}'s output) and fan-out (every step reads s0's output)
workflows of N identical steps and compiles them (1) with flowc, from the IR to the YAML text,
including the strict protobuf check, and (2) with kfp: the same pipeline written with kfp's
DSL (one container component called N times, as a user would write it), timing the
``@dsl.pipeline`` decoration (kfp lowers there) plus ``Compiler().compile``. kfp runs only up
to ``--kfp-max`` steps (it grows super-linearly). Prints a table with the kfp/flowc ratio.
"""


import argparse
import gc
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "kfp"))


def flowc_time(shape: str, n: int, repeat: int) -> tuple[float, int]:
    import kfp_workflows as w
    from flowc.backends.kfp import compile_workflow

    workflow = w.chain(n, fan=shape == "fan")
    best, size = float("inf"), 0
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        text = compile_workflow(workflow, base_dir=w.FIXTURES)
        best = min(best, time.perf_counter() - start)
        size = len(text)
    return best, size


def kfp_time(shape: str, n: int, repeat: int) -> tuple[float, int]:
    from kfp import compiler, dsl

    @dsl.container_component
    def report(a: float, b: float, label: str, summary: dsl.OutputPath(str)):
        return dsl.ContainerSpec(image="python:3.11", command=["true"],
                                 args=[a, b, label, summary])

    def body():
        first = report(a=1.0, b=1.0, label="")
        previous = first
        for _ in range(1, n):
            source = first if shape == "fan" else previous
            previous = report(a=1.0, b=2.0, label=source.outputs["summary"])

    best, size = float("inf"), 0
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "p.yaml")
        for _ in range(repeat):
            gc.collect()
            start = time.perf_counter()
            pipeline = dsl.pipeline(name=f"{shape}-{n}")(body)
            compiler.Compiler().compile(pipeline, path)
            best = min(best, time.perf_counter() - start)
            size = os.path.getsize(path)
    return best, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,3000,10000")
    parser.add_argument("--kfp-max", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--shapes", default="chain,fan")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    import kfp  # noqa: F401  (import cost is not part of either measurement)
    import kfp_workflows  # noqa: F401

    print(f"{'shape':<6} {'steps':>6} {'flowc s':>9} {'flowc s/step':>13} {'kfp s':>9} "
          f"{'kfp/flowc':>10} {'flowc MB':>9} {'kfp MB':>7}")
    for shape in args.shapes.split(","):
        for n in sizes:
            ours, our_size = flowc_time(shape, n, args.repeat)
            row = (f"{shape:<6} {n:>6} {ours:>9.3f} {ours / n * 1e3:>10.3f} ms")
            if n <= args.kfp_max:
                theirs, their_size = kfp_time(shape, n, args.repeat)
                row += f" {theirs:>9.2f} {theirs / ours:>9.1f}x {our_size / 1e6:>9.2f}" \
                       f" {their_size / 1e6:>7.2f}"
            else:
                row += f" {'-':>9} {'-':>10} {our_size / 1e6:>9.2f} {'-':>7}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
