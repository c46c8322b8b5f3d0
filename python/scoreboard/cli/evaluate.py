"""``scoreboard evaluate SPEC DATA...``: stream the data through the plan, store, report."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click

from scoreboard import engine
from scoreboard.alerts.dispatch import Dispatcher, DispatchReport
from scoreboard.alerts.evaluate import evaluate_rules
from scoreboard.alerts.history import AlertRun, Receiver, series_point
from scoreboard.alerts.notifiers import build_notifiers
from scoreboard.alerts.rules import Rule
from scoreboard.plan import compile_spec
from scoreboard.recording import record_evaluation
from scoreboard.results import Results
from scoreboard.spec import load_spec
from scoreboard.store import derive_run_id, open_store

from .options import dispatch_options, format_option, output_option, store_option
from .output import emit, emit_rows, render_alerts
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
@dispatch_options
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
    no_dispatch: bool,
    dispatch_timeout: float,
    fmt: str,
    output: str | None,
) -> None:
    """Evaluate SPEC over DATA (files, globs or folders of parquet, csv, arrow, jsonl), store the
    results, evaluate the alert rules and deliver their notifications."""
    loaded = load_spec(spec)
    plan = compile_spec(loaded)
    receivers = [Receiver(n.receiver, n.send_resolved) for n in loaded.notify]
    report: DispatchReport | None = None
    started = datetime.now(UTC)
    with row_progress(progress_enabled(no_progress), f"evaluating {plan.model}") as progress:
        acc, fingerprint = engine.stream(plan, list(data), chunk_rows=chunk_rows, progress=progress)
    if no_store:
        results = acc.results(data_fingerprint=fingerprint)
        run_id = derive_run_id(plan.model, model_version, plan.plan_hash, fingerprint)
        # Without a store there is no history: the rules see this run alone, and notify nobody.
        rules = [Rule.from_plan(r) for r in plan.alert_rules]
        outcomes = evaluate_rules(rules, [series_point(r, run_id) for r in results])
        alerts = AlertRun(outcomes=outcomes, run_id=run_id)
    else:
        # Notifications never mix with JSON on stdout: the stdout notifier writes to stderr then.
        stream = sys.stderr if fmt == "json" and output is None else None
        notifiers = build_notifiers(loaded.notify, stdout=stream)
        with open_store(store) as db:
            recorded = record_evaluation(
                db,
                plan,
                acc,
                model_version=model_version,
                data_fingerprint=fingerprint,
                started=started,
                receivers=receivers,
            )
            if notifiers and not no_dispatch:
                dispatcher = Dispatcher(db, notifiers)
                try:
                    report = dispatcher.run(model=plan.model, budget=dispatch_timeout)
                    dispatcher.refresh_alertmanager(model=plan.model)
                finally:
                    dispatcher.close()
        results, run_id, alerts = recorded.results, recorded.run_id, recorded.alerts
    payload = evaluation_payload(run_id, model_version, results, alerts, report)
    emit_rows(
        fmt,
        ["metric", "window", "start", "segment", "value", "n", "reason"],
        [[r.metric, r.window, r.window_start, r.segment, r.value, r.n, r.reason] for r in results],
        payload=payload,
        title=f"{plan.model} {model_version} ({results.rows:,} rows)",
        output=output,
    )
    if fmt != "json" and plan.alert_rules and output is None:
        emit(render_alerts(fmt, alerts.to_list(), report), None)


def evaluation_payload(
    run_id: str,
    model_version: str,
    results: Results,
    alerts: AlertRun | None = None,
    report: DispatchReport | None = None,
) -> dict[str, Any]:
    """The ``--format json`` object of the contract (DESIGN.md)."""
    return {
        "run_id": run_id,
        "model": results.model,
        "model_version": model_version,
        "rows": results.rows,
        "dropped_rows": results.dropped_rows,
        "plan_hash": results.plan_hash,
        "results": results.to_list(),
        "alerts": [] if alerts is None else alerts.to_list(),
        "notifications": None if report is None else report.to_dict(),
        "gates": [],
    }
