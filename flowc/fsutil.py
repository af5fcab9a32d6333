"""Atomic file writes: readers see the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Any, Iterator


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp/mkdtemp create private (0600/0700) entries; written files get the usual permissions.
FILE_MODE = 0o666 & ~_current_umask()
DIR_MODE = 0o777 & ~_current_umask()


@contextlib.contextmanager
def atomic_file(path: str, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary sibling of ``path`` for writing; move it over ``path`` on success."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".flowc-tmp-", dir=directory)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_file(path, "wb") as handle:
        handle.write(data)


def write_text_atomic(path: str, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))
