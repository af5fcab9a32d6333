"""StepContext artifact logging, DataItem access, and model files."""

from __future__ import annotations

import io
import os

import pandas as pd
import pytest

from flowc.runtime import artifacts as art
from flowc.runtime.context import StepContext, StepLogger
from flowc.runtime.dataitem import DataItem, register_store_resolver, unregister_store_resolver


@pytest.fixture
def ctx(tmp_path):
    return StepContext(step="s", run_id="r", project="proj",
                       artifact_dir=str(tmp_path / "art"), logger=StepLogger("s", io.StringIO()))


def test_dataset_round_trip_parquet_and_csv(ctx):
    df = pd.DataFrame({"x": [1.0, 2.0], "label": ["a", "b"]})
    uri = ctx.log_dataset("data", df, format="pq")
    assert uri == "store://artifacts/proj/data"
    path = ctx.artifacts["data"]["path"]
    assert path.endswith("data.parquet")
    pd.testing.assert_frame_equal(DataItem(path).as_df(), df)
    ctx.log_dataset("data", df, format="csv")  # re-logging replaces the old file
    assert ctx.artifacts["data"]["path"].endswith("data.csv")
    assert not os.path.exists(path)
    pd.testing.assert_frame_equal(DataItem(ctx.artifacts["data"]["path"]).as_df(), df)
    with pytest.raises(art.ArtifactError, match="format 'xlsx'"):
        ctx.log_dataset("data", df, format="xlsx")


def test_model_folder_round_trip(ctx):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    ctx.log_model("model", model, metrics={"accuracy": 1.0}, parameters={"C": 1.0})
    info = ctx.artifacts["model"]
    assert info["kind"] == "model" and os.path.isdir(info["path"])
    loaded = art.load_model(info["path"])
    assert list(loaded.predict([[0.0], [3.0]])) == [0, 1]
    spec = art.model_spec(info["path"])
    assert spec["metrics"] == {"accuracy": 1.0}
    assert spec["framework"] == "sklearn"
    assert spec["model_file"] == "model.pkl"
    assert art.model_file_path(info["path"]).endswith("model.pkl")


def test_joblib_model_file(tmp_path, ctx):
    import joblib

    joblib.dump({"w": [1, 2]}, tmp_path / "m.joblib")
    ctx.log_model("m", model_file=str(tmp_path / "m.joblib"))
    assert art.load_model(ctx.artifacts["m"]["path"]) == {"w": [1, 2]}
    assert art.load_model(str(tmp_path / "m.joblib")) == {"w": [1, 2]}


@pytest.mark.parametrize("key", ["../escape", "a/b", ".hidden", "", "x..y", "store:key"])
def test_unsafe_keys_are_rejected(ctx, key):
    with pytest.raises(art.ArtifactError, match="not allowed"):
        ctx.log_artifact(key, body="x")


def test_log_artifact_local_file_folder_and_inside(ctx, tmp_path):
    src_file = tmp_path / "plot.svg"
    src_file.write_text("<svg/>")
    ctx.log_artifact("plot", local_path=str(src_file), kind="plot")
    assert ctx.artifacts["plot"]["path"].endswith("plot.svg")
    assert ctx.artifacts["plot"]["kind"] == "plot"
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "f.txt").write_text("deep")
    ctx.log_artifact("tree", local_path=str(folder))
    with open(os.path.join(ctx.artifacts["tree"]["path"], "sub", "f.txt")) as handle:
        assert handle.read() == "deep"
    os.makedirs(ctx.artifact_path, exist_ok=True)
    own = os.path.join(ctx.artifact_path, "own.txt")
    with open(own, "w") as handle:
        handle.write("mine")
    ctx.log_artifact("own", local_path=own)
    assert ctx.artifacts["own"]["path"] == own
    with pytest.raises(art.ArtifactError, match="exactly one"):
        ctx.log_artifact("x")
    with pytest.raises(art.ArtifactError, match="does not exist"):
        ctx.log_artifact("x", local_path=str(tmp_path / "missing"))
    with pytest.raises(art.ArtifactError, match="body must be str or bytes"):
        ctx.log_artifact("x", body=[1, 2])


