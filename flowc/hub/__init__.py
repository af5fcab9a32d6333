"""Functions shipped with flowc, addressed as ``hub://NAME``.

``resolve("hub://v2_model_server")`` finds ``NAME/function.yaml`` first in the folders listed
in ``FLOWC_HUB_PATH`` (``os.pathsep``-separated), then among the built-ins next to this file.
A ``function.yaml`` follows MLRun's shape::

    kind: serving                 # or job
    metadata: {name: v2_model_server, description: ...}
    spec:
      filename: v2_model_server.py   # the source, inside the function's folder
      handler: ""                    # job handler
      default_class: ClassifierModel # serving class
      requirements: [scikit-learn]

``hub://[SOURCE/]NAME[:TAG]``: dashes in NAME mean underscores (MLRun's convention); SOURCE and
TAG are accepted for compatibility and ignored (flowc ships one version of each function).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..diagnostics import FlowcError

HUB_PATH_ENV = "FLOWC_HUB_PATH"
BUILTIN_DIR = os.path.dirname(os.path.abspath(__file__))
FUNCTION_FILE = "function.yaml"
KINDS = ("job", "serving", "nuclio", "local", "handler")


@dataclass(frozen=True)
class HubFunction:
    """A resolved hub function: where its code is and how to run it."""

    name: str
    kind: str
    handler: str | None
    source_file: str
    requirements: tuple[str, ...] = ()
    default_class: str | None = None
    description: str = ""
    folder: str = ""


def parse_hub_url(url: str) -> str:
    """``hub://[source/]name[:tag]`` -> the function's folder name (dashes -> underscores)."""
    if not isinstance(url, str) or not url.startswith("hub://"):
        raise FlowcError(f"{url!r} is not a hub URL", code="FC301",
                         hint="hub functions are written hub://NAME, e.g. hub://v2_model_server")
    rest = url[len("hub://"):]
    name = rest.rsplit("/", 1)[-1].split(":", 1)[0].strip()
    name = name.replace("-", "_")
    if not name or not name.replace("_", "").isalnum():
        raise FlowcError(f"{url!r} does not name a hub function", code="FC301",
                         hint="hub functions are written hub://NAME, e.g. hub://v2_model_server")
    return name


def search_path() -> list[str]:
    """Folders searched for hub functions: ``FLOWC_HUB_PATH`` entries, then the built-ins."""
    extra = [p for p in os.environ.get(HUB_PATH_ENV, "").split(os.pathsep) if p.strip()]
    return [os.path.abspath(p) for p in extra] + [BUILTIN_DIR]


def available() -> list[str]:
    """Names of every hub function that can be resolved, sorted, no repeats."""
    names: set[str] = set()
    for folder in search_path():
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        names.update(e for e in entries
                     if os.path.isfile(os.path.join(folder, e, FUNCTION_FILE)))
    return sorted(names)


def resolve(url: str) -> HubFunction:
    """The hub function ``url`` names; :class:`FlowcError` (FC301) if there is none."""
    name = parse_hub_url(url)
    for folder in search_path():
        path = os.path.join(folder, name, FUNCTION_FILE)
        if os.path.isfile(path):
            return read_function_yaml(path, name)
    raise FlowcError(
        f"{url}: no hub function {name!r} (known: {', '.join(available()) or 'none'})",
        code="FC301",
        hint=f"check the name, or add a folder holding {name}/{FUNCTION_FILE} to {HUB_PATH_ENV}")


def read_function_yaml(path: str, name: str) -> HubFunction:
    """Read a hub ``function.yaml``; its source must lie inside the function's folder."""
    import yaml

    from ..diagnostics import Location

    where = Location(file=path)
    try:
        with open(path, encoding="utf-8") as handle:
            doc = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise FlowcError(f"cannot read hub function {name!r}: {exc}", code="FC301",
                         location=where) from None
    if not isinstance(doc, dict):
        raise FlowcError(f"hub function {name!r}: {FUNCTION_FILE} must be a mapping",
                         code="FC301", location=where)
    meta = doc.get("metadata") or {}
    spec = doc.get("spec") or {}
    kind = str(doc.get("kind") or "job")
    if kind not in KINDS:
        raise FlowcError(f"hub function {name!r}: unknown kind {kind!r}", code="FC301",
                         location=where, hint=f"use one of {', '.join(KINDS)}")
    folder = os.path.dirname(os.path.abspath(path))
    filename = spec.get("filename") or f"{name}.py"
    source = os.path.realpath(os.path.join(folder, str(filename)))
    if not source.startswith(os.path.realpath(folder) + os.sep):
        raise FlowcError(f"hub function {name!r}: filename {filename!r} escapes its folder",
                         code="FC301", location=where)
    if not os.path.isfile(source):
        raise FlowcError(f"hub function {name!r}: source {filename!r} is missing",
                         code="FC301", location=where)
    requirements = spec.get("requirements") or ()
    if isinstance(requirements, str):
        requirements = (requirements,)
    return HubFunction(
        name=str(meta.get("name") or name), kind=kind, handler=spec.get("handler") or None,
        source_file=source, requirements=tuple(str(r) for r in requirements),
        default_class=spec.get("default_class") or None,
        description=str(meta.get("description") or ""), folder=folder)
