"""hub://NAME resolution: built-ins, FLOWC_HUB_PATH, errors."""

from __future__ import annotations

import os

import pytest

from flowc import hub
from flowc.diagnostics import FlowcError


def test_builtins_resolve():
    server = hub.resolve("hub://v2_model_server")
    assert server.kind == "serving" and server.default_class == "ClassifierModel"
    assert os.path.isfile(server.source_file) and server.handler is None
    tester = hub.resolve("hub://default/v2-model-tester:latest")
    assert tester.kind == "job" and tester.handler == "model_server_tester"
    assert {"v2_model_server", "v2_model_tester"} <= set(hub.available())


def test_unknown_function_lists_known_ones():
    with pytest.raises(FlowcError) as info:
        hub.resolve("hub://no_such_fn")
    assert info.value.code == "FC301"
    assert "v2_model_server" in str(info.value) and "FLOWC_HUB_PATH" in info.value.hint
    with pytest.raises(FlowcError):
        hub.resolve("http://x")
    with pytest.raises(FlowcError):
        hub.resolve("hub://a/../b")


def _write_fn(folder, name, yaml_text, source="def h():\n    return {}\n"):
    fn_dir = folder / name
    fn_dir.mkdir(parents=True)
    (fn_dir / "function.yaml").write_text(yaml_text)
    (fn_dir / f"{name}.py").write_text(source)
    return fn_dir


def test_hub_path_first_then_builtins(tmp_path, monkeypatch):
    _write_fn(tmp_path / "a", "v2_model_server",
              "kind: job\nmetadata: {name: mine}\nspec: {handler: h, requirements: x}\n")
    _write_fn(tmp_path / "b", "extra_fn", "kind: job\nspec: {handler: h}\n")
    monkeypatch.setenv("FLOWC_HUB_PATH",
                       os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    mine = hub.resolve("hub://v2_model_server")
    assert mine.name == "mine" and mine.kind == "job" and mine.requirements == ("x",)
    assert mine.source_file == str(tmp_path / "a" / "v2_model_server" / "v2_model_server.py")
    assert hub.resolve("hub://extra-fn").handler == "h"
    assert "extra_fn" in hub.available()


def test_bad_function_yaml(tmp_path, monkeypatch):
    _write_fn(tmp_path, "escape", "kind: job\nspec: {filename: ../../etc/passwd}\n")
    _write_fn(tmp_path, "badkind", "kind: spaceship\n")
    _write_fn(tmp_path, "notmap", "- 1\n- 2\n")
    monkeypatch.setenv("FLOWC_HUB_PATH", str(tmp_path))
    with pytest.raises(FlowcError, match="escapes its folder"):
        hub.resolve("hub://escape")
    with pytest.raises(FlowcError, match="unknown kind"):
        hub.resolve("hub://badkind")
    with pytest.raises(FlowcError, match="must be a mapping"):
        hub.resolve("hub://notmap")
