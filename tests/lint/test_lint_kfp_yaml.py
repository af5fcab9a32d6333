"""FC5xx: corrupted KFP YAMLs (mutations of kfp-compiled ones) are each caught with the right
code, while every valid one passes."""

from __future__ import annotations

import sys

import pytest
import yaml

from flowc.lint.kfp_yaml import find_cycles, lint_kfp_text, looks_like_kfp
from lint_helpers import FIXTURES


@pytest.fixture(scope="session")
def compiled(tmp_path_factory) -> dict[str, str]:
    """name -> YAML text, compiled by kfp's own compiler."""
    from kfp import compiler

    sys.path.insert(0, str(FIXTURES / "kfp"))
    try:
        import pipelines
    finally:
        sys.path.remove(str(FIXTURES / "kfp"))
    out = tmp_path_factory.mktemp("kfp")
    texts = {}
    for name, pipeline in pipelines.PIPELINES.items():
        path = out / f"{name}.yaml"
        compiler.Compiler().compile(pipeline, str(path))
        texts[name] = path.read_text()
    return texts


def _codes(text: str) -> list[str]:
    return [d.code for d in lint_kfp_text(text, "pipeline.yaml")]


def test_every_compiled_pipeline_is_clean(compiled):
    assert set(compiled) == {"branches", "collect", "exit-handler", "nested", "fstrings"}
    for name, text in compiled.items():
        assert looks_like_kfp(text), name
        assert _codes(text) == [], name


def _tasks(spec):
    return spec["root"]["dag"]["tasks"]


def _set(path):
    def apply(spec):
        *head, last, value = path
        node = spec
        for key in head:
            node = node[key]
        node[last] = value
    return apply


def _delete(path):
    def apply(spec):
        node = spec
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return apply


TRAIN = ["root", "dag", "tasks", "train"]
MUTATIONS = {
    "FC501": _set([*TRAIN, "inputs", "artifacts", "data", "taskOutputArtifact", "producerTask",
                   "mkae"]),
    "FC502": _set(["root", "dag", "tasks", "make-2", "dependentTasks", ["ghost"]]),
    "FC503": _set(["root", "dag", "tasks", "make", "componentRef", "name", "comp-ghost"]),
    "FC504": _delete(["deploymentSpec", "executors", "exec-train"]),
    "FC505": _set([*TRAIN, "inputs", "parameters", "lr",
                   {"taskOutputParameter": {"producerTask": "make",
                                            "outputParameterKey": "data"}}]),
    "FC506": _set(["components", "comp-train", "inputDefinitions", "artifacts", "data",
                   "artifactType", "schemaTitle", "system.Model"]),
    "FC507": _set(["root", "dag", "tasks", "make", "dependentTasks", ["train"]]),
    "FC508": _delete([*TRAIN, "inputs", "parameters", "lr"]),
    "FC509": _set([*TRAIN, "inputs", "parameters", "bogus", {"runtimeValue": {"constant": 1}}]),
    "FC510": _set(["root", "dag", "tasks", "make", "inputs", "parameters", "n",
                   {"componentInputParameter": "nn"}]),
    "FC511": _set([*TRAIN, "inputs", "artifacts", "data", "taskOutputArtifact",
                   "outputArtifactKey", "dat"]),
    "FC512": _set([*TRAIN, "inputs", "parameters", "lr", {"runtimeValue": {"constant": "fast"}}]),
    "FC500": _delete(["root"]),
}


@pytest.mark.parametrize("code", sorted(MUTATIONS))
def test_mutation_is_caught_with_its_code(compiled, code):
    spec = yaml.safe_load(compiled["branches"])
    MUTATIONS[code](spec)
    text = yaml.safe_dump(spec, sort_keys=True)
    assert _codes(text) == [code]


