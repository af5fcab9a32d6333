"""The local secrets file is read like a dotenv file (`export`, quotes, comments)."""

import pytest

from flowc.backends.local.api import run_loaded
from flowc.backends.local.executor import RunOptions
from flowc.backends.local.secrets import read_secrets_file
from flowc.diagnostics import FlowcError


def _read(tmp_path, text):
    path = tmp_path / "secrets.env"
    path.write_text(text)
    return read_secrets_file(str(path))


def test_dotenv_lines(tmp_path):
    assert _read(tmp_path, """
# a comment
export TOKEN="abc def"
export\tTAB=1
PLAIN=value with spaces   # inline comment
HASH=abc#def
SINGLE='lit\\eral "x" # kept'
DOUBLE="q \\"in\\" \\\\ n\\n" # comment
SPACED = 'v'
EMPTY=
export=not-a-prefix
""") == {"TOKEN": "abc def", "TAB": "1", "PLAIN": "value with spaces", "HASH": "abc#def",
         "SINGLE": 'lit\\eral "x" # kept', "DOUBLE": 'q "in" \\ n\n', "SPACED": "v",
         "EMPTY": "", "export": "not-a-prefix"}


@pytest.mark.parametrize("line, message", [
    ("JUSTAKEY", "expected KEY=VALUE"), ("BAD KEY=1", "expected KEY=VALUE"),
    ('T="open', "unterminated"), ("T='a' b", "unexpected text"),
])
def test_malformed_lines_name_the_file_and_line(tmp_path, line, message):
    with pytest.raises(FlowcError) as info:
        _read(tmp_path, f"OK=1\n{line}\n")
    diag = info.value.diagnostic
    assert diag.code == "FC021" and message in diag.message
    assert diag.location.file.endswith("secrets.env") and diag.location.line == 2
    assert "OK=1" not in diag.format()


def test_an_exported_quoted_secret_reaches_the_step(project):
    project.write(".flowc/secrets.env", 'export API_TOKEN="s3cr3t-42"\n')
    loaded = project.load("""
    from flowc.compiler.dsl import get_current_project

    def pipeline():
        fc.run_function("steps.py", handler="show_secret", name="s", outputs=["length:int"],
                        params={"token": get_current_project().get_secret("API_TOKEN")})
    """)
    status = run_loaded(loaded, options=RunOptions(launcher="in-process"), progress="quiet")
    assert status.state == "succeeded"
    assert status.outputs["s"] == {"length": len("s3cr3t-42")}
