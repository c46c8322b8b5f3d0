"""A rows-processed progress display on stderr, shown only to a person at a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


def progress_enabled(disabled_by_flag: bool) -> bool:
    return not (
        disabled_by_flag
        or not sys.stderr.isatty()
        or os.environ.get("CI")
        or os.environ.get("TERM") == "dumb"
    )


@contextmanager
def row_progress(enabled: bool, label: str) -> Iterator[Callable[[int], None] | None]:
    """Yields a ``progress(rows)`` callback, or ``None`` when nothing should be shown."""
    if not enabled:
        yield None
        return
    console = Console(stderr=True, no_color="NO_COLOR" in os.environ)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda rows: bar.advance(task, rows)
