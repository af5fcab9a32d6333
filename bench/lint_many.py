"""Benchmark ``flowc lint`` on many generated workflows, next to ``kfp dsl compile``.

    python bench/lint_many.py [--files 500] [--steps 20] [--kfp-files 5]

Prints: the total and per-file time of one ``flowc lint DIR`` process over all files, the
median whole-process time of ``flowc lint ONE_FILE``, the bare interpreter start-up for
reference, and the whole-process time of ``kfp dsl compile`` on equivalent kfp pipelines
(a sample of ``--kfp-files`` files, extrapolated to all of them).
Targets on a 2-core machine: all files < 10 s, one file < 0.4 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HANDLERS = '''
def prep(context, rows: int = 10, source: str = "s3://bucket/raw.csv"):
    context.log_dataset("data", None)


def train(context, data, lr: float = 0.1, epochs: int = 3):
    context.log_result("accuracy", 0.9)
    context.log_model("model", None)
'''

PROJECT = """kind: project
metadata: {name: bench}
spec:
  params: {label: label}
  functions:
  - {url: handlers.py, name: prep, image: "python:3.11", handler: prep}
  - {url: handlers.py, name: train, image: "python:3.11", handler: train}
"""


def flowc_workflow(index: int, steps: int) -> str:
    lines = ["import mlrun", "from kfp import dsl", "", "",
             f'@dsl.pipeline(name="bench-{index}")', "def pipeline(rows: int = 10):"]
    lines.append('    s0 = mlrun.run_function("prep", name="s0", params={"rows": rows})')
    for i in range(1, steps):
        source = f"s{(i - 1) // 2}"  # a binary tree: fan-out with data flow
        outputs = ', outputs=["data"]' if i == steps - 1 else ""
        lines.append(f'    s{i} = mlrun.run_function("prep", name="s{i}", params={{"rows": {i}}}'
                     f'{outputs}).after({source})')
    lines.append(f'    mlrun.run_function("train", name="fit", params={{"lr": 0.1}}, '
                 f'inputs={{"data": s{steps - 1}.outputs["data"]}}, outputs=["model"])')
    return "\n".join(lines) + "\n"


def kfp_pipeline(index: int, steps: int) -> str:
    lines = ["from kfp import dsl", "", "",
             "@dsl.container_component",
             "def prep(rows: int, data: dsl.Output[dsl.Dataset]):",
             "    return dsl.ContainerSpec(image='python:3.11', command=['prep'], "
             "args=[rows, data.path])", "", "",
             "@dsl.container_component",
             "def train(lr: float, data: dsl.Input[dsl.Dataset], model: dsl.Output[dsl.Model]):",
             "    return dsl.ContainerSpec(image='python:3.11', command=['train'], "
             "args=[lr, data.path, model.path])", "", "",
             f"@dsl.pipeline(name='bench-{index}')", "def pipeline(rows: int = 10):",
             "    s0 = prep(rows=rows)"]
    for i in range(1, steps):
        lines.append(f"    s{i} = prep(rows={i}).after(s{(i - 1) // 2})")
    lines.append(f"    train(lr=0.1, data=s{steps - 1}.outputs['data'])")
    return "\n".join(lines) + "\n"


def timed(cmd: list[str], cwd: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--kfp-files", type=int, default=5,
                        help="kfp dsl compile runs (each a whole process); 0 to skip")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the one-file timing")
    opts = parser.parse_args()

    root = tempfile.mkdtemp(prefix="flowc-lint-bench-")
    try:
        flows = os.path.join(root, "flows")
        os.makedirs(flows)
        with open(os.path.join(flows, "project.yaml"), "w") as handle:
            handle.write(PROJECT)
        with open(os.path.join(flows, "handlers.py"), "w") as handle:
            handle.write(HANDLERS)
        for i in range(opts.files):
            with open(os.path.join(flows, f"wf_{i:04d}.py"), "w") as handle:
                handle.write(flowc_workflow(i, opts.steps))
        flowc = [sys.executable, "-m", "flowc.cli"]

        bare = statistics.median(timed([sys.executable, "-c", "pass"], root)[0]
                                 for _ in range(opts.repeat))
        total, proc = timed([*flowc, "lint", "--exit-zero", "--statistics", "flows"], root)
        if proc.returncode != 0:
            sys.exit(f"flowc lint failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        findings = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        one = statistics.median(
            timed([*flowc, "lint", "--exit-zero", "flows/wf_0000.py"], root)[0]
            for _ in range(opts.repeat))

        print(f"workflows: {opts.files} files x {opts.steps + 1} steps")
        print(f"python -c pass (start-up baseline):  {bare:7.3f} s")
        print(f"flowc lint, all files, one process:  {total:7.3f} s "
              f"({1000 * total / opts.files:.1f} ms per file)  target < 10 s")
        print(f"flowc lint, one file, whole process: {one:7.3f} s (median of {opts.repeat})  "
              "target < 0.4 s")
        print(f"  last line of the run: {findings}")

        if opts.kfp_files and shutil.which("kfp"):
            kfp_dir = os.path.join(root, "kfp")
            os.makedirs(kfp_dir)
            times = []
            for i in range(opts.kfp_files):
                path = os.path.join(kfp_dir, f"p_{i:04d}.py")
                with open(path, "w") as handle:
                    handle.write(kfp_pipeline(i, opts.steps))
                elapsed, proc = timed(["kfp", "dsl", "compile", "--py", path, "--output",
                                       path[:-3] + ".yaml"], kfp_dir)
                if proc.returncode != 0:
                    sys.exit(f"kfp dsl compile failed:\n{proc.stderr[-2000:]}")
                times.append(elapsed)
            per = statistics.median(times)
            print(f"kfp dsl compile, one file, whole process: {per:7.3f} s "
                  f"(median of {len(times)}); x{opts.files} files = {per * opts.files:7.1f} s "
                  "(extrapolated)")
        elif opts.kfp_files:
            print("kfp dsl compile: `kfp` command not found, skipped")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
