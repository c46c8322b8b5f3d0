"""The ``scoreboard`` command line: one module per verb, one place that maps errors to exit codes.

Exit codes (DESIGN.md): 0 ok, 1 a gate failed, 2 bad input or usage, 3 internal error,
130 interrupted. Nothing a user can cause ends in a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import click

from scoreboard.exceptions import ScoreboardError, SpecError

from .app import cli

EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

log = logging.getLogger("scoreboard.cli")


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="scoreboard: %(message)s", stream=sys.stderr)
    sys.exit(run(argv))


def run(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI and returns its exit code (for tests and embedding)."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="scoreboard",
            standalone_mode=False,
        )
        return int(result or 0)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:  # usage errors: exit 2
        exc.show()
        return int(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("scoreboard: interrupted", err=True)
        return EXIT_INTERRUPTED
    except SpecError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        return exc.exit_code
    except ScoreboardError as exc:
        click.echo(f"scoreboard: error: {exc}", err=True)
        return exc.exit_code
    except Exception as exc:
        if os.environ.get("SCOREBOARD_DEBUG"):
            raise
        click.echo(
            f"scoreboard: internal error ({type(exc).__name__}: {exc}); this is a bug, please "
            "report it (set SCOREBOARD_DEBUG=1 for the traceback)",
            err=True,
        )
        return EXIT_INTERNAL


__all__ = ["cli", "main", "run"]
