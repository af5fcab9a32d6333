"""A model server in its own process: ``python -m flowc.runtime serve --spec SPEC.json``.

The spec (JSON) holds ``source_file`` or ``source_code``, ``class_name``, ``models`` and
optionally ``name``, ``host``, ``port``, ``base_dir``. The process prints its URL on stdout once
every model is loaded and serves until SIGTERM/SIGINT. :func:`spawn_server` starts one and
waits for the URL.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from .context import StepLogger
from .serving import ServingError, start_server


def read_spec(path: str) -> dict:
    """Read and check a serve spec (JSON): source_file/source_code, class_name, models."""
    try:
        with open(path, encoding="utf-8") as handle:
            spec = json.load(handle)
    except OSError as exc:
        raise ServingError(f"cannot read serve spec {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ServingError(f"serve spec {path} is not JSON: {exc}") from None
    if not isinstance(spec, dict):
        raise ServingError(f"serve spec {path} must be a JSON object")
    if not spec.get("source_file") and not spec.get("source_code"):
        raise ServingError(f"serve spec {path} needs source_file or source_code")
    if not isinstance(spec.get("models"), list):
        raise ServingError(f"serve spec {path} needs models: a list of {{key, model_path}}")
    return spec


def serve_main(argv: Sequence[str]) -> int:
    """``serve --spec SPEC.json [--host H] [--port P] [--ready-file F]``: serve until
    SIGTERM/SIGINT; the URL is printed on stdout (and written to ``--ready-file`` as JSON)
    once every model is loaded."""
    import signal

    from .__main__ import _options

    try:
        options = _options(argv, ("spec", "host", "port", "ready-file"))
        if "spec" not in options:
            raise ValueError("serve needs --spec SPEC.json")
        spec = read_spec(options["spec"])
        host = options.get("host") or spec.get("host") or "127.0.0.1"
        port = int(options.get("port") or spec.get("port") or 0)
    except (ValueError, ServingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logger = StepLogger(spec.get("name") or "serving")
    try:
        handle = start_server(spec.get("source_file"), spec.get("class_name"), spec["models"],
                              host=host, port=port, source_code=spec.get("source_code"),
                              base_dir=spec.get("base_dir"), logger=logger)
    except ServingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if options.get("ready-file"):
        from .artifacts import write_bytes

        write_bytes(options["ready-file"],
                    json.dumps({"url": handle.url, "pid": os.getpid(),
                                "models": handle.models}).encode("utf-8"))
    print(handle.url, flush=True)
    while not stop.wait(0.5):
        pass
    handle.stop()
    return 0


@dataclass
class ServerProcess:
    """A model server running in its own process (see :func:`spawn_server`)."""

    url: str
    pid: int
    process: Any = field(repr=False)

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM the server, SIGKILL it after ``timeout``; returns its exit status."""
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout:
            self.process.stdout.close()
        return self.process.returncode

    def alive(self) -> bool:
        return self.process.poll() is None


def spawn_server(spec: dict, *, spec_path: str, python: str = sys.executable,
                 log_path: str | None = None, env: dict[str, str] | None = None,
                 timeout: float = 60.0) -> ServerProcess:
    """Write ``spec`` to ``spec_path``, start ``python -m flowc.runtime serve`` and wait for
    its URL. stderr (the server's log) goes to ``log_path`` (or is discarded)."""
    import subprocess

    from .artifacts import write_bytes

    write_bytes(spec_path, json.dumps(spec, indent=2).encode("utf-8"))
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        process = subprocess.Popen(
            [python, "-m", "flowc.runtime", "serve", "--spec", spec_path],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, start_new_session=True)
    finally:
        if log_path:
            log.close()  # type: ignore[union-attr]
    deadline = time.monotonic() + timeout
    line = _read_line(process, deadline)
    if not line.startswith("http"):
        status = process.poll()
        if status is None:
            process.kill()
            process.wait()
        where = f"; see {log_path}" if log_path else ""
        raise ServingError(f"the model server did not start (exit status {process.returncode})"
                           f"{where}")
    return ServerProcess(url=line, pid=process.pid, process=process)


def _read_line(process: Any, deadline: float) -> str:
    """The first stdout line of ``process``, or "" at EOF/timeout."""
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    buffer = b""
    try:
        while time.monotonic() < deadline:
            if not selector.select(max(0.0, deadline - time.monotonic())):
                continue
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                break
            buffer += chunk
            if b"\n" in buffer:
                return buffer.split(b"\n", 1)[0].decode().strip()
    finally:
        selector.close()
    return ""
