"""project.yaml in MLRun's shape: write, load, validate, and find workflows through it."""

import yaml
import pytest

import flowc as fc
from flowc.diagnostics import FlowcError, ProjectError

MLRUN_WRITTEN = """
kind: project
metadata:
  name: pipe2
  created: '2024-01-01T00:00:00'
spec:
  params: {label_column: label}
  functions:
  - {url: prep_data.py, name: prep-data, image: mlrun/mlrun, handler: prep_data}
  - {url: hub://v2_model_server, name: serve}
  workflows:
  - name: main
    path: ./kflow.py
    engine: kfp
    args_schema:
    - {name: model_pkg_class, type: str, default: sklearn.linear_model.LogisticRegression, doc: model package/algorithm}
  artifacts:
  - kind: ''
    metadata: {key: data}
    spec: {target_path: https://s3.wasabisys.com/iguazio/data/iris/iris.data.raw.csv}
  source: ./
  desired_state: online
"""


def test_mlrun_written_project_loads_and_round_trips(write, tmp_path):
    write("project.yaml", MLRUN_WRITTEN)
    project = fc.load_project(str(tmp_path))
    assert project.name == "pipe2"
    assert project.get_param("label_column") == "label"
    assert project.functions["prep-data"].handler == "prep_data"
    assert project.functions["serve"].url == "hub://v2_model_server"
    assert project.workflows["main"].engine == "kfp"
    assert project.workflows["main"].args_schema[0]["doc"] == "model package/algorithm"
    project.save()
    again = yaml.safe_load((tmp_path / "project.yaml").read_text())
    original = yaml.safe_load(MLRUN_WRITTEN)
    assert again["spec"]["desired_state"] == "online"        # unknown keys kept
    assert again["metadata"]["created"] == original["metadata"]["created"]
    assert again["spec"]["workflows"] == original["spec"]["workflows"]
    assert again["spec"]["artifacts"] == original["spec"]["artifacts"]


def test_new_project_set_function_set_workflow_save(write, tmp_path):
    write("train.py", "def train(context, lr: float = 0.1):\n    pass\n")
    write("flow.py", "import mlrun\n\ndef main(lr: float = 0.1):\n"
                     "    mlrun.run_function('trainer', params={'lr': lr})\n")
    project = fc.new_project("demo", str(tmp_path))
    project.set_function("train.py", name="trainer", handler="train", image="python:3.11",
                         requirements=["scikit-learn"])
    arg = fc.EntrypointParam("lr", type="float", default=0.2, doc="learning rate")
    project.set_workflow("main", "flow.py", handler="main", engine="local", args_schema=[arg])
    project.set_workflow("embedded", "flow.py", handler="main", embed=True)
    path = project.save()
    data = yaml.safe_load(open(path))
    assert data["kind"] == "project" and data["metadata"]["name"] == "demo"
    assert data["spec"]["functions"] == [{"url": "train.py", "name": "trainer",
                                          "image": "python:3.11", "handler": "train",
                                          "kind": "job", "requirements": ["scikit-learn"]}]
    assert data["spec"]["workflows"][0] == {
        "name": "main", "path": "flow.py", "handler": "main", "engine": "local",
        "args_schema": [{"name": "lr", "type": "float", "default": 0.2, "doc": "learning rate"}]}
    assert "def main" in data["spec"]["workflows"][1]["code"]

    from flowc.compiler.loader import load_workflow

    for name in ("main", "embedded"):
        wf = load_workflow(None, workflow=name, project_dir=str(tmp_path)).workflow
        assert wf.step("trainer").function.url == "train.py"
    main = load_workflow(None, workflow="main", project_dir=str(tmp_path))
    assert main.arguments == {"lr": 0.2} and main.engine == "local"


def test_invalid_project_yaml_names_file_and_line(write, tmp_path):
    write("project.yaml", "kind: project\nmetadata:\n  name: p\nspec:\n  functions:\n"
                          "  - url: a.py\n    image: x\n")
    with pytest.raises(ProjectError) as err:
        fc.load_project(str(tmp_path))
    assert "functions.0" in err.value.diagnostic.message
    assert "'name' is a required property" in err.value.diagnostic.message
    assert err.value.location.line == 6


