"""Stand-in for ``mlrun`` while a workflow file is traced (see :mod:`flowc.compiler.shims`)."""

from __future__ import annotations

from typing import Any

from ...dsl import (  # noqa: F401  (re-exported MLRun names)
    Condition,
    EntrypointParam,
    HyperParamOptions,
    build_function,
    deploy_function,
    get_current_project,
    import_function,
    run_function,
)
from . import model, platforms, projects  # noqa: F401
from .platforms import auto_mount, mount_v3io  # noqa: F401
from .. import unsupported

__version__ = "0.0.0+flowc"


def get_sample_path(subpath: str = "") -> str:
    """MLRun's public sample-data location (a plain string helper)."""
    return "https://s3.wasabisys.com/iguazio/" + subpath.lstrip("/")


def get_or_create_project(name: str, context: str = "./", **kwargs: Any):
    """MLRun's get_or_create_project, answered by flowc's project model."""
    from ....project import new_project

    return new_project(name, context, **kwargs)


def new_project(name: str, context: str = "./", **kwargs: Any):
    from ....project import new_project as _new

    return _new(name, context, **kwargs)


def load_project(context: str = "./", **kwargs: Any):
    from ....project import load_project as _load

    return _load(context, **kwargs)


__getattr__ = unsupported(
    "mlrun",
    "workflows may use run_function, build_function, deploy_function, import_function, "
    "get_current_project and mlrun.model's HyperParamOptions / EntrypointParam")
