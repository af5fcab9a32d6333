import json
import sqlite3
import textwrap

import pytest

from flowc.backends.local.api import run_loaded
from flowc.backends.local.executor import RunOptions
from flowc.compiler.loader import load_workflow

HANDLERS = '''
import os
import time


def add(context, x: int, y: int = 1):
    context.log_result("sum", x + y)


def write(context, text: str):
    context.log_artifact("out", body=text)


def read(context, data):
    context.log_result("n", len(open(data.local()).read()))


def concat(a, b):
    return {"joined": f"{a}+{b}"}


def boom(msg: str = "bad thing"):
    raise ValueError(msg)


def nap(context, seconds: float = 0.2, tag: str = ""):
    with open(f"nap-{tag}.pid", "w") as handle:  # cwd is the project folder
        handle.write(str(os.getpid()))
    time.sleep(seconds)
    context.log_result("tag", tag)
    context.log_result("t", time.time())


def score(context, p: int):
    if p < 0:
        raise RuntimeError(f"negative {p}")
    context.log_result("score", p * 10)
    context.log_artifact("model", body=f"model-{p}")


def show_secret(context, token: str):
    context.log_result("length", len(token))
    print("token ends with", token[-2:])


def say(context, word: str = "hi"):
    print(f"saying {word}")
    context.log_result("word", word)
'''


@pytest.fixture
def project(tmp_path):
    """A project folder with ``steps.py``; ``project.flow(text)`` writes and loads a workflow."""

    class Project:
        dir = str(tmp_path)

        def write(self, name, text):
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
            return str(path)

        def load(self, text, name="flow.py", **arguments):
            path = self.write(name, "import flowc as fc\n" + textwrap.dedent(text))
            return load_workflow(path, arguments=arguments)

        def run(self, text, *, arguments=None, progress="quiet", **options):
            loaded = self.load(text, **(arguments or {}))
            return run_loaded(loaded, options=RunOptions(**options), progress=progress)

        def db(self):
            conn = sqlite3.connect(str(tmp_path / ".flowc" / "runs.db"))
            conn.row_factory = sqlite3.Row
            return conn

        def step_rows(self, run_id):
            with self.db() as conn:
                rows = conn.execute("SELECT * FROM steps WHERE run_id=?", (run_id,)).fetchall()
            return {r["name"]: {**dict(r), "results": json.loads(r["results"]),
                                "outputs": json.loads(r["outputs"]),
                                "params": json.loads(r["params"]),
                                "artifacts": json.loads(r["artifacts"])} for r in rows}

    p = Project()
    p.write("steps.py", HANDLERS)
    return p
