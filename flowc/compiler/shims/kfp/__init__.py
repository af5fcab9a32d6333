"""Stand-in for ``kfp`` while a workflow file is traced: only ``kfp.dsl`` is offered."""

from typing import Any

from . import dsl  # noqa: F401


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    from ....diagnostics import TraceError
    from ...values import user_location

    raise TraceError(
        f"kfp.{name} is not available inside flowc workflow files",
        code="FC016", location=user_location(),
        hint="use `from kfp import dsl` for @dsl.pipeline and dsl.Condition; compile with "
             "`flowc compile`")
