"""``scoreboard evaluate SPEC DATA...``: stream the data through the plan, store, evaluate the
alert rules, deliver their notifications, report.

:func:`evaluate_and_record` is the code path every verb that evaluates shares (``evaluate``,
``gate``): stream, then record in the store (late data merged, alert states and outbox rows in
the same transaction) unless ``--no-store``; ``dispatch`` then delivers with the store open.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from scoreboard import engine
from scoreboard.alerts.dispatch import Dispatcher, DispatchReport
from scoreboard.alerts.evaluate import evaluate_rules
from scoreboard.alerts.history import AlertRun, Receiver, series_point
from scoreboard.alerts.notifiers import Notifier, build_notifiers
from scoreboard.alerts.rules import Rule
from scoreboard.plan import Plan, compile_spec
from scoreboard.recording import record_evaluation
from scoreboard.results import Results
from scoreboard.spec import load_spec
from scoreboard.store import MetricStore, derive_run_id, open_store

from .options import dispatch_options, format_option, output_option, store_option
from .output import check_writable, emit, emit_rows, render_alerts
from .progress import progress_enabled, row_progress

DEFAULT_VERSION = "unversioned"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Evaluation:
    run_id: str
    model_version: str
    results: Results
    alerts: AlertRun = field(default_factory=AlertRun)
    dispatch: DispatchReport | None = None


def evaluate_and_record(
    plan: Plan,
    data: Sequence[str],
    *,
    store: str,
    no_store: bool,
    model_version: str,
    chunk_rows: int,
    no_progress: bool,
    receivers: Sequence[Receiver] = (),
    dispatch: Callable[[MetricStore], DispatchReport | None] | None = None,
) -> Evaluation:
    """Streams ``data`` through ``plan`` and records the run in ``store`` (unless ``no_store``),
    with the alert states and the notifications for ``receivers``; then ``dispatch``."""
    started = datetime.now(UTC)
    with row_progress(progress_enabled(no_progress), f"evaluating {plan.model}") as progress:
        acc, streamed = engine.stream(plan, list(data), chunk_rows=chunk_rows, progress=progress)
    fingerprint = streamed or engine.state_fingerprint(acc)
    if no_store:
        results = acc.results(data_fingerprint=fingerprint)
        run_id = derive_run_id(plan.model, model_version, plan.plan_hash, fingerprint)
        # Without a store there is no history: the rules see this run alone, and notify nobody.
        rules = [Rule.from_plan(r) for r in plan.alert_rules]
        outcomes = evaluate_rules(rules, [series_point(r, run_id) for r in results])
        return Evaluation(run_id, model_version, results, AlertRun(outcomes, run_id=run_id))
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
        report = dispatch(db) if dispatch is not None else None
    return Evaluation(recorded.run_id, model_version, recorded.results, recorded.alerts, report)


def dispatcher_for(
    notifiers: dict[str, Notifier], model: str, model_version: str, budget: float
) -> Callable[[MetricStore], DispatchReport | None]:
    """Delivers the outbox of ``model`` within ``budget`` seconds, and refreshes Alertmanager's
    firing alerts of ``model_version``."""

    def dispatch(db: MetricStore) -> DispatchReport | None:
        if not notifiers:
            return None
        dispatcher = Dispatcher(db, notifiers)
        try:
            report = dispatcher.run(model=model, budget=budget)
            dispatcher.refresh_alertmanager(model=model, model_version=model_version)
            return report
        finally:
            dispatcher.close()

    return dispatch


def evaluation_options(*, version_required: bool) -> Callable[[F], F]:
    """The options of every verb that evaluates: store, version, chunking, progress."""

    def decorate(f: F) -> F:
        version = click.option(
            "--model-version",
            required=version_required,
            default=None if version_required else DEFAULT_VERSION,
            show_default=not version_required,
            help="Version of the model that made the predictions.",
        )
        for option in (
            click.option("--no-progress", is_flag=True, help="Never show a progress bar."),
            click.option(
                "--chunk-rows",
                type=click.IntRange(min=1),
                default=1 << 20,
                show_default=True,
                help="Rows per streamed chunk (bounds memory).",
            ),
            version,
            click.option(
                "--no-store", is_flag=True, help="Do not record the results in the store."
            ),
            store_option,
        ):
            f = option(f)
        return f

    return decorate


@click.command("evaluate")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("data", nargs=-1, required=True)
@evaluation_options(version_required=False)
@click.option(
    "--mlflow",
    "to_mlflow",
    is_flag=True,
    help="Also log the metrics to MLflow (MLFLOW_TRACKING_URI; needs scoreboard[mlflow]).",
)
@click.option(
    "--mlflow-experiment",
    help="MLflow experiment name (default: the model name).",
)
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
    to_mlflow: bool,
    mlflow_experiment: str | None,
    no_dispatch: bool,
    dispatch_timeout: float,
    fmt: str,
    output: str | None,
) -> None:
    """Evaluate SPEC over DATA (files, globs or folders of parquet, csv, arrow, jsonl), store the
    results, evaluate the alert rules and deliver their notifications."""
    check_writable(output)
    loaded = load_spec(spec)
    plan = compile_spec(loaded)
    receivers = [Receiver(n.receiver, n.send_resolved) for n in loaded.notify]
    # Notifications never mix with JSON on stdout: the stdout notifier writes to stderr then.
    stream = sys.stderr if fmt == "json" and output is None else None
    notifiers = {} if no_dispatch else build_notifiers(loaded.notify, stdout=stream)
    if to_mlflow:
        from scoreboard.interop.mlflow import require_mlflow

        require_mlflow()  # fail before the work, not after it
    evaluation = evaluate_and_record(
        plan,
        data,
        store=store,
        no_store=no_store,
        model_version=model_version,
        chunk_rows=chunk_rows,
        no_progress=no_progress,
        receivers=receivers,
        dispatch=dispatcher_for(notifiers, plan.model, model_version, dispatch_timeout),
    )
    if to_mlflow:
        from scoreboard.interop.mlflow import log_evaluation

        logged = log_evaluation(
            plan, evaluation.run_id, model_version, evaluation.results, experiment=mlflow_experiment
        )
        click.echo(
            f"mlflow: run {logged.mlflow_run_id}: {logged.logged} metric values logged, "
            f"{logged.skipped} already there",
            err=True,
        )
    results = evaluation.results
    payload = evaluation_payload(
        evaluation.run_id, model_version, results, evaluation.alerts, evaluation.dispatch
    )
    emit_rows(
        fmt,
        ["metric", "window", "start", "segment", "value", "n", "reason"],
        [[r.metric, r.window, r.window_start, r.segment, r.value, r.n, r.reason] for r in results],
        payload=payload,
        title=f"{plan.model} {model_version} ({results.rows:,} rows)",
        output=output,
    )
    if fmt != "json" and plan.alert_rules and output is None:
        emit(render_alerts(fmt, evaluation.alerts.to_list(), evaluation.dispatch), None)


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
