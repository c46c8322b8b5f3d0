"""``scoreboard history``: metric points from the store."""

from __future__ import annotations

import os

import click

from scoreboard.store import iso_utc, open_store

from .options import format_option, output_option, store_option


@click.command("history")
@store_option
@click.option("--model", help="Only this model.")
@click.option("--model-version", help="Only this model version.")
@click.option("--metric", help="Only this metric.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the latest N points.")
@format_option
@output_option
def command(
    store: str,
    model: str | None,
    model_version: str | None,
    metric: str | None,
    limit: int | None,
    fmt: str,
    output: str | None,
) -> None:
    """Show stored metric values, oldest first."""
    from .output import emit_rows

    if not os.path.exists(store) and "://" not in store:
        click.echo(
            f"scoreboard: no store at {store} yet (run `scoreboard evaluate` first)", err=True
        )
        points = []
    else:
        with open_store(store, read_only=True) as db:
            # A time window seen by several runs is shown once, with every run's data merged.
            points = db.history(
                model=model,
                model_version=model_version,
                metric=metric,
                limit=limit,
                latest_windows=True,
            )
    rows = [
        [
            p.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
            p.model,
            p.model_version,
            p.metric,
            p.window,
            p.window_start.strftime("%Y-%m-%d %H:%M") if p.window_start else None,
            p.segment,
            p.value,
            p.n,
        ]
        for p in points
    ]
    payload = [
        {
            "recorded_at": iso_utc(p.recorded_at),
            "run_id": p.run_id,
            "model": p.model,
            "model_version": p.model_version,
            "metric": p.metric,
            "window": p.window,
            "window_index": p.window_index,
            "window_start": iso_utc(p.window_start) if p.window_start else None,
            "window_end": iso_utc(p.window_end) if p.window_end else None,
            "segment": dict(p.segment),
            "value": p.value,
            "n": p.n,
            "reason": p.reason,
            "ci_low": p.ci_low,
            "ci_high": p.ci_high,
            "error_bound": p.error_bound,
        }
        for p in points
    ]
    emit_rows(
        fmt,
        [
            "recorded (UTC)",
            "model",
            "version",
            "metric",
            "window",
            "start",
            "segment",
            "value",
            "n",
        ],
        rows,
        payload=payload,
        title="history",
        output=output,
    )
