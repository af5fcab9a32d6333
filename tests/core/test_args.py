"""Arguments: signature merged with args_schema, CLI coercion, jsonschema validation."""

import pytest

from flowc.diagnostics import ArgumentError

FLOW = """
import mlrun
from mlrun.model import EntrypointParam

def pipeline(model_pkg_class: str = "sklearn.linear_model.LogisticRegression",
             test_size: float = 0.1, epochs: int = 3, use_gpu: bool = False,
             layers: list = None, extra: dict = None):
    mlrun.run_function("train", params={"model": model_pkg_class, "test_size": test_size})
"""

PROJECT = """
kind: project
metadata: {name: p}
spec:
  workflows:
  - name: main
    path: flow.py
    args_schema:
    - {name: model_pkg_class, type: str, doc: model class,
       choices: [sklearn.linear_model.LogisticRegression, sklearn.ensemble.RandomForestClassifier]}
    - {name: epochs, type: int, default: 5}
"""


@pytest.fixture
def project(write):
    write("flow.py", FLOW)
    write("project.yaml", PROJECT)


def load(tmp_path, **arguments):
    from flowc.compiler.loader import load_workflow

    return load_workflow(None, workflow="main", project_dir=str(tmp_path), arguments=arguments)


def test_cli_strings_are_coerced_by_type(project, tmp_path):
    loaded = load(tmp_path, test_size="0.25", epochs="7", use_gpu="yes", layers="[64, 32]",
                  extra='{"a": 1}')
    assert loaded.arguments == {
        "model_pkg_class": "sklearn.linear_model.LogisticRegression", "test_size": 0.25,
        "epochs": 7, "use_gpu": True, "layers": [64, 32], "extra": {"a": 1}}
    args = {a.name: a for a in loaded.workflow.args}
    assert args["epochs"].default == 7          # a given value becomes the default
    assert args["model_pkg_class"].doc == "model class"
    assert args["model_pkg_class"].choices[1] == "sklearn.ensemble.RandomForestClassifier"


def test_schema_default_overrides_signature_and_conflict_is_reported(project, tmp_path):
    loaded = load(tmp_path)
    assert loaded.arguments["epochs"] == 5
    assert [d.code for d in loaded.diagnostics] == ["FC212"]
    assert "defaults to 3" in loaded.diagnostics[0].message


@pytest.mark.parametrize("given, message", [
    ({"epochs": "many"}, "argument 'epochs' must be an int (got 'many')"),
    ({"test_size": "x"}, "argument 'test_size' must be a float (got 'x')"),
    ({"use_gpu": "maybe"}, "argument 'use_gpu' must be a bool"),
    ({"extra": "[1]"}, "argument 'extra' must be a dict"),
    ({"model_pkg_class": "svm"}, "argument 'model_pkg_class' must be one of"),
    ({"epoch": "3"}, "unknown argument 'epoch'"),
])
def test_bad_values_name_the_argument_and_rule(project, tmp_path, given, message):
    with pytest.raises(ArgumentError) as err:
        load(tmp_path, **given)
    assert message in err.value.diagnostic.message


def test_unknown_argument_suggests_the_closest(project, tmp_path):
    with pytest.raises(ArgumentError) as err:
        load(tmp_path, epoch="3")
    assert err.value.hint == "did you mean 'epochs'?"


def test_required_argument_missing(write):
    from flowc.compiler.loader import load_workflow

    path = write("req.py", "import flowc as fc\n\ndef pipeline(dataset: str):\n"
                           "    fc.run_function('a', params={'d': dataset})\n")
    with pytest.raises(ArgumentError, match="missing required argument: dataset"):
        load_workflow(path)
    assert load_workflow(path, arguments={"dataset": "s3://x"}).arguments == {"dataset": "s3://x"}


def test_validation_can_be_skipped_for_lint(project, tmp_path):
    from flowc.compiler.loader import load_workflow

    loaded = load_workflow(None, workflow="main", project_dir=str(tmp_path),
                           arguments={"epochs": "many"}, validate_arguments=False)
    assert loaded.arguments == {}


def test_fast_argument_check_never_accepts_what_jsonschema_rejects():
    import jsonschema
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from flowc.ir import Arg
    from flowc.schema.args import json_schema, values_look_valid

    values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                       st.text(max_size=2), st.lists(st.integers(), max_size=2),
                       st.dictionaries(st.text(max_size=1), st.integers(), max_size=1))

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(["str", "int", "float", "bool", "list", "dict"]),
           st.one_of(st.none(), st.lists(values, max_size=3)), values)
    def check(type_, choices, value):
        args = (Arg(name="a", type=type_, choices=tuple(choices) if choices is not None
                    else None),)
        if values_look_valid(args, {"a": value}):
            assert jsonschema.Draft202012Validator(json_schema(args)).is_valid({"a": value})

    check()


def test_optional_arguments_without_value_are_none_and_nan_is_refused(write):
    from flowc.compiler.loader import load_workflow

    path = write("opt.py", "import flowc as fc\n\ndef pipeline(note=None, lr: float = 0.1):\n"
                           "    fc.run_function('a', params={'note': note, 'lr': lr})\n")
    assert load_workflow(path).arguments == {"note": None, "lr": 0.1}
    for bad in ("nan", "inf", "-Infinity"):
        with pytest.raises(ArgumentError, match="must be a finite float"):
            load_workflow(path, arguments={"lr": bad})
