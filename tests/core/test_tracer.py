"""Tracing behaviour: values, names, conditions, and every trace error with its location."""

import pytest

from flowc.diagnostics import CycleError, FlowcError, TraceError
from flowc.ir import ArgRef, Concat, Expr, Name, OutputRef, SecretRef

HEADER = "import flowc as fc\n"


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_fstring_over_stand_ins_becomes_concat(trace_file):
    loaded = trace_file(HEADER + """
    def pipeline(env: str = "dev", n: int = 3):
        a = fc.run_function("a", outputs=["uri:str"])
        fc.run_function("b", params={"path": f"s3://bucket/{env}/run-{a.outputs['uri']}.csv",
                                     "plain": f"{n}", "added": "x-" + env})
    """.replace("\n    ", "\n"))
    b = loaded.workflow.step("b")
    assert b.params["path"] == Concat(("s3://bucket/", ArgRef("env"), "/run-",
                                       OutputRef("a", "uri"), ".csv"))
    assert b.params["plain"] == ArgRef("n")
    assert b.params["added"] == Concat(("x-", ArgRef("env")))
    assert loaded.workflow.edges() == [("a", "b", "data")]


def test_args_from_signature_with_types_and_defaults(trace_file):
    loaded = trace_file(HEADER + """
def pipeline(model: str = "lr", test_size: float = 0.1, epochs=5, flags: list = None, req=None):
    fc.run_function("train", params={"model": model})
""", arguments={"req": "x"})
    args = {a.name: (a.type, a.default, a.required) for a in loaded.workflow.args}
    assert args == {"model": ("str", "lr", False), "test_size": ("float", 0.1, False),
                    "epochs": ("int", 5, False), "flags": ("list", None, False),
                    "req": ("str", "x", False)}
    assert loaded.arguments == {"model": "lr", "test_size": 0.1, "epochs": 5, "req": "x",
                                "flags": None}  # optional, no value: None when it runs


def test_duplicate_step_names_get_deterministic_suffixes(trace_file):
    wf = trace_file(HEADER + """
def pipeline():
    for _ in range(3):
        fc.run_function("prep")
    fc.run_function("train", name="Train Model!")
    fc.build_function("train")
    fc.build_function("train")
""").workflow
    assert [s.name for s in wf.steps] == ["prep", "prep-2", "prep-3", "train-model",
                                         "build-train", "build-train-2"]


def test_condition_with_operators_and_strings(trace_file):
    wf = trace_file(HEADER + """
def pipeline(threshold: float = 0.9, mode: str = "full"):
    train = fc.run_function("train", outputs=["accuracy:float"])
    with fc.Condition(train.outputs["accuracy"] > threshold):
        fc.run_function("deploy")
        with fc.Condition("mode == 'full'"):
            fc.run_function("report")
    with fc.Condition("train.accuracy <= 0.5 or not mode == 'fast'"):
        fc.run_function("retrain")
    with fc.Condition((train.outputs["accuracy"] < 0.2) | ~(train.outputs["accuracy"] != 0.3)):
        fc.run_function("alert")
    fc.run_function("always")
""").workflow
    gate = Expr(">", (OutputRef("train", "accuracy"), ArgRef("threshold")))
    assert wf.step("deploy").condition == gate
    assert wf.step("report").condition == Expr("and", (gate, Expr("==", (ArgRef("mode"), "full"))))
    assert wf.step("retrain").condition == Expr("or", (
        Expr("<=", (OutputRef("train", "accuracy"), 0.5)),
        Expr("not", (Expr("==", (ArgRef("mode"), "fast")),))))
    assert wf.step("alert").condition == Expr("or", (
        Expr("<", (OutputRef("train", "accuracy"), 0.2)),
        Expr("not", (Expr("!=", (OutputRef("train", "accuracy"), 0.3)),))))
    assert wf.step("always").condition is None
    assert ("train", "deploy", "condition") in wf.edges()


def test_bool_of_a_stand_in_points_at_the_users_line(trace_file, write):
    text = HEADER + """
def pipeline(epochs: int = 3):
    if epochs > 3:
        fc.run_function("big")
"""
    with pytest.raises(TraceError) as err:
        trace_file(text)
    diag = err.value.diagnostic
    assert diag.code == "FC011"
    assert diag.location.line == line_of(text, "if epochs")
    assert "Condition" in diag.hint
    assert "`epochs > 3` is only known when the workflow runs" in diag.message


def test_undeclared_output_is_an_error_at_that_line(trace_file):
    text = HEADER + """
def pipeline():
    train = fc.run_function("train", outputs=["model"])
    fc.run_function("test", inputs={"m": train.outputs["modle"]})
"""
    with pytest.raises(TraceError) as err:
        trace_file(text)
    diag = err.value.diagnostic
    assert diag.code == "FC102"
    assert "no output 'modle'" in diag.message and "declared: model" in diag.message
    assert diag.location.line == line_of(text, "modle")
    assert diag.location.col == text.splitlines()[diag.location.line - 1].index("train.outputs") + 1


