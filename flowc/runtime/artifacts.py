"""Writing artifacts: safe keys, atomic files and folders, store URIs, datasets and models.

Every artifact of a step lands under the step's ``artifact_dir`` as ``<key>[.ext]`` (a file)
or ``<key>/`` (a folder, e.g. a model). Readers never see half-written artifacts: content is
written to a temporary sibling and moved into place with ``os.replace``.

pandas and pickle-heavy libraries are imported only inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from typing import Any, Iterator

from ..fsutil import DIR_MODE, atomic_file  # noqa: F401  (re-exported)

ARTIFACT_KINDS = ("artifact", "dataset", "model", "plot", "table")

MODEL_SPEC_FILE = "model_spec.json"
DEFAULT_MODEL_FILE = "model.pkl"

_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")

# Dataset formats: accepted spellings -> (canonical name, file extension)
_DATASET_FORMATS = {
    "parquet": ("parquet", ".parquet"),
    "pq": ("parquet", ".parquet"),
    "csv": ("csv", ".csv"),
    "json": ("json", ".json"),
}


# atomic_file lives in flowc.fsutil (shared with the CLI and project files).
_DIR_MODE = DIR_MODE


class ArtifactError(ValueError):
    """An artifact cannot be written as asked (bad key, missing file, bad format)."""


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe artifact key, else raise :class:`ArtifactError`.

    A key becomes a file name, so it may hold letters, digits, ``_``, ``-`` and ``.`` only
    (no path separators, no ``..``), and must not start with a dot.
    """
    if not isinstance(key, str) or not _KEY_RE.match(key) or ".." in key:
        raise ArtifactError(
            f"artifact key {key!r} is not allowed: use letters, digits, '_', '-' and '.' "
            "(no '/', no '..', not starting with '.')")
    return key


def store_uri(project: str | None, key: str) -> str:
    """The store URI of an artifact: ``store://artifacts/<project>/<key>``."""
    return f"store://artifacts/{project or 'default'}/{key}"


def parse_store_uri(uri: str) -> tuple[str, str]:
    """``store://artifacts/<project>/<key>[#iter][:tag]`` -> ``(project, key)``."""
    prefix = "store://"
    if not uri.startswith(prefix):
        raise ArtifactError(f"not a store URI: {uri!r}")
    parts = uri[len(prefix):].split("/")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise ArtifactError(
            f"malformed store URI {uri!r}: expected store://artifacts/<project>/<key>")
    key = parts[2].split("#", 1)[0].split(":", 1)[0]
    return parts[1], key


def inside(path: str, folder: str) -> bool:
    """True when ``path`` (resolved) lies inside ``folder`` (resolved) or is it."""
    path = os.path.realpath(path)
    folder = os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


# --------------------------------------------------------------------------- atomic writes


