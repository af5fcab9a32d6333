"""A fork server: one clean process with the step runtime pre-imported that forks a child per step.

Starting a fresh interpreter per step costs tens of milliseconds before any user code runs;
forking a process that already imported ``flowc.runtime`` costs about one. Each step still
runs in its own process (own memory, own process group, killable), exactly as
``python -m flowc.runtime exec`` would run it.

Protocol (Unix socket, one connection per step): the client sends one JSON line
``{"call": StepCall-JSON, "result": PATH, "log": PATH, "cwd": DIR, "env": {...}}``; the
server reads it and forks, and the child answers ``{"pid": N}``, runs the step with stdout/stderr
in the log file, writes the StepResult JSON (or ``{"error": ...}``) to ``result`` atomically
and exits; the client sees end-of-file. The server is single-threaded (safe to fork), ignores
Ctrl-C (the runner decides what to stop) and exits when its stdin closes, so a runner killed
with SIGKILL takes the server and, through PR_SET_PDEATHSIG, running steps with it.

A line ``{"preload": [MODULE, ...]}`` makes the server fork a successor that imports those
modules and then takes over the socket; see :func:`serve`.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import traceback

_server_fds: list[int] = []  # a successor's own pipe ends, closed in the steps it forks
_prctl = None  # libc's prctl, looked up once in the server (importing ctypes per child is slow)


def _load_prctl():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _set_parent_death_signal() -> None:
    if _prctl is not None:
        _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the server


def write_json_atomic(path: str, data: dict) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, default=str)
    os.replace(tmp, path)


def run_call(call_data: dict, result_path: str) -> int:
    """Execute one StepCall in this process; write the result file; return the exit status."""
    from flowc.runtime.core import StepCall, StepFailed, execute

    try:
        result = execute(StepCall.from_json(call_data))
    except StepFailed as exc:
        details = getattr(exc, "details", None)
        if details:
            print(details, file=sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        write_json_atomic(result_path, {"error": str(exc)})
        return 1
    except BaseException as exc:  # the step's own bug: report it, never crash the runner
        traceback.print_exc()
        write_json_atomic(result_path, {"error": f"{type(exc).__name__}: {exc}"})
        return 1
    write_json_atomic(result_path, result.to_json())
    return 0


def serve_models(spec: dict, conn: socket.socket) -> int:
    """A deploy step's model server, in this process until it is killed: answers
    ``{"url": ...}`` once every model is loaded, or ``{"error": ...}``."""
    from flowc.runtime.context import StepLogger
    from flowc.runtime.serving import ServingError, start_server

    try:
        handle = start_server(spec.get("source_file"), spec.get("class_name"), spec["models"],
                              logger=StepLogger(spec.get("name") or "serving"))
    except (ServingError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        conn.sendall(json.dumps({"error": str(exc)}).encode() + b"\n")
        return 1
    conn.sendall(json.dumps({"url": handle.url}).encode() + b"\n")
    handle.wait()  # until SIGTERM/SIGKILL from the runner, or the server's death
    return 0


def _child(conn: socket.socket, request: dict) -> None:
    """In the forked child: announce the pid, run the step, exit."""
    status = 1
    try:
        os.setpgid(0, 0)
        _set_parent_death_signal()
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        log_fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.environ.update(request.get("env") or {})
        if os.environ.get("FLOWC_RUNS_DB"):
            from flowc.backends.local.store import db_resolver
            from flowc.runtime.dataitem import register_store_resolver

            register_store_resolver(db_resolver(os.environ["FLOWC_RUNS_DB"]))
        if request.get("cwd"):
            os.chdir(request["cwd"])
        if "serve" in request:
            status = serve_models(request["serve"], conn)
        else:
            status = run_call(request["call"], request["result"])
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os._exit(status)


def _parse_request(data: bytes) -> dict | None:
    try:
        request = json.loads(data)
    except ValueError:
        return None
    return request if isinstance(request, dict) else None


def _preload(module: str) -> None:
    """Import ``module`` in the server, so forked steps find it imported."""
    import gc
    import importlib

    try:
        importlib.import_module(module)
    except Exception:  # noqa: BLE001 - a step that needs it will report the real error
        pass
    gc.collect()
    gc.freeze()  # children share these objects; no copy-on-write from their GC passes


def serve(socket_path: str, preload: list[str]) -> None:
    """Accept step requests on ``socket_path`` until stdin closes.

    Preloading never delays a step: a request ``{"preload": [MODULE, ...]}`` (or modules on
    the command line) forks a *successor* server that imports them while this one keeps
    forking steps; once the successor is ready it takes over accepting on the same socket.
    Each server dies with the one that forked it, and so does each step.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    import flowc.backends.local.store  # noqa: F401  (each step registers its store resolver)
    import flowc.runtime.core  # noqa: F401  (the point of the server: imported once)

    global _prctl
    _prctl = _load_prctl()
    _preload("json")  # collects and freezes what is imported so far
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(256)
    try:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
    except OSError:  # the runner is gone already (it failed before its first step)
        listener.close()
        os.unlink(socket_path)
        os._exit(0)
    try:
        _serve_loop(listener, list(preload))
    finally:
        listener.close()
        try:
            os.unlink(socket_path)
        except OSError:
            pass


