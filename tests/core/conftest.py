import textwrap

import pytest

from flowc.compiler.loader import load_workflow


@pytest.fixture
def write(tmp_path):
    """Write a dedented file under tmp_path and return its path."""

    def _write(name: str, text: str) -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return str(path)

    return _write


@pytest.fixture
def trace_file(write):
    """Write a workflow file and trace it; returns the LoadedWorkflow."""

    def _trace(text: str, name: str = "flow.py", **kwargs):
        return load_workflow(write(name, text), **kwargs)

    return _trace
