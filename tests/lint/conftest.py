"""Fixtures for the lint tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def cli(monkeypatch):
    """Invoke ``flowc ...`` in-process; returns (exit_code, stdout, stderr)."""
    from click.testing import CliRunner

    from flowc.cli import cli as group

    def run(*args, cwd=None, env=None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        runner = CliRunner()
        result = runner.invoke(group, list(args), env=env or {}, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


os.environ.pop("FORCE_COLOR", None)
