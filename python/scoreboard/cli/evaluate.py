"""``scoreboard evaluate SPEC DATA...``: stream the data through the plan, store, report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from scoreboard import engine
from scoreboard.plan import compile_spec
from scoreboard.recording import record_evaluation
from scoreboard.results import Results
from scoreboard.spec import load_spec
from scoreboard.store import derive_run_id, open_store

from .options import format_option, output_option, store_option
from .output import check_writable, emit_rows
from .progress import progress_enabled, row_progress

DEFAULT_VERSION = "unversioned"


@click.command("evaluate")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("data", nargs=-1, required=True)
@store_option
@click.option("--no-store", is_flag=True, help="Do not record the results in the store.")
@click.option(
    "--model-version",
    default=DEFAULT_VERSION,
    show_default=True,
    help="Version of the model that made the predictions.",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=1 << 20,
    show_default=True,
    help="Rows per streamed chunk (bounds memory).",
)
@click.option("--no-progress", is_flag=True, help="Never show a progress bar.")
@format_option
@output_option
def command(
    spec: str,
    data: tuple[str, ...],
    store: str,
    no_store: bool,
    model_version: str,
    chunk_rows: int,
    no_progress: bool,
    fmt: str,
    output: str | None,
) -> None:
    """Evaluate SPEC over DATA (files, globs or folders of parquet, csv, arrow, jsonl)."""
    check_writable(output)
    plan = compile_spec(load_spec(spec))
    started = datetime.now(UTC)
    with row_progress(progress_enabled(no_progress), f"evaluating {plan.model}") as progress:
        acc, fingerprint = engine.stream(plan, list(data), chunk_rows=chunk_rows, progress=progress)
    if no_store:
        results = acc.results(data_fingerprint=fingerprint)
        run_id = derive_run_id(plan.model, model_version, plan.plan_hash, fingerprint)
    else:
        with open_store(store) as db:
            recorded = record_evaluation(
                db,
                plan,
                acc,
                model_version=model_version,
                data_fingerprint=fingerprint,
                started=started,
            )
        results, run_id = recorded.results, recorded.run_id
    payload = evaluation_payload(run_id, model_version, results)
    emit_rows(
        fmt,
        ["metric", "window", "start", "segment", "value", "n", "reason"],
        [[r.metric, r.window, r.window_start, r.segment, r.value, r.n, r.reason] for r in results],
        payload=payload,
        title=f"{plan.model} {model_version} ({results.rows:,} rows)",
        output=output,
    )


def evaluation_payload(run_id: str, model_version: str, results: Results) -> dict[str, Any]:
    """The ``--format json`` object of the contract (DESIGN.md)."""
    return {
        "run_id": run_id,
        "model": results.model,
        "model_version": model_version,
        "rows": results.rows,
        "dropped_rows": results.dropped_rows,
        "plan_hash": results.plan_hash,
        "results": results.to_list(),
        "alerts": [],
        "gates": [],
    }
