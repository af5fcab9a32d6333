"""Hyper-parameter bookkeeping without processes: strategies, selection, stopping."""

import pytest

from flowc.backends.local.hyper import HyperRun, generate, iteration_table, parse_selector, \
    select_best
from flowc.diagnostics import FlowcError
from flowc.ir import Expr, Name


def test_grid_list_random():
    assert generate({"a": [1, 2], "b": ["x", "y"]}, "grid") == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    assert generate({"a": [1, 2], "b": ["x", "y"]}, "list") == [{"a": 1, "b": "x"},
                                                              {"a": 2, "b": "y"}]
    first = generate({"a": [1, 2, 3]}, "random", max_iterations=5, seed="r/s")
    assert len(first) == 5 and all(c["a"] in (1, 2, 3) for c in first)
    assert generate({"a": [1, 2, 3]}, "random", max_iterations=5, seed="r/s") == first
    assert len(generate({"a": [1, 2, 3]}, "random")) == 10
    assert generate({"a": [1, 2, 3]}, "grid", max_iterations=2) == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize("params, strategy, message", [
    ({"a": [1], "b": [1, 2]}, "list", "equal length"),
    ({"a": []}, "grid", "non-empty list"),
    ({"a": 3}, "grid", "non-empty list"),
    ({"a": [1]}, "bayes", "unknown hyper-parameter strategy"),
])
def test_bad_hyper_parameters(params, strategy, message):
    with pytest.raises(FlowcError, match=message):
        generate(params, strategy)


def _it(i, state="succeeded", **results):
    return {"iteration": i, "state": state, "params": {}, "results": results, "artifacts": {}}


def test_selector_max_min_bare_and_negative_scores():
    its = [_it(1, loss=-3.0), _it(2, loss=-1.0), _it(3, "failed"), _it(4, loss="n/a")]
    assert parse_selector("max.loss") == ("max", "loss")
    assert parse_selector("loss") == ("max", "loss")
    assert parse_selector(None) is None
    assert select_best(its, "max.loss")["iteration"] == 2   # negative scores can win
    assert select_best(its, "min.loss")["iteration"] == 1
    assert select_best(its, None)["iteration"] == 1
    assert select_best(its, "max.missing") is None
    assert select_best([_it(1, "failed")], "max.loss") is None


def test_ties_go_to_the_earliest_iteration():
    its = [_it(1, acc=0.9), _it(2, acc=0.9)]
    assert select_best(its, "max.acc")["iteration"] == 1
    assert select_best(its, "min.acc")["iteration"] == 1


def test_hyper_run_respects_parallel_and_stop_condition():
    run = HyperRun(combos=[{"p": i} for i in range(5)], selector="max.s", parallel=2,
                   stop_condition=Expr(">=", (Name("s"), 20)))
    assert run.take_next() == (1, {"p": 0}) and run.take_next() == (2, {"p": 1})
    assert run.take_next() is None  # two running already
    run.record(1, {"p": 0}, {}, state="succeeded", results={"s": 10})
    assert run.take_next() == (3, {"p": 2})
    run.record(2, {"p": 1}, {}, state="succeeded", results={"s": 25})
    assert run.stopped == "stop condition met at iteration 2" and run.take_next() is None
    assert not run.finished()
    run.record(3, {"p": 2}, {}, state="succeeded", results={"s": 30})
    assert run.finished()
    best, reason = run.outcome()
    assert best["iteration"] == 3
    assert reason == "best iteration 3 of 3; stop condition met at iteration 2"


def test_hyper_run_max_errors():
    run = HyperRun(combos=[{"p": i} for i in range(4)], parallel=1, max_errors=2)
    for i in (1, 2):
        run.take_next()
        run.record(i, {}, {}, state="failed", error=f"e{i}")
    assert run.exhausted() and run.finished()
    best, why = run.outcome()
    assert best is None and why == "2 iteration(s) failed (max_errors 2); first error: e1"


def test_iteration_table_only_hyper_params_and_simple_results():
    its = [{**_it(1, acc=0.5, blob={"x": 1}), "hyper": {"p": "a"}, "params": {"p": "a", "k": 1}}]
    assert iteration_table(its).splitlines() == ["iter,state,param.p,output.acc,error",
                                                 "1,succeeded,a,0.5,"]
