"""Lowering IR -> PipelineSpec: structure, wiring, types, errors (hand-built IR)."""

from __future__ import annotations

import json
import os

import pytest

import kfp_workflows as w
from kfp_helpers import dag_of, documents, strict_parse, wiring_kinds
from flowc import ir
from flowc.backends.kfp import compile_workflow
from flowc.diagnostics import FlowcError


def compiled(workflow: ir.Workflow, **kwargs) -> tuple[str, dict, dict | None]:
    text = compile_workflow(workflow, base_dir=w.FIXTURES, **kwargs)
    spec, platform = documents(text)
    return text, spec, platform


def test_diamond_structure_and_wiring():
    text, spec, platform = compiled(w.diamond())
    strict_parse(text)
    assert platform is None
    tasks = dag_of(spec)
    assert set(tasks) == {"make", "total-a", "total-b", "report", "tail"}
    assert tasks["total-a"]["dependentTasks"] == ["make"]
    assert tasks["report"]["dependentTasks"] == ["make", "total-a", "total-b"]
    assert tasks["tail"]["dependentTasks"] == ["report"]
    assert "inputs" in tasks["tail"] and "dependentTasks" in tasks["tail"]
    assert wiring_kinds(tasks["make"]) == {"n": "componentInputParameter",
                                           "prefix": "runtimeValue"}
    assert tasks["total-a"]["inputs"]["artifacts"]["data"] == {
        "taskOutputArtifact": {"producerTask": "make", "outputArtifactKey": "data"}}
    assert tasks["report"]["inputs"]["parameters"]["a"] == {
        "taskOutputParameter": {"producerTask": "total-a", "outputParameterKey": "total"}}


def test_identical_step_definitions_share_one_component():
    _, spec, _ = compiled(w.diamond())
    tasks = dag_of(spec)
    # total-a/total-b: same handler, same input/output types -> one component and executor.
    assert tasks["total-a"]["componentRef"] == tasks["total-b"]["componentRef"]
    # make and tail run the same handler with different param kinds (arg vs constant), but
    # the same component interface -> shared as well.
    assert tasks["make"]["componentRef"] == tasks["tail"]["componentRef"]
    assert len(spec["deploymentSpec"]["executors"]) == 3
    _, chain, _ = compiled(w.chain(50))
    assert len(chain["components"]) == 2  # s0 (constant label absent) + the rest
    assert len(dag_of(chain)) == 50


def test_root_parameters_types_and_defaults_from_arguments():
    text, spec, _ = compiled(w.diamond(), arguments={"n": 7})
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["n"] == {"parameterType": "NUMBER_INTEGER", "defaultValue": 7.0,
                           "isOptional": True}
    assert params["label"]["defaultValue"] == "sum"
    assert "#    n: int [Default: 7.0]" in text
    assert "#    label: str [Default: 'sum']" in text
    assert text.startswith("# PIPELINE DEFINITION\n# Name: diamond\n# Description: A diamond")


def test_required_argument_has_no_default_and_is_not_optional():
    wf = ir.Workflow(name="req", args=(ir.Arg(name="x", type="float", required=True),
                                       ir.Arg(name="y", type="list", default=[1, 2])),
                     steps=(w.run("r", "report", params={"a": ir.ArgRef("x"), "b": 1.0}),))
    _, spec, _ = compiled(wf)
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["x"] == {"parameterType": "NUMBER_DOUBLE"}
    assert params["y"] == {"parameterType": "LIST", "defaultValue": [1.0, 2.0],
                           "isOptional": True}


def test_unknown_argument_is_an_error():
    with pytest.raises(FlowcError) as err:
        compiled(w.diamond(), arguments={"nope": 1})
    assert err.value.code == "FC202" and "nope" in str(err.value)


