"""``flowc lint`` and ``flowc rules``.

Exit status: 0 clean, 1 findings at or above ``--fail-on`` (default: warning), 2 usage,
config or internal error. Only light modules are imported at the top (no kfp, no networkx).
"""

from __future__ import annotations

import sys

import click

from ..commands.common import emit, user_errors
from .config import FORMATS, SEVERITY_NAMES


def _codes(values: tuple[str, ...]) -> list[str]:
    """``("FC1,FC2", "FC301")`` -> ``["FC1", "FC2", "FC301"]``."""
    return [c.strip().upper() for value in values for c in value.split(",") if c.strip()]


@click.command(name="lint")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "output_format", type=click.Choice(FORMATS), default=None,
              help="Output format (default: text, or `format` in the config).")
@click.option("--select", multiple=True, metavar="CODES",
              help="Only these codes or prefixes (comma-separated; replaces the config's).")
@click.option("--extend-select", multiple=True, metavar="CODES",
              help="Codes or prefixes to enable in addition to the selection.")
@click.option("--ignore", multiple=True, metavar="CODES",
              help="Codes or prefixes to switch off (added to the config's).")
@click.option("--fail-on", type=click.Choice(SEVERITY_NAMES), default=None,
              help="Lowest severity that makes the exit status 1 (default: warning).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--statistics", is_flag=True, help="Print the number of findings per rule.")
@click.option("--explain", metavar="CODE", help="Explain one rule and exit.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="pyproject.toml to read [tool.flowc.lint] from (default: nearest).")
@click.option("--no-show-source", is_flag=True, help="Text format: omit the source line.")
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE.")
def lint(paths: tuple[str, ...], output_format: str | None, select: tuple[str, ...],
         extend_select: tuple[str, ...], ignore: tuple[str, ...], fail_on: str | None,
         exit_zero: bool, statistics: bool, explain: str | None, config_file: str | None,
         no_show_source: bool, output: str | None) -> None:
    """Check workflows, project folders and compiled KFP YAML for mistakes.

    PATHS are workflow .py files, project.yaml files, compiled KFP pipeline YAML files or
    folders (default: the current folder).
    """
    if explain:
        _explain(explain)
        return
    with user_errors():
        config = _configure(paths, config_file, output_format, select, extend_select, ignore,
                            fail_on)
        from .runner import SourceCache, lint_paths

        sources = SourceCache()
        try:
            result = lint_paths(list(paths) or ["."], config, sources)
        except Exception as exc:  # an internal error: exit 2, not a lint failure
            from ..diagnostics import FlowcError

            if isinstance(exc, FlowcError):
                raise
            ctx = click.get_current_context()
            if ctx.find_root().obj and ctx.find_root().obj.get("debug"):
                raise
            click.echo(f"error: internal error in flowc lint: {type(exc).__name__}: {exc} "
                       "(rerun with `flowc --debug lint ...` for the traceback)", err=True)
            sys.exit(2)
        report = _render(result.diagnostics, config, sources, output, not no_show_source)
        if statistics:
            from .formats import format_statistics

            stats = format_statistics(result.diagnostics)
            if config.format in ("text", "github"):
                report += stats
            else:
                click.echo(stats, nl=False, err=True)
        if report:
            emit(report, output)
        sys.exit(0 if exit_zero or not result.failed(config) else 1)


def _configure(paths, config_file, output_format, select, extend_select, ignore, fail_on):
    from .config import ConfigError, check_code_prefix, load_config

    start = paths[0] if paths else "."
    config = load_config(config_file, start=start)

    def usage(message: str) -> ConfigError:
        return ConfigError(message, code="FC903", hint="see `flowc rules` for the codes")

    for option, values in (("--select", select), ("--extend-select", extend_select),
                           ("--ignore", ignore)):
        for code in _codes(values):
            check_code_prefix(code, lambda m, o=option: usage(f"{o}: {m}"))
    if select:
        config.select = _codes(select)
    if extend_select:
        config.extend_select = [*config.extend_select, *_codes(extend_select)]
    if ignore:
        config.ignore = [*config.ignore, *_codes(ignore)]
    if fail_on:
        config.fail_on = fail_on
    if output_format:
        config.format = output_format
    return config


def _render(diags, config, sources, output: str | None, show_source: bool) -> str:
    from . import formats

    if config.format == "json":
        return formats.format_json(diags)
    if config.format == "github":
        return formats.format_github(diags)
    if config.format == "sarif":
        return formats.format_sarif(diags, root=config.root, read_lines=sources.lines)
    colour = not output and formats.use_colour(sys.stdout)
    text = formats.format_text(diags, colour=colour, read_lines=sources.lines,
                               show_source=show_source)
    return text + formats.summary_line(diags) + "\n"


def _explain(code: str) -> None:
    from .catalog import get_rule

    rule = get_rule(code.strip().upper())
    if rule is None:
        click.echo(f"error: unknown rule {code!r} (see `flowc rules`)", err=True)
        sys.exit(2)
    shown = code.strip().upper() if rule.code == "FC000" else rule.code
    click.echo(f"{shown} ({rule.name}) [{rule.severity.value}]\n\n{rule.summary}.\n\n"
               f"{rule.explanation}\n\nFix: {rule.hint}")


@click.command(name="rules")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@click.argument("code", required=False)
def rules(output_format: str, code: str | None) -> None:
    """List the lint rules (or explain CODE)."""
    if code:
        _explain(code)
        return
    from .catalog import RULES

    if output_format == "json":
        import json

        click.echo(json.dumps([{"code": r.code, "name": r.name, "severity": r.severity.value,
                                "summary": r.summary, "explanation": r.explanation,
                                "hint": r.hint, "target": r.target} for r in RULES.values()],
                              indent=2))
        return
    width = max(len(r.name) for r in RULES.values())
    for rule in RULES.values():
        click.echo(f"{rule.code}  {rule.name:<{width}}  {rule.severity.value:<7}  {rule.summary}")