def test_atomic_file_leaves_old_content_on_failure(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with art.atomic_file(str(target), "w") as handle:
            handle.write("new half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_dataitem_store_resolver_and_errors(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a\n1\n")
    uri = "store://artifacts/proj/d"
    with pytest.raises(art.ArtifactError, match="cannot resolve"):
        DataItem(uri).local()

    def resolver(u):
        return str(path) if u == uri else None

    register_store_resolver(resolver)
    try:
        item = DataItem(uri)
        assert item.local() == str(path)
        assert item.as_df()["a"].tolist() == [1]
        assert item.kind == "store"
    finally:
        unregister_store_resolver(resolver)
    with pytest.raises(art.ArtifactError, match="does not exist"):
        DataItem(str(tmp_path / "nope.csv")).local()
    with pytest.raises(art.ArtifactError, match="read-only"):
        DataItem(str(path)).open("w")


def test_parquet_without_extension_is_sniffed(tmp_path):
    df = pd.DataFrame({"a": [1, 2]})
    df.to_parquet(tmp_path / "blob")
    pd.testing.assert_frame_equal(DataItem(str(tmp_path / "blob")).as_df(), df)


def test_store_uri_parsing():
    assert art.parse_store_uri("store://artifacts/p/k#3:latest") == ("p", "k")
    with pytest.raises(art.ArtifactError):
        art.parse_store_uri("store://artifacts/p")


def test_logger_fields_and_levels():
    stream = io.StringIO()
    log = StepLogger("train", stream)
    log.info("trained %s", "ok", accuracy=0.5, name="rf")
    log.debug("hidden")
    text = stream.getvalue()
    assert "INFO  [train] trained ok accuracy=0.5 name='rf'" in text
    assert "hidden" not in text


def test_mlrun_only_options_are_ignored_but_typos_are_errors(ctx, tmp_path):
    df = pd.DataFrame({"a": [1]})
    ctx.log_dataset("d", df, labels={"x": 1}, stats=True, preview=5)
    with pytest.raises(TypeError, match="unexpected keyword argument.*formatt"):
        ctx.log_dataset("d", df, formatt="csv")
    src = tmp_path / "f.txt"
    src.write_text("x")
    ctx.log_artifact("f", src_path=str(src), tag="latest", upload=True)
    assert ctx.artifacts["f"]["path"].endswith("f.txt")
    import pickle

    ctx.log_model("m", pickle.dumps([1, 2]), model_file="weights.pkl")  # MLRun: body bytes
    assert art.load_model(ctx.artifacts["m"]["path"]) == [1, 2]
    assert art.model_spec(ctx.artifacts["m"]["path"])["model_file"] == "weights.pkl"


def test_logger_never_fails_on_bad_format_arguments():
    stream = io.StringIO()
    StepLogger("s", stream).info("100% done", "extra")
    assert "100% done extra" in stream.getvalue()


def test_http_input_is_downloaded_once(tmp_path, ctx):
    import http.server
    import threading

    served = tmp_path / "www"
    served.mkdir()
    (served / "data.csv").write_text("a,b\n1,2\n")
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args):
            hits.append(args)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/data.csv"
        item = DataItem(url, download_dir=str(tmp_path / "dl"))
        assert item.kind == "http"
        assert item.as_df()["b"].tolist() == [2]
        assert DataItem(url, download_dir=str(tmp_path / "dl")).get() == b"a,b\n1,2\n"
        assert len(hits) == 1  # the second item found the download
        assert ctx.get_dataitem(url).url == url
    finally:
        server.shutdown()
        server.server_close()
    ctx.set_label("owner", "me")
    assert ctx.labels == {"owner": "me"}
