"""Projects: functions, workflows, params and artifacts, stored as MLRun's ``project.yaml``.

A project.yaml that MLRun wrote loads here, and one flowc writes loads in MLRun: the shape is
MLRun's (``kind: project``, ``metadata.name``, ``spec.params``, ``spec.functions``,
``spec.workflows``, ``spec.artifacts``). Unknown keys are kept and written back.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from .diagnostics import Location, ProjectError
from .ir import FunctionRef

PROJECT_FILE = "project.yaml"


@dataclass
class FunctionSpec:
    """A project function: ``{url, name, image, handler, kind, requirements}``."""

    name: str
    url: str | None = None
    image: str | None = None
    handler: str | None = None
    kind: str = "job"
    requirements: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_ref(self) -> FunctionRef:
        kind = self.kind
        handler = self.handler
        if self.url and self.url.startswith("hub://") and (kind == "job" or not handler):
            from .compiler.dsl import _hub_kind

            hub_kind, hub_handler = _hub_kind(self.url[len("hub://"):].split(":")[0])
            kind = kind if kind != "job" else hub_kind
            handler = handler or hub_handler
        return FunctionRef(name=self.name, url=self.url, kind=kind, handler=handler,
                           image=self.image, requirements=tuple(self.requirements))

    def to_dict(self) -> dict:
        data: dict[str, Any] = dict(self.extra)
        data.update({"url": self.url, "name": self.name})
        for key in ("image", "handler"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        data["kind"] = self.kind
        if self.requirements:
            data["requirements"] = list(self.requirements)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "FunctionSpec":
        known = {"url", "name", "image", "handler", "kind", "requirements"}
        requirements = data.get("requirements") or []
        if isinstance(requirements, str):
            requirements = [requirements]
        return cls(name=str(data["name"]), url=data.get("url"), image=data.get("image"),
                   handler=data.get("handler"), kind=data.get("kind") or "job",
                   requirements=[str(r) for r in requirements],
                   extra={k: v for k, v in data.items() if k not in known})


@dataclass
class WorkflowSpec:
    """A registered workflow: ``{name, path, handler, engine, args_schema}`` (+ ``code``)."""

    name: str
    path: str | None = None
    handler: str | None = None
    engine: str | None = None
    args_schema: list[dict] = field(default_factory=list)
    code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        data: dict[str, Any] = dict(self.extra)
        data["name"] = self.name
        if self.path is not None:
            data["path"] = self.path
        if self.code is not None:
            data["code"] = self.code
        for key in ("handler", "engine"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.args_schema:
            data["args_schema"] = [dict(a) for a in self.args_schema]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "WorkflowSpec":
        known = {"name", "path", "handler", "engine", "args_schema", "code"}
        return cls(name=str(data["name"]), path=data.get("path"), handler=data.get("handler"),
                   engine=data.get("engine"), args_schema=list(data.get("args_schema") or []),
                   code=data.get("code"),
                   extra={k: v for k, v in data.items() if k not in known})


class Notifiers:
    """``project.notifiers.add_notification(...)``; the local engine sends them at the end."""

    def __init__(self) -> None:
        self.notifications: list[dict] = []

    def add_notification(self, notification_type: str = "console", params: dict | None = None,
                         **_: Any) -> None:
        if notification_type not in ("console", "webhook", "slack", "ipython"):
            raise ValueError(f"unknown notification type {notification_type!r} "
                             "(console, webhook, slack)")
        self.notifications.append({"notification_type": notification_type,
                                   "params": dict(params or {})})


class Project:
    """A flowc/MLRun project rooted at ``context`` (the folder holding project.yaml)."""

    def __init__(self, name: str, context: str = "./", *, params: dict | None = None,
                 functions: dict[str, FunctionSpec] | None = None,
                 workflows: dict[str, WorkflowSpec] | None = None,
                 artifacts: list | None = None, raw: dict | None = None) -> None:
        self.name = name
        self.context = os.path.abspath(context)
        self.params: dict[str, Any] = dict(params or {})
        self.functions: dict[str, FunctionSpec] = dict(functions or {})
        self.workflows: dict[str, WorkflowSpec] = dict(workflows or {})
        self.artifacts: list = list(artifacts or [])
        self.notifiers = Notifiers()
        self._raw = copy.deepcopy(raw) if raw else {}

    # -- MLRun-compatible API
    @property
    def spec(self) -> "Project":  # MLRun code reads project.spec.params
        return self

    def get_param(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    def get_secret(self, key: str) -> str | None:
        """A secret from the environment (``FLOWC_SECRET_<KEY>`` or ``<KEY>``); never stored."""
        env_key = "FLOWC_SECRET_" + key.upper().replace("-", "_").replace(".", "_")
        return os.environ.get(env_key, os.environ.get(key))

    def get_artifact_uri(self, key: str, category: str = "artifact", tag: str | None = None,
                         iter: int | None = None) -> str:
        return artifact_uri(self.name, key, category, tag, iter)

    def set_function(self, func: str | None = None, name: str = "", handler: str | None = None,
                     image: str | None = None, kind: str | None = None,
                     requirements: list[str] | str | None = None, with_repo: bool | None = None,
                     tag: str | None = None, **_: Any) -> FunctionSpec:
        """Register a function by source file, ``hub://`` URL or YAML path."""
        if func is None and not name:
            raise ValueError("set_function needs func (a path or hub:// URL) or a name")
        if func and not func.startswith("hub://"):
            self._check_inside(func, "function")
        if not name:
            base = (func or "").split("://")[-1]
            name = os.path.splitext(os.path.basename(base))[0].replace("_", "-")
        if isinstance(requirements, str):
            requirements = [requirements]
        spec = FunctionSpec(name=name, url=func, image=image, handler=handler,
                            kind=kind or ("serving" if func and "serving" in func else "job"),
                            requirements=list(requirements or []))
        self.functions[name] = spec
        return spec

    def get_function(self, key: str) -> FunctionSpec:
        return self.functions[key]

    def set_workflow(self, name: str, workflow_path: str, embed: bool = False,
                     engine: str | None = None, args_schema: list | None = None,
                     handler: str | None = None, **_: Any) -> WorkflowSpec:
        """Register a workflow file (``embed=True`` stores its code in project.yaml)."""
        self._check_inside(workflow_path, "workflow")
        if engine not in (None, "local", "kfp", "remote", "remote:local", "remote:kfp"):
            raise ValueError(f"unknown engine {engine!r} (local or kfp)")
        schema = []
        for entry in args_schema or []:
            to_dict = getattr(entry, "to_dict", None)
            schema.append(to_dict() if callable(to_dict) else dict(entry))
        code = None
        if embed:
            with open(os.path.join(self.context, workflow_path), encoding="utf-8") as handle:
                code = handle.read()
        spec = WorkflowSpec(name=name, path=None if embed else workflow_path, handler=handler,
                            engine=engine, args_schema=schema, code=code)
        self.workflows[name] = spec
        return spec

    def _check_inside(self, path: str, what: str) -> None:
        full = os.path.normpath(os.path.join(self.context, path))
        if os.path.isabs(path) or not (full == self.context or
                                       full.startswith(self.context + os.sep)):
            raise ProjectError(f"{what} path {path!r} is outside the project folder "
                               f"{self.context}", code="FC015",
                               hint="keep project files inside the project folder")

    def to_dict(self) -> dict:
        """project.yaml content in MLRun's shape (unknown keys preserved)."""
        data = copy.deepcopy(self._raw) or {}
        data["kind"] = "project"
        data.setdefault("metadata", {})["name"] = self.name
        spec = data.setdefault("spec", {})
        spec["params"] = dict(self.params)
        spec["functions"] = [f.to_dict() for f in self.functions.values()]
        spec["workflows"] = [w.to_dict() for w in self.workflows.values()]
        spec["artifacts"] = list(self.artifacts)
        spec.setdefault("source", "./")
        return data

    def save(self, filepath: str | None = None) -> str:
        """Write project.yaml atomically; returns its path."""
        import yaml

        from .fsutil import write_text_atomic

        path = filepath or os.path.join(self.context, PROJECT_FILE)
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)
        write_text_atomic(path, text)
        return path

    def run(self, name: str | None = None, workflow_path: str | None = None,
            arguments: dict | None = None, artifact_path: str | None = None,
            workflow_handler: Callable | str | None = None, watch: bool = True,
            dirty: bool = False, engine: str | None = None, local: bool | None = None,
            **options: Any):
        """Run a workflow with the local engine; returns a run status object."""
        from .backends.local.api import run_project

        return run_project(self, name, workflow_path=workflow_path, arguments=arguments,
                           artifact_path=artifact_path, workflow_handler=workflow_handler,
                           engine=engine or "local", local=True if local is None else local,
                           watch=watch, dirty=dirty, **options)

    def __repr__(self) -> str:
        return f"<project {self.name} at {self.context}>"


