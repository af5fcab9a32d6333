"""Stand-in for ``kfp`` while a workflow file is traced: only ``kfp.dsl`` is offered."""


from . import dsl  # noqa: F401
from .. import unsupported


__getattr__ = unsupported(
    "kfp",
    "use `from kfp import dsl` for @dsl.pipeline and dsl.Condition; compile with "
    "`flowc compile`")
