"""How one step process is started: through the fork server, a fresh interpreter, or in-process.

All three take a StepCall as JSON and give back StepResult JSON, or raise :class:`StepError`.
Call data can hold secret values, so it never touches disk with the fork server (it travels
over the socket) and lives only in a private 0700 folder, deleted at once, otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO


class StepError(Exception):
    """A step process failed; the message says why (handler error, missing output, killed)."""


@dataclass
class Job:
    """One step process to run. ``pid`` is set once the process exists (for cancelling)."""

    call: dict
    result_path: str
    log_path: str
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    pid: int | None = None
    cancelled: bool = False


class Launcher:
    """Interface: ``run(job)`` blocks until the step process ends; ``cancel(job)`` stops it.

    ``redact`` (set by the executor) masks secret values in text the launcher prints itself.
    """

    name = "base"
    redact: Callable[[str], str] | None = None

    def spawn(self) -> None:
        """Begin preparing without blocking (see :meth:`start`)."""

    def preload(self, modules: list[str]) -> None:
        """Hint: modules the steps will import (only the fork server uses it)."""

    def start(self) -> None:
        """Prepare (e.g. start a server); called once before the first job."""

    def run(self, job: Job) -> dict:
        raise NotImplementedError

    def cancel(self, job: Job, grace: float = 2.0) -> None:
        job.cancelled = True
        pid = job.pid
        if pid is None:
            return
        _kill_group(pid, grace)

    def close(self) -> None:
        """Release resources (stop the server)."""


def _kill_group(pid: int, grace: float) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.02)
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_result(job: Job, how: str) -> dict:
    try:
        with open(job.result_path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        if job.cancelled:
            raise StepError("aborted") from None
        raise StepError(f"the step process {how} without a result (killed?); "
                        f"see the log {job.log_path}") from None
    finally:
        if os.path.exists(job.result_path):
            os.unlink(job.result_path)
    if "error" in data:
        raise StepError(str(data["error"]))
    return data


class ForkServerLauncher(Launcher):
    """Steps fork from a server process that has the runtime imported (the default)."""

    name = "forkserver"

    def __init__(self, preload: list[str] | None = None, python: str | None = None) -> None:
        self.initial_preload = list(preload or [])
        self.python = python or sys.executable
        self._proc: subprocess.Popen | None = None
        self._dir: str | None = None
        self._lock = threading.Lock()
        self._ready = False

    @property
    def socket_path(self) -> str:
        assert self._dir is not None
        return os.path.join(self._dir, "fork.sock")

    def spawn(self) -> None:
        """Start the server process without waiting for it (it gets ready in the background)."""
        with self._lock:
            if self._proc is not None:
                return
            self._dir = tempfile.mkdtemp(prefix="flowc-fs-")
            self._proc = subprocess.Popen(
                [self.python, "-m", "flowc.backends.local.forkserver", self.socket_path,
                 *self.initial_preload],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self._ready = False

    def start(self) -> None:
        """Spawn the server if needed and wait until it accepts steps."""
        self.spawn()
        with self._lock:
            if self._ready:
                return
            assert self._proc is not None and self._proc.stdout is not None
            line = self._proc.stdout.readline()
            if line.strip() != b"ready":
                self._proc.kill()
                raise StepError("the flowc fork server did not start "
                                f"(exit {self._proc.wait()}); run with --in-process to debug")
            self._ready = True

    def preload(self, modules: list[str]) -> None:
        """Have ``modules`` (pandas, sklearn, ...) imported for later steps; a successor
        server imports them while this one keeps serving (see ``forkserver.serve``)."""
        if not modules:
            return
        self.start()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self.socket_path)
            conn.sendall(json.dumps({"preload": list(modules)}).encode() + b"\n")

    def run(self, job: Job) -> dict:
        if not self._ready:
            self.start()
        request = {"call": job.call, "result": job.result_path, "log": job.log_path,
                   "cwd": job.cwd, "env": job.env}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self.socket_path)
            conn.sendall(json.dumps(request, default=str).encode() + b"\n")
            reader = conn.makefile("rb")
            first = reader.readline()
            if first:
                job.pid = json.loads(first)["pid"]
                if job.cancelled:
                    _kill_group(job.pid, 0.5)
            while reader.read(65536):  # until the child exits and the socket closes
                pass
        return _read_result(job, "ended")

    def serve(self, spec: dict, log_path: str, cwd: str | None = None) -> "ForkedServer":
        """Start a deploy step's model server as a child of the fork server (isolated, with
        the preloaded modules, dying with the run); returns once it serves."""
        if not self._ready:
            self.start()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.socket_path)
            conn.sendall(json.dumps({"serve": spec, "log": log_path, "cwd": cwd},
                                    default=str).encode() + b"\n")
            reader = conn.makefile("rb")
            pid = json.loads(reader.readline() or b"{}").get("pid")
            answer = json.loads(reader.readline() or b"{}")
        except (OSError, ValueError):
            conn.close()
            raise
        if "url" not in answer:
            conn.close()
            raise StepError(answer.get("error") or
                            f"the model server ended before serving; see {log_path}")
        return ForkedServer(url=answer["url"], pid=pid, conn=conn)

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                assert proc.stdin is not None
                proc.stdin.close()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                if proc.stdout is not None:
                    proc.stdout.close()
            if self._dir:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None


@dataclass
class ForkedServer:
    """A model server forked by the fork server; ``stop()`` ends it."""

    url: str
    pid: int | None
    conn: socket.socket

    def stop(self, grace: float = 2.0) -> None:
        try:
            if self.pid is not None:
                _kill_group(self.pid, grace)
        finally:
            self.conn.close()


class SubprocessLauncher(Launcher):
    """Each step in a fresh interpreter: ``python -m flowc.runtime exec`` (used for venvs)."""

    name = "subprocess"

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable

    def run(self, job: Job) -> dict:
        private = tempfile.mkdtemp(prefix="flowc-call-")  # mode 0700
        call_path = os.path.join(private, "call.json")
        fd = os.open(call_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(job.call, handle, default=str)
        try:
            env = {**os.environ, **job.env}
            with open(job.log_path, "ab") as log:
                proc = subprocess.Popen(
                    [self.python, "-m", "flowc.runtime", "exec", "--call", call_path,
                     "--result", job.result_path],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=job.cwd, env=env,
                    start_new_session=True)
            job.pid = proc.pid
            if job.cancelled:
                _kill_group(proc.pid, 0.5)
            proc.wait()
        finally:
            shutil.rmtree(private, ignore_errors=True)
        return _read_result(job, f"exited with status {proc.returncode}")


class _RedactingStream:
    """A text stream that masks the secret values of every active run before writing."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if isinstance(text, str):
            for redact in list(_console_redactors):
                text = redact(text)
        self._stream.write(text)
        return len(text)

    def __getattr__(self, name: str):  # flush, isatty, encoding, fileno, ...
        return getattr(self._stream, name)


