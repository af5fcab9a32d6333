"""The local executor on small workflows: each test asserts states, outputs and records."""

import os

import pytest

S = "'steps.py'"


def test_diamond_passes_values_and_artifacts_and_records_them(project):
    status = project.run(f"""
    def pipeline(x: int = 2):
        a = fc.run_function({S}, handler="add", name="a", params={{"x": x}}, outputs=["sum:int"])
        w = fc.run_function({S}, handler="write", name="w", params={{"text": f"v={{a.outputs['sum']}}"}},
                            outputs=["out"])
        b = fc.run_function({S}, handler="add", name="b", params={{"x": a.outputs["sum"], "y": 10}},
                            outputs=["sum:int"])
        fc.run_function({S}, handler="concat", name="d", params={{"a": b.outputs["sum"]}},
                        inputs={{"b": w.outputs["out"]}}, outputs=["joined:str"])
    """, arguments={"x": "5"})
    assert status.state == "succeeded"
    out = status.outputs
    assert out["a"] == {"sum": 6}
    assert out["b"] == {"sum": 16}
    art = out["w"]["out"]
    assert art == os.path.join(project.dir, "artifacts", status.run_id, "w", "out")
    assert open(art).read() == "v=6"
    assert out["d"]["joined"] == f"16+{art}"
    rows = project.step_rows(status.run_id)
    assert {n: r["state"] for n, r in rows.items()} == dict.fromkeys("awbd", "succeeded")
    assert rows["b"]["params"] == {"x": 6, "y": 10}
    assert rows["w"]["artifacts"]["out"]["uri"] == "store://artifacts/default/out"
    assert rows["d"]["started"] >= max(rows["b"]["ended"], rows["w"]["ended"])
    assert all(r["log_path"] and os.path.exists(r["log_path"]) for r in rows.values())
    with project.db() as conn:
        run = conn.execute("SELECT state, ended FROM runs WHERE run_id=?",
                           (status.run_id,)).fetchone()
    assert run["state"] == "succeeded" and run["ended"] is not None


def test_after_orders_steps_without_data(project):
    status = project.run(f"""
    def pipeline():
        first = fc.run_function({S}, handler="nap", name="first", params={{"seconds": 0.3}})
        fc.run_function({S}, handler="nap", name="second", params={{"seconds": 0}}).after(first)
        fc.run_function({S}, handler="nap", name="free", params={{"seconds": 0}})
    """, max_parallel=4)
    assert status.state == "succeeded"
    rows = project.step_rows(status.run_id)
    assert rows["second"]["started"] >= rows["first"]["ended"]
    assert rows["free"]["ended"] < rows["first"]["ended"]  # independent: ran alongside


def test_false_condition_skips_step_and_its_consumers_only(project):
    status = project.run(f"""
    def pipeline(limit: int = 100):
        a = fc.run_function({S}, handler="add", name="a", params={{"x": 1}}, outputs=["sum:int"])
        with fc.Condition(a.outputs["sum"] > limit):
            big = fc.run_function({S}, handler="add", name="big", params={{"x": 5}}, outputs=["sum:int"])
        fc.run_function({S}, handler="add", name="uses-big", params={{"x": big.outputs["sum"]}})
        fc.run_function({S}, handler="add", name="after-big", params={{"x": 0}}).after(big)
        with fc.Condition(a.outputs["sum"] <= limit):
            fc.run_function({S}, handler="add", name="small", params={{"x": 7}})
    """)
    rows = project.step_rows(status.run_id)
    states = {n: (r["state"], r["reason"]) for n, r in rows.items()}
    assert states == {"a": ("succeeded", None), "big": ("skipped", "condition false"),
                      "uses-big": ("skipped", "upstream skipped"),
                      "after-big": ("succeeded", None), "small": ("succeeded", None)}
    assert status.state == "succeeded"
    assert status.outputs["small"] == {"sum": 8}


