"""Deploy steps locally: a v2-protocol model server on 127.0.0.1 for the length of the run.

With the fork server (the default) the model server is a forked child of it: its own process,
with the preloaded modules, dying with the run even when the runner is killed. With the other
launchers it is a background thread of the runner (``flowc.runtime.serving.start_server``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .functions import ResolvedFunction


@dataclass
class DeployedServer:
    """A running model server: the deploy step's ``endpoint`` and ``name`` outputs."""

    name: str
    endpoint: str
    handle: Any

    def stop(self) -> None:
        self.handle.stop()


def start_server(fn: ResolvedFunction, params: dict[str, Any], *, log_path: str,
                 resolve_store: Callable[[str], str | None] | None = None,
                 launcher: Any = None, cwd: str | None = None) -> DeployedServer:
    """Start serving ``params["models"]`` with ``fn``'s serving class; raise RuntimeError if not.

    With a fork-server ``launcher`` the server is a forked process of its own; otherwise
    (``--in-process``, ``subprocess``) a thread of the runner.
    """
    models = _resolved_models(params, resolve_store)
    class_name = params.get("class_name") or fn.default_class
    if launcher is not None and hasattr(launcher, "serve"):
        spec = {"name": fn.name, "source_file": fn.source_file, "class_name": class_name,
                "models": models}
        try:
            forked = launcher.serve(spec, log_path, cwd)
        except Exception as exc:
            raise RuntimeError(str(exc)) from None
        return DeployedServer(name=fn.name, endpoint=forked.url, handle=forked)
    return _serve_in_thread(fn, class_name, models, log_path)


def _resolved_models(params: dict[str, Any],
                     resolve_store: Callable[[str], str | None] | None) -> list[dict]:
    models = []
    for entry in params.get("models") or []:
        entry = dict(entry)
        path = entry.get("model_path")
        if isinstance(path, str) and path.startswith("store://") and resolve_store:
            resolved = resolve_store(path)
            if resolved is None:
                raise RuntimeError(f"model {entry.get('key')!r}: artifact {path} is not in this "
                                   "project's runs database")
            entry["model_path"] = resolved
        models.append(entry)
    return models


def _serve_in_thread(fn: ResolvedFunction, class_name: str | None, models: list[dict],
                     log_path: str) -> DeployedServer:
    from ...runtime.context import StepLogger
    from ...runtime.serving import ServingError
    from ...runtime.serving import start_server as serve

    log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 (kept open while serving)
    try:
        handle = serve(fn.source_file, class_name, models,
                       logger=StepLogger(fn.name, stream=log))
    except ServingError as exc:
        log.close()
        raise RuntimeError(str(exc)) from None
    return DeployedServer(name=fn.name, endpoint=handle.url, handle=_Closing(handle, log))


class _Closing:
    """Stops the server, then closes its log file."""

    def __init__(self, handle: Any, log: Any) -> None:
        self._handle, self._log = handle, log

    def stop(self) -> None:
        try:
            self._handle.stop()
        finally:
            self._log.close()