def test_cycle_through_after_names_the_cycle(trace_file):
    text = HEADER + """
def pipeline():
    a = fc.run_function("a", outputs=["x"])
    b = fc.run_function("b", inputs={"x": a.outputs["x"]})
    c = fc.run_function("c").after(b)
    a.after(c)
"""
    with pytest.raises(CycleError) as err:
        trace_file(text)
    diag = err.value.diagnostic
    assert diag.code == "FC101"
    assert "a -> b -> c -> a" in diag.message
    assert diag.location.line == line_of(text, "a.after(c)")


def test_self_after_is_a_cycle(trace_file):
    with pytest.raises(CycleError, match="a -> a"):
        trace_file(HEADER + """
def pipeline():
    a = fc.run_function("a")
    a.after(a)
""")


def test_exception_in_pipeline_function_is_located(trace_file):
    text = HEADER + """
def pipeline():
    fc.run_function("a")
    raise RuntimeError("boom")
"""
    with pytest.raises(TraceError) as err:
        trace_file(text)
    assert err.value.code == "FC003"
    assert "RuntimeError: boom" in err.value.diagnostic.message
    assert err.value.location.line == line_of(text, "boom")


def test_syntax_error_is_located(trace_file):
    with pytest.raises(FlowcError) as err:
        trace_file("def pipeline(:\n    pass\n")
    assert err.value.code == "FC002"
    assert err.value.location.line == 1 and err.value.location.col > 0


def test_secrets_artifact_uris_and_params(trace_file, write):
    write("project.yaml", """
kind: project
metadata: {name: demo}
spec:
  params: {label: species}
""")
    loaded = trace_file(HEADER + """
def pipeline():
    project = fc.get_current_project()
    fc.run_function("a", params={"token": project.get_secret("API_TOKEN"),
                                 "header": f"Bearer {project.get_secret('API_TOKEN')}",
                                 "label": project.get_param("label", "label"),
                                 "missing": project.get_param("nope"),
                                 "data": project.get_artifact_uri("raw", tag="v1")})
""")
    a = loaded.workflow.step("a")
    assert a.params["token"] == SecretRef("API_TOKEN")
    assert a.params["header"] == Concat(("Bearer ", SecretRef("API_TOKEN")))
    assert a.params["label"] == "species"
    assert a.params["missing"] is None
    assert a.params["data"] == "store://artifacts/demo/raw:v1"
    assert [d.code for d in loaded.diagnostics] == ["FC209"]
    assert loaded.workflow.project == "demo"


def test_output_types_declared_and_inferred_from_handler_source(write, trace_file):
    write("trainer.py", """
def train(context, dataset, lr: float = 0.1):
    context.log_model("model", body=b"x")
    context.log_result("accuracy", 0.9)
    context.log_dataset("test_set", df=None)
    return {"n_rows": 3}
""")
    write("project.yaml", """
kind: project
metadata: {name: p}
spec:
  functions:
  - {url: trainer.py, name: trainer, handler: train, image: python:3.11}
""")
    wf = trace_file(HEADER + """
def pipeline():
    fc.run_function("trainer", outputs=["model", "accuracy", "test_set", "n_rows",
                                        "other", "explicit:int"])
""").workflow
    step = wf.step("trainer")
    assert [(o.name, o.type) for o in step.outputs] == [
        ("model", "model"), ("accuracy", "float"), ("test_set", "dataset"), ("n_rows", "int"),
        ("other", "artifact"), ("explicit", "int")]
    assert step.function.url == "trainer.py" and step.handler == "train"
    assert step.function.image == "python:3.11"


def test_bad_output_declarations(trace_file):
    with pytest.raises(TraceError, match="unknown type 'modle'"):
        trace_file(HEADER + "def pipeline():\n    fc.run_function('a', outputs=['m:modle'])\n")
    with pytest.raises(TraceError, match="declared twice"):
        trace_file(HEADER + "def pipeline():\n    fc.run_function('a', outputs=['m', 'm'])\n")


def test_inline_python_callable_and_unknown_function(trace_file, write):
    wf = trace_file(HEADER + """
def my_step(x: int = 1):
    return {"y": x}

def pipeline():
    fc.run_function(my_step, params={"x": 2}, outputs=["y:int"])
    fc.run_function("not-in-project")
""").workflow
    step = wf.step("my-step")
    assert (step.function.url, step.handler) == ("flow.py", "my_step")
    assert wf.step("not-in-project").function.url is None


def test_stop_condition_is_parsed_never_evaluated(trace_file):
    wf = trace_file(HEADER + """
def pipeline():
    fc.run_function("train", hyperparams={"lr": [0.1, 0.2]}, outputs=["accuracy:float"],
                    hyper_param_options=fc.HyperParamOptions(
                        selector="min.loss", stop_condition="accuracy > 0.9 and loss < 0.2",
                        strategy="random", max_iterations=4))
""").workflow
    hyper = wf.step("train").hyper
    assert hyper.stop_condition == Expr("and", (Expr(">", (Name("accuracy"), 0.9)),
                                                Expr("<", (Name("loss"), 0.2))))
    assert (hyper.strategy, hyper.selector, hyper.max_iterations) == ("random", "min.loss", 4)


