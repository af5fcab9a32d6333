"""flowc's YAML means the same DAG as kfp's own compiler gives for the equivalent pipeline.

For each workflow, the equivalent pipeline is written with kfp's DSL (components from v1
component YAML, named after the steps so that kfp's task names equal flowc's), compiled with
``kfp.compiler.Compiler``, and compared on: the task graph (``dependentTasks``, with group
tasks named by what they contain), the wiring kind of every named input, and the root
parameters with their defaults.
"""


import os
from typing import List

import pytest

import kfp_workflows as w
from kfp_helpers import EXAMPLES, documents
from flowc.backends.kfp import compile_workflow

kfp = pytest.importorskip("kfp")
from kfp import compiler, dsl  # noqa: E402
from kfp.dsl import Input, Model, Output  # noqa: E402

V1_TYPES = {"str": "String", "int": "Integer", "float": "Float", "bool": "Boolean",
            "list": "JsonArray", "dict": "JsonObject", "dataset": "Dataset",
            "model": "Model", "artifact": "Artifact"}
ARTIFACTS = ("dataset", "model", "artifact")


def component(name: str, inputs=(), outputs=()):
    """A container component named ``name`` (kfp names its task the same)."""
    import yaml
    from kfp import components

    args: list = []
    for n, t in inputs:
        args.append({"inputPath" if t in ARTIFACTS else "inputValue": n})
    for n, _ in outputs:
        args.append({"outputPath": n})
    text = yaml.safe_dump({
        "name": name,
        "inputs": [{"name": n, "type": V1_TYPES[t]} for n, t in inputs],
        "outputs": [{"name": n, "type": V1_TYPES[t]} for n, t in outputs],
        "implementation": {"container": {"image": "python:3.11", "command": ["true"],
                                         "args": args}},
    })
    return components.load_component_from_text(text)


def kfp_yaml(pipeline, tmp_path) -> dict:
    path = os.path.join(str(tmp_path), "kfp.yaml")
    compiler.Compiler().compile(pipeline, path)
    with open(path, encoding="utf-8") as handle:
        return documents(handle.read())[0]


# ---------------------------------------------------------------------- comparison


def _is_group(name: str) -> bool:
    return name.startswith(("condition-", "for-loop-", "exit-handler-"))


def canonical_graph(spec: dict) -> dict[str, frozenset]:
    """task -> dependencies over all DAGs; groups are named by the tasks inside them."""
    components = spec["components"]

    def group_key(task: dict) -> str:
        comp = components[task["componentRef"]["name"]]
        inner = sorted(name_of(n, t) for n, t in comp["dag"]["tasks"].items())
        return "group(" + ",".join(inner) + ")"

    def name_of(name: str, task: dict) -> str:
        return group_key(task) if _is_group(name) else name

    graph: dict[str, frozenset] = {}

    def walk(tasks: dict) -> None:
        names = {n: name_of(n, t) for n, t in tasks.items()}
        for n, t in tasks.items():
            graph[names[n]] = frozenset(names[d] for d in t.get("dependentTasks", ()))
            if _is_group(n):
                walk(components[t["componentRef"]["name"]]["dag"]["tasks"])

    walk(spec["root"]["dag"]["tasks"])
    return graph


def wiring(spec: dict) -> dict[str, dict[str, str]]:
    """task -> {named input -> wiring kind}; compiler-made channel inputs are left out."""
    result: dict[str, dict[str, str]] = {}

    def walk(tasks: dict) -> None:
        for name, task in tasks.items():
            if _is_group(name):
                walk(spec["components"][task["componentRef"]["name"]]["dag"]["tasks"])
                continue
            kinds = {}
            for section in ("parameters", "artifacts"):
                for key, value in task.get("inputs", {}).get(section, {}).items():
                    if key.startswith("pipelinechannel--"):
                        continue
                    kinds[key] = next(k for k in value if k != "parameterExpressionSelector")
            result[name] = kinds

    walk(spec["root"]["dag"]["tasks"])
    return result


def assert_equivalent(ours: dict, theirs: dict) -> None:
    assert canonical_graph(ours) == canonical_graph(theirs)
    assert wiring(ours) == wiring(theirs)
    assert ours["root"].get("inputDefinitions") == theirs["root"].get("inputDefinitions")


