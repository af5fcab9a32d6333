"""Stand-in for ``mlrun_pipelines`` (MLRun >= 1.7 moved the mount modifiers there)."""

from .mlrun import platforms as mounts  # noqa: F401
