"""``flowc plan``, ``flowc run``, ``flowc runs``, ``flowc logs``.

Heavy modules (networkx, rich, the loader) are imported inside the command bodies.
"""

from __future__ import annotations

import json
import os
import sys
import time

import click

from ...commands.common import emit, load_target, user_errors, workflow_target
from ...diagnostics import FlowcError
from . import jsonout


def _project_dir(project_dir: str | None) -> str:
    """Where the runs database lives: ``-p DIR``, else the nearest project.yaml, else cwd."""
    if project_dir:
        return os.path.abspath(project_dir)
    from ...project import find_project_dir

    return find_project_dir(os.getcwd()) or os.getcwd()


@click.command()
@workflow_target
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("-o", "--output", metavar="FILE", help="Write the plan to FILE.")
def plan(target, workflow_name, project_dir, arguments, fmt, output):
    """Print the local execution plan (stages, functions, params, inputs); runs nothing."""
    with user_errors():
        from .plan import build_plan

        loaded = load_target(target, workflow_name, project_dir, arguments)
        the_plan = build_plan(loaded.workflow, loaded.arguments, loaded.base_dir)
        text = (jsonout.dumps(the_plan.to_json(), indent=2) + "\n" if fmt == "json"
                else the_plan.format_text())
        emit(text, output)


@click.command()
@workflow_target
@click.option("--max-parallel", type=click.IntRange(min=1), default=None,
              help="Steps running at once (default: number of CPUs).")
@click.option("--artifact-path", type=click.Path(file_okay=False), default=None,
              help="Where artifacts go (default: <project>/artifacts).")
@click.option("--progress", type=click.Choice(["auto", "rich", "plain", "json", "quiet"]),
              default="auto", show_default=True)
@click.option("--dirty", is_flag=True, help="Run even with uncommitted git changes.")
@click.option("--in-process", is_flag=True,
              help="Run handlers inside this process (for debuggers; no isolation).")
@click.option("--fail-fast", is_flag=True, help="Stop every step at the first failure.")
@click.option("--cache", is_flag=True,
              help="Reuse outputs of steps whose code, params and inputs are unchanged.")
@click.option("--build", is_flag=True,
              help="Run build steps: a virtual environment with the function's requirements.")
@click.option("--resume", "resume_id", metavar="RUN_ID",
              help="Re-run what did not succeed in a recorded run.")
@click.option("--secrets-file", type=click.Path(dir_okay=False), default=None,
              help="KEY=VALUE secrets (default: <project>/.flowc/secrets.env if present).")
@click.option("--engine", type=click.Choice(["local", "kfp"]), default="local",
              show_default=True)
@click.option("--host", metavar="URL", help="KFP API URL (with --engine kfp).")
@click.option("--experiment", metavar="NAME", help="KFP experiment (with --engine kfp).")
def run(target, workflow_name, project_dir, arguments, max_parallel, artifact_path, progress,
        dirty, in_process, fail_fast, cache, build, resume_id, secrets_file, engine, host,
        experiment):
    """Run a workflow locally (or submit it to Kubeflow Pipelines with --engine kfp)."""
    with user_errors():
        from .api import resume_run, run_loaded
        from .executor import RunOptions

        options = RunOptions(fail_fast=fail_fast, cache=cache, build=build,
                             launcher="in-process" if in_process else "forkserver",
                             artifact_path=artifact_path)
        if max_parallel:
            options.max_parallel = max_parallel
        if engine == "kfp":
            if not host:
                raise FlowcError("--engine kfp needs --host URL (the KFP API)", code="FC024")
            from ..kfp.submit import submit

            loaded = load_target(target, workflow_name, project_dir, arguments)
            run_id = submit(loaded, host=host, experiment=experiment)
            click.echo(f"submitted run {run_id} to {host}")
            return
        if not in_process:
            from .launch import prespawn_forkserver

            prespawn_forkserver()  # its start-up overlaps with tracing the workflow
        if resume_id:
            if target or workflow_name or arguments:
                raise FlowcError("--resume reruns a recorded run: give no workflow or -A",
                                 code="FC022")
            status = resume_run(_project_dir(project_dir), resume_id, options=options,
                                progress=progress, dirty=dirty, secrets_file=secrets_file)
        else:
            from .prerun import format_warning, run_warnings

            loaded = load_target(target, workflow_name, project_dir, arguments)
            for diag in run_warnings(loaded):
                click.echo(format_warning(diag), err=True)
            status = run_loaded(loaded, options=options, progress=progress, dirty=dirty,
                                secrets_file=secrets_file)
    if status.state == "aborted":
        sys.exit(130)
    if status.state != "succeeded":
        sys.exit(1)


@click.group(invoke_without_command=True)
@click.option("-p", "--project", "project_dir", metavar="DIR",
              type=click.Path(file_okay=False), help="The project folder (default: nearest).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.pass_context
def runs(ctx, project_dir, fmt, limit):
    """List recorded local runs, newest first (`flowc runs show RUN_ID` for one)."""
    ctx.ensure_object(dict)
    ctx.obj["project_dir"] = project_dir
    ctx.obj["format"] = fmt
    if ctx.invoked_subcommand is not None:
        return
    with user_errors():
        db = _open_db(project_dir)
        records = db.list_runs(limit=limit)
        if fmt == "json":
            click.echo(jsonout.dumps([_run_json(r) for r in records], indent=2))
            return
        if not records:
            click.echo(f"no runs recorded in {db.path}")
            return
        rows = [("RUN", "WORKFLOW", "STATE", "STARTED", "DURATION", "STEPS")]
        for r in records:
            ok = sum(1 for s in r.steps if s.state in ("succeeded", "cached"))
            rows.append((r.run_id, r.workflow, _display_state(r),
                         time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started)),
                         _format_duration(r.duration), f"{ok}/{len(r.steps)} ok"))
        click.echo(_table(rows))


