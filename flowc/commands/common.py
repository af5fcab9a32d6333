"""Pieces every CLI command shares: the workflow-target options, error handling, output.

Kept free of heavy imports: the loader and backends are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from typing import Any, Callable, Iterator

import click

from ..diagnostics import FlowcError
from ..fsutil import write_bytes_atomic, write_text_atomic

__all__ = ["workflow_target", "parse_arg_pairs", "load_target", "user_errors", "emit",
           "write_bytes_atomic", "write_text_atomic"]


def workflow_target(func: Callable) -> Callable:
    """Add ``[PATH[:HANDLER]] [-w NAME] [-p DIR] [-A K=V]...`` to a command.

    The command receives ``target``, ``workflow_name``, ``project_dir`` and ``arguments``
    (a dict of raw strings); pass them to :func:`load_target`.
    """

    @click.argument("target", required=False, metavar="[PATH[:HANDLER]]")
    @click.option("-w", "--workflow", "workflow_name", metavar="NAME",
                  help="A workflow registered in project.yaml, instead of PATH.")
    @click.option("-p", "--project", "project_dir", metavar="DIR",
                  type=click.Path(file_okay=False),
                  help="The project folder (default: nearest project.yaml above PATH).")
    @click.option("-A", "--arg", "arg_pairs", multiple=True, metavar="K=V",
                  help="A workflow argument; repeat for several.")
    @functools.wraps(func)
    def wrapper(*args: Any, arg_pairs: tuple[str, ...], **kwargs: Any) -> Any:
        kwargs["arguments"] = parse_arg_pairs(arg_pairs)
        return func(*args, **kwargs)

    return wrapper


def parse_arg_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("a=1", "b=x")`` -> ``{"a": "1", "b": "x"}``; a malformed pair is a usage error."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="-A/--arg")
        result[key.strip()] = value
    return result


def load_target(target: str | None, workflow_name: str | None, project_dir: str | None,
                arguments: dict[str, Any] | None, *, require_values: bool = True):
    """Trace the workflow a command names; returns a ``LoadedWorkflow``.

    ``require_values=False`` for commands that do not run the workflow (ir, graph, compile):
    required arguments may then stay without a value.
    """
    from ..compiler.loader import load_workflow

    if target and workflow_name:
        raise FlowcError(f"give a workflow file ({target}) or a project workflow (-w "
                         f"{workflow_name}), not both", code="FC001",
                         hint="use -p DIR to say which project -w refers to")
    if not target and not workflow_name:
        raise FlowcError("name a workflow file (PATH[:HANDLER]) or a project workflow (-w NAME)",
                         code="FC001", hint="e.g. `flowc ir workflow.py` or `flowc ir -w main`")
    return load_workflow(target, workflow=workflow_name, project_dir=project_dir,
                         arguments=arguments or {}, require_values=require_values)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a :class:`FlowcError` into one clear message on stderr and exit status 2.

    With ``--debug`` (or ``FLOWC_DEBUG=1``) the traceback is shown as well.
    """
    try:
        yield
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except FlowcError as exc:
        ctx = click.get_current_context(silent=True)
        debug = bool(ctx and ctx.find_root().obj and ctx.find_root().obj.get("debug"))
        if debug:
            import traceback

            traceback.print_exc()
        click.echo(f"error: {exc.diagnostic.format()}", err=True)
        sys.exit(2)


def emit(text: str, output: str | None) -> None:
    """Print ``text`` or, with ``-o FILE``, write it atomically."""
    if output and output != "-":
        try:
            write_text_atomic(output, text)
        except OSError as exc:
            raise FlowcError(f"cannot write {output}: {exc.strerror or exc}", code="FC007",
                             hint="choose a writable file path for -o") from None
    else:
        click.echo(text, nl=not text.endswith("\n"))
