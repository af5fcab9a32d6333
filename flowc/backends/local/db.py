"""The local runs database: SQLite (standard library) in ``<project>/.flowc/runs.db``.

Every state change is one transaction, so a runner killed with SIGKILL leaves whole records
behind: a step is either recorded as finished (with its outputs) or it is not. The database
runs in WAL mode, which makes each commit durable against a crashed process without an fsync
per write. Secret values never reach this module: callers pass masked parameters.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any

DB_DIRNAME = ".flowc"
DB_FILENAME = "runs.db"

# Step and run states.
PENDING = "pending"
RUNNING = "running"
SUCCEEDED = "succeeded"
CACHED = "cached"
FAILED = "failed"
SKIPPED = "skipped"
UPSTREAM_FAILED = "upstream_failed"
ABORTED = "aborted"

DONE_OK = (SUCCEEDED, CACHED)          # outputs available to dependents
FINAL = (SUCCEEDED, CACHED, FAILED, SKIPPED, UPSTREAM_FAILED, ABORTED)

# Columns added after the first release: (table, column, declaration), added when missing.
_ADDED_COLUMNS = (("runs", "attempt_started", "REAL"),
                  ("runs", "elapsed", "REAL NOT NULL DEFAULT 0"))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    project TEXT,
    workflow TEXT NOT NULL,
    state TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    arguments TEXT NOT NULL DEFAULT '{}',
    artifact_path TEXT NOT NULL,
    base_dir TEXT NOT NULL,
    workflow_path TEXT,
    ir TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',
    pid INTEGER,
    attempt INTEGER NOT NULL DEFAULT 1,
    error TEXT,
    attempt_started REAL,
    elapsed REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    started REAL,
    ended REAL,
    params TEXT NOT NULL DEFAULT '{}',
    results TEXT NOT NULL DEFAULT '{}',
    artifacts TEXT NOT NULL DEFAULT '{}',
    outputs TEXT NOT NULL DEFAULT '{}',
    log_path TEXT,
    error TEXT,
    cache_key TEXT,
    attempt INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (run_id, name)
);
CREATE INDEX IF NOT EXISTS steps_cache ON steps(cache_key, state);
CREATE TABLE IF NOT EXISTS iterations (
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    iteration INTEGER NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    results TEXT NOT NULL DEFAULT '{}',
    artifacts TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    started REAL,
    ended REAL,
    PRIMARY KEY (run_id, step, iteration)
);
CREATE TABLE IF NOT EXISTS artifacts (
    project TEXT NOT NULL,
    key TEXT NOT NULL,
    uri TEXT NOT NULL,
    path TEXT NOT NULL,
    kind TEXT,
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS artifacts_key ON artifacts(project, key, created);
"""


def db_path(base_dir: str) -> str:
    """Where the runs database of the project in ``base_dir`` lives."""
    return os.path.join(base_dir, DB_DIRNAME, DB_FILENAME)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _loads(text: str | None, default: Any = None) -> Any:
    if text is None:
        return default
    return json.loads(text)


@dataclass
class StepRecord:
    """One step of a recorded run."""

    run_id: str
    name: str
    kind: str
    state: str
    reason: str | None = None
    started: float | None = None
    ended: float | None = None
    params: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)
    artifacts: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    log_path: str | None = None
    error: str | None = None
    cache_key: str | None = None
    attempt: int = 1

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started

    @property
    def display_state(self) -> str:
        return f"{self.state} ({self.reason})" if self.reason else self.state

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "state": self.state,
                "reason": self.reason, "started": self.started, "ended": self.ended,
                "params": self.params, "results": self.results, "artifacts": self.artifacts,
                "outputs": self.outputs, "log_path": self.log_path, "error": self.error,
                "attempt": self.attempt}


