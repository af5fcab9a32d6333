"""``flowc ir``: trace a workflow and print its IR document."""

from __future__ import annotations

import click

from .common import emit, load_target, user_errors, workflow_target


@click.command("ir")
@workflow_target
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default="json",
              show_default=True, help="Document format.")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")
def ir(target, workflow_name, project_dir, arguments, fmt, output):
    """Trace a workflow and print its IR document (flowc/v1 Workflow)."""
    with user_errors():
        loaded = load_target(target, workflow_name, project_dir, arguments,
                             require_values=False)
        if fmt == "json":
            text = loaded.workflow.dumps()
        else:
            import yaml

            text = yaml.safe_dump(loaded.workflow.to_json(), sort_keys=False,
                                  allow_unicode=True)
        emit(text, output)
