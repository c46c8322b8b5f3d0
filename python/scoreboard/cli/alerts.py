"""``scoreboard alerts``: current alert states and the outbox; ``--flush`` delivers what is
pending (it needs ``--spec`` for the receivers: their URLs and secrets are never stored)."""

from __future__ import annotations

import os
import sys
from collections import Counter
from typing import Any

import click

from scoreboard.alerts.dispatch import Dispatcher, DispatchReport
from scoreboard.alerts.notifiers import build_notifiers
from scoreboard.spec import load_spec
from scoreboard.store import iso_utc, open_store

from .options import format_option, output_option, store_option
from .output import emit, emit_rows, render_markdown, render_table, stdout_wants_color


@click.command("alerts")
@store_option
@click.option("--model", help="Only this model.")
@click.option(
    "--spec",
    type=click.Path(dir_okay=False),
    help="The spec whose notify receivers --flush delivers to (and whose model it lists).",
)
@click.option("--flush", is_flag=True, help="Deliver pending notifications now.")
@click.option(
    "--dispatch-timeout",
    type=click.FloatRange(min=0, max=3600),
    default=20.0,
    show_default=True,
    help="Seconds to keep retrying before leaving notifications in the outbox.",
)
@format_option
@output_option
def command(
    store: str,
    model: str | None,
    spec: str | None,
    flush: bool,
    dispatch_timeout: float,
    fmt: str,
    output: str | None,
) -> None:
    """Show alert states and the notification outbox (pending / sent / dead)."""
    report: DispatchReport | None = None
    if flush:
        if spec is None:
            raise click.UsageError("--flush needs --spec SPEC (the receivers to deliver to)")
        loaded = load_spec(spec)
        model = model or loaded.model
        stream = sys.stderr if fmt == "json" and output is None else None
        with open_store(store) as db:
            dispatcher = Dispatcher(db, build_notifiers(loaded.notify, stdout=stream))
            try:
                report = dispatcher.run(model=model, budget=dispatch_timeout)
                dispatcher.refresh_alertmanager(model=model)
            finally:
                dispatcher.close()
    elif spec is not None:
        model = model or load_spec(spec).model
    if not os.path.exists(store) and "://" not in store:
        click.echo(
            f"scoreboard: no store at {store} yet (run `scoreboard evaluate` first)", err=True
        )
        states, rows = [], []
    else:
        with open_store(store) as db:
            states = db.alert_states(model=model)
            rows = db.outbox(model=model)
    payload = _payload(states, rows, report)
    if fmt == "json":
        emit_rows(fmt, [], [], payload=payload, output=output)
        return
    color = output is None and stdout_wants_color()
    state_headers = [
        "model",
        "version",
        "rule",
        "segment",
        "state",
        "value",
        "window start",
        "since",
    ]
    state_rows = [
        [s["model"], s["model_version"], s["rule"], s["segment"], s["state"], s["value"],
         s["window_start"], s["since"]]
        for s in payload["states"]
    ]  # fmt: skip
    box_headers = ["receiver", "pending", "sent", "dead"]
    box_rows = [[r, *(c.get(k, 0) for k in ("pending", "sent", "dead"))]
                for r, c in payload["outbox"]["by_receiver"].items()]  # fmt: skip
    dead_headers = ["receiver", "rule", "transition", "attempts", "error"]
    dead_rows = [[d["receiver"], d["rule"], d["transition"], d["attempts"], d["last_error"]]
                 for d in payload["dead"]]  # fmt: skip
    parts = []
    for headers, table_rows, title in (
        (state_headers, state_rows, "alert states"),
        (box_headers, box_rows, "outbox"),
        (dead_headers, dead_rows, "dead letters (not retried)"),
    ):
        if not table_rows and title != "alert states":
            continue
        if fmt == "markdown":
            parts.append(render_markdown(headers, table_rows, title=title))
        else:
            parts.append(render_table(headers, table_rows, title=title, color=color))
    if report is not None:
        parts.append(
            f"flushed: {report.sent} sent, {report.retried} retried, {report.dead} dead, "
            f"{report.pending} still pending\n"
        )
    emit("\n".join(parts), output)


def _payload(states: list[Any], rows: list[Any], report: DispatchReport | None) -> dict[str, Any]:
    by_receiver: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    for row in rows:
        by_receiver.setdefault(row.receiver, Counter())[row.status] += 1
        totals[row.status] += 1
    return {
        "states": [
            {
                "model": s.model,
                "model_version": s.model_version,
                "rule": s.rule,
                "segment": dict(s.segment),
                "state": s.state,
                "value": s.value,
                "window": s.window,
                "window_start": None if s.window_start is None else iso_utc(s.window_start),
                "since": s.since,
                "reason": s.detail.get("reason"),
            }
            for s in states
        ],
        "outbox": {
            "pending": totals.get("pending", 0),
            "sent": totals.get("sent", 0),
            "dead": totals.get("dead", 0),
            "by_receiver": {k: dict(v) for k, v in sorted(by_receiver.items())},
        },
        "dead": [
            {
                "receiver": r.receiver,
                "rule": r.rule,
                "transition": r.transition,
                "dedup_key": r.dedup_key,
                "attempts": r.attempts,
                "last_error": r.last_error,
            }
            for r in rows
            if r.status == "dead"
        ],
        "flushed": None if report is None else report.to_dict(),
    }
