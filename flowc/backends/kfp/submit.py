"""Submit a traced workflow to a Kubeflow Pipelines API: compile, upload, start a run.

Uses ``kfp.Client`` (imported here, never at CLI start-up). The pipeline is uploaded under the
workflow's name; once a pipeline of that name exists, each YAML becomes a version of it named
``<name>-<content hash>``, and submitting an identical YAML again reuses that version.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from typing import Any

from ...diagnostics import FlowcError


def submit(loaded: Any, *, host: str, experiment: str | None = None,
           registry: str | None = None, client: Any = None) -> str:
    """Compile ``loaded`` (a LoadedWorkflow), upload it to the KFP API at ``host`` and start
    a run in ``experiment`` (default ``Default``); returns the run id."""
    from . import compile_workflow

    text = compile_workflow(loaded, registry=registry)
    name = loaded.workflow.name
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    if client is None:
        client = _client(host)
    with tempfile.TemporaryDirectory(prefix="flowc-submit-") as folder:
        path = os.path.join(folder, "pipeline.yaml")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            pipeline_id, version_id = _upload(client, path, name, f"{name}-{digest}")
            exp = client.create_experiment(experiment or "Default")
            run = client.run_pipeline(
                experiment_id=exp.experiment_id,
                job_name=f"{name} {time.strftime('%Y-%m-%d %H:%M:%S')}",
                pipeline_id=pipeline_id, version_id=version_id,
                params=_json_arguments(getattr(loaded, "arguments", None) or {}))
        except FlowcError:
            raise
        except Exception as exc:  # the API said no: show what and where
            raise FlowcError(f"KFP API at {host} refused the submission: "
                             f"{_reason(exc)}", code="FC440",
                             hint="check --host and that the KFP API is reachable") from None
    return run.run_id


def _client(host: str) -> Any:
    try:
        import kfp
    except ImportError:  # pragma: no cover - kfp is a dependency
        raise FlowcError("submitting to KFP needs the kfp package (pip install kfp)",
                         code="FC440") from None
    try:
        return kfp.Client(host=host)
    except Exception as exc:
        raise FlowcError(f"cannot connect to the KFP API at {host}: {_reason(exc)}",
                         code="FC440", hint="check --host") from None


def _upload(client: Any, path: str, name: str, version_name: str) -> tuple[str, str]:
    pipeline_id = client.get_pipeline_id(name)
    if pipeline_id is None:
        pipeline = client.upload_pipeline(path, pipeline_name=name)
        versions = client.list_pipeline_versions(pipeline.pipeline_id).pipeline_versions or []
        if not versions:
            raise FlowcError(f"KFP created pipeline {name!r} without a version", code="FC440")
        return pipeline.pipeline_id, versions[0].pipeline_version_id
    existing = _find_version(client, pipeline_id, version_name)
    if existing is not None:
        return pipeline_id, existing
    version = client.upload_pipeline_version(path, pipeline_version_name=version_name,
                                             pipeline_id=pipeline_id)
    return pipeline_id, version.pipeline_version_id


def _find_version(client: Any, pipeline_id: str, version_name: str) -> str | None:
    token = ""
    while True:
        page = client.list_pipeline_versions(pipeline_id, page_token=token, page_size=100)
        for version in page.pipeline_versions or []:
            if version.display_name == version_name:
                return version.pipeline_version_id
        token = page.next_page_token
        if not token:
            return None


def _json_arguments(arguments: dict) -> dict:
    """Run parameters as JSON values (KFP sends them as protobuf Values)."""
    return {k: v for k, v in arguments.items()
            if v is None or isinstance(v, (str, int, float, bool, list, dict))}


def _reason(exc: Exception) -> str:
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None)
    if status:
        return f"HTTP {status} {reason or ''}".strip()
    return f"{type(exc).__name__}: {exc}"