def test_failing_step_stops_dependents_but_not_independent_branches(project):
    status = project.run(f"""
    def pipeline():
        bad = fc.run_function({S}, handler="boom", name="bad", params={{"msg": "kaput"}}, outputs=["x"])
        fc.run_function({S}, handler="add", name="needs-bad", params={{"x": bad.outputs["x"]}})
        fc.run_function({S}, handler="add", name="after-bad", params={{"x": 1}}).after(bad)
        slow = fc.run_function({S}, handler="nap", name="slow", params={{"seconds": 0.3}})
        fc.run_function({S}, handler="add", name="after-slow", params={{"x": 1}}).after(slow)
    """, max_parallel=4)
    assert status.state == "failed"
    rows = project.step_rows(status.run_id)
    assert {n: r["state"] for n, r in rows.items()} == {
        "bad": "failed", "needs-bad": "upstream_failed", "after-bad": "upstream_failed",
        "slow": "succeeded", "after-slow": "succeeded"}
    assert "ValueError: kaput" in rows["bad"]["error"]
    assert "kaput" in open(rows["bad"]["log_path"]).read()  # traceback in the step log


def test_fail_fast_aborts_running_and_pending_steps(project):
    status = project.run(f"""
    def pipeline():
        fc.run_function({S}, handler="boom", name="bad")
        slow = fc.run_function({S}, handler="nap", name="slow", params={{"seconds": 5}})
        fc.run_function({S}, handler="add", name="later", params={{"x": 1}}).after(slow)
    """, max_parallel=4, fail_fast=True)
    rows = project.step_rows(status.run_id)
    assert status.state == "failed"
    assert rows["bad"]["state"] == "failed"
    assert rows["slow"]["state"] == "aborted"
    assert rows["slow"]["ended"] - rows["slow"]["started"] < 4  # killed, not waited for
    assert rows["later"]["state"] in ("aborted", "upstream_failed")


def test_missing_declared_output_fails_the_step_naming_it(project):
    status = project.run(f"""
    def pipeline():
        fc.run_function({S}, handler="say", name="s", outputs=["word:str", "missing:int"])
    """)
    rows = project.step_rows(status.run_id)
    assert rows["s"]["state"] == "failed"
    assert "'missing'" in rows["s"]["error"]


def test_hyper_grid_max_selector_best_outputs_and_iteration_table(project):
    status = project.run(f"""
    def pipeline():
        t = fc.run_function({S}, handler="score", name="train", hyperparams={{"p": [1, 4, 2]}},
                            hyper_param_options=fc.HyperParamOptions(selector="max.score"),
                            outputs=["score:int", "model"])
        fc.run_function({S}, handler="read", name="use", inputs={{"data": t.outputs["model"]}})
    """)
    assert status.state == "succeeded"
    train = status.outputs["train"]
    assert train["score"] == 40 and train["best_iteration"] == 2
    assert open(train["model"]).read() == "model-4"
    assert train["model"].endswith(os.path.join("train", "2", "model"))
    table = open(train["iteration_results"]).read().splitlines()
    assert table[0] == "iter,state,param.p,output.score,error"
    assert table[1:] == ["1,succeeded,1,10,", "2,succeeded,4,40,", "3,succeeded,2,20,"]
    assert status.outputs["use"] == {"n": len("model-4")}
    with project.db() as conn:
        its = conn.execute("SELECT iteration, state FROM iterations WHERE run_id=? "
                           "ORDER BY iteration", (status.run_id,)).fetchall()
    assert [tuple(r) for r in its] == [(1, "succeeded"), (2, "succeeded"), (3, "succeeded")]


def test_hyper_stop_condition_stops_early_and_min_selector(project):
    status = project.run(f"""
    def pipeline():
        fc.run_function({S}, handler="score", name="train",
                        hyperparams={{"p": [3, 2, 5, 1, 9]}},
                        hyper_param_options=fc.HyperParamOptions(
                            selector="min.score", stop_condition="score >= 50", parallel_runs=1),
                        outputs=["score:int"])
    """)
    rows = project.step_rows(status.run_id)
    assert rows["train"]["state"] == "succeeded"
    assert "stop condition met at iteration 3" in rows["train"]["reason"]
    assert status.outputs["train"]["score"] == 20  # min over the 3 iterations that ran
    with project.db() as conn:
        count = conn.execute("SELECT COUNT(*) FROM iterations WHERE run_id=?",
                             (status.run_id,)).fetchone()[0]
    assert count == 3


