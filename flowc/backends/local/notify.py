"""Run notifications: ``console``, ``webhook`` and ``slack`` (``SLACK_WEBHOOK``).

Each notifier gets a JSON summary of the finished run. A notifier that fails prints a warning
and never changes the run's outcome.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from typing import Any, Callable

from . import jsonout

TIMEOUT = 10.0


def run_summary(record) -> dict[str, Any]:
    """The JSON body every notifier sends (no params, no secrets: names, states, timings)."""
    return {
        "run_id": record.run_id, "project": record.project, "workflow": record.workflow,
        "state": record.state, "started": record.started, "ended": record.ended,
        "duration": record.duration if record.ended else None,  # attempts summed
        "error": record.error,
        "steps": [{"name": s.name, "state": s.state, "reason": s.reason,
                   "duration": s.duration, "error": s.error,
                   "results": {k: v for k, v in s.results.items()
                               if isinstance(v, (int, float, str, bool))}}
                  for s in record.steps],
    }


def _post(url: str, body: dict, method: str = "POST", headers: dict | None = None) -> None:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    data = jsonout.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method.upper(),
                                     headers={"Content-Type": "application/json",
                                              **(headers or {})})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
        if response.status >= 300:
            raise RuntimeError(f"HTTP {response.status}")


def _slack_text(summary: dict) -> str:
    icon = {"succeeded": ":white_check_mark:", "failed": ":x:"}.get(summary["state"], ":warning:")
    lines = [f"{icon} flowc run `{summary['run_id']}` of workflow *{summary['workflow']}* "
             f"{summary['state']}"]
    for step in summary["steps"]:
        duration = f" {step['duration']:.1f}s" if step["duration"] is not None else ""
        lines.append(f"• {step['name']}: {step['state']}{duration}")
    return "\n".join(lines)


def send(notification: dict, summary: dict, out=None) -> None:
    """Send one notification (``{"notification_type": ..., "params": {...}}``); may raise."""
    kind = notification.get("notification_type") or notification.get("kind") or "console"
    params = notification.get("params") or {}
    if kind in ("console", "ipython"):
        stream = out or sys.stderr
        stream.write(_slack_text(summary).replace(":white_check_mark:", "OK")
                     .replace(":x:", "FAILED").replace(":warning:", "!") + "\n")
    elif kind == "webhook":
        url = params.get("url")
        if not url:
            raise ValueError("webhook notification needs params.url")
        _post(url, summary, params.get("method", "POST"), params.get("headers"))
    elif kind == "slack":
        url = params.get("webhook") or os.environ.get("SLACK_WEBHOOK")
        if not url:
            raise ValueError("slack notification needs params.webhook or SLACK_WEBHOOK")
        _post(url, {"text": _slack_text(summary), "flowc": summary})
    else:
        raise ValueError(f"unknown notification type {kind!r}")


def notify_all(notifications: list[dict], record,
               warn: Callable[[str], None] | None = None) -> list[str]:
    """Send every notification; returns the warnings (also passed to ``warn``)."""
    items = list(notifications)
    if os.environ.get("SLACK_WEBHOOK") and not any(
            n.get("notification_type") == "slack" for n in items):
        items.append({"notification_type": "slack", "params": {}})
    if not items:
        return []
    summary = run_summary(record)
    warnings = []
    for notification in items:
        try:
            send(notification, summary)
        except (OSError, ValueError, RuntimeError, urllib.error.URLError) as exc:
            message = (f"notification {notification.get('notification_type')!r} failed: "
                       f"{exc}; the run's result is unchanged")
            warnings.append(message)
            (warn or (lambda m: print(f"warning: {m}", file=sys.stderr)))(message)
    return warnings