def test_fstring_lowers_to_kfp_placeholders():
    _, spec, _ = compiled(w.diamond())
    params = dag_of(spec)["report"]["inputs"]["parameters"]
    assert params["label"] == {"runtimeValue": {"constant":
        "{{$.inputs.parameters['pipelinechannel--label']}}-"
        "{{$.inputs.parameters['pipelinechannel--make--first']}}"}}
    assert params["pipelinechannel--label"] == {"componentInputParameter": "label"}
    assert params["pipelinechannel--make--first"] == {
        "taskOutputParameter": {"producerTask": "make", "outputParameterKey": "first"}}
    comp = spec["components"][dag_of(spec)["report"]["componentRef"]["name"]]
    assert comp["inputDefinitions"]["parameters"]["label"] == {"parameterType": "STRING"}


def test_artifact_into_parameter_is_a_located_error():
    wf = ir.Workflow(name="bad", steps=(
        w.run("make", "make", outputs=[("data", "dataset")], line=3),
        w.run("use", "report", params={"a": ir.OutputRef("make", "data"), "b": 1.0},
              line=9),
    ))
    with pytest.raises(FlowcError) as err:
        compiled(wf)
    assert err.value.code == "FC219"
    assert err.value.location.line == 9 and "artifact" in str(err.value)
    assert str(err.value).startswith("workflow.py:9:5: FC219")


def test_type_mismatch_against_handler_annotation():
    wf = ir.Workflow(name="bad", steps=(
        w.run("greet", "greet", params={"name": "x"}, outputs=[("message", "str")]),
        w.run("use", "report", params={"a": ir.OutputRef("greet", "message"), "b": 1.0},
              line=12),
    ))
    with pytest.raises(FlowcError) as err:
        compiled(wf)
    assert err.value.code == "FC218" and err.value.location.line == 12
    assert "'a' is str" in str(err.value) and "float" in str(err.value)


def test_hyper_candidates_are_checked_against_the_handler_annotation():
    wf = ir.Workflow(name="bad", steps=(
        w.run("make", "make", outputs=[("data", "dataset")]),
        w.run("train", "train", inputs={"data": ir.OutputRef("make", "data")},
              outputs=[("model", "model")], line=21,
              hyper=ir.Hyper(params={"lr": ["fast", "slow"]}, selector="max.accuracy")),))
    with pytest.raises(FlowcError) as err:
        compiled(wf)
    assert err.value.code == "FC218" and "'lr' is str" in str(err.value)


def test_undeclared_output_is_an_error():
    wf = ir.Workflow(name="bad", steps=(
        w.run("make", "make", outputs=[("data", "dataset")]),
        w.run("use", "total", inputs={"data": ir.OutputRef("make", "nope")}, line=4),
    ))
    with pytest.raises(FlowcError) as err:
        compiled(wf)
    assert err.value.code == "FC102" and "nope" in str(err.value)


def test_function_without_source_or_image_is_an_error():
    fn = ir.FunctionRef(name="ghost", handler="h")
    wf = ir.Workflow(name="bad", steps=(w.run("g", "h", function=fn, line=6),))
    with pytest.raises(FlowcError) as err:
        compiled(wf)
    # no url, no image: the name is not a project or hub function, as lint says (FC301)
    assert err.value.code == "FC301" and err.value.location.line == 6


def test_image_only_function_runs_the_handler_from_the_image():
    fn = ir.FunctionRef(name="img", handler="pkg.mod.handler", image="me/img:1")
    _, spec, _ = compiled(ir.Workflow(name="img", steps=(w.run("g", "h", function=fn),)))
    container = spec["deploymentSpec"]["executors"]["exec-h"]["container"]
    assert container["image"] == "me/img:1" and "--source" not in container["args"]


def test_function_path_escaping_the_project_is_rejected():
    fn = ir.FunctionRef(name="esc", url="../../etc/x.py", handler="h")
    with pytest.raises(FlowcError) as err:
        compiled(ir.Workflow(name="bad", steps=(w.run("g", "h", function=fn),)))
    assert err.value.code == "FC015"


