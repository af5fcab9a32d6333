"""Stand-in for ``mlrun.projects``."""

from ...dsl import build_function, deploy_function, get_current_project, run_function  # noqa: F401
from ....project import Project as MlrunProject  # noqa: F401
