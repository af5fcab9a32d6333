"""The iris example through the Python API, as the seed document runs it: project.run(...)."""

import os
import shutil
import urllib.error
import urllib.request

import pytest

IRIS = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "iris")


@pytest.mark.slow
def test_iris_with_project_run(tmp_path):
    from flowc.project import load_project

    folder = tmp_path / "iris"
    shutil.copytree(IRIS, folder, ignore=shutil.ignore_patterns(".flowc", "artifacts"))
    project = load_project(str(folder))
    run = project.run("main", watch=False, dirty=True)
    run.wait_for_completion(timeout=600)
    assert run.state == "succeeded", [(s.name, s.state, s.error) for s in run.record.steps]
    states = {s.name: s.display_state for s in run.record.steps}
    assert states["build-gen-iris"] == "skipped (local)"
    assert states["train"].startswith("succeeded (best iteration ")
    out = run.outputs
    best = out["train"]["best_iteration"]
    assert out["train"]["model"] == str(folder / "artifacts" / run.run_id / "train" / str(best)
                                        / "model")
    table = open(out["train"]["iteration_results"]).read().splitlines()
    assert table[0].startswith("iter,state,param.model_pkg_class,output.accuracy")
    assert len(table) == 4
    assert out["model-tester"]["errors"] == 0 and out["model-tester"]["total_tests"] > 0
    endpoint = out["deploy-serving"]["endpoint"]
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"{endpoint}/v2/models/iris_dataset:v1/ready", timeout=2)
