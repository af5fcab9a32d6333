"""Property: for random DAG workflows, the compiled YAML's dependentTasks graph is the IR graph,
every compile parses strictly, and compiling twice gives the same bytes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kfp_workflows as w
from kfp_helpers import documents, strict_parse
from flowc import ir
from flowc.backends.kfp import compile_workflow


@st.composite
def dag_workflows(draw) -> ir.Workflow:
    count = draw(st.integers(min_value=1, max_value=20))
    steps = []
    for i in range(count):
        earlier = [f"n{j}" for j in range(i)]
        params: dict = {}
        inputs: dict = {}
        after: list = []
        if earlier:
            for k, up in enumerate(draw(st.lists(st.sampled_from(earlier), max_size=3,
                                                 unique=True))):
                if draw(st.booleans()):
                    inputs[f"d{k}"] = ir.OutputRef(up, "data")
                else:
                    params[f"p{k}"] = ir.OutputRef(up, "value")
            after = draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True))
        if draw(st.booleans()):
            params["lit"] = draw(st.one_of(st.integers(-5, 5), st.text(max_size=5),
                                           st.floats(allow_nan=False, allow_infinity=False,
                                                     width=32)))
        steps.append(w.run(f"n{i}", "node", params=params, inputs=inputs, after=after,
                           outputs=[("value", "str"), ("data", "artifact")]))
    return ir.Workflow(name="random-dag", steps=tuple(steps))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dag_workflows())
def test_dependent_tasks_graph_equals_the_ir_graph(workflow):
    text = compile_workflow(workflow, base_dir=w.FIXTURES)
    strict_parse(text)
    spec, _ = documents(text)
    tasks = spec["root"]["dag"]["tasks"]
    compiled = {(up, name) for name, task in tasks.items()
                for up in task.get("dependentTasks", ())}
    expected = {(up, down) for up, down, _ in workflow.edges()}
    assert set(tasks) == {s.name for s in workflow.steps}
    assert compiled == expected
    for name, task in tasks.items():
        assert task.get("dependentTasks", []) == sorted(task.get("dependentTasks", []))
    assert compile_workflow(workflow, base_dir=w.FIXTURES) == text