# In-process runs mask their secrets on the console: one wrapper around sys.stdout/stderr,
# installed while at least one such run is active (runs may overlap: project.run(watch=False)).
_console_redactors: list[Callable[[str], str]] = []
_console_saved: tuple[TextIO, TextIO] | None = None
_console_lock = threading.Lock()


def _mask_console(redact: Callable[[str], str]) -> None:
    global _console_saved
    with _console_lock:
        if not _console_redactors:
            _console_saved = (sys.stdout, sys.stderr)
            sys.stdout = _RedactingStream(sys.stdout)  # type: ignore[assignment]
            sys.stderr = _RedactingStream(sys.stderr)  # type: ignore[assignment]
        _console_redactors.append(redact)


def _unmask_console(redact: Callable[[str], str]) -> None:
    global _console_saved
    with _console_lock:
        if redact in _console_redactors:
            _console_redactors.remove(redact)
            if not _console_redactors and _console_saved is not None:
                sys.stdout, sys.stderr = _console_saved
                _console_saved = None


class InProcessLauncher(Launcher):
    """Run the handler in the runner's own process (``--in-process``: for debuggers).

    Output is not captured (it goes to the console) and a step cannot be killed. With
    ``redact`` set, the console streams mask secret values while steps run (what the
    handler prints, its logger and a failing handler's traceback).
    """

    name = "in-process"

    def __init__(self) -> None:
        self._resolver = None
        self._lock = threading.Lock()
        self._masking: Callable[[str], str] | None = None

    def run(self, job: Job) -> dict:
        from ...runtime.core import StepCall, StepFailed, execute

        with self._lock:
            if self.redact is not None and self._masking is None:
                self._masking = self.redact
                _mask_console(self._masking)
        if self._resolver is None and job.env.get("FLOWC_RUNS_DB"):
            from ...runtime.dataitem import register_store_resolver
            from .store import db_resolver

            self._resolver = db_resolver(job.env["FLOWC_RUNS_DB"])
            register_store_resolver(self._resolver)
        with open(job.log_path, "a", encoding="utf-8") as log:
            log.write("(in-process run: output went to the console)\n")
        try:
            return execute(StepCall.from_json(job.call)).to_json()
        except StepFailed as exc:
            raise StepError(str(exc)) from None
        except Exception as exc:
            raise StepError(f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        with self._lock:
            if self._masking is not None:
                _unmask_console(self._masking)
                self._masking = None
        if self._resolver is not None:
            from ...runtime.dataitem import unregister_store_resolver

            unregister_store_resolver(self._resolver)
            self._resolver = None


_prespawned: ForkServerLauncher | None = None


def prespawn_forkserver() -> None:
    """Start a fork server now, for the next forkserver run in this process to take over.

    ``flowc run`` calls this before tracing the workflow, so the server's interpreter start-up
    overlaps with tracing instead of delaying the first step. An unused server exits with
    this process (its stdin closes).
    """
    global _prespawned
    if _prespawned is None:
        import atexit

        _prespawned = ForkServerLauncher()
        _prespawned.spawn()
        atexit.register(_discard_prespawned)


def _discard_prespawned() -> None:
    """At exit: stop a pre-spawned server no run took over (e.g. the workflow had an error)."""
    global _prespawned
    launcher, _prespawned = _prespawned, None
    if launcher is not None and launcher._proc is not None:
        launcher._proc.kill()
        launcher.close()


def make_launcher(kind: str, preload: list[str] | None = None) -> Launcher:
    global _prespawned
    if kind == "forkserver":
        if _prespawned is not None and not preload:
            launcher, _prespawned = _prespawned, None
            return launcher
        return ForkServerLauncher(preload)
    if kind == "subprocess":
        return SubprocessLauncher()
    if kind == "in-process":
        return InProcessLauncher()
    raise ValueError(f"unknown launcher {kind!r}")
