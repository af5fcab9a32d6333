"""Stand-in for ``mlrun.model``."""

from ...dsl import EntrypointParam, HyperParamOptions  # noqa: F401
