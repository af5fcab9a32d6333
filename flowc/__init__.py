"""flowc: a workflow compiler for ML pipelines.

The DSL names (``run_function``, ``Condition``, ...) are imported lazily so that
``import flowc`` (and the CLI's start-up) stays cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    # tracing DSL
    "run_function": "flowc.compiler.dsl",
    "build_function": "flowc.compiler.dsl",
    "deploy_function": "flowc.compiler.dsl",
    "import_function": "flowc.compiler.dsl",
    "get_current_project": "flowc.compiler.dsl",
    "Condition": "flowc.compiler.dsl",
    "HyperParamOptions": "flowc.compiler.dsl",
    "EntrypointParam": "flowc.compiler.dsl",
    "workflow": "flowc.compiler.dsl",
    "trace": "flowc.compiler.tracer",
    "load_workflow": "flowc.compiler.loader",
    # projects
    "new_project": "flowc.project",
    "load_project": "flowc.project",
    "Project": "flowc.project",
    # backends
    "compile": "flowc.backends.kfp",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'flowc' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
