"""Test a live model server: send table rows, compare predictions with the labels.

Results (MLRun's names): ``total_tests``, ``errors``, ``match``, and ``avg_latency``,
``min_latency``, ``max_latency`` in microseconds; a ``latency`` plot artifact (SVG).
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import quote, urlsplit

from flowc.runtime.plots import line_chart_svg


def model_server_tester(context, table, addr: str, label_column: str = "label",
                        model: str = "", match_err: bool = False, rows: int = 20) -> None:
    """PUT ``{addr}/v2/models/{model}/infer`` with ``{"inputs": [row]}`` for ``rows`` sampled
    rows of ``table``; fail when a request fails (or, with ``match_err``, on a mismatch)."""
    df = table.as_df()
    if label_column not in df.columns:
        raise ValueError(f"label column {label_column!r} is not in the table "
                         f"(columns: {', '.join(map(str, df.columns))})")
    if rows and 0 < rows < len(df):
        df = df.sample(rows, random_state=0)  # sample rows and labels together
    labels = df.pop(label_column).tolist()
    features = df.values.tolist()
    if not model:
        raise ValueError("model is empty: give the served model's name (the models' key)")
    endpoint = _endpoint(addr, model)
    context.logger.info("testing model server", url=endpoint.geturl(), rows=len(features))

    client = _Client(endpoint)
    latencies: list[int] = []
    errors = match = 0
    try:
        for row, label in zip(features, labels):
            start = time.perf_counter()
            try:
                status, payload = client.put({"inputs": [row]})
            except (OSError, http.client.HTTPException, ValueError) as exc:
                context.logger.error("request failed", error=f"{type(exc).__name__}: {exc}")
                errors += 1
                continue
            elapsed = time.perf_counter() - start
            if status != 200:
                context.logger.error("bad response", status=status, body=str(payload)[:200])
                errors += 1
                continue
            latencies.append(int(elapsed * 1_000_000))
            outputs = payload.get("outputs") if isinstance(payload, dict) else None
            if outputs and _same(outputs[0], label):
                match += 1
    finally:
        client.close()

    total = len(features)
    context.log_result("total_tests", total)
    context.log_result("errors", errors)
    context.log_result("match", match)
    if latencies:
        context.log_result("avg_latency", int(sum(latencies) / len(latencies)))
        context.log_result("min_latency", min(latencies))
        context.log_result("max_latency", max(latencies))
        context.log_plot("latency", line_chart_svg(
            latencies, title=f"Latency of {model}", x_label="request",
            y_label="latency (microseconds)"), format="svg")
    context.logger.info(f"ran {total} tests: {errors} errors, {match} matched the label")
    if errors:
        raise RuntimeError(f"{errors} of {total} requests to {endpoint.geturl()} failed")
    if match_err and match != total:
        raise AssertionError(f"only {match} of {total} predictions match the label")


def _endpoint(addr: str, model: str):
    addr = str(addr).strip().rstrip("/")
    if "://" not in addr:
        addr = "http://" + addr
    parts = urlsplit(addr)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"addr {addr!r} is not an http(s) URL")
    path = f"{parts.path}/v2/models/{quote(model, safe=':')}/infer"
    return urlsplit(f"{parts.scheme}://{parts.netloc}{path}")


def _same(predicted: Any, label: Any) -> bool:
    if predicted == label:
        return True
    try:
        return float(predicted) == float(label)
    except (TypeError, ValueError):
        return str(predicted) == str(label)


class _Client:
    """One keep-alive HTTP connection, reopened after an error."""

    def __init__(self, url) -> None:
        self.url = url
        self.conn: http.client.HTTPConnection | None = None

    def put(self, body: dict) -> tuple[int, Any]:
        data = json.dumps(body).encode("utf-8")
        for attempt in (1, 2):
            if self.conn is None:
                cls = (http.client.HTTPSConnection if self.url.scheme == "https"
                       else http.client.HTTPConnection)
                self.conn = cls(self.url.hostname, self.url.port, timeout=30)
            try:
                self.conn.request("PUT", self.url.path, body=data,
                                  headers={"Content-Type": "application/json"})
                response = self.conn.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
                continue  # a stale keep-alive connection: retry once on a new one
            try:
                return response.status, json.loads(raw or b"null")
            except ValueError:
                return response.status, raw.decode("utf-8", "replace")
        raise OSError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