def test_hyper_max_errors_fails_step_and_tolerates_fewer(project):
    text = f"""
    def pipeline():
        fc.run_function({S}, handler="score", name="train", hyperparams={{"p": [-1, 2, -3, 4]}},
                        hyper_param_options=fc.HyperParamOptions(
                            selector="max.score", max_errors=MAXERR, parallel_runs=1),
                        outputs=["score:int"])
    """
    ok = project.run(text.replace("MAXERR", "3"))
    assert ok.state == "succeeded" and ok.outputs["train"]["score"] == 40
    bad = project.run(text.replace("MAXERR", "2"))
    rows = project.step_rows(bad.run_id)
    assert rows["train"]["state"] == "failed"
    assert "max_errors 2" in rows["train"]["error"] and "negative -1" in rows["train"]["error"]
    assert rows["train"]["artifacts"]["iteration_results"]["kind"] == "table"


def test_hyper_list_and_random_strategies(project):
    listed = project.run(f"""
    def pipeline():
        fc.run_function({S}, handler="add", name="h", hyperparams={{"x": [1, 2], "y": [10, 20]}},
                        hyper_param_options=fc.HyperParamOptions(strategy="list", selector="sum"),
                        outputs=["sum:int"])
    """)
    assert listed.outputs["h"]["sum"] == 22
    rand = project.run(f"""
    def pipeline():
        fc.run_function({S}, handler="add", name="h", hyperparams={{"x": [1, 2, 3], "y": [0]}},
                        hyper_param_options=fc.HyperParamOptions(strategy="random",
                                                                 max_iterations=4,
                                                                 selector="max.sum"),
                        outputs=["sum:int"])
    """)
    with project.db() as conn:
        count = conn.execute("SELECT COUNT(*) FROM iterations WHERE run_id=?",
                             (rand.run_id,)).fetchone()[0]
    assert count == 4 and rand.outputs["h"]["sum"] in (1, 2, 3)


def test_iterations_run_in_parallel(project):
    status = project.run(f"""
    def pipeline():
        fc.run_function({S}, handler="nap", name="h", hyperparams={{"tag": ["a", "b", "c", "d"]}},
                        params={{"seconds": 0.4}}, outputs=["t:float"])
    """, max_parallel=4)
    rows = project.step_rows(status.run_id)
    assert status.state == "succeeded"
    assert rows["h"]["ended"] - rows["h"]["started"] < 1.2  # 4 x 0.4 s would be 1.6 s


def test_cache_reuses_unchanged_steps_and_reruns_changed_ones(project):
    text = f"""
    def pipeline(x: int = 1):
        w = fc.run_function({S}, handler="write", name="w", params={{"text": "fixed"}}, outputs=["out"])
        fc.run_function({S}, handler="read", name="r", inputs={{"data": w.outputs["out"]}},
                        outputs=["n:int"])
        fc.run_function({S}, handler="add", name="a", params={{"x": x}}, outputs=["sum:int"])
    """
    first = project.run(text, cache=True)
    second = project.run(text, cache=True)
    rows = project.step_rows(second.run_id)
    assert {n: r["state"] for n, r in rows.items()} == dict.fromkeys("wra", "cached")
    assert rows["w"]["reason"] == f"from run {first.run_id}"
    assert second.outputs == first.outputs
    third = project.run(text, cache=True, arguments={"x": "2"})
    rows = project.step_rows(third.run_id)
    assert (rows["w"]["state"], rows["r"]["state"], rows["a"]["state"]) == (
        "cached", "cached", "succeeded")
    assert third.outputs["a"] == {"sum": 3}
    # the code changed: nothing is reused
    with open(os.path.join(project.dir, "steps.py"), "a") as handle:
        handle.write("\n# changed\n")
    fourth = project.run(text, cache=True)
    assert {r["state"] for r in project.step_rows(fourth.run_id).values()} == {"succeeded"}
    # hyper-parameter candidates from an argument are part of the key
    hyper = f"""
    def pipeline(low: int = 1):
        fc.run_function({S}, handler="add", name="h", hyperparams={{"x": [low, 2]}},
                        hyper_param_options=fc.HyperParamOptions(selector="max.sum"),
                        outputs=["sum:int"])
    """
    project.run(hyper, cache=True)
    assert project.step_rows(project.run(hyper, cache=True).run_id)["h"]["state"] == "cached"
    other = project.run(hyper, cache=True, arguments={"low": "5"})
    assert project.step_rows(other.run_id)["h"]["state"] == "succeeded"
    assert other.outputs["h"]["sum"] == 6
    # without --cache, never reused
    fifth = project.run(text)
    assert {r["state"] for r in project.step_rows(fifth.run_id).values()} == {"succeeded"}