def flowc_yaml(workflow) -> dict:
    return documents(compile_workflow(workflow, base_dir=w.FIXTURES))[0]


# ---------------------------------------------------------------------- workflows


def test_diamond_with_after(tmp_path):
    make_outs = [("data", "dataset"), ("count", "int"), ("first", "str")]
    make = component("make", [("n", "int"), ("prefix", "str")], make_outs)
    tail = component("tail", [("n", "int"), ("prefix", "str")], make_outs)
    total_a = component("total-a", [("data", "dataset"), ("scale", "float")],
                        [("total", "float")])
    total_b = component("total-b", [("data", "dataset"), ("scale", "float")],
                        [("total", "float")])
    report = component("report", [("a", "float"), ("b", "float"), ("label", "str")],
                       [("summary", "str")])

    @dsl.pipeline(name="diamond", description="A diamond with an after edge.")
    def pipeline(n: int = 4, label: str = "sum"):
        m = make(n=n, prefix="r")
        a = total_a(data=m.outputs["data"], scale=1.0)
        b = total_b(data=m.outputs["data"], scale=2.0)
        r = report(a=a.outputs["total"], b=b.outputs["total"],
                   label=f"{label}-{m.outputs['first']}")
        tail(n=1, prefix="t").after(r)

    assert_equivalent(flowc_yaml(w.diamond()), kfp_yaml(pipeline, tmp_path))


def test_condition(tmp_path):
    make = component("make", [("n", "int")], [("data", "dataset"), ("count", "int")])
    total = component("total", [("data", "dataset")], [("total", "float")])
    big = component("big", [("a", "float"), ("b", "float"), ("label", "str")],
                    [("summary", "str")])
    big_eval = component("big-eval", [("data", "dataset"), ("scale", "float")],
                         [("total", "float")])
    small = component("small", [("a", "float"), ("b", "float"), ("label", "str")],
                      [("summary", "str")])

    @dsl.pipeline(name="condition")
    def pipeline(n: int = 4):
        m = make(n=n)
        t = total(data=m.outputs["data"])
        with dsl.If(t.outputs["total"] > 5):
            big(a=t.outputs["total"], b=1.0, label="big")
            big_eval(data=m.outputs["data"], scale=10.0)
        with dsl.If(t.outputs["total"] <= 5):
            small(a=t.outputs["total"], b=0.0, label="small")

    assert_equivalent(flowc_yaml(w.condition()), kfp_yaml(pipeline, tmp_path))


@dsl.container_component
def train(accuracy: List[float], model: Input[List[Model]], best: Output[Model],
          best_accuracy: dsl.OutputPath(float)):
    """The selector kfp-side: collects the trials' results (flowc's selector step)."""
    return dsl.ContainerSpec(image="python:3.11", command=["true"])


def test_hyper_parameter_run(tmp_path):
    make = component("make", [("n", "int")], [("data", "dataset"), ("count", "int")])
    trial = component("train-trial", [("data", "dataset"), ("depth", "int"), ("lr", "float")],
                      [("model", "model"), ("accuracy", "float")])
    evaluate = component("evaluate", [("model", "model"), ("threshold", "float")],
                         [("verdict", "str")])

    @dsl.pipeline(name="hyper")
    def pipeline(n: int = 5):
        m = make(n=n)
        with dsl.ParallelFor(items=[{"lr": 0.1}, {"lr": 0.2}, {"lr": 0.3}]) as item:
            t = trial(data=m.outputs["data"], depth=1, lr=item.lr)
        best = train(accuracy=dsl.Collected(t.outputs["accuracy"]),
                     model=dsl.Collected(t.outputs["model"]))
        evaluate(model=best.outputs["best"], threshold=best.outputs["best_accuracy"])

    assert_equivalent(flowc_yaml(w.hyper()), kfp_yaml(pipeline, tmp_path))


