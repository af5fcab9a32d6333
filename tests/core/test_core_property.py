"""Property: any DAG built with data wiring and .after() traces to exactly that graph."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowc as fc
from flowc.ir import Workflow


@st.composite
def dags(draw):
    n = draw(st.integers(min_value=1, max_value=14))
    edges = {}
    for j in range(n):
        for i in range(j):
            kind = draw(st.sampled_from([None, None, "data", "after", "both"]))
            if kind:
                edges[(i, j)] = kind
    conditioned = draw(st.sets(st.integers(min_value=0, max_value=n - 1)))
    names = draw(st.lists(st.sampled_from(["prep", "train", "Train", "eval", "x_y"]),
                          min_size=n, max_size=n))
    return n, edges, conditioned, names


def build(n, edges, conditioned, names):
    def flow(threshold: float = 0.5):
        handles = []
        for j in range(n):
            inputs = {f"in{i}": handles[i].outputs["out"]
                      for (i, k), kind in sorted(edges.items()) if k == j and kind != "after"}
            if j in conditioned:
                with fc.Condition(threshold > 0.1):
                    h = fc.run_function(names[j], inputs=inputs, outputs=["out"])
            else:
                h = fc.run_function(names[j], inputs=inputs, outputs=["out"])
            after = [handles[i] for (i, k), kind in sorted(edges.items())
                     if k == j and kind in ("after", "both")]
            if after:
                h.after(*after)
            handles.append(h)

    return flow


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags())
def test_traced_graph_equals_the_intended_graph(dag):
    n, edges, conditioned, names = dag
    wf = fc.trace(build(n, edges, conditioned, names), name="prop")
    assert len(wf.steps) == n
    step_names = [s.name for s in wf.steps]
    assert len(set(step_names)) == n                       # duplicates were suffixed
    graph = wf.graph()
    intended = {(step_names[i], step_names[j]) for (i, j) in edges}
    assert set(graph.edges) == intended
    for (i, j), kind in edges.items():
        expected = "after" if kind == "after" else "data"
        assert graph.edges[step_names[i], step_names[j]]["kind"] == expected
    for j in range(n):
        assert (wf.steps[j].condition is not None) == (j in conditioned)
    assert Workflow.loads(wf.dumps()) == wf


_piece = st.one_of(
    st.text(alphabet="ab{}:-. flowc", max_size=6),
    st.builds(lambda k: "{{flowc:arg:" + k + "}}", st.from_regex(r"[a-z_][a-z0-9_]{0,4}", fullmatch=True)),
    st.builds(lambda s, o: "{{flowc:out:" + s + ":" + o + "}}",
              st.from_regex(r"[a-z][a-z0-9-]{0,4}", fullmatch=True),
              st.from_regex(r"[A-Za-z0-9_.]{1,5}", fullmatch=True)),
    st.builds(lambda k: "{{flowc:secret:" + k + "}}", st.from_regex(r"[A-Z_]{1,5}", fullmatch=True)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_piece, max_size=6).map("".join))
def test_fast_template_split_agrees_with_the_lark_grammar(text):
    from flowc.compiler.grammar import (ExpressionSyntaxError, parse_template,
                                        parse_template_with_grammar)

    def outcome(parse):
        try:
            return parse(text)
        except ExpressionSyntaxError:
            return "error"

    expected = outcome(parse_template_with_grammar) if "{{flowc:" in text else text
    assert outcome(parse_template) == expected