def test_run_executor_embeds_source_and_runs_flowc_runtime():
    _, spec, _ = compiled(w.diamond())
    container = spec["deploymentSpec"]["executors"]["exec-make"]["container"]
    assert container["command"][0:2] == ["sh", "-c"]
    assert container["command"][3:] == ["python3", "-m", "flowc.runtime", "kfp"]
    assert "pip install" in container["command"][2] and "import flowc.runtime" in container["command"][2]
    assert container["image"] == "python:3.11"
    args = container["args"]
    assert args[:2] == ["--executor-input", "{{$}}"]
    source = args[args.index("--source") + 1]
    with open(os.path.join(w.FIXTURES, "steps.py"), encoding="utf-8") as handle:
        assert source == handle.read()
    runtime_spec = json.loads(args[args.index("--spec") + 1])
    assert runtime_spec["handler"] == "make"
    assert runtime_spec["outputs"] == [["data", "dataset"], ["count", "int"], ["first", "str"]]


def test_secrets_become_secret_as_env_never_values():
    wf = ir.Workflow(name="sec", project="demo", steps=(
        w.run("greet", "greet", params={"name": "x", "token": ir.SecretRef("API_TOKEN")},
              outputs=[("message", "str")]),))
    text, spec, platform = compiled(wf)
    strict_parse(text)
    executor = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-greet"]
    assert executor == {"secretAsEnv": [{
        "secretName": "flowc-secrets-demo",
        "keyToEnv": [{"secretKey": "API_TOKEN", "envVar": "FLOWC_SECRET_API_TOKEN"}]}]}
    task = dag_of(spec)["greet"]
    assert "token" not in task["inputs"]["parameters"]


def test_secret_mixed_with_an_output_is_rejected():
    wf = ir.Workflow(name="sec", steps=(
        w.run("greet", "greet", params={"name": "x"}, outputs=[("message", "str")]),
        w.run("g2", "greet", params={"name": "x", "token": ir.Concat(
            (ir.SecretRef("K"), ir.OutputRef("greet", "message")))}, line=8),))
    with pytest.raises(FlowcError) as err:
        compiled(wf)
    assert err.value.code == "FC438"


def test_condition_becomes_a_sub_dag_with_trigger_policy():
    text, spec, _ = compiled(w.condition())
    strict_parse(text)
    root = dag_of(spec)
    assert set(root) == {"make", "total", "condition-1", "condition-2"}
    group = root["condition-1"]
    assert group["triggerPolicy"]["condition"] == \
        "inputs.parameter_values['pipelinechannel--total--total'] > 5"
    assert root["condition-2"]["triggerPolicy"]["condition"] == \
        "!(inputs.parameter_values['pipelinechannel--total--total'] > 5)"
    assert group["dependentTasks"] == ["make", "total"]
    inner = dag_of(spec, "comp-condition-1")
    assert set(inner) == {"big", "big-eval"}
    assert inner["big"]["inputs"]["parameters"]["a"] == {
        "componentInputParameter": "pipelinechannel--total--total"}
    assert inner["big-eval"]["inputs"]["artifacts"]["data"] == {
        "componentInputArtifact": "pipelinechannel--make--data"}
    assert "dependentTasks" not in inner["big"]
    defs = spec["components"]["comp-condition-1"]["inputDefinitions"]
    assert defs["artifacts"]["pipelinechannel--make--data"]["artifactType"]["schemaTitle"] == \
        "system.Dataset"


def test_integer_condition_is_wrapped_like_kfp():
    wf = ir.Workflow(name="c", args=(ir.Arg(name="n", type="int", default=1),), steps=(
        w.run("r", "report", params={"a": 1.0, "b": 1.0},
              condition=ir.Expr("and", (ir.Expr(">=", (ir.ArgRef("n"), 2)),
                                        ir.Expr("==", (ir.ArgRef("n"), 3))))),))
    _, spec, _ = compiled(wf)
    cel = dag_of(spec)["condition-1"]["triggerPolicy"]["condition"]
    assert cel == ("int(inputs.parameter_values['pipelinechannel--n']) >= 2 && "
                   "int(inputs.parameter_values['pipelinechannel--n']) == 3")
    assert dag_of(spec)["condition-1"]["inputs"]["parameters"]["pipelinechannel--n"] == {
        "componentInputParameter": "n"}