@runs.command("show")
@click.argument("run_id")
@click.option("-p", "--project", "project_dir", metavar="DIR",
              type=click.Path(file_okay=False), help="The project folder (default: nearest).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default=None)
@click.pass_context
def show(ctx, run_id, project_dir, fmt):
    """Show one run: its steps, states, timings, results and artifacts."""
    with user_errors():
        fmt = fmt or ctx.obj.get("format") or "text"
        db = _open_db(project_dir or ctx.obj.get("project_dir"))
        record = db.get_run(run_id)
        if record is None:
            raise FlowcError(f"no run {run_id!r} in {db.path}", code="FC022",
                             hint="list runs with `flowc runs`")
        if fmt == "json":
            data = _run_json(record)
            for step in data["steps"]:
                iterations = db.iterations(record.run_id, step["name"])
                if iterations:
                    step["iterations"] = iterations
            click.echo(jsonout.dumps(data, indent=2))
            return
        click.echo(f"run {record.run_id}  workflow {record.workflow}  "
                   f"state {_display_state(record)}  "
                   f"duration {_format_duration(record.duration)}")
        click.echo(f"artifacts: {os.path.join(record.artifact_path, record.run_id)}")
        if record.arguments:
            click.echo("arguments: " + ", ".join(f"{k}={v!r}"
                                                 for k, v in record.arguments.items()))
        rows = [("STEP", "STATE", "DURATION", "RESULTS")]
        for s in record.steps:
            results = ", ".join(f"{k}={_brief(v)}" for k, v in s.results.items())
            rows.append((s.name, record.step_display_state(s),
                         _format_duration(record.step_duration(s)), results))
        click.echo(_table(rows))
        for s in record.steps:
            for it in db.iterations(record.run_id, s.name):
                shown = ", ".join(f"{k}={_brief(v)}" for k, v in it["results"].items())
                click.echo(f"  {s.name} #{it['iteration']} {it['state']}"
                           + (f": {shown}" if shown else "")
                           + (f" ({it['error']})" if it["error"] else ""))
            for key, art in s.artifacts.items():
                click.echo(f"  {s.name}.{key}: {art.get('path')}")
            if s.error and s.state not in ("succeeded", "cached", "skipped"):
                click.echo(f"  {s.name} error: {s.error}")


@click.command()
@click.argument("run_id")
@click.argument("step", required=False)
@click.option("-p", "--project", "project_dir", metavar="DIR",
              type=click.Path(file_okay=False), help="The project folder (default: nearest).")
def logs(run_id, step, project_dir):
    """Print the logs of a recorded run (all steps) or of one STEP."""
    with user_errors():
        db = _open_db(project_dir)
        record = db.get_run(run_id)
        if record is None:
            raise FlowcError(f"no run {run_id!r} in {db.path}", code="FC022",
                             hint="list runs with `flowc runs`")
        if step is not None and record.step(step) is None:
            names = ", ".join(s.name for s in record.steps)
            raise FlowcError(f"run {record.run_id} has no step {step!r} (steps: {names})",
                             code="FC022")
        log_dir = os.path.join(record.base_dir, ".flowc", "logs", record.run_id)
        for s in record.steps:
            if step is not None and s.name != step:
                continue
            files = _log_files(log_dir, s.name)
            if step is None:
                click.echo(f"==> {s.name} [{record.step_display_state(s)}] <==")
            if not files:
                click.echo("(no log)" if step is None else f"(no log for step {s.name})")
            for path in files:
                if len(files) > 1:
                    click.echo(f"--- {os.path.basename(path)} ---")
                with open(path, encoding="utf-8", errors="replace") as handle:
                    click.echo(handle.read(), nl=False)


def _log_files(log_dir: str, step: str) -> list[str]:
    """``step.log`` plus hyper-parameter iterations ``step.<n>.log`` in iteration order."""
    if not os.path.isdir(log_dir):
        return []
    main = os.path.join(log_dir, f"{step}.log")
    iterations = []
    for name in os.listdir(log_dir):
        middle = name[len(step) + 1:-4] if name.startswith(step + ".") and name.endswith(
            ".log") else ""
        if middle.isdigit():
            iterations.append((int(middle), os.path.join(log_dir, name)))
    return ([main] if os.path.exists(main) else []) + [p for _, p in sorted(iterations)]


def _open_db(project_dir: str | None):
    from .db import RunsDB, db_path

    base = _project_dir(project_dir)
    if not os.path.exists(db_path(base)):
        raise FlowcError(f"no runs recorded under {base} (no {db_path(base)})", code="FC022",
                         hint="run a workflow with `flowc run`, or pass -p PROJECT_DIR")
    return RunsDB.for_project(base)


def _run_json(record) -> dict:
    data = record.to_json()
    data["state"] = _display_state(record) if record.state == "running" else record.state
    data["steps"] = [{"name": s.name,
                      "state": "interrupted" if s.state == "running" and record.interrupted
                      else s.state, "reason": s.reason,
                      "started": s.started, "ended": s.ended,
                      "duration": record.step_duration(s), "results": s.results,
                      "artifacts": s.artifacts, "params": s.params, "error": s.error,
                      "log_path": s.log_path} for s in record.steps]
    return data


def _display_state(record) -> str:
    """``running`` for a live runner; ``interrupted`` when its runner is gone (SIGKILL)."""
    return "interrupted" if record.interrupted else record.state


def _format_duration(seconds: float | None) -> str:
    from .render import format_duration

    return format_duration(seconds)


def _brief(value) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


def _table(rows: list[tuple]) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(f"{str(c):<{w}}" for c, w in zip(r, widths)).rstrip()
                     for r in rows)