def test_cache_misses_when_input_content_changes(project):
    data = project.write("data.txt", "abc")
    text = f"""
    def pipeline():
        fc.run_function({S}, handler="read", name="r", inputs={{"data": "data.txt"}}, outputs=["n:int"])
    """
    project.run(text, cache=True)
    assert project.run(text, cache=True).outputs["r"] == {"n": 3}
    assert project.step_rows(project.run(text, cache=True).run_id)["r"]["state"] == "cached"
    with open(data, "w") as handle:
        handle.write("abcdef")
    again = project.run(text, cache=True)
    assert project.step_rows(again.run_id)["r"]["state"] == "succeeded"
    assert again.outputs["r"] == {"n": 6}


def test_secrets_reach_the_step_but_never_the_records(project, monkeypatch):
    monkeypatch.setenv("FLOWC_SECRET_API_TOKEN", "s3cr3t-value-42")
    status = project.run(f"""
    def pipeline():
        project = fc.get_current_project()
        fc.run_function({S}, handler="show_secret", name="s",
                        params={{"token": project.get_secret("API_TOKEN")}}, outputs=["length:int"])
    """.replace("project = fc.get_current_project()", "from flowc.compiler.dsl import get_current_project; project = get_current_project()"))
    assert status.state == "succeeded", project.step_rows(status.run_id)
    assert status.outputs["s"] == {"length": len("s3cr3t-value-42")}
    raw = open(os.path.join(project.dir, ".flowc", "runs.db"), "rb").read()
    assert b"s3cr3t-value-42" not in raw
    assert project.step_rows(status.run_id)["s"]["params"] == {"token": "***"}


def test_secret_values_are_redacted_from_errors_results_and_logs(project, monkeypatch):
    monkeypatch.setenv("FLOWC_SECRET_TOKEN", "hunter2-secret")
    project.write("leaky.py", '''
def leak(context, token: str, fail: bool = False):
    print("the token is", token)
    context.log_result("echo", f"<{token}>")
    if fail:
        raise ValueError(f"bad token {token}")


def size(context, word: str):
    context.log_result("size", len(word))
''')
    status = project.run("""
    from flowc.compiler.dsl import get_current_project

    def pipeline():
        token = get_current_project().get_secret("TOKEN")
        a = fc.run_function("leaky.py", handler="leak", name="a", params={"token": token},
                            outputs=["echo:str"])
        fc.run_function("leaky.py", handler="size", name="b", params={"word": a.outputs["echo"]},
                        outputs=["size:int"])
        fc.run_function("leaky.py", handler="leak", name="c", params={"token": token, "fail": True})
    """)
    rows = project.step_rows(status.run_id)
    assert rows["a"]["results"] == {"echo": "<***>"}
    assert "bad token ***" in rows["c"]["error"]
    assert status.outputs["b"] == {"size": len("<hunter2-secret>")}  # b got the real value
    for name in ("a", "c"):
        log = open(rows[name]["log_path"]).read()
        assert "the token is ***" in log and "hunter2" not in log
    raw = open(os.path.join(project.dir, ".flowc", "runs.db"), "rb").read()
    assert b"hunter2" not in raw