def test_reading_a_conditional_output_outside_the_condition_is_an_error():
    cond = ir.Expr(">", (ir.ArgRef("n"), 1))
    wf = ir.Workflow(name="c", args=(ir.Arg(name="n", type="int", default=1),), steps=(
        w.run("a", "report", params={"a": 1.0, "b": 1.0}, outputs=[("summary", "str")],
              condition=cond),
        w.run("b", "greet", params={"name": ir.OutputRef("a", "summary")}, line=30),))
    with pytest.raises(FlowcError) as err:
        compiled(wf)
    assert err.value.code == "FC436" and err.value.location.line == 30


def test_after_a_conditional_step_depends_on_its_group():
    cond = ir.Expr(">", (ir.ArgRef("n"), 1))
    wf = ir.Workflow(name="c", args=(ir.Arg(name="n", type="int", default=1),), steps=(
        w.run("a", "report", params={"a": 1.0, "b": 1.0}, condition=cond),
        w.run("b", "greet", params={"name": "z"}, after=["a"]),))
    _, spec, _ = compiled(wf)
    assert dag_of(spec)["b"]["dependentTasks"] == ["condition-1"]


def test_hyper_run_lowers_to_parallel_for_and_selector():
    text, spec, _ = compiled(w.hyper())
    strict_parse(text)
    root = dag_of(spec)
    loop = root["for-loop-1"]
    assert loop["parameterIterator"] == {
        "itemInput": "pipelinechannel--loop-item-param-1",
        "items": {"raw": '[{"lr": 0.1}, {"lr": 0.2}, {"lr": 0.3}]'}}
    assert root["train"]["dependentTasks"] == ["for-loop-1"]
    assert root["evaluate"]["dependentTasks"] == ["train"]
    trial = dag_of(spec, "comp-for-loop-1")["train-trial"]
    assert trial["inputs"]["parameters"]["lr"] == {
        "componentInputParameter": "pipelinechannel--loop-item-param-1",
        "parameterExpressionSelector": 'parseJson(string_value)["lr"]'}
    loop_comp = spec["components"]["comp-for-loop-1"]
    assert loop_comp["outputDefinitions"]["artifacts"]["pipelinechannel--train-trial-model"][
        "isArtifactList"] is True
    selector = spec["components"][root["train"]["componentRef"]["name"]]
    assert set(selector["outputDefinitions"]["parameters"]) == {"accuracy", "best_iteration"}
    assert set(selector["outputDefinitions"]["artifacts"]) == {"model"}


def test_random_hyper_is_sampled_with_a_recorded_seed():
    hyper = ir.Hyper(params={"lr": [0.1, 0.2, 0.3, 0.4], "depth": [1, 2, 3]},
                     strategy="random", max_iterations=4, selector="max.accuracy",
                     parallel_runs=2)
    wf = ir.Workflow(name="rnd", steps=(
        w.run("make", "make", outputs=[("data", "dataset")]),
        w.run("train", "train", inputs={"data": ir.OutputRef("make", "data")},
              outputs=[("model", "model")], hyper=hyper),))
    _, spec, _ = compiled(wf, hyper_seed=7)
    loop = dag_of(spec)["for-loop-1"]
    items = json.loads(loop["parameterIterator"]["items"]["raw"])
    assert len(items) == 4 and loop["iteratorPolicy"] == {"parallelismLimit": 2}
    _, again, _ = compiled(wf, hyper_seed=7)
    assert again == spec
    _, other, _ = compiled(wf, hyper_seed=8)
    assert json.loads(dag_of(other)["for-loop-1"]["parameterIterator"]["items"]["raw"]) != items
    args = spec["deploymentSpec"]["executors"]["exec-train-select"]["container"]["args"]
    assert json.loads(args[args.index("--spec") + 1])["seed"] == 7


