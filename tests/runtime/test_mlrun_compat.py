"""Handler files written for MLRun run in flowc's runtime without mlrun installed."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

from flowc.runtime.core import StepCall

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("mlrun") is not None,
                       reason="the real mlrun is installed; the stand-in is not used"),
]

MLRUN_HANDLERS = textwrap.dedent('''
    from pickle import dumps

    import mlrun
    from mlrun.artifacts import ChartArtifact, PlotArtifact, TableArtifact, get_model
    from mlrun.datastore import DataItem
    from mlrun.execution import MLClientCtx


    def train(context: MLClientCtx, dataset: DataItem, n: int = 3):
        df = dataset.as_df()
        context.log_model("model", body=dumps({"w": n}), model_file="model.pkl",
                          metrics={"accuracy": 0.5}, labels={"team": "x"}, training_set=df,
                          label_column="label", algorithm="toy")
        context.log_artifact(PlotArtifact("plot", body="<html><b>p</b></html>"))
        chart = ChartArtifact("chart", header=["i", "latency"])
        chart.add_row([1, 2])
        chart.add_row([2, 5])
        context.log_artifact(chart)
        context.log_artifact(TableArtifact("table", body=[[1, 2]], header=["a", "b"]))
        context.log_dataset("ds", df=df, format="csv", index=False, stats=True, labels={})
        context.log_result("is_item", isinstance(dataset, mlrun.DataItem))


    def check(context, model: DataItem):
        model_file, spec, extra = get_model(model, suffix=".pkl")
        context.log_result("file", os.path.basename(model_file))
        context.log_result("accuracy", spec.metrics["accuracy"])
        context.log_result("algorithm", spec.algorithm)


    def unsupported(context):
        mlrun.get_run_db()
    ''').replace("from pickle import dumps", "import os\nfrom pickle import dumps")


def _exec(call: StepCall, tmp_path):
    call_file = tmp_path / f"{call.step}.json"
    call_file.write_text(json.dumps(call.to_json()))
    result_file = tmp_path / f"{call.step}-result.json"
    proc = subprocess.run([sys.executable, "-m", "flowc.runtime", "exec", "--call",
                           str(call_file), "--result", str(result_file)],
                          capture_output=True, text=True, timeout=120)
    return proc, json.loads(result_file.read_text())


def test_mlrun_style_handlers(tmp_path):
    source = tmp_path / "mlrun_handlers.py"
    source.write_text(MLRUN_HANDLERS)
    data = tmp_path / "d.csv"
    data.write_text("x,label\n1,0\n2,1\n")

    def call(step, handler, **kw):
        return StepCall(step=step, run_id="r", project="p", handler=handler,
                        source_file=str(source), source_code=None,
                        artifact_dir=str(tmp_path / "art" / step), **kw)

    proc, out = _exec(call("train", "train", inputs={"dataset": str(data)}), tmp_path)
    assert proc.returncode == 0, proc.stderr
    arts = out["artifacts"]
    assert {k: v["kind"] for k, v in arts.items()} == {
        "model": "model", "plot": "plot", "chart": "plot", "table": "table", "ds": "dataset"}
    assert arts["plot"]["path"].endswith("plot.html")
    assert open(arts["chart"]["path"]).read().startswith("<svg")
    assert open(arts["table"]["path"]).read().splitlines() == ["a,b", "1,2"]
    assert out["results"] == {"is_item": True}

    proc, out = _exec(call("check", "check", inputs={"model": arts["model"]["path"]}), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert out["results"] == {"file": "model.pkl", "accuracy": 0.5, "algorithm": "toy"}

    proc, out = _exec(call("unsupported", "unsupported"), tmp_path)
    assert proc.returncode == 1
    assert "mlrun.get_run_db is not available in flowc's step runtime" in out["error"]
