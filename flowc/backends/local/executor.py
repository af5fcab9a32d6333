"""Run a planned workflow locally with bounded parallelism, recording everything in SQLite.

The scheduler runs in the calling thread and owns all state and database writes; each step
process (or hyper-parameter iteration, build, deploy) is waited for in a worker thread that
posts its outcome to a queue. Step semantics:

* a step starts when all its upstream steps (data and ``after``) are final;
* an upstream step that failed (or was aborted) makes it ``upstream_failed``; with
  ``fail_fast`` the first failure aborts everything;
* a false condition makes it ``skipped``, and so are steps that read a skipped step's outputs;
* ``build`` steps are ``skipped (local)`` unless ``build=True`` (then a virtual environment);
* ``deploy`` steps start a model server on 127.0.0.1 that lives until the run ends;
* ``cache=True`` reuses the outputs of an earlier step with the same code, params and inputs;
* ``abort()`` (Ctrl-C, SIGTERM) kills running step processes and records them ``aborted``.
"""

from __future__ import annotations

import heapq
import os
import queue
import secrets as _secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ... import ir
from ...diagnostics import FlowcError
from ...evaluate import EvaluationError, evaluate
from . import db as states
from . import hyper as hyperlib
from .db import RunRecord, RunsDB
from .events import (Event, IterationFinished, Listener, RunFinished, RunStarted, StepFinished,
                     StepStarted)
from .functions import ResolvedFunction
from .launch import Job, Launcher, StepError, SubprocessLauncher, make_launcher
from .plan import Plan, build_plan
from .secrets import MASK, Secrets
from .store import project_key, resolve_store_uri, step_cache_key, step_dir


@dataclass
class RunOptions:
    """How to run; the CLI flags and ``project.run(**options)`` map onto these."""

    max_parallel: int = field(default_factory=lambda: os.cpu_count() or 2)
    artifact_path: str | None = None
    launcher: str = "forkserver"          # forkserver | subprocess | in-process
    fail_fast: bool = False
    cache: bool = False
    build: bool = False
    secrets: dict[str, str] = field(default_factory=dict)
    preload: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"max_parallel": self.max_parallel, "launcher": self.launcher,
                "fail_fast": self.fail_fast, "cache": self.cache, "build": self.build}


