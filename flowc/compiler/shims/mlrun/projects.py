"""Stand-in for ``mlrun.projects``."""

from __future__ import annotations

from ...dsl import (  # noqa: F401
    CurrentProjectProxy,
    build_function,
    deploy_function,
    get_current_project,
    run_function,
)
from ....project import Project as MlrunProject  # noqa: F401
from .. import unsupported


class _PipelineContext:
    """``mlrun.projects.pipeline_context``: what MLRun's runner knows while a workflow runs."""

    project = CurrentProjectProxy()
    workflow = None


pipeline_context = _PipelineContext()

__getattr__ = unsupported(
    "mlrun.projects",
    "workflows may use run_function, build_function, deploy_function, get_current_project "
    "and pipeline_context.project")
