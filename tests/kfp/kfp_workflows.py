"""Hand-built IR workflows for the KFP backend tests (independent of the tracer)."""

from __future__ import annotations

import os

from flowc import ir
from flowc.diagnostics import Location

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
STEPS = ir.FunctionRef(name="steps", url="steps.py", image="python:3.11")


def loc(line: int) -> Location:
    return Location(file="workflow.py", line=line, col=5)


def run(name, handler, *, params=None, inputs=None, outputs=(), after=(), condition=None,
        hyper=None, function=STEPS, line=1):
    return ir.Step(name=name, kind="run", function=function, handler=handler,
                   params=params or {}, inputs=inputs or {},
                   outputs=tuple(ir.Output(name=n, type=t) for n, t in outputs),
                   after=tuple(after), condition=condition, hyper=hyper, location=loc(line))


def diamond() -> ir.Workflow:
    """make -> (total-a, total-b) -> report, plus an `after`-only step."""
    O = ir.OutputRef
    return ir.Workflow(
        name="diamond", description="A diamond with an after edge.",
        args=(ir.Arg(name="n", type="int", default=4), ir.Arg(name="label", type="str",
                                                                default="sum")),
        steps=(
            run("make", "make", params={"n": ir.ArgRef("n"), "prefix": "r"},
                outputs=[("data", "dataset"), ("count", "int"), ("first", "str")], line=10),
            run("total-a", "total", inputs={"data": O("make", "data")},
                params={"scale": 1.0}, outputs=[("total", "float")], line=11),
            run("total-b", "total", inputs={"data": O("make", "data")},
                params={"scale": 2.0}, outputs=[("total", "float")], line=12),
            run("report", "report", params={"a": O("total-a", "total"),
                                            "b": O("total-b", "total"),
                                            "label": ir.Concat((ir.ArgRef("label"), "-",
                                                                O("make", "first")))},
                outputs=[("summary", "str")], line=13),
            run("tail", "make", params={"n": 1, "prefix": "t"},
                outputs=[("data", "dataset"), ("count", "int"), ("first", "str")],
                after=["report"], line=14),
        ))


def condition() -> ir.Workflow:
    O = ir.OutputRef
    cond = ir.Expr(">", (O("total", "total"), 5))
    return ir.Workflow(
        name="condition", args=(ir.Arg(name="n", type="int", default=4),),
        steps=(
            run("make", "make", params={"n": ir.ArgRef("n")},
                outputs=[("data", "dataset"), ("count", "int")], line=20),
            run("total", "total", inputs={"data": O("make", "data")},
                outputs=[("total", "float")], line=21),
            run("big", "report", params={"a": O("total", "total"), "b": 1.0, "label": "big"},
                outputs=[("summary", "str")], condition=cond, line=22),
            run("big-eval", "total", inputs={"data": O("make", "data")},
                params={"scale": 10.0}, outputs=[("total", "float")], condition=cond,
                line=23),
            run("small", "report", params={"a": O("total", "total"), "b": 0.0,
                                           "label": "small"},
                outputs=[("summary", "str")],
                condition=ir.Expr("not", (cond,)), line=24),
        ))


def hyper() -> ir.Workflow:
    O = ir.OutputRef
    return ir.Workflow(
        name="hyper", args=(ir.Arg(name="n", type="int", default=5),),
        steps=(
            run("make", "make", params={"n": ir.ArgRef("n")},
                outputs=[("data", "dataset"), ("count", "int")], line=30),
            run("train", "train", inputs={"data": O("make", "data")}, params={"depth": 1},
                outputs=[("model", "model")],
                hyper=ir.Hyper(params={"lr": [0.1, 0.2, 0.3]}, selector="max.accuracy"),
                line=31),
            run("evaluate", "evaluate", inputs={"model": O("train", "model")},
                params={"threshold": O("train", "accuracy")}, outputs=[("verdict", "str")],
                line=32),
        ))


def chain(n: int, *, fan: bool = False) -> ir.Workflow:
    """A chain (or fan-out from one source) of ``n`` identical report steps."""
    O = ir.OutputRef
    steps = [run("s0", "report", params={"a": 1.0, "b": 1.0}, outputs=[("summary", "str")])]
    for i in range(1, n):
        up = "s0" if fan else f"s{i - 1}"
        steps.append(run(f"s{i}", "report", params={"a": 1.0, "b": 2.0,
                                                    "label": O(up, "summary")},
                         outputs=[("summary", "str")]))
    return ir.Workflow(name=f"{'fan' if fan else 'chain'}-{n}", steps=tuple(steps))


