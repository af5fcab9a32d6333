"""The step runtime: executes ONE step, in a subprocess or fork (local) or a container (KFP).

Public names are imported lazily so that ``import flowc.runtime`` stays cheap:
``StepCall``, ``StepResult``, ``StepFailed``, ``execute`` (from :mod:`flowc.runtime.core`),
``StepContext``, ``DataItem``, ``load_model``. See ``docs/runtime.md``.
"""

from __future__ import annotations

_LAZY = {
    "StepCall": "flowc.runtime.core",
    "StepResult": "flowc.runtime.core",
    "StepFailed": "flowc.runtime.core",
    "execute": "flowc.runtime.core",
    "StepContext": "flowc.runtime.context",
    "StepLogger": "flowc.runtime.context",
    "DataItem": "flowc.runtime.dataitem",
    "register_store_resolver": "flowc.runtime.dataitem",
    "load_model": "flowc.runtime.artifacts",
    "model_spec": "flowc.runtime.artifacts",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'flowc.runtime' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
