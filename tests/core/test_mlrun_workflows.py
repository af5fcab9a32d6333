"""MLRun workflow idioms found in MLRun's docs, tests and demos trace unchanged."""

import pytest

from flowc.diagnostics import TraceError
from flowc.ir import OutputRef

PROJECT = """
kind: project
metadata: {name: compat}
spec:
  functions:
  - {name: gen-iris, url: gen.py, kind: job}
  - {name: train, url: gen.py, kind: job}
  - {name: serving, url: hub://v2_model_server, kind: serving}
"""


@pytest.fixture
def project(write):
    write("project.yaml", PROJECT)
    write("gen.py", "def gen(context):\n    pass\n")


def test_legacy_funcs_as_step_and_deploy_step(project, trace_file):
    loaded = trace_file("""
from kfp import dsl
import mlrun

funcs = {}          # MLRun fills this in after the module body ran; so does flowc
project = mlrun.projects.pipeline_context.project

@dsl.pipeline(name="legacy")
def pipeline():
    builder = funcs["gen-iris"].deploy_step(skip_deployed=True)   # a job: builds its image
    ingest = funcs["gen-iris"].as_step(name="get-data", handler="gen",
                                       image=builder.outputs["image"], outputs=["data"],
                                       params={"label": project.get_param("label", "y")})
    train = funcs["train"].with_requirements(["scikit-learn"]).as_step(
        inputs={"d": ingest.outputs["data"]}, outputs=["model"])
    funcs["serving"].deploy_step(models={"m1": train.outputs["model"]}, tag="v2")
""")
    wf = loaded.workflow
    assert [(s.name, s.kind) for s in wf.steps] == [
        ("build-gen-iris", "build"), ("get-data", "run"), ("train", "run"),
        ("deploy-serving", "deploy")]
    assert wf.step("get-data").function.image == OutputRef("build-gen-iris", "image")
    assert wf.step("get-data").params == {"label": "y"}
    assert wf.step("train").function.requirements == ("scikit-learn",)
    assert wf.step("deploy-serving").params["models"] == [
        {"key": "m1", "model_path": OutputRef("train", "model")}]


def test_unknown_funcs_key_is_located_with_a_suggestion(project, trace_file):
    with pytest.raises(TraceError) as err:
        trace_file("import mlrun\n\ndef pipeline():\n    funcs['trian'].as_step()\n")
    assert err.value.code == "FC301" and err.value.location.line == 4
    assert err.value.hint == "did you mean 'train'?"


def test_function_configuration_is_noted_and_ignored(project, trace_file):
    loaded = trace_file("""
import mlrun

def pipeline():
    project = mlrun.get_current_project()
    fn = project.get_function("serving")
    fn.with_requests(cpu=1).with_limits(mem="2G")
    fn.spec.readiness_timeout = 300
    fn.set_topology("flow").to("a").to("b")
    run = project.run_function("train")
    run.container.resources.limits = {"cpu": 1}
    run.affinity = {"x": 1}
    project.deploy_function(fn, models=[])
""")
    assert [s.name for s in loaded.workflow.steps] == ["train", "deploy-serving"]
    assert {d.code for d in loaded.diagnostics} == {"FC442"}
    lines = sorted({d.location.line for d in loaded.diagnostics})
    assert lines == [6, 7, 8, 10, 11]  # with_requests, spec, set_topology, container, affinity


def test_condition_after_and_after_condition(trace_file):
    wf = trace_file("""
from kfp import dsl
import mlrun

def pipeline():
    first = mlrun.run_function("first", outputs=["flag:str"])
    with dsl.Condition(first.outputs["flag"] == "yes").after(first) as cond:
        mlrun.run_function("a")
        mlrun.run_function("b")
    mlrun.run_function("last").after(cond)
""").workflow
    assert wf.step("a").after == ("first",) and wf.step("b").after == ("first",)
    assert wf.step("last").after == ("a", "b")


def test_importing_unsupported_names_works_using_them_is_located(trace_file):
    loaded = trace_file("""
from mlrun import get_or_create_ctx, mlconf   # handler helpers that live in the same file
import mlrun

def handler(context):
    ctx = get_or_create_ctx("x")

def pipeline():
    mlrun.run_function("a", params={"data": mlrun.get_sample_path("data/iris.csv")})
""")
    assert loaded.workflow.step("a").params["data"].endswith("/data/iris.csv")
    with pytest.raises(TraceError) as err:
        trace_file("from mlrun import get_or_create_ctx\n\ndef pipeline():\n"
                   "    get_or_create_ctx('x')\n", name="bad.py")
    assert err.value.code == "FC016" and err.value.location.line == 4
    assert err.value.location.file.endswith("bad.py")


def test_mlrun_pipelines_mounts_module(trace_file):
    loaded = trace_file("""
import mlrun
from mlrun_pipelines.mounts import mount_v3io

def pipeline():
    mlrun.run_function("a").apply(mount_v3io())
""")
    assert [d.code for d in loaded.diagnostics] == ["FC442"]
