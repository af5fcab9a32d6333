"""Refuse to run from a git work tree with uncommitted changes (unless ``--dirty``).

A run records which code it used only if that code is committed; MLRun checks the same.
Untracked files do not count (as with git's own ``is dirty`` notion); nor do the engine's own
records under ``.flowc/`` and the artifact folder.
"""

from __future__ import annotations

import os
import subprocess

from ...diagnostics import FlowcError


def uncommitted_changes(folder: str, ignore: tuple[str, ...] = ()) -> list[str] | None:
    """Changed tracked paths in the git work tree holding ``folder``; None when not in git."""
    try:
        proc = subprocess.run(["git", "-C", folder, "status", "--porcelain",
                               "--untracked-files=no"], capture_output=True, text=True,
                              timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    top = subprocess.run(["git", "-C", folder, "rev-parse", "--show-toplevel"],
                         capture_output=True, text=True).stdout.strip()
    changed = []
    for line in proc.stdout.splitlines():
        path = line[3:].split(" -> ")[-1].strip('"')
        full = os.path.join(top, path) if top else path
        if any(full == p or full.startswith(p.rstrip(os.sep) + os.sep) for p in ignore):
            continue
        changed.append(path)
    return changed


def check_clean(folder: str, *, dirty: bool, ignore: tuple[str, ...] = ()) -> None:
    """Raise FlowcError when ``folder`` is in a git work tree with uncommitted changes."""
    if dirty:
        return
    changed = uncommitted_changes(folder, ignore)
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5
                                          else "")
        raise FlowcError(f"the git work tree at {folder} has uncommitted changes ({shown})",
                         code="FC020",
                         hint="commit them, or run anyway with --dirty (dirty=True in Python)")