def test_grid_and_list_strategies():
    def items(strategy, params):
        wf = ir.Workflow(name="h", steps=(w.run("t", "report", params={"b": 1.0},
                         outputs=[("summary", "str")],
                         hyper=ir.Hyper(params=params, strategy=strategy)),))
        _, spec, _ = compiled(wf)
        return json.loads(dag_of(spec)["for-loop-1"]["parameterIterator"]["items"]["raw"])

    assert items("grid", {"a": [1, 2], "label": ["x", "y"]}) == [
        {"a": 1, "label": "x"}, {"a": 1, "label": "y"}, {"a": 2, "label": "x"},
        {"a": 2, "label": "y"}]
    assert items("list", {"a": [1, 2], "label": ["x", "y"]}) == [
        {"a": 1, "label": "x"}, {"a": 2, "label": "y"}]
    with pytest.raises(FlowcError):
        items("list", {"a": [1, 2, 3], "label": ["x"]})


def test_build_step_uses_kaniko_and_later_steps_use_the_built_image():
    fn = ir.FunctionRef(name="steps", url="steps.py",
                        image=ir.OutputRef("build-steps", "image"), requirements=("pandas",))
    wf = ir.Workflow(name="b", project="demo", steps=(
        ir.Step(name="build-steps", kind="build",
                function=ir.FunctionRef(name="steps", url="steps.py", requirements=("pandas",)),
                params={"requirements": ["pandas"], "commands": ["echo hi"]},
                outputs=(ir.Output(name="image", type="str"),)),
        w.run("make", "make", function=fn, outputs=[("data", "dataset")]),))
    with pytest.raises(FlowcError) as err:
        compiled(wf)
    assert err.value.code == "FC434" and "--registry" in err.value.hint
    text, spec, _ = compiled(wf, registry="ghcr.io/me")
    strict_parse(text)
    build = spec["deploymentSpec"]["executors"]["exec-build-steps"]["container"]
    assert build["image"].startswith("gcr.io/kaniko-project/executor")
    assert "ghcr.io/me/demo-steps:" in build["command"][2]
    assert build["args"] == ["image={{$.outputs.parameters['image'].output_file}}"]
    make = dag_of(spec)["make"]
    assert make["dependentTasks"] == ["build-steps"]
    channel = "pipelinechannel--build-steps--image"
    assert make["inputs"]["parameters"][channel] == {"taskOutputParameter": {
        "producerTask": "build-steps", "outputParameterKey": "image"}}
    executor = spec["deploymentSpec"]["executors"]["exec-make"]["container"]
    assert executor["image"] == "{{$.inputs.parameters['" + channel + "']}}"


def test_deploy_step_wires_model_artifacts_and_exposes_endpoint():
    serving = ir.FunctionRef(name="serving", url="hub://v2_model_server", kind="serving")
    wf = ir.Workflow(name="d", project="demo", steps=(
        w.run("make", "make", outputs=[("data", "dataset")]),
        w.run("train", "train", inputs={"data": ir.OutputRef("make", "data")},
              outputs=[("model", "model")]),
        ir.Step(name="deploy-serving", kind="deploy", function=serving,
                params={"models": [{"key": "iris:v1",
                                    "model_path": ir.OutputRef("train", "model")}]},
                outputs=(ir.Output(name="endpoint", type="str"),)),
        w.run("use", "greet", params={"name": ir.OutputRef("deploy-serving", "endpoint")}),))
    text, spec, _ = compiled(wf)
    strict_parse(text)
    task = dag_of(spec)["deploy-serving"]
    assert task["inputs"]["artifacts"]["pipelinechannel--train--model"] == {
        "taskOutputArtifact": {"producerTask": "train", "outputArtifactKey": "model"}}
    assert task["dependentTasks"] == ["train"]
    assert task["cachingOptions"] == {"enableCache": False}
    container = spec["deploymentSpec"]["executors"]["exec-deploy-serving"]["container"]
    runtime_spec = json.loads(container["args"][container["args"].index("--spec") + 1])
    assert runtime_spec["kind"] == "deploy"
    assert runtime_spec["templates"]["models"] == [{"$literal": {
        "key": "iris:v1", "model_path": {"$artifact": "pipelinechannel--train--model"}}}]
    assert runtime_spec["default_class"] == "ClassifierModel"
    assert dag_of(spec)["use"]["inputs"]["parameters"]["name"] == {"taskOutputParameter": {
        "producerTask": "deploy-serving", "outputParameterKey": "endpoint"}}