def _serve_loop(listener: socket.socket, preload: list[str]) -> None:
    stdin_fd = sys.stdin.fileno()
    partial: dict[socket.socket, bytes] = {}  # connections whose request line is incomplete
    accepting = True
    successor: int | None = _start_successor(listener, preload, partial) if preload else None
    while True:
        watched: list = [stdin_fd, *partial]
        if accepting:
            watched.append(listener)
        if successor is not None:
            watched.append(successor)
        readable, _, _ = select.select(watched, [], [])
        if stdin_fd in readable and not os.read(stdin_fd, 4096):
            return
        if successor is not None and successor in readable:
            if os.read(successor, 1):
                accepting = False  # the successor, with the modules imported, accepts now
            else:  # the successor exited (or died while importing): accept again
                accepting = True
                os.close(successor)
                successor = None
        if accepting and listener in readable:
            conn, _ = listener.accept()
            partial[conn] = b""
        for conn in [c for c in readable if isinstance(c, socket.socket) and c in partial]:
            chunk = conn.recv(1 << 16)
            data = partial[conn] + chunk
            if chunk and not data.endswith(b"\n"):
                partial[conn] = data
                continue
            del partial[conn]
            request = _parse_request(data) if chunk else None
            if request is None or "preload" in request:
                modules = [m for m in (request or {}).get("preload", [])
                           if isinstance(m, str) and m not in sys.modules]
                conn.close()
                if modules and successor is None:
                    successor = _start_successor(listener, modules, partial)
                continue
            pid = os.fork()
            if pid == 0:
                listener.close()
                for other in partial:
                    other.close()
                for fd in ([successor] if successor is not None else []) + _server_fds:
                    os.close(fd)
                _child(conn, request)
            conn.close()


def _start_successor(listener: socket.socket, modules: list[str],
                     partial: dict[socket.socket, bytes]) -> int:
    """Fork a server that imports ``modules`` and then serves; returns a pipe that yields one
    byte when it is ready, and end-of-file when it is gone."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 0
        try:
            os.close(ready_r)
            for conn in partial:
                conn.close()
            _set_parent_death_signal()
            for module in modules:
                _preload(module)
            import threading

            if threading.active_count() > 1:  # forking a threaded process is not safe
                print("flowc fork server: preloading started threads; steps will import "
                      f"{', '.join(modules)} themselves", file=sys.stderr)
                os._exit(0)
            os.write(ready_w, b"r")  # kept open: its end-of-file tells the parent we are gone
            _server_fds.append(ready_w)
            _serve_loop(listener, [])
        except BaseException:
            traceback.print_exc()
            status = 1
        finally:
            os._exit(status)
    os.close(ready_w)
    return ready_r


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m flowc.backends.local.forkserver SOCKET [MODULE...]",
              file=sys.stderr)
        sys.exit(2)
    serve(args[0], args[1:])


if __name__ == "__main__":
    main()
