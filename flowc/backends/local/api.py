"""The Python entry points of the local engine: ``run_project`` (``project.run``) and friends.

``run_loaded`` is the one place a run is put together (git check, secrets, renderer, signal
handling, executor, notifications); the CLI and ``project.run`` both go through it.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any, Callable

from ... import ir
from ...diagnostics import FlowcError
from .db import RunRecord, RunsDB
from .executor import Executor, RunOptions
from .secrets import read_secrets_file

_OPTION_NAMES = {"max_parallel", "fail_fast", "cache", "build", "launcher", "preload"}


class RunStatus:
    """A local run: ``run_id``, ``state``, ``outputs`` (step -> outputs), ``wait_for_completion()``."""

    def __init__(self, executor: Executor | None, *, run_id: str,
                 thread: threading.Thread | None = None, state: str | None = None) -> None:
        self._executor = executor
        self._thread = thread
        self._state = state
        self.run_id = run_id
        self.exc: BaseException | None = None
        self.record: RunRecord | None = None

    @property
    def state(self) -> str:
        if self.record is not None:
            return self.record.state
        return self._executor.state if self._executor else (self._state or "unknown")

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        if self.record is not None:
            return {s.name: dict(s.outputs) for s in self.record.steps if s.outputs}
        return self._executor.outputs() if self._executor else {}

    def wait_for_completion(self, timeout: float | None = None) -> "RunStatus":
        """Block until the run ends (returns at once for a finished run)."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self.exc is not None:
            raise self.exc
        return self

    def abort(self) -> None:
        if self._executor is not None:
            self._executor.abort("aborted by caller")

    def __repr__(self) -> str:
        return f"<RunStatus {self.run_id} {self.state}>"


def _secrets_for(base_dir: str, secrets_file: str | None) -> dict[str, str]:
    path = secrets_file or os.path.join(base_dir, ".flowc", "secrets.env")
    if secrets_file and not os.path.isfile(path):
        raise FlowcError(f"secrets file {path} does not exist", code="FC021")
    return read_secrets_file(path) if os.path.isfile(path) else {}


def run_workflow(workflow: ir.Workflow, *, arguments: dict[str, Any], base_dir: str,
                 options: RunOptions, progress: str = "auto", dirty: bool = False,
                 notifications: list[dict] | None = None, workflow_path: str | None = None,
                 resume: RunRecord | None = None, secrets_file: str | None = None,
                 secret_lookup: Callable[[str], Any] | None = None,
                 listeners: list | None = None, background: bool = False) -> RunStatus:
    """Run ``workflow`` (or resume a recorded run); blocks unless ``background``."""
    from .gitcheck import check_clean
    from .render import make_renderer

    base_dir = os.path.abspath(base_dir)
    artifact_path = os.path.abspath(options.artifact_path or os.path.join(base_dir, "artifacts"))
    check_clean(base_dir, dirty=dirty,
                ignore=(os.path.join(base_dir, ".flowc"), artifact_path))
    options.secrets = {**_secrets_for(base_dir, secrets_file), **options.secrets}
    all_listeners = list(listeners or [])
    if not background:
        all_listeners.insert(0, make_renderer(progress))
    executor = Executor(workflow, arguments=arguments, base_dir=base_dir, options=options,
                        listeners=all_listeners, workflow_path=workflow_path, resume=resume,
                        secret_lookup=secret_lookup)
    status = RunStatus(executor, run_id=executor.run_id)

    def execute() -> None:
        from .notify import notify_all

        try:
            status.record = executor.run()
        except BaseException as exc:
            status.exc = exc
            return
        notify_all(notifications or [], status.record)

    if background:
        status._thread = threading.Thread(target=execute, name=f"flowc-run-{executor.run_id}",
                                          daemon=True)
        status._thread.start()
        return status
    with _abort_on_signals(executor):
        execute()
    if status.exc is not None:
        raise status.exc
    return status


