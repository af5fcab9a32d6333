"""The KFP backend: lower the IR to a Kubeflow Pipelines v2 PipelineSpec YAML.

``compile(...)`` traces a workflow (file or project workflow) and compiles it;
``compile_workflow(loaded_or_workflow, ...)`` compiles an already traced one. Lowering never
imports ``kfp``: see :mod:`flowc.backends.kfp.emit` for how the output is still checked
against the format's own protobuf messages.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["compile", "compile_workflow"]


def compile_workflow(loaded_or_workflow: Any, *, arguments: dict | None = None,
                     output: str | None = None, registry: str | None = None,
                     base_dir: str | None = None, project: str | None = None,
                     secret_name: str | None = None, default_image: str | None = None,
                     hyper_seed: int | None = None, share_components: bool = True,
                     validate: bool = True, warnings: list | None = None) -> str:
    """Compile a ``LoadedWorkflow`` or an ``ir.Workflow`` to PipelineSpec YAML text.

    ``arguments`` override the workflow's argument defaults (a LoadedWorkflow's own
    ``arguments`` are used otherwise); ``output`` writes the YAML atomically; ``validate``
    parses the result strictly into the protobuf messages (on by default);
    ``share_components=False`` gives every step its own component (needed under kfp.local,
    which stores outputs by component name). ``warnings`` (a list) receives a
    ``Diagnostic`` for each thing KFP will not honour (e.g. a hyper-parameter stop condition).
    """
    from ... import ir
    from .emit import check_strict, dump_yaml
    from .lower import Options, lower

    if isinstance(loaded_or_workflow, ir.Workflow):
        workflow = loaded_or_workflow
        project_obj = None
        args = dict(arguments or {})
        base = base_dir or os.getcwd()
        project_name = project or workflow.project
    else:
        loaded = loaded_or_workflow
        workflow = loaded.workflow
        args = {**(getattr(loaded, "arguments", None) or {}), **(arguments or {})}
        base = base_dir or loaded.base_dir
        project_obj = getattr(loaded, "project", None)
        project_name = project or workflow.project or getattr(project_obj, "name", None)
        if registry is None and project_obj is not None:
            registry = _project_registry(project_obj)
    functions = getattr(project_obj, "functions", None)
    options = Options(registry=registry, secret_name=secret_name, hyper_seed=hyper_seed,
                      share_components=share_components,
                      function_names=tuple(functions) if isinstance(functions, dict) else ())
    if default_image:
        options.default_image = default_image
    lowered = lower(workflow, arguments=args, base_dir=base, project=project_name,
                    options=options)
    if warnings is not None:
        warnings.extend(lowered.warnings)
    if validate:
        check_strict(lowered.spec, lowered.platform)
    text = dump_yaml(lowered.spec, lowered.platform, lowered.description)
    if output:
        from ...fsutil import write_text_atomic

        write_text_atomic(output, text)
    return text


def compile(target: str | None = None, *, workflow: str | None = None,
            project_dir: str | None = None, arguments: dict | None = None,
            output: str | None = None, registry: str | None = None) -> str:
    """Trace ``target`` (``file.py[:handler]``) or project workflow ``workflow`` and compile
    it; ``arguments`` (validated by the args schema) become the pipeline parameters'
    defaults. Returns the YAML text and writes ``output`` atomically when given."""
    from ...compiler.loader import load_workflow

    loaded = load_workflow(target, workflow=workflow, project_dir=project_dir,
                           arguments=arguments or {})
    return compile_workflow(loaded, output=output, registry=registry)


def _project_registry(project: Any) -> str | None:
    """A registry named in the project (``spec.params.registry`` or ``build.registry``)."""
    for attr in ("registry", "default_registry"):
        value = getattr(project, attr, None)
        if isinstance(value, str) and value:
            return value
    params = getattr(project, "params", None)
    if isinstance(params, dict) and isinstance(params.get("registry"), str):
        return params["registry"]
    return None
