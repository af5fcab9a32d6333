"""`flowc compile` from real workflow files, and submit with kfp.Client to a fake KFP API."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml

import kfp_workflows as w
from fake_kfp_api import FakeKfpApi
from kfp_helpers import EXAMPLES, dag_of, documents, strict_parse

PROJECT = textwrap.dedent("""\
    kind: project
    metadata: {name: demo}
    spec:
      params: {greeting: hi}
      functions:
      - {url: steps.py, name: steps, image: python:3.11}
      workflows:
      - {name: main, path: flow.py, handler: pipeline}
    """)

FLOW = textwrap.dedent("""\
    import mlrun


    def pipeline(name: str = "world", n: int = 3):
        project = mlrun.get_current_project()
        make = mlrun.run_function("steps", handler="make", params={"n": n},
                                  outputs=["data", "count", "first"])
        mlrun.run_function("steps", name="greet", handler="greet",
                           params={"name": f"{name}-{make.outputs['first']}",
                                   "token": project.get_secret("API_TOKEN")},
                           outputs=["message"])
    """)


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    shutil.copy(os.path.join(w.FIXTURES, "steps.py"), folder / "steps.py")
    (folder / "project.yaml").write_text(PROJECT)
    (folder / "flow.py").write_text(FLOW)
    return folder


@pytest.fixture
def cli(monkeypatch):
    from click.testing import CliRunner

    from flowc.cli import cli as group

    def run(*args, cwd=None, env=None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        result = CliRunner().invoke(group, list(args), env=env or {}, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


def test_compile_project_workflow_with_arguments_and_output_file(cli, project, tmp_path):
    out = tmp_path / "pipeline.yaml"
    code, stdout, stderr = cli("compile", "-w", "main", "-p", str(project), "-A", "n=5",
                               "-A", "name=bob", "-o", str(out))
    assert code == 0, stderr
    text = out.read_text()
    strict_parse(text)
    spec, platform = documents(text)
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["n"]["defaultValue"] == 5.0 and params["name"]["defaultValue"] == "bob"
    assert platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert dag_of(spec)["greet"]["dependentTasks"] == ["steps"]


def test_compile_file_target_to_stdout_loads_with_kfp(cli, project, tmp_path):
    from kfp_helpers import load_with_kfp

    code, stdout, stderr = cli("compile", str(project / "flow.py"))
    assert code == 0, stderr
    assert stdout.startswith("# PIPELINE DEFINITION")
    component = load_with_kfp(stdout, tmp_path)
    assert component.name


def test_planted_secret_value_never_appears_in_the_output(cli, project, tmp_path):
    planted = "pl4nted-S3CRET-value-91"
    out = tmp_path / "p.yaml"
    code, _, stderr = cli("compile", "-w", "main", "-p", str(project), "-o", str(out),
                          env={"FLOWC_SECRET_API_TOKEN": planted, "API_TOKEN": planted})
    assert code == 0, stderr
    text = out.read_text()
    assert planted not in text and "API_TOKEN" in text


def test_bad_argument_exits_2_with_a_message(cli, project):
    code, _, stderr = cli("compile", "-w", "main", "-p", str(project), "-A", "n=notanint")
    assert code == 2
    assert "error:" in stderr and "n" in stderr


def test_unlowerable_workflow_exits_2_at_the_users_line(cli, project):
    (project / "flow.py").write_text(textwrap.dedent("""\
        import mlrun


        def pipeline():
            make = mlrun.run_function("steps", handler="make", outputs=["data"])
            mlrun.run_function("steps", name="use", handler="report",
                               params={"a": make.outputs["data"], "b": 1.0})
        """))
    code, _, stderr = cli("compile", str(project / "flow.py"))
    assert code == 2
    assert "flow.py:6" in stderr and "FC219" in stderr and "Traceback" not in stderr


def test_missing_handler_exits_2_with_lint_code(cli, project):
    (project / "flow.py").write_text(textwrap.dedent("""\
        import mlrun


        def pipeline():
            mlrun.run_function("steps", handler="prepare")
        """))
    code, stdout, stderr = cli("compile", str(project / "flow.py"))
    assert code == 2 and not stdout
    assert "flow.py:5:5: FC302" in stderr and "'prepare'" in stderr
    assert "Traceback" not in stderr


def test_seed_example_compiles_and_matches_its_dag(cli, tmp_path):
    iris = os.path.join(EXAMPLES, "iris")
    if not os.path.exists(os.path.join(iris, "workflow.py")):
        pytest.skip("examples/iris not present")
    out = tmp_path / "seed.yaml"
    code, _, stderr = cli("compile", os.path.join(iris, "workflow.py"), "--registry",
                          "registry.example.com/ml", "-o", str(out))
    assert code == 0, stderr
    text = out.read_text()
    strict_parse(text)
    from kfp_helpers import load_with_kfp

    assert load_with_kfp(text, tmp_path).name
    spec, _ = documents(text)
    root = dag_of(spec)
    deps = {name: set(task.get("dependentTasks", ())) for name, task in root.items()}
    loop = next(n for n in root if n.startswith("for-loop-"))
    assert deps["get-data"] == {"build-gen-iris"}
    assert deps[loop] == {"get-data"}
    assert deps["train"] == {loop}
    assert deps["test"] == {"train"}
    assert deps["deploy-serving"] == {"train"}
    assert deps["model-tester"] == {"deploy-serving", "train"}


def test_compile_process_does_not_import_kfp(project):
    code = ("import sys, runpy; sys.argv = ['flowc', 'compile', %r]\n"
            "from flowc.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('KFP' if any(m == 'kfp' for m in sys.modules) else 'NOKFP', file=sys.stderr)"
            % str(project / "flow.py"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=str(project))
    assert "NOKFP" in out.stderr, out.stderr
    assert out.stdout.startswith("# PIPELINE DEFINITION")


def test_submit_uploads_and_runs_against_a_fake_kfp_api(project, capsys):
    from flowc.backends.kfp.submit import submit
    from flowc.compiler.loader import load_workflow

    loaded = load_workflow(None, workflow="main", project_dir=str(project),
                           arguments={"n": "4"})
    with FakeKfpApi() as api:
        run_id = submit(loaded, host=api.url, experiment="nightly")
        again = submit(loaded, host=api.url, experiment="nightly")
        third = submit(loaded, host=api.url, experiment="nightly")
    assert (run_id, again, third) == ("run-1", "run-2", "run-3")
    methods = [(r["method"], r["path"]) for r in api.requests]
    assert ("POST", "/apis/v2beta1/pipelines/upload") in methods
    assert ("POST", "/apis/v2beta1/experiments") in methods
    assert methods.count(("POST", "/apis/v2beta1/experiments")) == 1  # reused the 2nd time
    uploaded = api.versions["p-1"][0]["_yaml"]
    spec, _ = documents(uploaded)
    from flowc.backends.kfp.lower import k8s_name

    assert spec["pipelineInfo"]["name"] == k8s_name(loaded.workflow.name)
    run = api.runs[0]
    assert run["experiment_id"] == "e-1"
    assert run["pipeline_version_reference"] == {"pipeline_id": "p-1",
                                                 "pipeline_version_id": "p-1-v1"}
    assert run["runtime_config"]["parameters"]["n"] == 4
    # The pipeline exists now: the YAML becomes a version named by its content hash, and the
    # same YAML submitted again reuses that version.
    assert api.runs[1]["pipeline_version_reference"]["pipeline_version_id"] == "p-1-v2"
    assert api.runs[2]["pipeline_version_reference"]["pipeline_version_id"] == "p-1-v2"
    assert len(api.versions["p-1"]) == 2


def test_submit_to_an_unreachable_host_is_a_clear_error(project):
    from flowc.backends.kfp.submit import submit
    from flowc.compiler.loader import load_workflow
    from flowc.diagnostics import FlowcError

    loaded = load_workflow(None, workflow="main", project_dir=str(project))
    with pytest.raises(FlowcError) as err:
        submit(loaded, host="http://127.0.0.1:9")
    assert err.value.code == "FC440"


def test_flowc_run_engine_kfp_submits_through_the_cli(cli, project):
    with FakeKfpApi() as api:
        code, stdout, stderr = cli("run", "-w", "main", "-p", str(project), "--engine", "kfp",
                                   "--host", api.url, "--experiment", "cli", "-A", "n=2")
    assert code == 0, stderr
    assert "run-1" in stdout
    assert api.runs[0]["runtime_config"]["parameters"]["n"] == 2
    assert [e["display_name"] for e in api.experiments.values()] == ["cli"]


def test_build_registry_comes_from_the_project(cli, project, tmp_path):
    (project / "project.yaml").write_text(PROJECT.replace(
        "params: {greeting: hi}", "params: {greeting: hi, registry: reg.example.com/team}"))
    (project / "flow.py").write_text(textwrap.dedent("""\
        import mlrun


        def pipeline():
            builder = mlrun.build_function("steps", requirements=["pandas"])
            mlrun.run_function("steps", handler="make", outputs=["data"]).after(builder)
        """))
    out = tmp_path / "b.yaml"
    code, _, stderr = cli("compile", str(project / "flow.py"), "-o", str(out))
    assert code == 0, stderr
    spec, _ = documents(out.read_text())
    build = next(e for name, e in spec["deploymentSpec"]["executors"].items()
                 if name.startswith("exec-build"))
    assert "reg.example.com/team/demo-steps:" in build["container"]["command"][2]
    code, _, stderr = cli("compile", str(project / "flow.py"), "--registry", "other.io/x",
                          "-o", str(out))
    assert code == 0 and "other.io/x/demo-steps:" in out.read_text()