def test_broken_yaml_is_located(write, tmp_path):
    write("project.yaml", "kind: project\nmetadata: {name: p\n")
    with pytest.raises(ProjectError) as err:
        fc.load_project(str(tmp_path))
    assert err.value.code == "FC014" and err.value.location.line >= 2


def test_paths_escaping_the_project_are_rejected(write, tmp_path):
    project = fc.new_project("p", str(tmp_path / "proj"))
    with pytest.raises(ProjectError, match="outside the project folder"):
        project.set_workflow("bad", "../elsewhere.py")
    write("proj/project.yaml", "kind: project\nmetadata: {name: p}\nspec:\n  workflows:\n"
                               "  - {name: bad, path: ../../etc/passwd}\n")
    from flowc.compiler.loader import load_workflow

    with pytest.raises(FlowcError, match="outside the project folder"):
        load_workflow(None, workflow="bad", project_dir=str(tmp_path / "proj"))


def test_workflow_finds_the_nearest_project_above(write, tmp_path):
    write("project.yaml", "kind: project\nmetadata: {name: outer}\nspec:\n"
                          "  params: {who: outer}\n")
    path = write("flows/deep/flow.py", "import mlrun\n\ndef pipeline():\n"
                 "    p = mlrun.get_current_project()\n"
                 "    mlrun.run_function('a', params={'who': p.get_param('who')})\n")
    from flowc.compiler.loader import load_workflow

    loaded = load_workflow(path)
    assert loaded.project.name == "outer"
    assert loaded.base_dir == str(tmp_path)
    assert loaded.workflow.step("a").params == {"who": "outer"}
    assert loaded.workflow.step("a").location.file == "flows/deep/flow.py"


def test_unknown_workflow_name_lists_the_registered_ones(write, tmp_path):
    write("project.yaml", "kind: project\nmetadata: {name: p}\nspec:\n  workflows:\n"
                          "  - {name: main, path: flow.py}\n")
    from flowc.compiler.loader import load_workflow

    with pytest.raises(FlowcError, match=r"no workflow 'mian' \(registered: main\)"):
        load_workflow(None, workflow="mian", project_dir=str(tmp_path))


def test_fast_project_check_never_accepts_what_the_schema_rejects():
    """project_looks_valid is a shortcut for jsonschema: it may only say yes when it is sure."""
    import jsonschema
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from flowc.schema import load_schema, project_looks_valid

    validator = jsonschema.Draft202012Validator(load_schema("project"))
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3),
                        st.sampled_from(["project", "kfp", "str", "x.py", "local"]))
    keys = st.sampled_from(["kind", "metadata", "name", "spec", "params", "functions",
                            "workflows", "artifacts", "url", "image", "handler", "path", "code",
                            "engine", "args_schema", "type", "doc", "required", "choices",
                            "requirements"])
    docs = st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=4)), max_leaves=12)
    base = {"kind": "project", "metadata": {"name": "p"}}

    @settings(max_examples=200, deadline=None)
    @given(docs, docs)
    def check(spec, top):
        for doc in (top, {**base, "spec": spec}):
            if project_looks_valid(doc):
                assert validator.is_valid(doc), doc

    check()
    assert project_looks_valid(yaml.safe_load(MLRUN_WRITTEN))


def test_an_unsaved_project_runs_its_workflows_from_memory(write, tmp_path):
    write("flow.py", "import mlrun\n\ndef main(n: int = 1):\n"
                     "    p = mlrun.get_current_project()\n"
                     "    mlrun.run_function('a', params={'n': n, 'who': p.get_param('who')})\n")
    project = fc.new_project("memory", str(tmp_path))
    project.params["who"] = "unsaved"
    project.set_workflow("main", "flow.py", handler="main")
    assert not (tmp_path / "project.yaml").exists()
    from flowc.compiler.loader import load_callable, load_workflow

    loaded = load_workflow(None, workflow="main", project=project, arguments={"n": "2"})
    assert loaded.workflow.step("a").params["who"] == "unsaved"
    assert loaded.arguments == {"n": 2}

    def inline(k: int = 3):
        fc.run_function("b", params={"k": k})

    direct = load_callable(inline, project=project, arguments={"k": 5})
    assert direct.arguments == {"k": 5} and direct.base_dir == str(tmp_path)
