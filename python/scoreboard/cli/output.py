"""Rendering of rows for people (a table on a terminal, Markdown for PRs) and machines (JSON).

JSON goes to stdout alone; logs and progress go to stderr, so `scoreboard ... --format json | jq`
always works. No ANSI codes reach a file, a pipe, ``TERM=dumb`` or ``NO_COLOR``.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from scoreboard.exceptions import OutputError


def fmt_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "all"
    return str(value)


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None, color: bool
) -> str:
    table = Table(title=title, show_lines=False, header_style="bold" if color else None)
    for h in headers:
        table.add_column(h, overflow="fold")
    for row in rows:
        table.add_row(*(fmt_value(v) for v in row))
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=120,
        color_system="auto" if color else None,
        force_terminal=color,
        no_color=not color,
        highlight=False,
    )
    console.print(table)
    return buffer.getvalue()


def render_markdown(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None
) -> str:
    def cell(v: Any) -> str:
        return fmt_value(v).replace("|", "\\|")

    lines = [f"### {title}", ""] if title else []
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines.extend("| " + " | ".join(cell(v) for v in row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


def stdout_wants_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def check_writable(output: str | None) -> None:
    """Fails early (before any work is done or stored) when ``output`` cannot be created."""
    if output and not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise OutputError(f"cannot write {output}: its directory does not exist")


def write_file(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def emit(text: str, output: str | None) -> None:
    """Writes to ``output`` (a file) or stdout. A reader that closes the pipe early
    (``| head``) is not an error."""
    if output:
        write_file(output, text)
        return
    try:
        click.echo(text, nl=not text.endswith("\n"))
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def emit_rows(
    fmt: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    payload: Any,
    title: str | None = None,
    output: str | None = None,
) -> None:
    """One of the three formats; ``payload`` is what ``--format json`` prints."""
    if fmt == "json":
        emit(json.dumps(payload, indent=2, allow_nan=False) + "\n", output)
    elif fmt == "markdown":
        emit(render_markdown(headers, rows, title=title), output)
    else:
        emit(
            render_table(headers, rows, title=title, color=output is None and stdout_wants_color()),
            output,
        )


def render_alerts(fmt: str, alerts: Sequence[dict[str, Any]], report: Any) -> str:
    """The alert states after an evaluation, as a table or Markdown, with the delivery tally."""
    headers = ["rule", "segment", "state", "value", "window", "start", "transitions"]
    rows = [
        [
            a["rule"],
            a["segment"],
            a["state"],
            a["value"],
            a["window"],
            short_time(a["window_start"]),
            ", ".join(f"{t['kind']}@{short_time(t['window_start'])}" for t in a["transitions"]),
        ]
        for a in alerts
    ]
    title = "alerts"
    if report is not None:
        title += (
            f" (notifications: {report.sent} sent, {report.pending} pending, {report.dead} dead)"
        )
    if fmt == "markdown":
        return render_markdown(headers, rows, title=title)
    return render_table(headers, rows, title=title, color=stdout_wants_color())


def short_time(text: str | None) -> str:
    """``2026-03-09T00:00:00.000000Z`` -> ``2026-03-09``; other times to the second."""
    if not text:
        return "-"
    if text[10:] in ("T00:00:00.000000Z", "T00:00:00Z"):
        return text[:10]
    return text[:19].replace("T", " ")
