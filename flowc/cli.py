"""The ``flowc`` command line.

Start-up must stay light (``flowc --version`` well under 0.1 s of our own time): commands are
registered by dotted path and imported only when invoked, and each command imports the heavy
modules it needs inside its body.
"""

from __future__ import annotations

import importlib
import sys

import click

from . import __version__

# command name -> "module:attribute" (module relative to the flowc package)
COMMANDS: dict[str, str] = {
    "ir": "flowc.commands.ir_cmd:ir",
    "graph": "flowc.commands.graph_cmd:graph",
    "compile": "flowc.commands.compile_cmd:compile_",
    "lint": "flowc.lint.cli:lint",
    "rules": "flowc.lint.cli:rules",
    "plan": "flowc.backends.local.cli:plan",
    "run": "flowc.backends.local.cli:run",
    "runs": "flowc.backends.local.cli:runs",
    "logs": "flowc.backends.local.cli:logs",
}

HELP = {
    "ir": "Trace a workflow and print its IR document.",
    "graph": "Draw a workflow's step graph (mermaid, dot, svg, png).",
    "compile": "Compile a workflow to a Kubeflow Pipelines v2 PipelineSpec YAML.",
    "lint": "Check workflows (and compiled KFP YAML) for mistakes.",
    "rules": "List the lint rules.",
    "plan": "Print the local execution plan without running anything.",
    "run": "Run a workflow locally (or submit it to KFP with --engine kfp).",
    "runs": "List recorded local runs, or show one.",
    "logs": "Print the logs of a recorded run or step.",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("flowc"):
                return _unavailable(cmd_name, str(exc))
            raise
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing help must not import every command module.
        rows = [(name, HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _unavailable(name: str, why: str) -> click.Command:
    @click.command(name=name, help=HELP.get(name, ""))
    def command() -> None:
        click.echo(f"flowc {name}: not available in this build ({why})", err=True)
        sys.exit(2)

    return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="flowc")
@click.option("--debug", is_flag=True, envvar="FLOWC_DEBUG",
              help="Show full tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """flowc: trace ML workflows into a typed IR, lint them, compile them to Kubeflow
    Pipelines, or run them locally."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="flowc")


if __name__ == "__main__":
    main()
