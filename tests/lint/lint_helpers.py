"""Helpers for the lint tests (a unique module name: other test folders have a conftest too)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
RULE_FIXTURES = FIXTURES / "rules"


def lint(*paths, **settings):
    """Run the linter in-process; returns the filtered diagnostics."""
    from flowc.lint.config import LintConfig
    from flowc.lint.runner import lint_paths

    config = LintConfig(**settings)
    return lint_paths([str(p) for p in paths], config).diagnostics


def codes(diags) -> list[str]:
    return [d.code for d in diags]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
