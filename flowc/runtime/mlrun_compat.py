"""A small ``mlrun`` stand-in so that handler files written for MLRun run in flowc's runtime.

When a handler's source mentions ``mlrun`` and the real package is not installed, the loader
calls :func:`install`, which registers these modules in ``sys.modules`` for the rest of the
process (a step process, normally):

* ``mlrun``: ``DataItem``, ``MLClientCtx``, ``get_dataitem``, ``artifacts``, ``datastore``,
  ``execution``, ``serving``
* ``mlrun.execution.MLClientCtx`` (flowc's ``StepContext``), ``mlrun.datastore.DataItem``
* ``mlrun.artifacts``: ``Artifact``, ``PlotArtifact``, ``ChartArtifact``, ``TableArtifact``,
  ``get_model(model_dir, suffix="")``
* ``mlrun.serving`` / ``mlrun.serving.v2_serving``: ``V2ModelServer``

Anything else raises an error naming what the runtime provides.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

PROVIDED = ("mlrun", "mlrun.execution", "mlrun.datastore", "mlrun.artifacts", "mlrun.serving",
            "mlrun.serving.v2_serving")


class Artifact:
    """An artifact object for ``context.log_artifact(item)`` (MLRun's shape)."""

    kind = "artifact"

    def __init__(self, key: str | None = None, body: Any = None, format: str | None = None,
                 src_path: str | None = None, **_ignored: Any) -> None:
        self.key = key
        self.body = body
        self.format = format
        self.src_path = src_path

    def get_body(self) -> Any:
        return self.body


class PlotArtifact(Artifact):
    """An HTML/SVG plot body."""

    kind = "plot"

    def __init__(self, key: str | None = None, body: Any = None, format: str | None = None,
                 title: str | None = None, **ignored: Any) -> None:
        super().__init__(key, body, format or _guess_format(body), **ignored)
        self.title = title


class ChartArtifact(Artifact):
    """Rows of ``[x, y, ...]`` drawn as an SVG line chart of the second column."""

    kind = "plot"

    def __init__(self, key: str | None = None, data: list | None = None,
                 header: list | None = None, options: dict | None = None,
                 title: str | None = None, **ignored: Any) -> None:
        super().__init__(key, None, "svg", **ignored)
        self.header = list(header or [])
        self.rows = [list(r) for r in (data or [])]
        self.title = title or (options or {}).get("title") or key or "chart"

    def add_row(self, row: list) -> None:
        self.rows.append(list(row))

    def get_body(self) -> str:
        from .plots import line_chart_svg

        values = [float(r[1]) for r in self.rows if len(r) > 1]
        y_label = str(self.header[1]) if len(self.header) > 1 else ""
        x_label = str(self.header[0]) if self.header else ""
        return line_chart_svg(values, title=str(self.title), x_label=x_label, y_label=y_label)


class TableArtifact(Artifact):
    """A table from ``df`` or ``body`` rows (with ``header``), written as CSV."""

    kind = "table"

    def __init__(self, key: str | None = None, body: Any = None, df: Any = None,
                 header: list | None = None, format: str | None = None,
                 **ignored: Any) -> None:
        super().__init__(key, body, format or "csv", **ignored)
        self.df = df
        self.header = header

    def get_body(self) -> Any:
        if self.df is not None:
            return self.df.to_csv(index=False)
        if isinstance(self.body, list):
            import csv
            import io

            out = io.StringIO()
            writer = csv.writer(out)
            if self.header:
                writer.writerow(self.header)
            writer.writerows(self.body)
            return out.getvalue()
        return self.body


def _guess_format(body: Any) -> str:
    text = body.decode("utf-8", "ignore") if isinstance(body, bytes) else str(body or "")
    return "svg" if text.lstrip().startswith("<svg") else "html"


def get_model(model_dir: Any, suffix: str = "") -> tuple[str, Any, dict]:
    """``(model_file, model_spec, extra_data)`` of a model folder or file (MLRun's helper);
    ``model_spec`` has the ``model_spec.json`` fields as attributes (``metrics``, ...)."""
    import os

    from .artifacts import model_file_path, model_spec

    path = model_dir.local() if hasattr(model_dir, "local") else os.fspath(model_dir)
    model_file = None
    if suffix and os.path.isdir(path):
        matches = sorted(f for f in os.listdir(path) if f.endswith(suffix))
        if len(matches) == 1:
            model_file = os.path.join(path, matches[0])
    spec = model_spec(path)
    return (model_file or model_file_path(path),
            types.SimpleNamespace(**{"metrics": {}, "parameters": {}, **spec}), {})


def install() -> bool:
    """Register the stand-in modules unless a real ``mlrun`` is importable; True if installed."""
    if "mlrun" in sys.modules:
        return False
    if importlib.util.find_spec("mlrun") is not None:
        return False
    from .context import StepContext
    from .dataitem import DataItem
    from .serving import V2ModelServer

    def module(name: str, doc: str, **names: Any) -> types.ModuleType:
        mod = types.ModuleType(name, doc)
        mod.__dict__.update(names)
        mod.__getattr__ = _missing(name)  # type: ignore[attr-defined]
        return mod

    execution = module("mlrun.execution", "flowc stand-in", MLClientCtx=StepContext)
    datastore = module("mlrun.datastore", "flowc stand-in", DataItem=DataItem)
    artifacts = module("mlrun.artifacts", "flowc stand-in", Artifact=Artifact,
                       PlotArtifact=PlotArtifact, ChartArtifact=ChartArtifact,
                       TableArtifact=TableArtifact, get_model=get_model)
    v2_serving = module("mlrun.serving.v2_serving", "flowc stand-in",
                        V2ModelServer=V2ModelServer)
    serving = module("mlrun.serving", "flowc stand-in", V2ModelServer=V2ModelServer,
                     v2_serving=v2_serving)
    serving.__path__ = []  # a package, so that ``mlrun.serving.v2_serving`` imports
    root = module("mlrun", "flowc's stand-in for mlrun inside step processes",
                  DataItem=DataItem, MLClientCtx=StepContext, get_dataitem=DataItem,
                  execution=execution, datastore=datastore, artifacts=artifacts,
                  serving=serving, __version__="0.0.0+flowc-runtime")
    root.__path__ = []
    for mod in (root, execution, datastore, artifacts, serving, v2_serving):
        sys.modules[mod.__name__] = mod
    return True


def _missing(module_name: str):
    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"{module_name}.{name} is not available in flowc's step runtime (mlrun is not "
            f"installed; flowc provides {', '.join(PROVIDED)}: DataItem, MLClientCtx, "
            "PlotArtifact, ChartArtifact, TableArtifact, get_model, V2ModelServer)")

    return __getattr__