def test_unparsable_stop_condition_shows_a_caret(trace_file):
    with pytest.raises(TraceError) as err:
        trace_file(HEADER + """
def pipeline():
    fc.run_function("train", hyperparams={"lr": [0.1]},
                    hyper_param_options=fc.HyperParamOptions(stop_condition="accuracy >> 0.9"))
""")
    assert err.value.code == "FC208"
    assert "accuracy >> 0.9\n" in err.value.diagnostic.message
    assert "          ^" in err.value.diagnostic.message


def test_step_handle_passed_as_value_is_explained(trace_file):
    with pytest.raises(TraceError, match=r"pass a.outputs\['<name>'\]"):
        trace_file(HEADER + """
def pipeline():
    a = fc.run_function("a", outputs=["x"])
    fc.run_function("b", inputs={"x": a})
""")


def test_dsl_call_outside_a_trace_is_a_clear_error():
    import flowc as fc

    with pytest.raises(TraceError, match="outside of a workflow trace"):
        fc.run_function("a")


def test_trace_a_python_function_directly():
    import flowc as fc

    @fc.workflow(name="direct", description="traced in-process")
    def flow(n: int = 2):
        a = fc.run_function("a", params={"n": n}, outputs=["out:int"])
        fc.run_function("b", params={"v": a.outputs["out"]}).after(a)

    wf = fc.trace(flow)
    assert wf.name == "direct" and wf.description == "traced in-process"
    assert wf.edges() == [("a", "b", "data")]
    assert wf.step("b").after == ("a",)


def test_mlrun_options_are_accepted_unknown_keywords_are_located(trace_file):
    loaded = trace_file(HEADER + """
def pipeline():
    fc.run_function("train", returns=["model : model", "accuracy"], labels={"a": "b"},
                    watch=False, verbose=True, schedule="0 * * * *",
                    hyperparams={"lr": [0.1, 0.2]}, selector="max.accuracy")
""")
    step = loaded.workflow.step("train")
    assert [(o.name, o.type) for o in step.outputs] == [("model", "model"),
                                                        ("accuracy", "artifact")]
    assert step.hyper.selector == "max.accuracy"
    assert [d.code for d in loaded.diagnostics] == ["FC442"]
    assert "schedule" in loaded.diagnostics[0].message
    text = HEADER + "def pipeline():\n    fc.run_function('train', parms={'lr': 1})\n"
    with pytest.raises(TraceError) as err:
        trace_file(text)
    assert "unexpected keyword argument 'parms'" in err.value.diagnostic.message
    assert err.value.location.line == 3


def test_selector_needs_max_or_min(trace_file):
    with pytest.raises(TraceError, match="selector 'maximum.a' must look like"):
        trace_file(HEADER + """
def pipeline():
    fc.run_function("t", hyperparams={"p": [1, 2]}, outputs=["a"],
                    hyper_param_options=fc.HyperParamOptions(selector="maximum.a"))
""")
    wf = trace_file(HEADER + """
def pipeline():
    fc.run_function("t", hyperparams={"p": [1, 2]}, outputs=["a"],
                    hyper_param_options=fc.HyperParamOptions(selector="a"))
""").workflow
    assert wf.step("t").hyper.selector == "max.a"


def test_mlrun_mount_modifiers_are_noted_and_ignored(trace_file):
    loaded = trace_file("""
import mlrun
from mlrun.platforms import mount_pvc

def pipeline():
    mlrun.run_function("a").apply(mlrun.auto_mount())
    mlrun.run_function("b").apply(mount_pvc("claim", "vol", "/mnt"))
""")
    assert [s.name for s in loaded.workflow.steps] == ["a", "b"]
    assert [(d.code, d.location.line) for d in loaded.diagnostics] == [("FC442", 5),
                                                                       ("FC442", 6)]


def test_project_methods_and_kfp_op_settings_trace(trace_file):
    loaded = trace_file("""
import mlrun
from kfp import dsl

@dsl.pipeline(name="p")
def pipeline():
    project = mlrun.get_current_project()
    data = project.run_function("prep", outputs=["data"]).set_env("A", "1")
    project.build_function("train")
    project.run_function("train", inputs={"d": data.outputs["data"]}).set_gpu_limit(1)
    project.deploy_function(project.get_function("serve"), models=[])
""")
    wf = loaded.workflow
    assert [(s.name, s.kind) for s in wf.steps] == [
        ("prep", "run"), ("build-train", "build"), ("train", "run"), ("deploy-serve", "deploy")]
    assert sorted(d.message.split("(")[0] for d in loaded.diagnostics) == [".set_env", ".set_gpu_limit"]
    with pytest.raises(TraceError, match="step handles have no attribute 'aftr'"):
        trace_file(HEADER + "def pipeline():\n    fc.run_function('a').aftr()\n")