def test_in_process_steps_mask_secrets_on_the_console(project, monkeypatch, capfd):
    """--in-process: the handler's print, its logger and a failing handler's traceback go to
    the console, with the secret values masked."""
    import sys

    monkeypatch.setenv("FLOWC_SECRET_TOKEN", "hunter2-console")
    project.write("auth.py", '''
def login(context, token: str):
    print("using", token)
    context.logger.info(f"trying {token}")
    raise RuntimeError(f"auth failed for {token}")
''')
    before = (sys.stdout, sys.stderr)
    status = project.run("""
    from flowc.compiler.dsl import get_current_project

    def pipeline():
        fc.run_function("auth.py", handler="login", name="l",
                        params={"token": get_current_project().get_secret("TOKEN")})
    """, launcher="in-process", progress="plain")
    assert (sys.stdout, sys.stderr) == before  # the console streams are restored
    out, err = capfd.readouterr()
    assert status.state == "failed"
    assert "RuntimeError: auth failed for ***" in err  # the traceback
    assert "trying ***" in err and "using ***" in out
    assert "hunter2" not in out + err
    assert "auth failed for ***" in project.step_rows(status.run_id)["l"]["error"]


def test_overlapping_in_process_runs_mask_the_console_until_the_last_one_ends(capsys):
    import sys

    from flowc.backends.local import launch

    original = sys.stdout
    first, second = (lambda t: t.replace("alpha", "***")), (lambda t: t.replace("beta", "***"))
    launch._mask_console(first)
    launch._mask_console(second)
    print("alpha beta")
    launch._unmask_console(first)  # ends before the other run
    print("alpha beta")
    assert sys.stdout is not original
    launch._unmask_console(second)
    assert sys.stdout is original
    print("alpha beta")
    assert capsys.readouterr().out.splitlines() == ["*** ***", "alpha ***", "alpha beta"]


def test_store_uri_input_resolves_to_the_newest_logged_artifact(project):
    project.run(f"""
    def pipeline():
        fc.run_function({S}, handler="write", name="w", params={{"text": "hello"}}, outputs=["out"])
    """)
    status = project.run(f"""
    def pipeline():
        fc.run_function({S}, handler="read", name="r", inputs={{"data": "store://artifacts/default/out"}},
                        outputs=["n:int"])
    """)
    assert status.outputs["r"] == {"n": 5}
    missing = project.run(f"""
    def pipeline():
        fc.run_function({S}, handler="read", name="r", inputs={{"data": "store://artifacts/default/nope"}})
    """)
    assert "not in this project's runs database" in project.step_rows(missing.run_id)["r"]["error"]


def test_build_step_is_skipped_locally_and_its_function_still_runs(project):
    status = project.run(f"""
    def pipeline():
        b = fc.build_function({S}, image="me/steps:1", requirements=["nothing-installed"])
        fc.run_function({S}, handler="add", name="a", params={{"x": 1}}, outputs=["sum:int"]).after(b)
    """)
    rows = project.step_rows(status.run_id)
    build = next(n for n in rows if n.startswith("build-"))
    assert (rows[build]["state"], rows[build]["reason"]) == ("skipped", "local")
    assert rows["a"]["state"] == "succeeded"
    assert status.state == "succeeded"


@pytest.mark.parametrize("launcher", ["in-process", "subprocess"])
def test_other_launchers_give_the_same_results(project, launcher):
    status = project.run(f"""
    def pipeline():
        a = fc.run_function({S}, handler="add", name="a", params={{"x": 1}}, outputs=["sum:int"])
        fc.run_function({S}, handler="boom", name="bad").after(a)
    """, launcher=launcher)
    rows = project.step_rows(status.run_id)
    assert status.outputs["a"] == {"sum": 2}, rows
    assert rows["bad"]["state"] == "failed" and "bad thing" in rows["bad"]["error"], rows


def test_missing_function_file_fails_at_plan_time(project):
    from flowc.diagnostics import FlowcError

    with pytest.raises(FlowcError, match="not found"):
        project.run("""
        def pipeline():
            fc.run_function("nothere.py", handler="f", name="a")
        """)


