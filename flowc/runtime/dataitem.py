"""``DataItem``: how a step's data input reaches its handler.

A data item wraps a URL: a local path (file or folder), a ``store://`` artifact URI (resolved
through resolvers the engine registers), or an ``http(s)://`` URL (downloaded once on first
use). Handlers call ``.local()`` for a path, ``.get()`` for the bytes, ``.as_df()`` for a
pandas DataFrame.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from .artifacts import ArtifactError, read_dataframe

StoreResolver = Callable[[str], "str | None"]

_store_resolvers: list[StoreResolver] = []


def register_store_resolver(resolver: StoreResolver) -> None:
    """Add a function ``uri -> local path | None`` used to resolve ``store://`` URIs.

    The local engine registers one backed by its run records; resolvers are tried newest first.
    """
    _store_resolvers.insert(0, resolver)


def unregister_store_resolver(resolver: StoreResolver) -> None:
    """Remove a resolver added with :func:`register_store_resolver` (no error if absent)."""
    if resolver in _store_resolvers:
        _store_resolvers.remove(resolver)


def resolve_store_uri(uri: str) -> str:
    """The local path of a ``store://`` URI, or :class:`ArtifactError` naming the URI."""
    for resolver in _store_resolvers:
        path = resolver(uri)
        if path:
            return path
    raise ArtifactError(
        f"cannot resolve {uri!r} to a local path: no artifact store knows it "
        "(the engine must pass a local path or register a store resolver)")


class DataItem:
    """A data input: ``url`` plus lazy access to its content."""

    def __init__(self, url: str, key: str | None = None, download_dir: str | None = None) -> None:
        self.url = str(url)
        self.key = key
        self._download_dir = download_dir
        self._local: str | None = None

    def __repr__(self) -> str:
        return f"DataItem({self.url!r})"

    def __str__(self) -> str:
        return self.url

    def __fspath__(self) -> str:
        return self.local()

    @property
    def kind(self) -> str:
        """``store``, ``http`` or ``file``."""
        if self.url.startswith("store://"):
            return "store"
        if self.url.startswith(("http://", "https://")):
            return "http"
        return "file"

    @property
    def suffix(self) -> str:
        """The file extension of the local path (``.parquet``), or ``""``."""
        return os.path.splitext(self.local())[1]

    def local(self) -> str:
        """An absolute local path of the data (a file or a folder)."""
        if self._local is None:
            kind = self.kind
            if kind == "store":
                path = resolve_store_uri(self.url)
            elif kind == "http":
                path = self._download()
            else:
                path = self.url[len("file://"):] if self.url.startswith("file://") else self.url
            path = os.path.abspath(path)
            if not os.path.exists(path):
                raise ArtifactError(f"input {self.key or self.url!r}: {path} does not exist")
            self._local = path
        return self._local

    def get(self, encoding: str | None = None) -> bytes | str:
        """The file's content: bytes, or text when ``encoding`` is given."""
        path = self.local()
        if os.path.isdir(path):
            raise ArtifactError(f"input {self.key or self.url!r} is a folder; use .local()")
        with open(path, "rb") as handle:
            data = handle.read()
        return data.decode(encoding) if encoding else data

    def open(self, mode: str = "rb") -> Any:
        """Open the local file for reading."""
        if any(flag in mode for flag in "wax+"):
            raise ArtifactError("a DataItem is read-only; log a new artifact instead")
        return open(self.local(), mode)

    def listdir(self) -> list[str]:
        """The entries of a folder input, sorted."""
        return sorted(os.listdir(self.local()))

    def as_df(self, **kwargs: Any) -> Any:
        """Read the data as a pandas DataFrame (parquet, csv, tsv, json, jsonl, parquet folder)."""
        return read_dataframe(self.local(), **kwargs)

    def _download(self) -> str:
        import hashlib
        import tempfile
        import urllib.request

        from .artifacts import atomic_file

        folder = self._download_dir or os.path.join(tempfile.gettempdir(), "flowc-downloads")
        digest = hashlib.sha256(self.url.encode()).hexdigest()[:16]
        name = os.path.basename(self.url.split("?", 1)[0]) or "data"
        path = os.path.join(folder, f"{digest}-{name}")
        if not os.path.exists(path):
            with urllib.request.urlopen(self.url, timeout=60) as response, \
                    atomic_file(path, "wb") as handle:
                while chunk := response.read(1024 * 1024):
                    handle.write(chunk)
        return path