@dataclass
class RunRecord:
    """One recorded run and (when loaded with them) its steps."""

    run_id: str
    project: str | None
    workflow: str
    state: str
    started: float
    ended: float | None
    arguments: dict
    artifact_path: str
    base_dir: str
    workflow_path: str | None
    ir: str
    options: dict
    pid: int | None
    attempt: int
    error: str | None
    attempt_started: float | None = None   # when the latest attempt (--resume) began
    elapsed: float = 0.0                   # run time of the earlier attempts
    steps: list[StepRecord] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        """Recorded as running, but its runner process is gone (killed with SIGKILL)."""
        return self.state == RUNNING and self.pid is not None and not _pid_alive(self.pid)

    def last_activity(self) -> float:
        """The latest time recorded for this attempt: a step starting or ending."""
        start = self.attempt_started or self.started
        times = [t for s in self.steps for t in (s.started, s.ended) if t is not None]
        return max([start, *times])

    @property
    def duration(self) -> float:
        """Run time summed over attempts; an interrupted attempt counts until its last
        recorded activity, a live one until now."""
        start = self.attempt_started or self.started
        if self.ended is not None:
            end = self.ended
        elif self.interrupted:
            end = self.last_activity()
        else:
            end = time.time()
        return self.elapsed + max(0.0, end - start)

    def step_display_state(self, step: "StepRecord") -> str:
        """A step's state for people: ``interrupted`` for a running step of a dead runner."""
        if step.state == RUNNING and self.interrupted:
            return "interrupted"
        return step.display_state

    def step_duration(self, step: "StepRecord") -> float | None:
        """Finished steps: their run time; running ones: until now (None once interrupted)."""
        if step.started is None:
            return None
        if step.ended is not None:
            return step.ended - step.started
        return None if self.interrupted or self.state != RUNNING else time.time() - step.started

    def step(self, name: str) -> StepRecord | None:
        for record in self.steps:
            if record.name == name:
                return record
        return None

    def to_json(self, with_steps: bool = True) -> dict:
        data: dict[str, Any] = {
            "run_id": self.run_id, "project": self.project, "workflow": self.workflow,
            "state": self.state, "started": self.started, "ended": self.ended,
            "arguments": self.arguments, "artifact_path": self.artifact_path,
            "attempt": self.attempt, "error": self.error, "duration": self.duration,
        }
        if with_steps:
            data["steps"] = [s.to_json() for s in self.steps]
        return data