def test_seed_example(tmp_path):
    iris = os.path.join(EXAMPLES, "iris")
    if not os.path.exists(os.path.join(iris, "workflow.py")):
        pytest.skip("examples/iris not present")
    from flowc.compiler.loader import load_workflow

    loaded = load_workflow(os.path.join(iris, "workflow.py"))
    ours = documents(compile_workflow(loaded, registry="registry.example.com/ml"))[0]

    build = component("build-gen-iris", [], [("image", "str")])
    get_data = component("get-data", [("format", "str")], [("iris_dataset", "dataset")])
    trial = component("train-trial", [("dataset", "dataset"), ("label_column", "str"),
                                      ("model_pkg_class", "str"), ("sample", "int"),
                                      ("test_size", "float")],
                      [("model", "model"), ("test_set", "dataset"), ("accuracy", "float")])

    @dsl.container_component
    def train(model: Input[List[Model]], test_set: Input[List[dsl.Dataset]],
              accuracy: List[float], best_model: Output[Model],
              best_test_set: Output[dsl.Dataset]):
        return dsl.ContainerSpec(image="python:3.11", command=["true"])

    test = component("test", [("label_column", "str"), ("models_path", "model"),
                              ("test_set", "dataset")], [])
    deploy = component("deploy-serving", [], [("endpoint", "str"), ("name", "str")])
    tester = component("model-tester", [("addr", "str"), ("model", "str"),
                                        ("table", "dataset")], [])
    classes = ["sklearn.ensemble.RandomForestClassifier",
               "sklearn.linear_model.LogisticRegression",
               "sklearn.ensemble.AdaBoostClassifier"]

    @dsl.pipeline(name=loaded.workflow.name, description=loaded.workflow.description)
    def pipeline():
        builder = build()
        ingest = get_data(format="pq").after(builder)
        with dsl.ParallelFor(items=[{"model_pkg_class": c} for c in classes]) as item:
            t = trial(dataset=ingest.outputs["iris_dataset"], label_column="label",
                      model_pkg_class=item.model_pkg_class, sample=-1, test_size=0.1)
        best = train(model=dsl.Collected(t.outputs["model"]),
                     test_set=dsl.Collected(t.outputs["test_set"]),
                     accuracy=dsl.Collected(t.outputs["accuracy"]))
        test(label_column="label", models_path=best.outputs["best_model"],
             test_set=best.outputs["best_test_set"])
        d = deploy().after(best)
        tester(addr=d.outputs["endpoint"], model="iris_dataset:v1",
               table=best.outputs["best_test_set"])

    theirs = kfp_yaml(pipeline, tmp_path)
    # The model list of the deploy step reaches flowc's deploy task as a channel input (the
    # runtime fills it in); kfp has no way to pass an artifact inside a list, so the kfp-side
    # deploy task depends on the selector with `.after` instead: the same edge.
    assert canonical_graph(ours) == canonical_graph(theirs)
    ours_wiring, theirs_wiring = wiring(ours), wiring(theirs)
    ours_wiring.pop("train")
    theirs_wiring.pop("train")  # the selector's inputs are named after the outputs
    assert ours_wiring == theirs_wiring
    assert ours["root"].get("inputDefinitions") == theirs["root"].get("inputDefinitions")


def test_nested_conditions(tmp_path):
    make = component("make", [("n", "int")], [("data", "dataset"), ("count", "int")])
    total = component("total", [("data", "dataset")], [("total", "float")])
    big = component("big", [("a", "float"), ("b", "float"), ("label", "str")],
                    [("summary", "str")])
    inner = component("inner", [("name", "str")], [("message", "str")])

    @dsl.pipeline(name="nested")
    def pipeline(n: int = 4):
        m = make(n=n)
        t = total(data=m.outputs["data"])
        with dsl.If(t.outputs["total"] > 5):
            b = big(a=t.outputs["total"], b=1.0, label="big")
            with dsl.If(b.outputs["summary"] == "big:7.0"):
                inner(name=b.outputs["summary"])

    assert_equivalent(flowc_yaml(w.nested_conditions()), kfp_yaml(pipeline, tmp_path))


def test_header_comment_is_written_as_kfp_writes_it(tmp_path):
    from flowc.backends.kfp.emit import header_comment

    step = component("step", [("x", "str")], [])

    @dsl.pipeline(name="header", description="First line.\nSecond line.")
    def pipeline(n: int = 3, rate: float = 0.5, name: str = "bob", flag: bool = True,
                 items: list = [1, 2], config: dict = {"a": 1}, required: str = None):
        step(x=name)

    path = os.path.join(str(tmp_path), "kfp.yaml")
    compiler.Compiler().compile(pipeline, path)
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    spec = documents(text)[0]
    header = header_comment(spec, "First line.\nSecond line.")
    assert text.startswith(header)
    assert text[len(header):].startswith("components:")