@pytest.mark.slow
def test_build_flag_makes_a_venv_and_runs_the_function_with_its_python(project):
    project.write("where.py", '''
import sys


def where(context):
    context.log_result("prefix", sys.prefix)
''')
    text = """
    def pipeline():
        b = fc.build_function("where.py")
        fc.run_function("where.py", handler="where", name="w", outputs=["prefix:str"])
    """
    status = project.run(text, build=True)
    rows = project.step_rows(status.run_id)
    assert status.state == "succeeded", {n: r["error"] for n, r in rows.items()}
    build = next(n for n in rows if n.startswith("build-"))
    venv = rows[build]["outputs"]["image"]
    assert venv.startswith(os.path.join(project.dir, ".flowc", "venvs"))
    assert status.outputs["w"]["prefix"] == venv  # the step ran inside the venv
    again = project.run(text, build=True)  # reused, not rebuilt
    assert "reusing" in open(project.step_rows(again.run_id)[build]["log_path"]).read()


def test_step_process_killed_by_a_signal_fails_cleanly(project):
    project.write("killer.py", '''
import os
import signal


def die():
    os.kill(os.getpid(), signal.SIGKILL)
''')
    status = project.run("""
    def pipeline():
        d = fc.run_function("killer.py", handler="die", name="die")
        fc.run_function("steps.py", handler="add", name="after", params={"x": 1}).after(d)
        fc.run_function("steps.py", handler="add", name="free", params={"x": 1}, outputs=["sum:int"])
    """)
    rows = project.step_rows(status.run_id)
    assert rows["die"]["state"] == "failed"
    assert "without a result" in rows["die"]["error"]
    assert rows["after"]["state"] == "upstream_failed"
    assert rows["free"]["outputs"] == {"sum": 2}


@pytest.mark.parametrize("launcher", ["forkserver", "in-process"])
def test_handlers_can_open_store_uris_themselves(project, launcher):
    project.write("opener.py", '''
from flowc.runtime.dataitem import DataItem


def open_uri(context, uri: str):
    context.log_result("text", open(DataItem(uri).local()).read())
''')
    project.run(f"""
    def pipeline():
        fc.run_function({S}, handler="write", name="w", params={{"text": "stored"}}, outputs=["out"])
    """)
    status = project.run("""
    def pipeline():
        fc.run_function("opener.py", handler="open_uri", name="o",
                        params={"uri": "store://artifacts/default/out"}, outputs=["text:str"])
    """, launcher=launcher)
    assert status.outputs["o"] == {"text": "stored"}, project.step_rows(status.run_id)["o"]


def test_steps_can_start_their_own_subprocesses(project):
    project.write("child.py", '''
import subprocess
import sys


def spawn(context):
    out = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True,
                         text=True, check=True)
    context.log_result("answer", int(out.stdout))
''')
    status = project.run("""
    def pipeline():
        fc.run_function("child.py", handler="spawn", name="p", outputs=["answer:int"])
    """)
    assert status.outputs["p"] == {"answer": 42}, project.step_rows(status.run_id)["p"]["error"]


def test_python_functions_from_outside_the_project_run_but_dotdot_urls_are_refused(
        project, tmp_path_factory):
    from flowc.diagnostics import FlowcError
    from flowc.project import new_project

    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "outside_steps.py").write_text(
        "def double(context, x: int):\n    context.log_result('y', 2 * x)\n")
    (elsewhere / "outside_flow.py").write_text(
        "import flowc as fc\nfrom outside_steps import double\n\n"
        "def pipeline():\n"
        "    fc.run_function(double, name='d', params={'x': 21}, outputs=['y:int'])\n")
    import importlib.util
    import sys

    sys.path.insert(0, str(elsewhere))
    try:
        spec = importlib.util.spec_from_file_location("outside_flow",
                                                      elsewhere / "outside_flow.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        run = new_project("p", project.dir).run(workflow_handler=module.pipeline,
                                                progress="quiet")
    finally:
        sys.path.remove(str(elsewhere))
    assert run.state == "succeeded" and run.outputs["d"] == {"y": 42}
    with pytest.raises(FlowcError, match="escapes the project folder"):
        project.run("""
        def pipeline():
            fc.run_function("../outside.py", handler="f", name="a")
        """)