class RunsDB:
    """Thread-safe access to one project's runs database."""

    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False,
                                     isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Upgrade a database written by an older flowc (columns are only ever added)."""
        for table, column, declaration in _ADDED_COLUMNS:
            have = {row["name"] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            if column in have:
                continue
            try:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            except sqlite3.OperationalError as exc:  # another process added it meanwhile
                if "duplicate column" not in str(exc):
                    raise

    @classmethod
    def for_project(cls, base_dir: str) -> "RunsDB":
        return cls(db_path(base_dir))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ------------------------------------------------------------------ writes

    def _tx(self, statements: list[tuple[str, tuple]]) -> None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    self._conn.execute(sql, params)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def create_run(self, *, run_id: str, project: str | None, workflow: str, ir: str,
                   arguments: dict, artifact_path: str, base_dir: str,
                   workflow_path: str | None, options: dict,
                   steps: list[tuple[str, str]]) -> None:
        """Record a new run and all its steps as ``pending``, in one transaction."""
        now = time.time()
        statements = [(
            "INSERT INTO runs (run_id, project, workflow, state, started, arguments, "
            "artifact_path, base_dir, workflow_path, ir, options, pid, attempt_started) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (run_id, project, workflow, RUNNING, now, _dumps(arguments), artifact_path,
             base_dir, workflow_path, ir, _dumps(options), os.getpid(), now))]
        for name, kind in steps:
            statements.append(("INSERT INTO steps (run_id, name, kind, state) VALUES (?,?,?,?)",
                               (run_id, name, kind, PENDING)))
        self._tx(statements)

    def restart_run(self, run_id: str, reset_steps: list[str]) -> None:
        """Mark a run running again (``--resume``) and reset the steps that will re-run
        (their succeeded hyper-parameter iterations are kept for reuse). The earlier
        attempts' run time is kept in ``elapsed``; the time between attempts does not count."""
        previous = self.get_run(run_id)
        elapsed = previous.duration if previous is not None else 0.0
        statements = [("UPDATE runs SET state=?, ended=NULL, error=NULL, pid=?, "
                       "attempt=attempt+1, attempt_started=?, elapsed=? WHERE run_id=?",
                       (RUNNING, os.getpid(), time.time(), elapsed, run_id))]
        for name in reset_steps:
            statements.append((
                "UPDATE steps SET state=?, reason=NULL, started=NULL, ended=NULL, error=NULL, "
                "results='{}', artifacts='{}', outputs='{}', attempt=attempt+1 "
                "WHERE run_id=? AND name=?", (PENDING, run_id, name)))
            statements.append(("DELETE FROM iterations WHERE run_id=? AND step=? "
                               "AND state != ?", (run_id, name, SUCCEEDED)))
        self._tx(statements)

    def step_started(self, run_id: str, name: str, *, params: dict, log_path: str | None,
                     cache_key: str | None) -> float:
        now = time.time()
        self._tx([("UPDATE steps SET state=?, started=?, params=?, log_path=?, cache_key=? "
                   "WHERE run_id=? AND name=?",
                   (RUNNING, now, _dumps(params), log_path, cache_key, run_id, name))])
        return now

    def step_finished(self, run_id: str, name: str, *, state: str, reason: str | None = None,
                      results: dict | None = None, artifacts: dict | None = None,
                      outputs: dict | None = None, error: str | None = None,
                      params: dict | None = None, project: str | None = None,
                      started: float | None = None) -> float:
        """Record a final step state with its outputs (and index its artifacts), atomically."""
        now = time.time()
        sets = ["state=?", "reason=?", "ended=?", "results=?", "artifacts=?", "outputs=?",
                "error=?"]
        values: list[Any] = [state, reason, now, _dumps(results or {}), _dumps(artifacts or {}),
                             _dumps(outputs or {}), error]
        if params is not None:
            sets.append("params=?")
            values.append(_dumps(params))
        if started is not None:
            sets.append("started=COALESCE(started, ?)")
            values.append(started)
        statements = [(f"UPDATE steps SET {', '.join(sets)} WHERE run_id=? AND name=?",
                       (*values, run_id, name))]
        if state == SUCCEEDED:
            for key, art in (artifacts or {}).items():
                statements.append((
                    "INSERT INTO artifacts (project, key, uri, path, kind, run_id, step, created) "
                    "VALUES (?,?,?,?,?,?,?,?)",
                    (project or "", key, art.get("uri") or "", art.get("path") or "",
                     art.get("kind"), run_id, name, now)))
        self._tx(statements)
        return now

    def iteration_finished(self, run_id: str, step: str, iteration: int, *, state: str,
                           params: dict, results: dict, artifacts: dict, error: str | None,
                           started: float, ended: float) -> None:
        self._tx([("INSERT OR REPLACE INTO iterations (run_id, step, iteration, state, params, "
                   "results, artifacts, error, started, ended) VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (run_id, step, iteration, state, _dumps(params), _dumps(results),
                    _dumps(artifacts), error, started, ended))])

    def finish_run(self, run_id: str, state: str, error: str | None = None) -> None:
        self._tx([("UPDATE runs SET state=?, ended=?, error=? WHERE run_id=?",
                   (state, time.time(), error, run_id))])

    # ------------------------------------------------------------------ reads

    def _query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, params))

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this id (a unique prefix works too) and its steps, in trace order."""
        rows = self._query("SELECT * FROM runs WHERE run_id=?", (run_id,))
        if not rows and run_id:
            rows = self._query("SELECT * FROM runs WHERE run_id LIKE ? LIMIT 2", (run_id + "%",))
            if len(rows) != 1:
                return None
        if not rows:
            return None
        run = _run_from_row(rows[0])
        order = _step_order(run.ir)
        steps = [_step_from_row(r) for r in
                 self._query("SELECT * FROM steps WHERE run_id=?", (run.run_id,))]
        steps.sort(key=lambda s: order.get(s.name, len(order)))
        run.steps = steps
        return run

    def list_runs(self, limit: int = 50, project: str | None = None) -> list[RunRecord]:
        """Recorded runs, newest first, each with its steps."""
        sql = "SELECT run_id FROM runs"
        params: tuple = ()
        if project is not None:
            sql += " WHERE project=?"
            params = (project,)
        sql += " ORDER BY started DESC LIMIT ?"
        ids = [r["run_id"] for r in self._query(sql, (*params, limit))]
        return [run for run in (self.get_run(i) for i in ids) if run is not None]

    def iterations(self, run_id: str, step: str) -> list[dict]:
        rows = self._query("SELECT * FROM iterations WHERE run_id=? AND step=? ORDER BY iteration",
                           (run_id, step))
        return [{"iteration": r["iteration"], "state": r["state"],
                 "params": _loads(r["params"], {}), "results": _loads(r["results"], {}),
                 "artifacts": _loads(r["artifacts"], {}), "error": r["error"],
                 "started": r["started"], "ended": r["ended"]} for r in rows]

    def find_cached(self, cache_key: str) -> StepRecord | None:
        """The newest succeeded step with this cache key whose artifacts still exist."""
        rows = self._query("SELECT * FROM steps WHERE cache_key=? AND state IN (?, ?) "
                           "ORDER BY ended DESC LIMIT 5", (cache_key, SUCCEEDED, CACHED))
        for row in rows:
            record = _step_from_row(row)
            if all(os.path.exists(a.get("path", "")) for a in record.artifacts.values()):
                return record
        return None

    def find_artifact(self, project: str, key: str) -> dict | None:
        """The newest artifact logged under ``key`` in ``project`` (``store://`` lookup)."""
        rows = self._query("SELECT * FROM artifacts WHERE project=? AND key=? "
                           "ORDER BY created DESC LIMIT 1", (project, key))
        if not rows:
            return None
        row = rows[0]
        return {"uri": row["uri"], "path": row["path"], "kind": row["kind"],
                "run_id": row["run_id"], "step": row["step"]}


def _run_from_row(row: sqlite3.Row) -> RunRecord:
    return RunRecord(run_id=row["run_id"], project=row["project"], workflow=row["workflow"],
                     state=row["state"], started=row["started"], ended=row["ended"],
                     arguments=_loads(row["arguments"], {}),
                     artifact_path=row["artifact_path"], base_dir=row["base_dir"],
                     workflow_path=row["workflow_path"], ir=row["ir"],
                     options=_loads(row["options"], {}), pid=row["pid"],
                     attempt=row["attempt"], error=row["error"],
                     attempt_started=row["attempt_started"], elapsed=row["elapsed"] or 0.0)


def _step_from_row(row: sqlite3.Row) -> StepRecord:
    return StepRecord(run_id=row["run_id"], name=row["name"], kind=row["kind"],
                      state=row["state"], reason=row["reason"], started=row["started"],
                      ended=row["ended"], params=_loads(row["params"], {}),
                      results=_loads(row["results"], {}),
                      artifacts=_loads(row["artifacts"], {}),
                      outputs=_loads(row["outputs"], {}), log_path=row["log_path"],
                      error=row["error"], cache_key=row["cache_key"], attempt=row["attempt"])


def _step_order(ir_text: str) -> dict[str, int]:
    try:
        steps = json.loads(ir_text).get("steps", [])
    except (ValueError, AttributeError):
        return {}
    return {s.get("name"): i for i, s in enumerate(steps)}


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
