"""The IR document: exact JSON round trip, literal wrapping, schema."""

import json

from flowc.diagnostics import Location
from flowc.ir import (Arg, ArgRef, Concat, Expr, FunctionRef, Hyper, Name, Output, OutputRef,
                      SecretRef, Step, Workflow, value_from_json, value_to_json)
from flowc.schema import validate_ir_document


def sample() -> Workflow:
    a = Step(name="a", kind="run", function=FunctionRef(name="fa", url="a.py", handler="h"),
             params={"lit": {"$ref": "not a ref", "n": [1, 2.5, None, True]},
                     "cat": Concat(("x-", ArgRef("env"), SecretRef("TOKEN")))},
             outputs=(Output(name="m", type="model"), Output(name="acc", type="float")),
             hyper=Hyper(params={"lr": [0.1, 0.2]}, strategy="list", selector="max.acc",
                         stop_condition=Expr(">", (Name("acc"), 0.9)), max_errors=2),
             location=Location(file="flow.py", line=3, col=5))
    b = Step(name="b", kind="deploy", function=FunctionRef(name="srv", url="hub://x",
                                                           kind="serving"),
             params={"models": [{"key": "k", "model_path": OutputRef("a", "m")}]},
             outputs=(Output(name="endpoint", type="str"),), after=("a",),
             condition=Expr("and", (Expr("==", (ArgRef("env"), "prod")),
                                    Expr("not", (Expr("<", (OutputRef("a", "acc"), 0.5)),)))))
    return Workflow(name="w", description="d", steps=(a, b), project="p",
                    args=(Arg(name="env", default="dev", choices=("dev", "prod"), doc="where"),))


def test_round_trip_is_exact_and_schema_valid():
    wf = sample()
    text = wf.dumps()
    assert Workflow.loads(text) == wf
    assert Workflow.loads(text).dumps() == text
    validate_ir_document(json.loads(text))


def test_literal_dicts_with_dollar_keys_are_wrapped():
    value = {"$ref": "x", "inner": {"$arg": "not-an-arg"}}
    encoded = value_to_json(value)
    assert encoded == {"$literal": {"$ref": "x", "inner": {"$literal": {"$arg": "not-an-arg"}}}}
    assert value_from_json(encoded) == value
    assert value_from_json({"$arg": "x"}) == ArgRef("x")


def test_graph_view_carries_edge_kinds():
    graph = sample().graph()
    assert set(graph.nodes) == {"a", "b"}
    assert graph.edges["a", "b"]["kind"] == "data"
    assert graph.nodes["a"]["step"].name == "a"
