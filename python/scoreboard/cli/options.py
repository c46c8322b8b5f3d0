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


def dispatch_options(f: F) -> F:
    f = click.option(
        "--dispatch-timeout",
        type=click.FloatRange(min=0, max=3600),
        default=20.0,
        show_default=True,
        help="Seconds to keep retrying notifications before leaving them in the outbox.",
    )(f)
    return click.option(
        "--no-dispatch", is_flag=True, help="Queue notifications in the outbox; send none."
    )(f)
