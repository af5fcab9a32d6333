"""Container components and executors for each step kind, and their de-duplication.

Every executor runs flowc's step runtime through KFP's executor protocol
(``python -m flowc.runtime kfp --executor-input {{$}} --spec JSON ...``), except the image
build, which runs kaniko. The ``--spec`` JSON tells the runtime what kfp's lightweight
components know from the function signature: parameter types, which inputs are data, the
declared outputs, secret environment variables and value templates.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

DEFAULT_IMAGE = "python:3.11-slim"
"""Image for run/deploy/select steps whose function names none (it needs flowc installed)."""
KANIKO_IMAGE = "gcr.io/kaniko-project/executor:v1.23.2-debug"
FLOWC_PIP_REQUIREMENT = "flowc"
EXECUTOR_INPUT = "{{$}}"
# Like kfp's lightweight components, the container installs what it needs when the image
# lacks it: flowc (and the function's requirements) only if `import flowc.runtime` fails,
# so images built by a build step (or with flowc baked in) start without touching pip.
BOOTSTRAP = (
    'if ! "$0" -c "import flowc.runtime" 2>/dev/null; then\n'
    '  PIP_DISABLE_PIP_VERSION_CHECK=1 "$0" -m pip install --quiet --no-warn-script-location'
    ' {packages} || exit 1\n'
    "fi\n"
    'exec "$0" "$@"\n'
)


def spec_json(spec: dict) -> str:
    """Compact, key-sorted JSON: identical definitions give identical executors."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def runtime_command(requirements: tuple[str, ...] | list[str] = ()) -> list[str]:
    """``sh -c BOOTSTRAP python3 -m flowc.runtime kfp``: install flowc if missing, then run."""
    packages = " ".join(_shell_quote(p) for p in dict.fromkeys([FLOWC_PIP_REQUIREMENT,
                                                                  *requirements]))
    return ["sh", "-c", BOOTSTRAP.format(packages=packages), "python3", "-m", "flowc.runtime",
            "kfp"]


def runtime_container(image: str, spec: dict, source: str | None = None,
                      requirements: tuple[str, ...] | list[str] = ()) -> dict:
    """The executor container running flowc's runtime under KFP's executor protocol."""
    args = ["--executor-input", EXECUTOR_INPUT, "--spec", spec_json(spec)]
    if source is not None:
        args += ["--source", source]
    return {"container": {"image": image, "command": runtime_command(requirements),
                          "args": args}}


def output_file(name: str) -> str:
    return "{{$.outputs.parameters['" + name + "'].output_file}}"


def dockerfile(base_image: str, requirements: list[str], commands: list[str]) -> str:
    """The Dockerfile a build step hands to kaniko."""
    lines = [f"FROM {base_image}"]
    packages = [FLOWC_PIP_REQUIREMENT, *requirements]
    lines.append("RUN python -m pip install --no-cache-dir " +
                 " ".join(_shell_quote(p) for p in packages))
    lines.extend(f"RUN {command}" for command in commands)
    return "\n".join(lines) + "\n"


def image_tag(text: str) -> str:
    """A content tag: the same build definition gives the same image name."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def kaniko_container(docker_text: str, destination: str, outputs: list[str]) -> dict:
    """A kaniko build of ``docker_text`` pushed to ``destination``; writes ``image`` (and
    ``state``) to the output files named in the args (``name=path``)."""
    script = (
        'ws="${KANIKO_WORKSPACE:-/workspace}"\n'
        'mkdir -p "$ws"\n'
        "cat > \"$ws/Dockerfile\" <<'FLOWC_DOCKERFILE'\n"
        f"{docker_text}"
        "FLOWC_DOCKERFILE\n"
        '"${KANIKO_EXECUTOR:-/kaniko/executor}" --context "dir://$ws"'
        f' --dockerfile "$ws/Dockerfile" --destination \'{destination}\'\n'
        'for out in "$@"; do\n'
        '  name="${out%%=*}"; file="${out#*=}"\n'
        '  mkdir -p "$(dirname "$file")"\n'
        f'  if [ "$name" = image ]; then printf %s \'{destination}\' > "$file"; '
        'else printf %s ready > "$file"; fi\n'
        "done\n"
    )
    args = [f"{name}={output_file(name)}" for name in outputs]
    return {"container": {"image": KANIKO_IMAGE,
                          "command": ["/busybox/sh", "-ec", script, "kaniko-build"],
                          "args": args}}


def component_base(handler: str) -> str:
    """A component name from a handler (``train_model`` -> ``train-model``)."""
    name = re.sub(r"[^a-z0-9-]+", "-", handler.lower()).strip("-")
    return name or "step"


def component_dict(params: dict, artifacts: dict, out_params: dict,
                   out_artifacts: dict) -> dict:
    """A container component's input/output definitions (empty sections left out)."""
    component: dict[str, Any] = {}
    inputs = task_inputs(params, artifacts)
    if inputs:
        component["inputDefinitions"] = inputs
    outputs = task_inputs(out_params, out_artifacts)
    if outputs:
        component["outputDefinitions"] = outputs
    return component


def task_inputs(params: dict, artifacts: dict) -> dict:
    """``{"artifacts": ..., "parameters": ...}`` with empty sections left out."""
    section: dict[str, Any] = {}
    if artifacts:
        section["artifacts"] = artifacts
    if params:
        section["parameters"] = params
    return section


def _shell_quote(text: str) -> str:
    if text and all(c.isalnum() or c in "-_.=~,:/+@" for c in text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


@dataclass
class Registry:
    """Components and executors by content: identical definitions share one entry."""

    share: bool = True
    components: dict[str, dict] = field(default_factory=dict)
    executors: dict[str, dict] = field(default_factory=dict)
    platform_executors: dict[str, dict] = field(default_factory=dict)
    _by_key: dict[str, str] = field(default_factory=dict)
    _used: set[str] = field(default_factory=set)
    _source_ids: dict[str, str] = field(default_factory=dict)

    def add(self, base: str, component: dict, executor: dict,
            platform: dict | None = None) -> str:
        """Register a container component; returns its ``comp-...`` name."""
        key = self._key(component, executor, platform)
        name = self._by_key.get(key)
        if name is not None and self.share:
            return name
        suffix = self.unique(base)
        name = f"comp-{suffix}"
        self._by_key[key] = name
        self.components[name] = {**component, "executorLabel": f"exec-{suffix}"}
        self.executors[f"exec-{suffix}"] = executor
        if platform:
            self.platform_executors[f"exec-{suffix}"] = platform
        return name

    def _key(self, component: dict, executor: dict, platform: dict | None) -> str:
        # Embedded sources are long and shared: key them by identity of their text.
        container = executor.get("container", {})
        args = list(container.get("args", ()))
        if "--source" in args:
            at = args.index("--source") + 1
            source = args[at]
            args[at] = self._source_ids.setdefault(source, f"source-{len(self._source_ids)}")
        return spec_json({"c": component, "p": platform, "i": container.get("image"),
                          "m": container.get("command"), "a": args})

    def add_dag(self, name: str, component: dict) -> str:
        """Register a group (sub-DAG) component under its fixed name."""
        self._used.add(name)
        self.components[f"comp-{name}"] = component
        return f"comp-{name}"

    def unique(self, base: str) -> str:
        name, n = base, 1
        while name in self._used:
            n += 1
            name = f"{base}-{n}"
        self._used.add(name)
        return name
