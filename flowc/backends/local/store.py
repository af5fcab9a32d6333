"""The local artifact store: folder layout, ``store://`` resolution, content hashes for caching.

Layout: ``<artifact-path>/<run-id>/<step>/<key>`` (hyper-parameter iterations one level deeper,
``.../<step>/<iteration>/<key>``). ``store://artifacts/<project>/<key>`` resolves to the newest
artifact logged under that key in the project's runs database.
"""

from __future__ import annotations

import hashlib
import os

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .db import RunsDB

DEFAULT_ARTIFACT_DIR = "artifacts"


def step_dir(artifact_path: str, run_id: str, step: str, iteration: int | None = None) -> str:
    path = os.path.join(artifact_path, run_id, step)
    return path if iteration is None else os.path.join(path, str(iteration))


def project_key(project: str | None) -> str:
    """The project part of store URIs (the runtime writes ``default`` for no project)."""
    return project or "default"


def parse_store_uri(uri: str) -> tuple[str, str] | None:
    """``store://<category>/<project>/<key>[#iter][:tag]`` -> ``(project, key)``, else None."""
    if not uri.startswith("store://"):
        return None
    parts = uri[len("store://"):].split("/")
    if len(parts) != 3 or not all(parts):
        return None
    key = parts[2].split("#", 1)[0].split(":", 1)[0]
    return parts[1], key


def resolve_store_uri(db: "RunsDB", uri: str) -> str | None:
    """The local path of a ``store://`` URI according to the runs database, or None."""
    parsed = parse_store_uri(uri)
    if parsed is None:
        return None
    found = db.find_artifact(*parsed)
    return found["path"] if found and os.path.exists(found["path"]) else None


def db_resolver(db_file: str):
    """A ``store://`` resolver for ``flowc.runtime.dataitem`` backed by a runs database file.

    Step processes register it so that handlers can open ``store://`` URIs themselves; the
    database is opened (read-only) only when a URI is actually resolved.
    """

    def resolve(uri: str) -> str | None:
        import sqlite3

        parsed = parse_store_uri(uri)
        if parsed is None or not os.path.exists(db_file):
            return None
        with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=30) as conn:
            row = conn.execute("SELECT path FROM artifacts WHERE project=? AND key=? "
                               "ORDER BY created DESC LIMIT 1", parsed).fetchone()
        return row[0] if row and os.path.exists(row[0]) else None

    return resolve


def step_cache_key(fn, params: dict, inputs: dict[str, str], outputs: list[dict],
                   hyper: dict | None) -> str:
    """What ``--cache`` compares: handler, its source file's bytes, params (secrets masked, so
    secret values are not part of the key), input contents (URLs by name), declared outputs
    and hyper-parameter settings."""
    import json

    payload = {"handler": fn.handler,
               "source": content_hash(fn.source_file) if fn.source_file else "",
               "params": params,
               "inputs": {k: (v if "://" in v else content_hash(v)) for k, v in inputs.items()},
               "outputs": outputs, "hyper": hyper}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def content_hash(path: str) -> str:
    """sha256 over a file's bytes, or over a folder's relative names and file bytes."""
    digest = hashlib.sha256()
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                digest.update(os.path.relpath(full, path).encode() + b"\0")
                _hash_file(full, digest)
    elif os.path.isfile(path):
        _hash_file(path, digest)
    else:
        digest.update(b"missing:" + path.encode())
    return digest.hexdigest()


def _hash_file(path: str, digest) -> None:
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
