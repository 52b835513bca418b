"""The ``autotune`` command line: flags are parsed here, at the edge, and nowhere else.

Each command lives in its own module of this package and registers itself on ``app``;
user mistakes (:class:`autotune.errors.UserError`) become one line on stderr and exit 2.
"""

from __future__ import annotations

import os
import sys

import typer

from autotune.errors import UserError

app = typer.Typer(
    name="autotune",
    help="Time-to-target of training algorithms under the AlgoPerf rules.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Command modules register themselves on `app` when imported.
from autotune.cli import run as _run  # noqa: E402,F401
from autotune.cli import workloads as _workloads  # noqa: E402,F401

for _optional in ("score", "search", "worker", "calibrate", "adapt", "data"):
    try:
        __import__(f"autotune.cli.{_optional}")
    except ModuleNotFoundError as _e:
        if _e.name != f"autotune.cli.{_optional}":
            raise


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``autotune`` script: returns the exit code."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # no INFO lines on stderr
    try:
        app(args=argv, prog_name="autotune")
    except UserError as e:
        print(f"autotune: error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # click's own exit: usage errors are 2, --help is 0
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