def new_run_id() -> str:
    """Sortable and readable: ``20261204-151820-3fa9c2``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + _secrets.token_hex(3)


@dataclass
class _StepState:
    step: ir.Step
    state: str = states.PENDING
    reason: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    started: float | None = None
    error: str | None = None


@dataclass
class _Unit:
    """One thing a worker thread waits for: a step process, an iteration, a build, a deploy."""

    step: str
    kind: str                          # run | iteration | build | deploy
    work: Callable[[], Any]
    job: Job | None = None
    iteration: int | None = None
    params: dict = field(default_factory=dict)   # masked, for records
    hyper: dict = field(default_factory=dict)    # this iteration's hyper-parameters
    started: float = 0.0


class Executor:
    """Runs one workflow (a new run, or ``resume`` of a recorded one)."""

    def __init__(self, workflow: ir.Workflow, *, arguments: dict[str, Any], base_dir: str,
                 options: RunOptions | None = None, listeners: list[Listener] | None = None,
                 workflow_path: str | None = None, db: RunsDB | None = None,
                 resume: RunRecord | None = None, secret_lookup: Callable[[str], Any] | None = None
                 ) -> None:
        self.workflow = workflow
        self.arguments = dict(arguments)
        self.base_dir = os.path.abspath(base_dir)
        self.options = options or RunOptions()
        self.listeners = list(listeners or [])
        self.workflow_path = workflow_path
        self.db = db or RunsDB.for_project(self.base_dir)
        self.resume = resume
        self.run_id = resume.run_id if resume else new_run_id()
        default_path = os.path.join(self.base_dir, "artifacts")
        self.artifact_path = os.path.abspath(
            resume.artifact_path if resume else (self.options.artifact_path or default_path))
        self.project = project_key(workflow.project)
        self.plan: Plan = build_plan(workflow, self.arguments, self.base_dir)
        self.secrets = Secrets(secret_lookup, self.options.secrets)
        self.steps = {s.name: _StepState(s) for s in workflow.steps}
        self._order = {s.name: i for i, s in enumerate(workflow.steps)}
        self._upstream = {s.name: s.upstream() for s in workflow.steps}
        self._data_deps = {s.name: s.data_dependencies() for s in workflow.steps}
        self._dependents: dict[str, list[str]] = {s.name: [] for s in workflow.steps}
        for name, ups in self._upstream.items():
            for up in ups:
                self._dependents[up].append(name)
        # steps to (re)consider for starting, as a heap in trace order
        self._candidates: list[tuple[int, str]] = list(enumerate(self.steps))
        self.log_dir = os.path.join(self.base_dir, ".flowc", "logs", self.run_id)
        self._queue: queue.Queue = queue.Queue()          # outcomes, from worker threads
        self._work_queue: queue.SimpleQueue = queue.SimpleQueue()  # units, to worker threads
        self._workers = 0
        self._running: dict[int, _Unit] = {}
        self._hyper: dict[str, hyperlib.HyperRun] = {}
        self._hyper_calls: dict[str, tuple[dict, dict]] = {}  # step -> (call, masked params)
        self._reusable_iterations: dict[str, list[dict]] = {}  # --resume: earlier iterations
        self._ready_units: list[_Unit] = []
        self._abort_reason: str | None = None
        self._servers: list[Any] = []
        self._venv_python: dict[str, str] = {}   # function name -> python of its built venv
        self._launcher: Launcher = make_launcher(self.options.launcher, self.options.preload)
        self._launcher.redact = self.secrets.redact
        self._venv_launchers: dict[str, Launcher] = {}
        self.state: str = states.PENDING
        self.started = 0.0

    # ------------------------------------------------------------------ public

    def abort(self, reason: str = "interrupted") -> None:
        """Stop the run: running steps are killed and recorded ``aborted``.

        Safe to call from a signal handler or another thread: it only sets a flag, which the
        scheduler checks at least every 0.1 s.
        """
        if self._abort_reason is None:
            self._abort_reason = reason

    def run(self) -> RunRecord:
        """Execute to the end; returns the final run record."""
        self.started = time.time()
        if self.options.launcher == "forkserver" and self._needs_launcher():
            self._launcher.spawn()  # starts while the run is being recorded
        os.makedirs(self.log_dir, exist_ok=True)
        if self.resume:
            self._load_resumed()
        else:
            self.db.create_run(run_id=self.run_id, project=self.workflow.project,
                               workflow=self.workflow.name, ir=self.workflow.dumps(),
                               arguments=self.arguments, artifact_path=self.artifact_path,
                               base_dir=self.base_dir, workflow_path=self.workflow_path,
                               options=self.options.to_json(),
                               steps=[(s.name, s.kind) for s in self.workflow.steps])
        self.state = states.RUNNING
        self._emit(RunStarted(self.run_id, workflow=self.workflow.name,
                              steps=tuple(self.steps), artifact_path=self.artifact_path,
                              resumed=self.resume is not None))
        error = None
        try:
            if self.options.launcher == "forkserver" and self._needs_launcher():
                try:
                    self._launcher.start()
                    self._launcher.preload(self._handler_imports())
                except (StepError, OSError) as exc:
                    raise FlowcError(f"the fork server failed: {exc}", code="FC030",
                                     hint="try --in-process to see the problem") from None
            self._loop()
        except BaseException as exc:  # record what we know, then re-raise
            error = self.secrets.redact(f"{type(exc).__name__}: {exc}")
            self.abort("runner error")
            self._drain()
            raise
        finally:
            for _ in range(self._workers):
                self._work_queue.put(None)
            self._stop_servers()
            for step in self.workflow.steps:  # model servers log until they stop
                if step.kind == "deploy":
                    self.secrets.redact_file(os.path.join(self.log_dir, f"{step.name}.log"))
            self._launcher.close()
            for launcher in self._venv_launchers.values():
                launcher.close()
            final = self._final_state()
            self.state = final
            self.db.finish_run(self.run_id, final,
                               error or (None if final == states.SUCCEEDED
                                         else self._failure_summary()))
            finished = self.db.get_run(self.run_id)
            assert finished is not None
            self._emit(RunFinished(  # durations as `flowc runs` shows them (attempts summed)
                self.run_id, state=final, duration=finished.duration,
                steps=tuple((r.name, r.display_state, r.duration) for r in finished.steps),
                error=error or (None if final == states.SUCCEEDED else self._failure_summary()),
                artifact_dir=os.path.join(self.artifact_path, self.run_id),
                base_dir=self.base_dir))
        record = self.db.get_run(self.run_id)
        assert record is not None
        return record

    def outputs(self) -> dict[str, dict[str, Any]]:
        """Outputs of the steps finished so far (secret values redacted)."""
        return {name: self.secrets.redact(dict(s.outputs))
                for name, s in self.steps.items() if s.outputs}

    # ------------------------------------------------------------------ scheduling

    def _handler_imports(self) -> list[str]:
        """Installed modules the run steps' files import, for the fork server to preload
        (the standard library is cheap to import in each step)."""
        import sys

        from ...runtime.loading import preload_modules

        if os.environ.get("FLOWC_PRELOAD", "1") == "0":
            return []
        files = {p.function.source_file for p in self.plan.steps.values()
                 if p.kind in ("run", "deploy") and p.function.source_file}
        return [m for m in preload_modules(sorted(files))
                if m.split(".", 1)[0] not in sys.stdlib_module_names]

    def _needs_launcher(self) -> bool:
        return any(s.kind in ("run", "deploy") and self.steps[s.name].state == states.PENDING
                   for s in self.workflow.steps)

    def _load_resumed(self) -> None:
        assert self.resume is not None
        reset = []
        for record in self.resume.steps:
            state = self.steps.get(record.name)
            if state is None:
                continue
            if record.kind == "deploy":
                reset.append(record.name)  # its server ended with the earlier runner
            elif record.state in states.DONE_OK or record.state == states.SKIPPED:
                state.state, state.reason, state.outputs = record.state, record.reason, \
                    dict(record.outputs)
            else:
                reset.append(record.name)
                if state.step.hyper is not None:
                    self._reusable_iterations[record.name] = self.db.iterations(
                        self.run_id, record.name)
        self.db.restart_run(self.run_id, reset)

    def _loop(self) -> None:
        while True:
            if self._abort_reason is not None:
                if self._abort_everything():
                    return
                continue
            self._schedule()
            self._launch_ready()
            if not self._running:
                if self._ready_units or self._schedule():
                    continue
                self._finish_unreachable()
                return
            self._wait_one()

    def _wait_one(self, timeout: float = 0.1) -> None:
        """Handle one finished unit; wakes up regularly so a signal's abort is seen quickly."""
        try:
            kind, unit, outcome = self._queue.get(timeout=timeout)
        except queue.Empty:
            return
        if kind == "done":
            self._running.pop(id(unit), None)
            self._handle(unit, outcome)

    def _schedule(self) -> bool:
        """Decide every candidate step whose upstream is final (start, skip or mark it
        upstream_failed); True if any step changed state.

        Candidates are the steps not looked at yet and the dependents of steps that became
        final since, so a run costs O(edges), not O(steps^2).
        """
        any_change = False
        bad = (states.FAILED, states.UPSTREAM_FAILED, states.ABORTED)
        while self._candidates and self._abort_reason is None:
            _, name = heapq.heappop(self._candidates)
            st = self.steps[name]
            if st.state != states.PENDING:
                continue
            ups = [self.steps[u] for u in self._upstream[name]]
            failed = [u.step.name for u in ups if u.state in bad]
            if failed:
                self._finish(name, states.UPSTREAM_FAILED, error="upstream: " + ", ".join(failed))
                if self.options.fail_fast:
                    self.abort("fail-fast")
            elif all(u.state in states.FINAL for u in ups):
                skipped = [u for u in self._data_deps[name] if not self._outputs_available(u)]
                if skipped:
                    self._finish(name, states.SKIPPED, reason="upstream skipped",
                                 error=f"needs outputs of skipped step(s) {', '.join(skipped)}")
                else:
                    self._start_step(name)
            else:
                continue
            any_change = True
        return any_change

    def _outputs_available(self, name: str) -> bool:
        st = self.steps[name]
        return st.state in states.DONE_OK or (st.state == states.SKIPPED and st.reason == "local")

    def _launch_ready(self) -> None:
        self._refill_hyper()
        while self._ready_units and len(self._running) < max(1, self.options.max_parallel):
            unit = self._ready_units.pop(0)
            unit.started = time.time()
            self._running[id(unit)] = unit
            self._work_queue.put(unit)
            if self._workers < len(self._running):  # one worker thread per running unit
                self._workers += 1
                threading.Thread(target=self._worker, daemon=True,
                                 name=f"flowc-worker-{self._workers}").start()
            if unit.kind == "iteration":
                self._refill_hyper()

    def _worker(self) -> None:
        """A worker thread: waits for units' processes, posts outcomes; ``None`` ends it."""
        while (unit := self._work_queue.get()) is not None:
            try:
                outcome: Any = unit.work()
            except BaseException as exc:  # posted to the scheduler, never lost
                outcome = exc
            self._queue.put(("done", unit, outcome))

    def _refill_hyper(self) -> None:
        for name, hyper in self._hyper.items():
            while (item := hyper.take_next()) is not None:
                self._ready_units.append(self._iteration_unit(name, *item))

    # ------------------------------------------------------------------ step start

    def _start_step(self, name: str) -> None:
        st = self.steps[name]
        step = st.step
        try:
            if step.condition is not None:
                if not bool(self._eval(step.condition)):
                    self._finish(name, states.SKIPPED, reason="condition false")
                    return
            if step.kind == "build":
                self._start_build(name)
            elif step.kind == "deploy":
                self._start_deploy(name)
            else:
                self._start_run(name)
        except Exception as exc:  # a step that cannot start fails alone; the run goes on
            self._mark_started(name, {})
            self._finish(name, states.FAILED, error=_message(exc))

    def _mark_started(self, name: str, params: dict, log_path: str | None = None,
                      cache_key: str | None = None, iterations: int | None = None) -> None:
        st = self.steps[name]
        if st.state == states.RUNNING:
            return
        st.state = states.RUNNING
        st.started = self.db.step_started(self.run_id, name, params=params, log_path=log_path,
                                          cache_key=cache_key)
        self._emit(StepStarted(self.run_id, step=name, iterations=iterations))

    def _resolved_params(self, step: ir.Step) -> tuple[dict, dict, dict]:
        """(params with secrets, params with secrets masked, inputs as local paths/URLs)."""
        params = {k: self._eval(v) for k, v in step.params.items()}
        masked = {k: self._eval(v, masked=True) for k, v in step.params.items()}
        inputs = {}
        for key, value in step.inputs.items():
            resolved = self._eval(value)
            if isinstance(resolved, dict) and "path" in resolved:
                resolved = resolved["path"]
            if not isinstance(resolved, str):
                raise EvaluationError(f"input {key!r} must be a path or URI, got {resolved!r}")
            if resolved.startswith("store://"):
                path = resolve_store_uri(self.db, resolved)
                if path is None:
                    raise EvaluationError(
                        f"input {key!r}: artifact {resolved} is not in this project's runs "
                        f"database (run the step that logs it first)")
                resolved = path
            elif "://" not in resolved and not os.path.isabs(resolved):
                resolved = os.path.join(self.base_dir, resolved)
            inputs[key] = resolved
        return params, masked, inputs

    def _start_run(self, name: str) -> None:
        step = self.steps[name].step
        fn = self.plan.steps[name].function
        if not fn.handler:
            raise StepError(f"step {name!r}: function {fn.name!r} names no handler")
        params, masked, inputs = self._resolved_params(step)
        outputs = [(o.name, o.type) for o in step.outputs]
        call = {"step": name, "run_id": self.run_id, "project": self.workflow.project,
                "handler": fn.handler, "source_file": fn.source_file, "source_code": None,
                "params": params, "inputs": inputs, "outputs": [list(o) for o in outputs],
                "artifact_dir": step_dir(self.artifact_path, self.run_id, name),
                "iteration": None}
        cache_key = None
        if self.options.cache:
            hyper = (None if step.hyper is None else
                     {**step.hyper.to_json(), "params": self._eval(step.hyper.params, masked=True)})
            cache_key = step_cache_key(fn, masked, inputs, [o.to_json() for o in step.outputs],
                                       hyper)
        if cache_key:
            hit = self.db.find_cached(cache_key)
            if hit is not None:
                self._mark_started(name, masked, cache_key=cache_key)
                self._finish(name, states.CACHED, reason=f"from run {hit.run_id}",
                             results=hit.results, artifacts=hit.artifacts, outputs=hit.outputs)
                return
        if step.hyper is not None:
            self._start_hyper(name, step, call, masked, cache_key)
            return
        log_path = os.path.join(self.log_dir, f"{name}.log")
        self._mark_started(name, masked, log_path, cache_key)
        job = self._job(call, name, log_path)
        self._ready_units.append(_Unit(step=name, kind="run", job=job, params=masked,
                                       work=lambda: self._launcher_for(fn).run(job)))

    def _job(self, call: dict, label: str, log_path: str) -> Job:
        result_path = os.path.join(self.log_dir, f"{label}.result.json")
        if os.path.exists(result_path):
            os.unlink(result_path)  # never mistake an earlier attempt's result for this one
        return Job(call=call, result_path=result_path, log_path=log_path, cwd=self.base_dir,
                   env={"FLOWC_RUNS_DB": self.db.path})

    def _launcher_for(self, fn: ResolvedFunction) -> Launcher:
        python = self._venv_python.get(fn.name)
        if python is None:
            return self._launcher
        if python not in self._venv_launchers:
            self._venv_launchers[python] = SubprocessLauncher(python)
        return self._venv_launchers[python]

    def _start_hyper(self, name: str, step: ir.Step, call: dict, masked: dict,
                     cache_key: str | None) -> None:
        h = step.hyper
        assert h is not None
        combos = hyperlib.generate(self._eval(h.params), h.strategy,
                                   max_iterations=h.max_iterations,
                                   seed=f"{self.run_id}/{name}")
        parallel = min(h.parallel_runs or self.options.max_parallel, self.options.max_parallel)
        self._hyper[name] = hyperlib.HyperRun(
            combos=combos, selector=h.selector, stop_condition=h.stop_condition,
            max_errors=h.max_errors, parallel=max(1, parallel), arguments=self.arguments)
        self._hyper_calls[name] = (call, masked)
        log_path = os.path.join(self.log_dir, f"{name}.log")
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"{len(combos)} iterations ({h.strategy}); each logs to "
                      f"{name}.<iteration>.log\n")
        self._mark_started(name, {**masked, "hyperparams": self._eval(h.params, masked=True)},
                           log_path, cache_key, iterations=len(combos))
        hyper = self._hyper[name]
        hyper.reuse(self._reusable_iterations.pop(name, []))
        if hyper.finished():  # every iteration was reused
            self._finish_hyper(name, hyper)

    def _iteration_unit(self, name: str, iteration: int, combo: dict) -> _Unit:
        base_call, masked = self._hyper_calls[name]
        call = {**base_call, "params": {**base_call["params"], **combo},
                "iteration": iteration,
                "artifact_dir": step_dir(self.artifact_path, self.run_id, name, iteration)}
        label = f"{name}.{iteration}"
        job = self._job(call, label, os.path.join(self.log_dir, f"{label}.log"))
        fn = self.plan.steps[name].function
        return _Unit(step=name, kind="iteration", job=job, iteration=iteration,
                     params={**masked, **combo}, hyper=combo,
                     work=lambda: self._launcher_for(fn).run(job))

    def _start_build(self, name: str) -> None:
        step = self.steps[name].step
        params = {k: self._eval(v, masked=True) for k, v in step.params.items()}
        image = params.get("image") or self._eval(step.function.image, masked=True) or ""
        if not self.options.build:
            self._mark_started(name, params)
            self._finish(name, states.SKIPPED, reason="local",
                         outputs={"image": image, "state": "skipped"})
            return
        from .venv import build_venv

        fn = self.plan.steps[name].function
        requirements = list(fn.requirements) + [str(r) for r in params.get("requirements") or []]
        log_path = os.path.join(self.log_dir, f"{name}.log")
        self._mark_started(name, params, log_path)
        self._ready_units.append(_Unit(
            step=name, kind="build", params=params,
            work=lambda: build_venv(self.base_dir, requirements, log_path)))

    def _start_deploy(self, name: str) -> None:
        from .deploy import start_server

        step = self.steps[name].step
        fn = self.plan.steps[name].function
        params = {k: self._eval(v) for k, v in step.params.items()}
        masked = {k: self._eval(v, masked=True) for k, v in step.params.items()}
        log_path = os.path.join(self.log_dir, f"{name}.log")
        self._mark_started(name, masked, log_path)
        self._ready_units.append(_Unit(
            step=name, kind="deploy", params=masked,
            work=lambda: start_server(fn, params, log_path=log_path,
                                      resolve_store=lambda uri: resolve_store_uri(self.db, uri),
                                      launcher=self._launcher if self.options.launcher
                                      == "forkserver" else None, cwd=self.base_dir)))

    # ------------------------------------------------------------------ outcomes

    def _handle(self, unit: _Unit, outcome: Any) -> None:
        if unit.job is not None:
            self.secrets.redact_file(unit.job.log_path)
        elif unit.kind in ("build", "deploy"):
            self.secrets.redact_file(os.path.join(self.log_dir, f"{unit.step}.log"))
        if unit.kind == "iteration":
            self._handle_iteration(unit, outcome)
            return
        name = unit.step
        if isinstance(outcome, BaseException):
            aborted = self._abort_reason is not None or (unit.job and unit.job.cancelled)
            self._finish(name, states.ABORTED if aborted else states.FAILED,
                         error=self._abort_reason if aborted else _message(outcome))
            if not aborted and self.options.fail_fast:
                self.abort("fail-fast")
            return
        if unit.kind == "build":
            python = outcome
            self._venv_python[self.steps[name].step.function.name] = python
            self._finish(name, states.SUCCEEDED,
                         outputs={"image": os.path.dirname(os.path.dirname(python)),
                                  "state": "ready"})
            return
        if unit.kind == "deploy":
            self._servers.append(outcome)
            outputs = {"endpoint": outcome.endpoint, "name": outcome.name}
            self._finish(name, states.SUCCEEDED, results=outputs, outputs=outputs)
            return
        results = outcome.get("results") or {}
        artifacts = outcome.get("artifacts") or {}
        self._finish(name, states.SUCCEEDED, results=results, artifacts=artifacts,
                     outputs=_outputs_view(results, artifacts))

    def _handle_iteration(self, unit: _Unit, outcome: Any) -> None:
        name = unit.step
        hyper = self._hyper[name]
        assert unit.iteration is not None
        if isinstance(outcome, BaseException):
            aborted = self._abort_reason is not None
            entry = hyper.record(unit.iteration, unit.hyper, unit.params,
                                 state=states.ABORTED if aborted else states.FAILED,
                                 error=self._abort_reason if aborted else _message(outcome))
        else:
            entry = hyper.record(unit.iteration, unit.hyper, unit.params,
                                 state=states.SUCCEEDED, results=outcome.get("results"),
                                 artifacts=outcome.get("artifacts"))
        shown = self.secrets.redact(entry)
        self.db.iteration_finished(self.run_id, name, unit.iteration, state=shown["state"],
                                   params=shown["params"], results=shown["results"],
                                   artifacts=shown["artifacts"], error=shown["error"],
                                   started=unit.started, ended=time.time())
        self._emit(IterationFinished(self.run_id, step=name, iteration=unit.iteration,
                                     state=shown["state"], results=shown["results"],
                                     error=shown["error"] if shown["state"] != "succeeded"
                                     else None))
        if self._abort_reason is not None:
            if hyper.running == 0:
                self._finish(name, states.ABORTED, error=self._abort_reason)
        elif hyper.finished():
            self._finish_hyper(name, hyper)

    def _finish_hyper(self, name: str, hyper: hyperlib.HyperRun) -> None:
        table_path = os.path.join(step_dir(self.artifact_path, self.run_id, name),
                                  "iteration_results.csv")
        hyperlib.write_table(table_path,
                             self.secrets.redact(hyperlib.iteration_table(hyper.iterations)))
        table = {"path": table_path, "kind": "table",
                 "uri": f"store://artifacts/{self.project}/iteration_results"}
        best, why = hyper.outcome()
        if best is None:
            self._finish(name, states.FAILED, error=why, artifacts={"iteration_results": table})
            if self.options.fail_fast:
                self.abort("fail-fast")
            return
        results = {**best["results"], "best_iteration": best["iteration"]}
        artifacts = {**best["artifacts"], "iteration_results": table}
        self._finish(name, states.SUCCEEDED, results=results, artifacts=artifacts,
                     outputs=_outputs_view(results, artifacts), reason=why)

    def _finish(self, name: str, state: str, *, reason: str | None = None,
                results: dict | None = None, artifacts: dict | None = None,
                outputs: dict | None = None, error: str | None = None) -> None:
        """Record a final state. Secret values are redacted from what is recorded and shown;
        dependents still get the real outputs."""
        st = self.steps[name]
        error = self.secrets.redact(error)
        st.state, st.reason, st.error = state, reason, error
        for dependent in self._dependents[name]:
            heapq.heappush(self._candidates, (self._order[dependent], dependent))
        st.outputs = dict(outputs or {})
        shown = self.secrets.redact(st.outputs)
        self.db.step_finished(self.run_id, name, state=state, reason=reason,
                              results=self.secrets.redact(results), artifacts=artifacts,
                              outputs=shown, error=error, project=self.project)
        duration = time.time() - st.started if st.started else None
        self._emit(StepFinished(self.run_id, step=name, state=state, duration=duration,
                                reason=reason, error=error, outputs=shown))

    # ------------------------------------------------------------------ abort / end

    def _abort_everything(self) -> bool:
        """Kill running units and wait for them; True once every step is final."""
        for unit in list(self._running.values()):
            if unit.job is not None and not unit.job.cancelled:
                unit.job.cancelled = True
                threading.Thread(target=self._launcher.cancel, args=(unit.job,),
                                 daemon=True).start()
        self._ready_units.clear()
        for hyper in self._hyper.values():
            hyper.stop("aborted")
        if self._running:
            self._wait_one()
            return False
        for name, st in self.steps.items():
            if st.state in (states.PENDING, states.RUNNING):
                self._finish(name, states.ABORTED, error=self._abort_reason)
        return True

    def _drain(self) -> None:
        deadline = time.time() + 10
        while self._running and time.time() < deadline:
            try:
                kind, unit, outcome = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if kind == "done":
                self._running.pop(id(unit), None)
                self._handle(unit, outcome)
        for name, st in self.steps.items():
            if st.state in (states.PENDING, states.RUNNING):
                self._finish(name, states.ABORTED, error=self._abort_reason)

    def _finish_unreachable(self) -> None:
        for name, st in self.steps.items():
            if st.state in (states.PENDING, states.RUNNING):
                self._finish(name, states.UPSTREAM_FAILED, error="never became ready")

    def _failure_summary(self) -> str | None:
        """``failed: a, b`` (and the abort reason): what the final line says went wrong."""
        failed = [n for n, st in self.steps.items() if st.state == states.FAILED]
        parts = [self._abort_reason] if self._abort_reason else []
        if failed:
            parts.append("failed: " + ", ".join(failed))
        return "; ".join(parts) or None

    def _final_state(self) -> str:
        found = {s.state for s in self.steps.values()}
        if self._abort_reason is not None and self._abort_reason != "fail-fast":
            return states.ABORTED
        if found & {states.FAILED, states.UPSTREAM_FAILED, states.ABORTED}:
            return states.FAILED
        if found & {states.PENDING, states.RUNNING}:
            return states.ABORTED
        return states.SUCCEEDED

    def _stop_servers(self) -> None:
        for server in self._servers:
            try:
                server.stop()
            except Exception as exc:  # a server that will not stop must not hide the result
                self._emit_warning(f"could not stop model server {server!r}: {exc}")
        self._servers.clear()

    # ------------------------------------------------------------------ helpers

    def _eval(self, value: ir.Value, masked: bool = False) -> Any:
        return evaluate(value, args=self.arguments, outputs=self._output,
                        secrets=(lambda key: MASK) if masked else self.secrets)

    def _output(self, step: str, name: str) -> Any:
        st = self.steps.get(step)
        if st is None:
            raise EvaluationError(f"unknown step {step!r}")
        if name not in st.outputs:
            have = ", ".join(sorted(st.outputs)) or "none"
            raise EvaluationError(f"step {step!r} has no output {name!r} (it has: {have})")
        return st.outputs[name]

    def _emit(self, event: Event) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # a broken renderer never breaks the run
                pass

    def _emit_warning(self, message: str) -> None:
        import sys

        print(f"warning: {message}", file=sys.stderr)


def _outputs_view(results: dict, artifacts: dict) -> dict:
    merged = dict(results)
    for key, info in artifacts.items():
        merged[key] = info.get("path")
    return merged


def _message(exc: BaseException) -> str:
    if isinstance(exc, FlowcError):
        return exc.diagnostic.message
    text = str(exc)
    if isinstance(exc, (StepError, EvaluationError)) and text:
        return text
    return f"{type(exc).__name__}: {text}"