# --------------------------------------------------------------------------- load / new


def artifact_uri(project: str, key: str, category: str = "artifact", tag: str | None = None,
                 iter: int | None = None) -> str:
    """``store://<category>s/<project>/<key>[#iter][:tag]``, as MLRun builds it."""
    uri = f"store://{category}s/{project}/{key}"
    if iter is not None:
        uri += f"#{iter}"
    if tag is not None:
        uri += f":{tag}"
    return uri


def new_project(name: str, context: str = "./", **_: Any) -> Project:
    """A new project rooted at ``context`` (loads an existing project.yaml there if any)."""
    path = os.path.join(context, PROJECT_FILE)
    if os.path.exists(path):
        project = load_project(context)
        project.name = name
        return project
    os.makedirs(context, exist_ok=True)
    return Project(name, context)


def find_project_dir(start: str) -> str | None:
    """The nearest folder at or above ``start`` that holds a project.yaml."""
    current = os.path.abspath(start)
    if os.path.isfile(current):
        current = os.path.dirname(current)
    while True:
        if os.path.isfile(os.path.join(current, PROJECT_FILE)):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def load_project(context: str = "./", **_: Any) -> Project:
    """Load ``<context>/project.yaml`` (validated; errors name the file and line)."""
    import yaml

    path = context if context.endswith((".yaml", ".yml")) else os.path.join(context, PROJECT_FILE)
    if not os.path.isfile(path):
        raise ProjectError(f"no {PROJECT_FILE} in {os.path.abspath(os.path.dirname(path) or '.')}",
                           code="FC013", hint="create one with flowc.new_project(...).save(), "
                                              "or pass --project DIR")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        # The C build of the *safe* loader when present: ~10x faster than pure Python.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ProjectError(f"{PROJECT_FILE} is not valid YAML: {getattr(exc, 'problem', exc)}",
                           code="FC014",
                           location=Location(file=path, line=(mark.line + 1) if mark else 0,
                                             col=(mark.column + 1) if mark else 0)) from None
    from .schema import validate_project

    validate_project(data, path, text)
    spec = data.get("spec") or {}
    functions = {}
    for entry in spec.get("functions") or []:
        fn = FunctionSpec.from_dict(entry)
        functions[fn.name] = fn
    workflows = {}
    for entry in spec.get("workflows") or []:
        wf = WorkflowSpec.from_dict(entry)
        workflows[wf.name] = wf
    return Project(str(data["metadata"]["name"]), os.path.dirname(os.path.abspath(path)),
                   params=spec.get("params") or {}, functions=functions, workflows=workflows,
                   artifacts=spec.get("artifacts") or [], raw=data)
