"""Find what to lint under the paths given on the command line.

* a ``.py`` file: each pipeline function it defines (or the loader's default handler);
* a ``project.yaml``: each workflow it registers;
* a compiled KFP pipeline YAML, recognised by content;
* a folder: all of the above below it, honouring ``exclude``. A ``.py`` file that a
  ``project.yaml`` registers is linted through the project (with its ``args_schema``) only.

Pipeline functions are detected statically (``ast``), never by importing the file.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass

from ..diagnostics import FlowcError
from .config import LintConfig

PIPELINE_DECORATORS = {"workflow", "pipeline"}  # flowc.workflow, dsl.pipeline / kfp.dsl.pipeline
PIPELINE_NAMES = {"pipeline", "kfpipeline"}
PROJECT_FILES = ("project.yaml", "project.yml")


@dataclass(frozen=True, slots=True)
class Target:
    """One unit of linting."""

    kind: str  # "workflow" | "project-workflow" | "kfp" | "project"
    path: str  # the file to report against
    handler: str | None = None  # workflow function name in a .py file
    workflow: str | None = None  # workflow name in project.yaml
    project_dir: str | None = None

    @property
    def label(self) -> str:
        if self.workflow:
            return f"{self.path} (workflow {self.workflow})"
        return f"{self.path}:{self.handler}" if self.handler else self.path


def pipeline_functions(source: str, path: str = "<file>") -> list[str] | None:
    """Names of the top-level functions in ``source`` that define a pipeline.

    A function counts when it is decorated with ``@workflow``/``@dsl.pipeline`` (called or
    not) or is named ``pipeline``/``kfpipeline``. None when the file does not parse (the
    loader then reports the syntax error).
    """
    if not any(word in source for word in ("pipeline", "workflow")):
        return []
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError:
        return None
    names = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if node.name in PIPELINE_NAMES or any(_decorator_name(d) in PIPELINE_DECORATORS
                                              for d in node.decorator_list):
            names.append(node.name)
    return names


def _decorator_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def read_text(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def discover(paths: list[str], config: LintConfig) -> list[Target]:
    """Targets for ``paths`` in a stable order; a missing path is a usage error."""
    from .kfp_yaml import looks_like_kfp

    targets: list[Target] = []
    for path in paths:
        if not os.path.exists(path):
            raise FlowcError(f"{path}: no such file or folder", code="FC903",
                             hint="pass workflow files, project folders or compiled YAML")
        if os.path.isdir(path):
            targets.extend(_discover_folder(path, config))
        else:
            targets.extend(_explicit_file(path, looks_like_kfp))
    seen: set[Target] = set()
    unique = []
    for target in targets:
        if target not in seen:
            seen.add(target)
            unique.append(target)
    return unique


def _explicit_file(path: str, looks_like_kfp) -> list[Target]:
    """A file named on the command line is always linted (excludes do not apply)."""
    name = os.path.basename(path)
    if name in PROJECT_FILES:
        return [Target("project", path, project_dir=os.path.dirname(path) or ".")]
    if path.endswith((".yaml", ".yml", ".json")):
        return [Target("kfp", path)]
    if path.endswith(".py"):
        try:
            functions = pipeline_functions(read_text(path), path)
        except OSError:
            functions = None
        if functions and len(functions) > 1:
            return [Target("workflow", path, handler=f) for f in functions]
        return [Target("workflow", path)]
    return [Target("kfp", path)] if _is_kfp_file(path, looks_like_kfp) else \
        [Target("workflow", path)]


def _is_kfp_file(path: str, looks_like_kfp) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return looks_like_kfp(handle.read(65536))
    except OSError:
        return False


def _discover_folder(folder: str, config: LintConfig) -> list[Target]:
    from .kfp_yaml import looks_like_kfp

    projects: list[Target] = []
    py_files: list[str] = []
    yaml_files: list[str] = []
    for directory, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames
                             if not config.is_excluded(os.path.join(directory, d)))
        for filename in sorted(filenames):
            path = os.path.join(directory, filename)
            if config.is_excluded(path):
                continue
            if filename in PROJECT_FILES:
                projects.append(Target("project", path, project_dir=directory))
            elif filename.endswith(".py"):
                py_files.append(path)
            elif filename.endswith((".yaml", ".yml")):
                yaml_files.append(path)
    targets: list[Target] = list(projects)
    registered = _project_workflow_files(projects)
    for path in py_files:
        if os.path.abspath(path) in registered:
            continue
        try:
            functions = pipeline_functions(read_text(path), path)
        except OSError:
            continue
        if functions is None:
            # unparsable: lint it only when it looks like a workflow (the loader reports it)
            if _mentions_pipeline(path):
                targets.append(Target("workflow", path))
            continue
        for function in functions:
            targets.append(Target("workflow", path, handler=function))
    for path in yaml_files:
        if _is_kfp_file(path, looks_like_kfp):
            targets.append(Target("kfp", path))
    return targets


def _mentions_pipeline(path: str) -> bool:
    try:
        text = read_text(path)
    except OSError:
        return False
    return "@workflow" in text or "dsl.pipeline" in text or "def pipeline" in text \
        or "def kfpipeline" in text


def _project_workflow_files(projects: list[Target]) -> set[str]:
    """Absolute paths of the workflow files that the projects register."""
    import yaml

    result: set[str] = set()
    for target in projects:
        try:
            data = yaml.safe_load(read_text(target.path)) or {}
        except (OSError, yaml.YAMLError):
            continue
        spec = data.get("spec") if isinstance(data, dict) else None
        workflows = spec.get("workflows") if isinstance(spec, dict) else None
        for workflow in workflows if isinstance(workflows, list) else []:
            if isinstance(workflow, dict) and isinstance(workflow.get("path"), str):
                result.add(os.path.abspath(os.path.join(target.project_dir or ".",
                                                        workflow["path"])))
    return result
