"""``--build``: a local stand-in for a container image, a virtual environment per requirement set.

The environment sees the system site-packages (so flowc and its runtime are importable) and
adds the function's requirements with pip. Environments are cached under
``<project>/.flowc/venvs/<hash>`` and reused while their requirements are unchanged.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

READY_MARKER = ".flowc-ready"


def venv_dir(base_dir: str, requirements: list[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:16]
    return os.path.join(base_dir, ".flowc", "venvs", digest)


def build_venv(base_dir: str, requirements: list[str], log_path: str) -> str:
    """Create (or reuse) the environment; return its python. Raises RuntimeError on failure."""
    folder = venv_dir(base_dir, requirements)
    python = os.path.join(folder, "bin", "python")
    if os.path.exists(os.path.join(folder, READY_MARKER)):
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"reusing virtual environment {folder}\n")
        return python
    shutil.rmtree(folder, ignore_errors=True)  # a half-built one from an interrupted build
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"creating virtual environment {folder}\n")
        log.flush()
        _check(subprocess.run([sys.executable, "-m", "venv", "--system-site-packages",
                               "--without-pip", folder], stdout=log, stderr=log),
               "python -m venv", log_path)
        if requirements:
            log.write(f"installing {' '.join(requirements)}\n")
            log.flush()
            _check(subprocess.run([sys.executable, "-m", "pip", "--python", python, "install",
                                   "--disable-pip-version-check", *requirements],
                                  stdout=log, stderr=log), "pip install", log_path)
    with open(os.path.join(folder, READY_MARKER), "w", encoding="utf-8") as marker:
        marker.write("\n".join(requirements) + "\n")
    return python


def _check(proc: subprocess.CompletedProcess, what: str, log_path: str) -> None:
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed with status {proc.returncode}; see {log_path}")
