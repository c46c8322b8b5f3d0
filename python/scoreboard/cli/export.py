"""``scoreboard export prometheus|tensorboard|parquet|csv DEST``: history to users' tools."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from scoreboard.exceptions import ScoreboardError
from scoreboard.store import StoredPoint, open_store

from .options import store_option

F = TypeVar("F", bound=Callable[..., Any])


def _filters(f: F) -> F:
    for option in (
        click.option("--metric", help="Only this metric."),
        click.option("--model-version", help="Only this model version."),
        click.option("--model", help="Only this model."),
        store_option,
    ):
        f = option(f)
    return f


def _points(
    store: str, model: str | None, model_version: str | None, metric: str | None
) -> list[StoredPoint]:
    from scoreboard.interop.history import export_points

    if not os.path.exists(store) and "://" not in store:
        raise ScoreboardError(f"no store at {store} (run `scoreboard evaluate` first, or --store)")
    with open_store(store, read_only=True) as db:
        return export_points(db, model=model, model_version=model_version, metric=metric)


@click.group("export")
def command() -> None:
    """Export the stored history to Prometheus, TensorBoard, Parquet or CSV."""


@command.command("prometheus")
@click.argument("dest", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--pushgateway",
    metavar="URL",
    help="Also push to this Prometheus Pushgateway (job 'scoreboard').",
)
@_filters
def prometheus(
    dest: str | None,
    pushgateway: str | None,
    store: str,
    model: str | None,
    model_version: str | None,
    metric: str | None,
) -> None:
    """Latest value of every series, as a node_exporter textfile DEST (written atomically)."""
    from scoreboard.interop import prometheus as prom

    if dest is None and pushgateway is None:
        raise click.UsageError("give a textfile DEST, --pushgateway URL, or both")
    points = _points(store, model, model_version, metric)
    if dest is not None:
        series = prom.write_textfile(dest, points)
        click.echo(f"wrote {dest} ({series} series)", err=True)
    if pushgateway is not None:
        series = prom.push(pushgateway, points)
        click.echo(f"pushed {series} series to {pushgateway}", err=True)


@command.command("tensorboard")
@click.argument("dest", type=click.Path(file_okay=False))
@_filters
def tensorboard(
    dest: str, store: str, model: str | None, model_version: str | None, metric: str | None
) -> None:
    """TensorBoard scalar event files under DEST/MODEL/VERSION (tensorboardX)."""
    from scoreboard.interop import tensorboard as tb

    points = _points(store, model, model_version, metric)
    written = tb.export(dest, points)
    click.echo(f"wrote {written} scalars under {dest}", err=True)


def _file_command(fmt: str) -> click.Command:
    @click.command(fmt)
    @click.argument("dest", type=click.Path(dir_okay=False))
    @_filters
    def export_file(
        dest: str, store: str, model: str | None, model_version: str | None, metric: str | None
    ) -> None:
        from scoreboard.interop import files

        points = _points(store, model, model_version, metric)
        rows = files.write(dest, points, fmt)
        click.echo(f"wrote {dest} ({rows} rows)", err=True)

    export_file.help = f"The history (one row per point) as a {fmt} file DEST."
    return export_file


command.add_command(_file_command("parquet"))
command.add_command(_file_command("csv"))