@contextlib.contextmanager
def atomic_dir(path: str) -> Iterator[str]:
    """Yield a temporary folder; on success it replaces the folder (or file) at ``path``."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".flowc-tmp-", dir=parent)
    try:
        os.chmod(tmp, _DIR_MODE)
        yield tmp
        _replace_with(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace_with(tmp: str, path: str) -> None:
    """Move ``tmp`` to ``path``; an old entry at ``path`` is moved aside first, then removed."""
    if os.path.lexists(path):
        old = tempfile.mkdtemp(prefix=".flowc-old-", dir=os.path.dirname(path))
        os.replace(path, os.path.join(old, "entry"))
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, path)


def remove_leftovers(folder: str) -> list[str]:
    """Delete temporary entries a killed writer left in ``folder`` (``.flowc-tmp-*``,
    ``.flowc-old-*``); returns their names. Only call it when nothing else writes there."""
    removed = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    for name in entries:
        if name.startswith((".flowc-tmp-", ".flowc-old-")):
            path = os.path.join(folder, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            removed.append(name)
    return removed


def write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_file(path, "wb") as handle:
        handle.write(data)


def copy_into(source: str, target: str) -> None:
    """Copy a file or folder ``source`` to ``target`` atomically."""
    if os.path.isdir(source):
        with atomic_dir(target) as tmp:
            shutil.copytree(source, tmp, dirs_exist_ok=True)
    elif os.path.isfile(source):
        with atomic_file(target, "wb") as handle, open(source, "rb") as src:
            shutil.copyfileobj(src, handle, 1024 * 1024)
    else:
        raise ArtifactError(f"local_path {source!r} does not exist")


# --------------------------------------------------------------------------- datasets


def dataset_format(fmt: str | None) -> tuple[str, str]:
    """Normalise a dataset format name (``parquet``/``pq``/``csv``/``json``)."""
    name = (fmt or "parquet").lower().lstrip(".")
    if name not in _DATASET_FORMATS:
        raise ArtifactError(
            f"dataset format {fmt!r} is not supported; use one of parquet, pq, csv, json")
    canonical, ext = _DATASET_FORMATS[name]
    if canonical == "parquet" and not _have_parquet_engine():
        return "csv", ".csv"
    return canonical, ext


def _have_parquet_engine() -> bool:
    import importlib.util

    return bool(importlib.util.find_spec("pyarrow") or importlib.util.find_spec("fastparquet"))


def write_dataframe(df: Any, path: str, fmt: str, index: bool = False) -> None:
    """Write a pandas DataFrame to ``path`` atomically in format ``fmt`` (canonical name)."""
    if not hasattr(df, "to_csv"):
        raise ArtifactError(f"log_dataset needs a pandas DataFrame, got {type(df).__name__}")
    with atomic_file(path, "wb") as handle:
        if fmt == "parquet":
            df.to_parquet(handle, index=index)
        elif fmt == "csv":
            handle.write(df.to_csv(index=index).encode("utf-8"))
        else:
            handle.write(df.to_json(orient="records").encode("utf-8"))


def read_dataframe(path: str, **kwargs: Any) -> Any:
    """Read a table file (parquet, csv, tsv, json, jsonl) or a folder of parquet files."""
    import pandas as pd

    if os.path.isdir(path):
        return pd.read_parquet(path, **kwargs)
    lower = path.lower()
    if lower.endswith((".parquet", ".pq")):
        return pd.read_parquet(path, **kwargs)
    if lower.endswith(".csv"):
        return pd.read_csv(path, **kwargs)
    if lower.endswith(".tsv"):
        return pd.read_csv(path, sep="\t", **kwargs)
    if lower.endswith(".jsonl"):
        return pd.read_json(path, lines=True, **kwargs)
    if lower.endswith(".json"):
        return pd.read_json(path, **kwargs)
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic == b"PAR1":
        return pd.read_parquet(path, **kwargs)
    return pd.read_csv(path, **kwargs)


# --------------------------------------------------------------------------- models


def write_model(folder: str, model: Any = None, *, model_file: str | None = None,
                body: bytes | None = None, spec: dict | None = None) -> None:
    """Write a model folder atomically: the model file plus ``model_spec.json``.

    ``model`` (any picklable object) is pickled to ``model_file`` (default ``model.pkl``);
    ``body`` is written as raw bytes instead; with neither, ``model_file`` must be an existing
    file, which is copied in.
    """
    import pickle

    spec = dict(spec or {})
    with atomic_dir(folder) as tmp:
        if model is not None:
            name = os.path.basename(model_file) if model_file else DEFAULT_MODEL_FILE
            with open(os.path.join(tmp, name), "wb") as handle:
                pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
        elif body is not None:
            name = os.path.basename(model_file) if model_file else DEFAULT_MODEL_FILE
            with open(os.path.join(tmp, name), "wb") as handle:
                handle.write(body)
        elif model_file and os.path.isfile(model_file):
            name = os.path.basename(model_file)
            shutil.copyfile(model_file, os.path.join(tmp, name))
        else:
            raise ArtifactError("log_model needs a model object, body bytes or an existing "
                                "model_file")
        spec["model_file"] = name
        with open(os.path.join(tmp, MODEL_SPEC_FILE), "w", encoding="utf-8") as handle:
            json.dump(spec, handle, indent=2, sort_keys=True, default=str)


def model_file_path(path: str) -> str:
    """The model file inside a model artifact: ``path`` itself if it is a file, else the file
    named by the folder's ``model_spec.json``, else its single ``.pkl``/``.joblib`` file."""
    if os.path.isfile(path):
        return path
    if not os.path.isdir(path):
        raise ArtifactError(f"model path {path!r} does not exist")
    spec_path = os.path.join(path, MODEL_SPEC_FILE)
    if os.path.isfile(spec_path):
        with open(spec_path, encoding="utf-8") as handle:
            name = json.load(handle).get("model_file")
        if name:
            candidate = os.path.join(path, os.path.basename(name))
            if os.path.isfile(candidate):
                return candidate
    found = sorted(f for f in os.listdir(path) if f.endswith((".pkl", ".joblib", ".pickle")))
    if len(found) != 1:
        raise ArtifactError(
            f"model folder {path!r} holds {len(found)} model files (.pkl/.joblib); "
            f"expected exactly one or a {MODEL_SPEC_FILE} naming it")
    return os.path.join(path, found[0])


def model_spec(path: str) -> dict:
    """The ``model_spec.json`` of a model folder (metrics, parameters, ...), or ``{}``."""
    spec_path = os.path.join(path, MODEL_SPEC_FILE)
    if os.path.isdir(path) and os.path.isfile(spec_path):
        with open(spec_path, encoding="utf-8") as handle:
            return json.load(handle)
    return {}


def load_model(path: str) -> Any:
    """Load a pickled or joblib model from a model file or a model folder.

    Only load models you trust: unpickling runs code from the file.
    """
    file_path = model_file_path(path)
    if file_path.endswith(".joblib"):
        import joblib

        return joblib.load(file_path)
    import pickle

    with open(file_path, "rb") as handle:
        try:
            return pickle.load(handle)
        except Exception:
            pass
    import joblib  # joblib dumps with a .pkl name are common

    return joblib.load(file_path)
