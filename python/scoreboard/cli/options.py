"""Options shared by several verbs, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "markdown")


def store_option(f: F) -> F:
    return click.option(
        "--store",
        envvar="SCOREBOARD_STORE",
        default="./scoreboard.db",
        show_default=True,
        help="Metric store: a SQLite path (env SCOREBOARD_STORE).",
    )(f)


def format_option(f: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format.",
    )(f)


def output_option(f: F) -> F:
    return click.option(
        "--output", "-o", type=click.Path(dir_okay=False), help="Write the output to this file."
    )(f)
