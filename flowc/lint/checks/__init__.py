"""IR rules (FC1xx-FC4xx) over a loaded workflow. Filled in below."""

from __future__ import annotations


def run_checks(loaded, config, sources):
    return list(loaded.diagnostics)