def test_a_cycle_is_an_error():
    wf = ir.Workflow(name="cyc", steps=(
        w.run("a", "greet", params={"name": ir.OutputRef("b", "message")},
              outputs=[("message", "str")]),
        w.run("b", "greet", params={"name": ir.OutputRef("a", "message")},
              outputs=[("message", "str")]),))
    with pytest.raises(FlowcError) as err:
        compiled(wf)
    assert err.value.code == "FC101"


def test_output_is_byte_stable():
    first = compile_workflow(w.hyper(), base_dir=w.FIXTURES)
    second = compile_workflow(w.hyper(), base_dir=w.FIXTURES)
    assert first == second


def test_lowering_does_not_import_kfp():
    import subprocess
    import sys

    code = ("import sys; sys.path.insert(0, %r); import kfp_workflows as w\n"
            "from flowc.backends.kfp import compile_workflow\n"
            "compile_workflow(w.hyper(), base_dir=w.FIXTURES)\n"
            "print(sorted(m for m in sys.modules if m == 'kfp' or m.startswith('kfp.')))"
            % os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_invalid_output_is_caught_by_the_strict_protobuf_check():
    from google.protobuf.json_format import ParseError

    from flowc.backends.kfp.emit import check_strict
    from flowc.backends.kfp.lower import lower

    lowered = lower(w.diamond(), base_dir=w.FIXTURES)
    lowered.spec["root"]["dag"]["tasks"]["make"]["bogusField"] = 1
    with pytest.raises(ParseError):
        check_strict(lowered.spec)


def test_hyper_run_inside_a_condition_nests_the_loop_in_the_sub_dag():
    text, spec, _ = compiled(w.hyper_in_condition())
    strict_parse(text)
    root = dag_of(spec)
    assert set(root) == {"make", "condition-1"}
    inner = dag_of(spec, "comp-condition-1")
    assert set(inner) == {"for-loop-2", "train", "evaluate"}
    assert inner["train"]["dependentTasks"] == ["for-loop-2"]
    assert inner["evaluate"]["dependentTasks"] == ["train"]
    trial = dag_of(spec, "comp-for-loop-2")["train-trial"]
    assert trial["inputs"]["parameters"]["depth"] == {"componentInputParameter":
                                                      "pipelinechannel--n"}
    assert inner["for-loop-2"]["inputs"]["parameters"]["pipelinechannel--n"] == {
        "componentInputParameter": "pipelinechannel--n"}
    assert root["condition-1"]["inputs"]["parameters"]["pipelinechannel--n"] == {
        "componentInputParameter": "n"}


def test_components_can_be_kept_apart():
    _, shared, _ = compiled(w.chain(20))
    _, apart, _ = compiled(w.chain(20), share_components=False)
    assert len(shared["components"]) == 2 and len(apart["components"]) == 20


def test_hyper_options_kfp_cannot_apply_are_reported_as_warnings():
    hyper = ir.Hyper(params={"lr": [0.1, 0.2]}, selector="max.accuracy",
                     stop_condition=ir.Expr(">", (ir.Name("accuracy"), 0.9)), max_errors=2)
    wf = ir.Workflow(name="h", steps=(
        w.run("make", "make", outputs=[("data", "dataset")]),
        w.run("train", "train", inputs={"data": ir.OutputRef("make", "data")},
              outputs=[("model", "model")], hyper=hyper, line=77),))
    warnings: list = []
    compile_workflow(wf, base_dir=w.FIXTURES, warnings=warnings)
    assert [d.code for d in warnings] == ["FC441"]
    assert warnings[0].location.line == 77
    assert "stop_condition and max_errors" in warnings[0].message
    quiet: list = []
    compile_workflow(w.hyper(), base_dir=w.FIXTURES, warnings=quiet)
    assert quiet == []


def test_nested_conditions_nest_sub_dags():
    text, spec, _ = compiled(w.nested_conditions())
    strict_parse(text)
    assert set(dag_of(spec)) == {"make", "total", "condition-1"}
    outer = dag_of(spec, "comp-condition-1")
    assert set(outer) == {"big", "condition-2"}
    assert outer["condition-2"]["dependentTasks"] == ["big"]
    assert outer["condition-2"]["triggerPolicy"]["condition"] == \
        "inputs.parameter_values['pipelinechannel--big--summary'] == 'big:7.0'"
    inner = dag_of(spec, "comp-condition-2")
    assert inner["inner"]["inputs"]["parameters"]["name"] == {
        "componentInputParameter": "pipelinechannel--big--summary"}


def test_output_is_identical_across_processes_and_hash_seeds():
    import hashlib
    import subprocess
    import sys

    code = ("import sys, hashlib; sys.path.insert(0, %r); import kfp_workflows as w\n"
            "from flowc.backends.kfp import compile_workflow\n"
            "text = ''.join(compile_workflow(f(), base_dir=w.FIXTURES, registry='r.io/x')\n"
            "               for f in (w.diamond, w.condition, w.nested_conditions, w.kitchen,\n"
            "                         w.hyper_in_condition))\n"
            "print(hashlib.sha256(text.encode()).hexdigest())"
            % os.path.dirname(os.path.abspath(__file__)))
    digests = set()
    for seed in ("1", "2", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=env)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_pipeline_name_is_sanitised_like_kfp():
    from flowc.backends.kfp.lower import k8s_name

    assert k8s_name("Demo training pipeline") == "demo-training-pipeline"
    assert k8s_name("My_Flow--2!") == "my-flow-2"
    wf = ir.Workflow(name="Demo training pipeline", steps=(w.run("r", "greet",
                                                                params={"name": "x"}),))
    text, spec, _ = compiled(wf)
    assert spec["pipelineInfo"]["name"] == "demo-training-pipeline"
    assert "# Name: demo-training-pipeline" in text


# ---------------------------------------------------------------- lint parity (real files)

_PROJECT = """kind: project
metadata: {name: p}
spec:
  functions:
  - {url: h.py, name: gen, image: "mlrun/mlrun:1.7.0", handler: gen}
  - {url: h.py, name: train, image: "mlrun/mlrun:1.7.0", handler: train}
  - {url: gone.py, name: ghost, image: "mlrun/mlrun:1.7.0", handler: run}
"""


def lint(path):
    from flowc.lint.runner import lint_paths

    return lint_paths([str(path)]).diagnostics


def _compile_file(tmp_path, body: str):
    """Write the project and ``flow.py`` (``body`` inside ``pipeline``); the compile error."""
    from flowc.backends.kfp import compile as compile_file

    _write_flow(tmp_path, body)
    with pytest.raises(FlowcError) as err:
        compile_file(str(tmp_path / "flow.py"))
    return err.value


def _write_flow(tmp_path, body: str) -> None:
    (tmp_path / "project.yaml").write_text(_PROJECT)
    (tmp_path / "h.py").write_text("def gen(context):\n    pass\n\n\n"
                                   "def train(context, dataset=None):\n    pass\n")
    (tmp_path / "flow.py").write_text("import mlrun\nfrom kfp import dsl\n\n\n"
                                      "def pipeline(x: int = 5):\n" + body)


@pytest.mark.parametrize("body, code, message, hint", [
    ("    mlrun.run_function('h.py', handler='prepare')\n", "FC302",
     "handler 'prepare' is not a function in h.py", "functions there: gen, train"),
    ("    mlrun.run_function('h.py', handler='trian')\n", "FC302",
     "handler 'trian' is not a function in h.py", "did you mean 'train'?"),
    ("    mlrun.run_function('tarin')\n", "FC301",
     "function 'tarin' is not in the project nor on the hub", "did you mean 'train'?"),
    ("    mlrun.run_function('ghost')\n", "FC303",
     "source 'gone.py' of function 'ghost' does not exist", None),
])
def test_compile_reports_function_errors_with_lint_codes(tmp_path, body, code, message, hint):
    """compile and lint agree on missing handlers, unknown functions and missing sources."""
    error = _compile_file(tmp_path, body)
    assert (error.code, error.location.line) == (code, 6)
    assert message in error.diagnostic.message
    if hint:
        assert error.hint == hint
    assert code in [d.code for d in lint(tmp_path / "flow.py")]


def test_compile_reports_unparsable_handler_source(tmp_path):
    (tmp_path / "bad.py").write_text("def run(:\n")
    error = _compile_file(tmp_path, "    mlrun.run_function('bad.py', handler='run')\n")
    assert (error.code, error.location.line) == ("FC306", 6)


def test_output_read_under_another_condition_is_fc436_in_compile_and_fc110_in_lint(tmp_path):
    body = ("    with dsl.Condition(x > 3):\n"
            "        gen = mlrun.run_function('gen', outputs=['data'])\n"
            "    with dsl.Condition(x < 10):\n"
            "        mlrun.run_function('train', inputs={'dataset': gen.outputs['data']})\n")
    error = _compile_file(tmp_path, body)
    assert (error.code, error.location.line) == ("FC436", 9)
    assert [(d.code, d.location.line) for d in lint(tmp_path / "flow.py")] == [("FC110", 9)]


_GEN = "mlrun.run_function('gen', outputs=['data'])"
_TRAIN = "mlrun.run_function('train', inputs={'dataset': gen.outputs['data']})"


@pytest.mark.parametrize("body, fails", [
    (f"    with dsl.Condition(x > 3):\n        gen = {_GEN}\n    {_TRAIN}\n", True),
    (f"    with dsl.Condition(x > 3):\n        gen = {_GEN}\n"
     f"        with dsl.Condition(x < 9):\n            {_TRAIN}\n", False),
    (f"    with dsl.Condition(x > 3):\n        with dsl.Condition(x < 9):\n"
     f"            gen = {_GEN}\n        {_TRAIN}\n", True),
    (f"    with dsl.Condition(x > 3):\n        gen = {_GEN}\n"
     f"    with dsl.Condition(x > 3):\n        {_TRAIN}\n", False),  # the same condition again
    ("    with dsl.Condition(x > 3):\n"
     "        gen = mlrun.run_function('gen', outputs=['count:int'])\n"
     "    with dsl.Condition(gen.outputs['count'] > 1):\n"
     "        mlrun.run_function('train')\n", True),  # read by a condition only
    (f"    gen = {_GEN}\n    with dsl.Condition(x > 3):\n        {_TRAIN}\n", False),
])
def test_lint_fc110_agrees_with_compile_fc436(tmp_path, body, fails):
    from flowc.backends.kfp import compile as compile_file

    _write_flow(tmp_path, body)
    lint_codes = [d.code for d in lint(tmp_path / "flow.py")]
    if fails:
        with pytest.raises(FlowcError) as err:
            compile_file(str(tmp_path / "flow.py"))
        assert err.value.code == "FC436"
        assert "FC110" in lint_codes
    else:
        compile_file(str(tmp_path / "flow.py"))
        assert "FC110" not in lint_codes


def test_handler_bound_by_an_import_compiles_and_lints_clean(tmp_path):
    from flowc.backends.kfp import compile as compile_file

    _write_flow(tmp_path, "    mlrun.run_function('reexport.py', handler='train')\n")
    (tmp_path / "reexport.py").write_text("from h import train\n")
    compile_file(str(tmp_path / "flow.py"))
    assert "FC302" not in [d.code for d in lint(tmp_path / "flow.py")]
