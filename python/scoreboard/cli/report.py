"""``scoreboard report [--model M] [--output report.html]``: the HTML trend report."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from scoreboard.exceptions import ScoreboardError
from scoreboard.store import open_store

from .options import store_option


@click.command("report")
@store_option
@click.option("--model", help="Only this model.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default="report.html",
    show_default=True,
    help="Where to write the page.",
)
@click.option(
    "--gates",
    "gates_file",
    type=click.Path(dir_okay=False),
    help="A `scoreboard gate --format json` output to show as the latest gate results.",
)
@click.option("--title", default="scoreboard report", show_default=True)
def command(store: str, model: str | None, output: str, gates_file: str | None, title: str) -> None:
    """Write one self-contained HTML page of metric trends (works offline)."""
    from scoreboard.report import build_report, write_report

    if not os.path.exists(store) and "://" not in store:
        raise ScoreboardError(f"no store at {store} (run `scoreboard evaluate` first, or --store)")
    gates: dict[str, Any] | None = None
    if gates_file is not None:
        try:
            with open(gates_file, encoding="utf-8") as fh:
                gates = json.load(fh)
        except (OSError, ValueError) as exc:
            raise ScoreboardError(f"cannot read gate results {gates_file}: {exc}") from None
        if not isinstance(gates, dict) or not isinstance(gates.get("gates"), list):
            raise ScoreboardError(
                f"{gates_file} is not a `scoreboard gate --format json` output (no gates list)"
            )
    with open_store(store, read_only=True) as db:
        page = build_report(db, model=model, gates=gates, title=title)
    write_report(page, output)
    click.echo(f"wrote {output} ({len(page.encode()) / 1e6:.1f} MB)", err=True)
