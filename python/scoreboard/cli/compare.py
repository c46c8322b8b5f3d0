"""``scoreboard compare --model M V1 V2``: two stored model versions side by side."""

from __future__ import annotations

import os

import click

from scoreboard.compare import compare_versions
from scoreboard.exceptions import ScoreboardError
from scoreboard.store import open_store

from .options import format_option, output_option, store_option
from .output import emit_rows


@click.command("compare")
@click.argument("old_version", metavar="V1")
@click.argument("new_version", metavar="V2")
@click.option("--model", required=True, help="The model whose versions to compare.")
@click.option(
    "--spec",
    type=click.Path(dir_okay=False),
    help="The spec that named the metrics, to know each one's kind (hence its direction).",
)
@store_option
@format_option
@output_option
def command(
    old_version: str,
    new_version: str,
    model: str,
    spec: str | None,
    store: str,
    fmt: str,
    output: str | None,
) -> None:
    """Every overall metric of V1 and V2 (overall and per segment), with deltas and direction."""
    if old_version == new_version:
        raise click.UsageError(f"compare needs two different versions (got {old_version} twice)")
    if not os.path.exists(store) and "://" not in store:
        raise ScoreboardError(f"no store at {store} (run `scoreboard evaluate` first, or --store)")
    kinds = None
    if spec is not None:
        from scoreboard.spec import load_spec

        kinds = {m.metric_name: m.kind for m in load_spec(spec).metric_entries}
    with open_store(store, read_only=True) as db:
        rows = compare_versions(db, model, old_version, new_version, kinds=kinds)
    emit_rows(
        fmt,
        ["metric", "segment", old_version, new_version, "delta", "direction", "p"],
        [[c.metric, dict(c.segment), c.old, c.new, c.delta, c.direction, c.p_value] for c in rows],
        payload={
            "model": model,
            "versions": [old_version, new_version],
            "metrics": [c.to_dict(old_version, new_version) for c in rows],
        },
        title=f"{model}: {old_version} → {new_version}",
        output=output,
    )