def test_mutations_in_sub_dags(compiled):
    spec = yaml.safe_load(compiled["branches"])
    report = spec["components"]["comp-condition-1"]["dag"]["tasks"]["report"]
    report["inputs"]["artifacts"]["m"]["componentInputArtifact"] = "pipelinechannel--nope"
    spec["components"]["comp-for-loop-3"]["dag"]["tasks"]["report-2"]["dependentTasks"] = ["x"]
    assert sorted(_codes(yaml.safe_dump(spec))) == ["FC502", "FC510"]


def test_collected_output_dangling_subtask(compiled):
    spec = yaml.safe_load(compiled["collect"])
    outputs = spec["components"]["comp-for-loop-1"]["dag"]["outputs"]["parameters"]
    outputs["pipelinechannel--square-Output"]["valueFromParameter"]["producerSubtask"] = "sq"
    assert _codes(yaml.safe_dump(spec)) == ["FC501"]


def test_exit_handler_final_status_dangling(compiled):
    spec = yaml.safe_load(compiled["exit-handler"])
    cleanup = spec["root"]["dag"]["tasks"]["cleanup"]
    cleanup["inputs"]["parameters"]["status"]["taskFinalStatus"]["producerTask"] = "gone"
    assert "FC501" in _codes(yaml.safe_dump(spec))


def test_artifact_input_accepts_any_artifact_type(compiled):
    # inspect() takes Input[Artifact]: a Model goes in without FC506.
    spec = yaml.safe_load(compiled["branches"])
    assert "inspect" in _tasks(spec)
    assert _codes(yaml.safe_dump(spec)) == []


def test_locations_point_at_the_offending_key(compiled):
    text = compiled["branches"].replace("producerTask: make\n", "producerTask: mkae\n", 1)
    (diag,) = lint_kfp_text(text, "p.yaml")
    line = text.splitlines()[diag.location.line - 1]
    assert line.strip() == "producerTask: mkae"
    assert line[diag.location.col - 1:].startswith("producerTask")


def test_invalid_yaml_is_fc500_with_location():
    (diag,) = lint_kfp_text("pipelineInfo: {name: x}\nroot: [\n", "p.yaml")
    assert diag.code == "FC500" and diag.location.line >= 2


def test_find_cycles_reports_each_loop_once_in_run_order():
    upstream = {"a": ["c"], "b": ["a"], "c": ["b"], "d": ["d"], "e": ["a"]}
    assert find_cycles(upstream) == [["a", "b", "c"], ["d"]]
    assert find_cycles({"x": [], "y": ["x"]}) == []


@pytest.fixture(scope="module")
def flowc_compiled(tmp_path_factory) -> str:
    """The iris example compiled by flowc's own KFP backend (``flowc compile``)."""
    import os
    import pathlib

    from click.testing import CliRunner

    from flowc.cli import cli as group

    iris = pathlib.Path(__file__).resolve().parents[2] / "examples" / "iris"
    out = tmp_path_factory.mktemp("flowc-kfp") / "iris.yaml"
    here = os.getcwd()
    os.chdir(iris)
    try:
        result = CliRunner().invoke(group, ["compile", "workflow.py", "--registry",
                                            "registry.local/team", "-o", str(out)])
    finally:
        os.chdir(here)
    assert result.exit_code == 0, result.output
    return out.read_text()


def test_flowc_compiled_yaml_is_clean_and_mutations_are_caught(flowc_compiled):
    assert looks_like_kfp(flowc_compiled)
    assert _codes(flowc_compiled) == []
    spec = yaml.safe_load(flowc_compiled)
    tasks = _tasks(spec)
    consumer = next(name for name, task in tasks.items()
                    if task.get("inputs", {}).get("artifacts"))
    artifacts = tasks[consumer]["inputs"]["artifacts"]
    key, wiring = next((k, v) for k, v in artifacts.items() if "taskOutputArtifact" in v)
    wiring["taskOutputArtifact"]["producerTask"] = "nowhere"
    tasks[consumer].setdefault("dependentTasks", []).append("ghost")
    assert sorted(_codes(yaml.safe_dump(spec))) == ["FC501", "FC502"]