IRIS = ir.FunctionRef(name="iris", url="iris_steps.py", image="python:3.11")


def iris() -> ir.Workflow:
    """gen -> train -> test, with pandas/sklearn data and a model folder."""
    O = ir.OutputRef
    return ir.Workflow(
        name="iris", args=(ir.Arg(name="test_size", type="float", default=0.25),),
        steps=(
            run("gen", "gen", function=IRIS, outputs=[("iris", "dataset")], line=40),
            run("train", "train", function=IRIS, inputs={"dataset": O("gen", "iris")},
                params={"test_size": ir.ArgRef("test_size")},
                outputs=[("model", "model"), ("test_set", "dataset"), ("accuracy", "float")],
                line=41),
            run("test", "test", function=IRIS, inputs={"model": O("train", "model"),
                                                       "test_set": O("train", "test_set")},
                outputs=[("test_accuracy", "float")], line=42),
        ))


def kitchen() -> ir.Workflow:
    """Build, run with the built image, a secret, a deploy of the model, a live test."""
    O = ir.OutputRef
    built = ir.FunctionRef(name="steps", url="steps.py",
                           image=O("build-steps", "image"), requirements=("pandas",))
    serving = ir.FunctionRef(name="serving", url="hub://v2_model_server", kind="serving")
    return ir.Workflow(
        name="kitchen", project="demo", description="Every step kind.",
        args=(ir.Arg(name="who", type="str", default="you"),),
        steps=(
            ir.Step(name="build-steps", kind="build",
                    function=ir.FunctionRef(name="steps", url="steps.py",
                                            requirements=("pandas",)),
                    params={"commands": ["echo built"]},
                    outputs=(ir.Output(name="image", type="str"),), location=loc(50)),
            run("make", "make", function=built, params={"n": 3},
                outputs=[("data", "dataset"), ("count", "int")], line=51),
            run("train", "train", function=built, inputs={"data": O("make", "data")},
                outputs=[("model", "model"), ("accuracy", "float")], line=52),
            ir.Step(name="deploy-serving", kind="deploy", function=serving,
                    params={"models": [{"key": "m:v1", "model_path": O("train", "model")}]},
                    outputs=(ir.Output(name="endpoint", type="str"),), location=loc(53)),
            run("greet", "greet", params={
                "name": ir.Concat((ir.ArgRef("who"), "@", O("deploy-serving", "endpoint"))),
                "token": ir.SecretRef("API_TOKEN")}, outputs=[("message", "str")], line=54),
        ))


def hyper_in_condition() -> ir.Workflow:
    """A hyper-parameter run and its consumer under one condition (loop inside a sub-DAG)."""
    O = ir.OutputRef
    cond = ir.Expr(">", (ir.ArgRef("n"), 2))
    return ir.Workflow(
        name="hyper-in-condition", args=(ir.Arg(name="n", type="int", default=5),),
        steps=(
            run("make", "make", params={"n": ir.ArgRef("n")},
                outputs=[("data", "dataset"), ("count", "int")], line=60),
            run("train", "train", inputs={"data": O("make", "data")},
                params={"depth": ir.ArgRef("n")}, outputs=[("model", "model")],
                hyper=ir.Hyper(params={"lr": [0.1, 0.2]}, selector="max.accuracy"),
                condition=cond, line=61),
            run("evaluate", "evaluate", inputs={"model": O("train", "model")},
                params={"threshold": O("train", "accuracy")}, outputs=[("verdict", "str")],
                condition=cond, line=62),
        ))


def nested_conditions() -> ir.Workflow:
    """`with Condition(total > 5): big ...; with Condition(big.summary == ...): inner`."""
    O = ir.OutputRef
    outer = ir.Expr(">", (O("total", "total"), 5))
    inner = ir.Expr("==", (O("big", "summary"), "big:7.0"))
    return ir.Workflow(
        name="nested", args=(ir.Arg(name="n", type="int", default=4),),
        steps=(
            run("make", "make", params={"n": ir.ArgRef("n")},
                outputs=[("data", "dataset"), ("count", "int")], line=70),
            run("total", "total", inputs={"data": O("make", "data")},
                outputs=[("total", "float")], line=71),
            run("big", "report", params={"a": O("total", "total"), "b": 1.0, "label": "big"},
                outputs=[("summary", "str")], condition=outer, line=72),
            run("inner", "greet", params={"name": O("big", "summary")},
                outputs=[("message", "str")], condition=ir.Expr("and", (outer, inner)),
                line=73),
        ))
