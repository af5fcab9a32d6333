"""``python -m flowc.runtime COMMAND ...``: the process entry point of the step runtime.

* ``exec --call CALL.json --result RESULT.json``: run one step. Exit 0 and a StepResult JSON,
  or exit 1 and ``{"error": "...", "traceback": "..."}``; exit 2 for a bad call file.
* ``kfp ARGS...``: the KFP container entry point (``flowc.runtime.kfp_executor:main``).
* ``serve --spec SPEC.json``: start a model server, print its URL, serve until SIGTERM/SIGINT.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Sequence

USAGE = """usage: python -m flowc.runtime exec --call CALL.json --result RESULT.json
       python -m flowc.runtime kfp ARGS...
       python -m flowc.runtime serve --spec SPEC.json [--host HOST] [--port PORT]"""


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "exec":
        return exec_command(rest)
    if command == "kfp":
        from .kfp_executor import main as kfp_main

        return int(kfp_main(rest) or 0)
    if command == "serve":
        from .server_process import serve_main

        return serve_main(rest)
    print(f"error: unknown command {command!r}\n{USAGE}", file=sys.stderr)
    return 2


def _options(args: Sequence[str], names: tuple[str, ...]) -> dict[str, str]:
    """Parse ``--name VALUE`` / ``--name=VALUE`` pairs (no argparse: start-up matters here)."""
    values: dict[str, str] = {}
    items = list(args)
    while items:
        item = items.pop(0)
        key, sep, value = item.partition("=")
        if key.startswith("--") and key[2:] in names:
            if not sep:
                if not items:
                    raise ValueError(f"{key} needs a value")
                value = items.pop(0)
            values[key[2:]] = value
        else:
            raise ValueError(f"unexpected argument {item!r}")
    return values


def exec_command(args: Sequence[str]) -> int:
    """Run the StepCall in ``--call`` and write the StepResult (or error) to ``--result``."""
    from .artifacts import write_bytes
    from .core import StepCall, StepFailed, execute

    try:
        options = _options(args, ("call", "result"))
        if "call" not in options or "result" not in options:
            raise ValueError("exec needs --call CALL.json and --result RESULT.json")
        if options["call"] == "-":
            data = json.load(sys.stdin)
        else:
            with open(options["call"], encoding="utf-8") as handle:
                data = json.load(handle)
        call = StepCall.from_json(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {exc}\n{USAGE}", file=sys.stderr)
        return 2

    if os.environ.get("FLOWC_RUNS_DB"):  # started by the local engine: resolve store:// URIs
        from ..backends.local.store import db_resolver
        from .dataitem import register_store_resolver

        register_store_resolver(db_resolver(os.environ["FLOWC_RUNS_DB"]))
    status = 0
    try:
        payload: dict = execute(call).to_json()
    except StepFailed as exc:
        payload = {"error": str(exc)}
        if exc.details:  # execute() already wrote it to the step log (stderr)
            payload["traceback"] = exc.details
        print(f"error: {exc}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        payload, status = {"error": f"step {call.step!r}: interrupted"}, 130
        print("error: interrupted", file=sys.stderr)
    except Exception as exc:  # a bug in flowc itself: still report it in the result file
        import traceback

        details = traceback.format_exc()
        sys.stderr.write(details)
        payload = {"error": f"step {call.step!r}: internal error: {type(exc).__name__}: {exc}",
                   "traceback": details}
        status = 1
    text = json.dumps(payload, indent=2, default=str) + "\n"
    if options["result"] == "-":
        sys.stdout.write(text)
    else:
        write_bytes(options["result"], text.encode("utf-8"))
    return status


if __name__ == "__main__":
    sys.exit(main())
