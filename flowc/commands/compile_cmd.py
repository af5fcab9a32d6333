"""``flowc compile``: trace a workflow and write its Kubeflow Pipelines v2 PipelineSpec YAML."""

from __future__ import annotations

import click

from .common import emit, load_target, user_errors, workflow_target


@click.command("compile")
@workflow_target
@click.option("-o", "--output", metavar="FILE",
              help="Write the pipeline YAML to FILE (atomically) instead of stdout.")
@click.option("--registry", metavar="REGISTRY",
              help="Registry that build steps push images to (e.g. ghcr.io/me).")
def compile_(target, workflow_name, project_dir, arguments, output, registry):
    """Compile a workflow to a KFP v2 PipelineSpec YAML.

    Arguments given with -A become the pipeline parameters' defaults.
    """
    with user_errors():
        loaded = load_target(target, workflow_name, project_dir, arguments)
        from ..backends.kfp import compile_workflow

        warnings: list = []
        text = compile_workflow(loaded, registry=registry, warnings=warnings)
        for diagnostic in warnings:
            click.echo(f"warning: {diagnostic.format()}", err=True)
        emit(text, output)