class _abort_on_signals:
    """Ctrl-C / SIGTERM abort the run (once; a second Ctrl-C acts as usual)."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        self.executor.abort(f"interrupted by {signal.Signals(signum).name}")
        for sig, old in self.previous.items():
            signal.signal(sig, old)

    def __enter__(self) -> "_abort_on_signals":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self.previous.items():
            signal.signal(sig, old)


def run_loaded(loaded, *, options: RunOptions, progress: str = "auto", dirty: bool = False,
               notifications: list[dict] | None = None, secrets_file: str | None = None,
               background: bool = False, listeners: list | None = None) -> RunStatus:
    """Run a ``LoadedWorkflow`` (from ``flowc.compiler.loader.load_workflow``)."""
    project = loaded.project
    if notifications is None and project is not None:
        notifications = list(getattr(project.notifiers, "notifications", []))
    return run_workflow(loaded.workflow, arguments=loaded.arguments, base_dir=loaded.base_dir,
                        options=options, progress=progress, dirty=dirty,
                        notifications=notifications, workflow_path=loaded.path,
                        secrets_file=secrets_file,
                        secret_lookup=project.get_secret if project is not None else None,
                        background=background, listeners=listeners)


def resume_run(base_dir: str, run_id: str, *, options: RunOptions, progress: str = "auto",
               dirty: bool = False, notifications: list[dict] | None = None,
               secrets_file: str | None = None) -> RunStatus:
    """Re-run what did not succeed in a recorded run, reusing the recorded outputs."""
    db = RunsDB.for_project(base_dir)
    record = db.get_run(run_id)
    if record is None:
        raise FlowcError(f"no run {run_id!r} in {db.path}", code="FC022",
                         hint="list runs with `flowc runs`")
    if record.state == "running" and record.pid and _alive(record.pid) and \
            record.pid != os.getpid():
        raise FlowcError(f"run {record.run_id} is still running (runner pid {record.pid})",
                         code="FC023", hint="stop it first, or wait for it to finish")
    workflow = ir.Workflow.loads(record.ir)
    options.artifact_path = record.artifact_path
    return run_workflow(workflow, arguments=record.arguments, base_dir=record.base_dir,
                        options=options, progress=progress, dirty=dirty,
                        notifications=notifications, workflow_path=record.workflow_path,
                        resume=record, secrets_file=secrets_file)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def split_options(options: dict[str, Any]) -> tuple[RunOptions, dict[str, Any]]:
    """Separate ``RunOptions`` fields from the other keyword options of ``run_project``."""
    run_options = RunOptions()
    rest = {}
    for key, value in options.items():
        if key in _OPTION_NAMES:
            setattr(run_options, key, value)
        elif key == "in_process":
            if value:
                run_options.launcher = "in-process"
        else:
            rest[key] = value
    return run_options, rest


def run_project(project, name: str | None = None, *, workflow_path: str | None = None,
                workflow_handler: Callable | str | None = None,
                arguments: dict | None = None, artifact_path: str | None = None,
                engine: str = "local", local: bool = True, watch: bool = True,
                dirty: bool = False, **options: Any) -> RunStatus:
    """``project.run(...)``: trace the workflow and run it locally (or submit it to KFP).

    ``name`` is a workflow registered in the project; otherwise ``workflow_path`` (a file,
    relative to the project folder) and/or ``workflow_handler`` (a function name in that
    file, or a Python callable). ``watch=False`` returns at once; call
    ``wait_for_completion()``. Extra options: ``max_parallel``, ``fail_fast``, ``cache``,
    ``build``, ``in_process``, ``progress``, ``secrets_file``, ``host``/``experiment`` (kfp).
    """
    run_options, rest = split_options(options)
    run_options.artifact_path = artifact_path
    progress = rest.pop("progress", "auto" if watch else "quiet")
    secrets_file = rest.pop("secrets_file", None)
    notifications = rest.pop("notifications", None)
    host = rest.pop("host", None)
    experiment = rest.pop("experiment", None)
    if rest:
        raise TypeError(f"unknown run option(s): {', '.join(sorted(rest))}")
    if notifications is None:
        notifications = list(getattr(getattr(project, "notifiers", None), "notifications", []))
    loaded = _load_for_project(project, name, workflow_path, workflow_handler, arguments)
    if engine and engine.split(":")[-1] == "kfp":
        if not host:
            raise FlowcError("engine 'kfp' needs host=URL of the KFP API", code="FC024")
        from ..kfp.submit import submit

        run_id = submit(loaded, host=host, experiment=experiment)
        return RunStatus(None, run_id=run_id, state="submitted")
    return run_loaded(loaded, options=run_options, progress=progress, dirty=dirty,
                      notifications=notifications, secrets_file=secrets_file,
                      background=not watch)


def _load_for_project(project, name, workflow_path, workflow_handler, arguments):
    from ...compiler.loader import load_callable, load_workflow

    context = getattr(project, "context", None) or os.getcwd()
    if callable(workflow_handler):
        return load_callable(workflow_handler, project=project, arguments=arguments)
    handler = workflow_handler if isinstance(workflow_handler, str) else None
    if name:
        return load_workflow(None, workflow=name, project=project, arguments=arguments or {},
                             handler=handler)
    if workflow_path:
        path = workflow_path if os.path.isabs(workflow_path) else os.path.join(context,
                                                                               workflow_path)
        return load_workflow(path, project=project, arguments=arguments or {},
                             handler=handler)
    raise FlowcError("name a workflow: run(name), run(workflow_path=...) or "
                     "run(workflow_handler=fn)", code="FC001")
