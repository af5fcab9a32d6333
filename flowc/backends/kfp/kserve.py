"""The deploy step inside a KFP container: create or update a KServe InferenceService.

Runs in the cluster (imported by :mod:`flowc.runtime.kfp_executor` for ``deploy`` specs), so
it uses only the standard library: the Kubernetes API is reached with the pod's service
account (``KUBERNETES_SERVICE_HOST``, the mounted token and CA), or ``FLOWC_K8S_API`` (a plain
URL, used by tests and for out-of-cluster runs with ``kubectl proxy``).

The predictor container runs ``python -m flowc.runtime serve`` with the serving function's
source and models in a spec passed through the environment. With exactly one model, the
model's URI is given to KServe as ``storageUri`` (its storage initializer downloads it to
``/mnt/models``), which is where the server then loads it from.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import time
import urllib.error
import urllib.request
from typing import Any

GROUP_PATH = "/apis/serving.kserve.io/v1beta1"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
MODEL_MOUNT = "/mnt/models"
SERVE_PORT = 8080


class DeployError(Exception):
    """The InferenceService could not be created or did not become ready."""


def service_name(project: str | None, function: str) -> str:
    """A DNS-1035 name for the service (``<project>-<function>``, at most 63 characters)."""
    raw = f"{project}-{function}" if project else function
    name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
    if not name or not name[0].isalpha():
        name = f"fn-{name}"
    return name[:63].rstrip("-")


def inference_service(*, name: str, namespace: str, image: str, models: list[dict],
                      source_code: str | None, class_name: str | None,
                      env: dict | None = None, function: str = "") -> dict:
    """The InferenceService manifest for ``models`` (``{"key", "model_path"}`` entries)."""
    served = [dict(m) for m in models]
    predictor: dict[str, Any] = {}
    if len(served) == 1 and _is_remote(served[0].get("model_path")):
        predictor_storage = served[0]["model_path"]
        served[0]["model_path"] = MODEL_MOUNT
    else:
        predictor_storage = None
    serve_spec = {"name": name, "class_name": class_name, "models": served,
                  "source_code": source_code, "host": "0.0.0.0", "port": SERVE_PORT}
    container_env = [{"name": "FLOWC_SERVE_SPEC", "value": json.dumps(serve_spec,
                                                                       sort_keys=True)}]
    container_env += [{"name": str(k), "value": str(v)} for k, v in sorted((env or {}).items())]
    container: dict[str, Any] = {
        "name": "kserve-container",
        "image": image,
        "command": ["sh", "-c", 'printf %s "$FLOWC_SERVE_SPEC" > /tmp/flowc-serve.json && '
                    "exec python -m flowc.runtime serve --spec /tmp/flowc-serve.json"],
        "env": container_env,
        "ports": [{"containerPort": SERVE_PORT, "protocol": "TCP"}],
    }
    predictor["containers"] = [container]
    metadata: dict[str, Any] = {"name": name, "namespace": namespace,
                                "labels": {"app.kubernetes.io/managed-by": "flowc",
                                           "flowc/function": service_name(None, function
                                                                          or name)}}
    if predictor_storage:
        metadata["annotations"] = {"flowc/storage-uri": predictor_storage}
        container["env"].append({"name": "STORAGE_URI", "value": predictor_storage})
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": metadata, "spec": {"predictor": predictor}}


def _is_remote(uri: Any) -> bool:
    return isinstance(uri, str) and bool(re.match(r"^(gs|s3|minio|https?|pvc)://", uri))


class KubeClient:
    """The few Kubernetes API calls a deploy needs (JSON over HTTPS, stdlib only)."""

    def __init__(self, base_url: str | None = None, token: str | None = None,
                 ca_file: str | None = None) -> None:
        if base_url is None:
            base_url = os.environ.get("FLOWC_K8S_API")
        if base_url is None:
            host = os.environ.get("KUBERNETES_SERVICE_HOST")
            port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
            if not host:
                raise DeployError("not inside a Kubernetes pod (KUBERNETES_SERVICE_HOST unset) "
                                  "and FLOWC_K8S_API is not set")
            base_url = f"https://{host}:{port}"
            token = token or _read(os.path.join(SA_DIR, "token"))
            ca_file = ca_file or os.path.join(SA_DIR, "ca.crt")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.context = ssl.create_default_context(cafile=ca_file) if ca_file and \
            os.path.exists(ca_file) else None

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                payload = json.loads(exc.read() or b"{}")
            except ValueError:
                payload = {}
            return exc.code, payload


def apply(client: KubeClient, manifest: dict) -> dict:
    """Create the InferenceService, or replace it when it exists (keeping resourceVersion)."""
    namespace = manifest["metadata"]["namespace"]
    name = manifest["metadata"]["name"]
    collection = f"{GROUP_PATH}/namespaces/{namespace}/inferenceservices"
    status, body = client.request("POST", collection, manifest)
    if status == 409:
        status, current = client.request("GET", f"{collection}/{name}")
        if status != 200:
            raise DeployError(f"cannot read existing InferenceService {name}: {status}")
        updated = json.loads(json.dumps(manifest))
        updated["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        status, body = client.request("PUT", f"{collection}/{name}", updated)
    if status not in (200, 201):
        raise DeployError(f"Kubernetes API refused InferenceService {name}: {status} "
                          f"{body.get('message', '')}".strip())
    return body


def wait_ready(client: KubeClient, namespace: str, name: str, *, timeout: float,
               interval: float = 2.0) -> str:
    """Poll until the service reports Ready and a URL; returns the URL."""
    path = f"{GROUP_PATH}/namespaces/{namespace}/inferenceservices/{name}"
    deadline = time.monotonic() + timeout
    last = "no status yet"
    while True:
        status, body = client.request("GET", path)
        if status == 200:
            conditions = body.get("status", {}).get("conditions") or []
            ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                        for c in conditions)
            url = body.get("status", {}).get("url")
            if ready and url:
                return url
            last = "; ".join(f"{c.get('type')}={c.get('status')} {c.get('message', '')}"
                             for c in conditions) or last
        if time.monotonic() >= deadline:
            raise DeployError(f"InferenceService {name} not ready after {timeout:.0f}s "
                              f"({last})")
        time.sleep(interval)


def namespace() -> str:
    value = os.environ.get("FLOWC_NAMESPACE")
    if value:
        return value
    try:
        return _read(os.path.join(SA_DIR, "namespace")).strip()
    except OSError:
        return "default"


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()
