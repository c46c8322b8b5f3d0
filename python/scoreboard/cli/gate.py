"""``scoreboard gate SPEC DATA... --model-version V [--baseline V0]``: the CI release gate.

Evaluates the candidate (and stores it under its version, as ``evaluate`` does), then checks the
spec's ``gates:``. Exit 0 when every gate passes, 1 when one fails (or cannot be checked because
the value is undefined), 2 for usage errors: a spec without gates, a max_drop gate without
``--baseline``, an unknown baseline version. ``--exit-zero`` forces 0 for report-only runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import click

from scoreboard.alerts.history import Receiver
from scoreboard.exceptions import ScoreboardError
from scoreboard.gate import (
    Baseline,
    GateOutcome,
    baseline_plan_differs,
    check_gates,
    load_baseline,
    summarize,
)
from scoreboard.plan import compile_spec
from scoreboard.spec import load_spec
from scoreboard.store import open_store

from .ci import append_step_summary, junit_xml, write_junit
from .evaluate import evaluate_and_record, evaluation_options, evaluation_payload
from .options import format_option, output_option
from .output import emit, fmt_value, render_table

EXIT_GATE_FAILED = 1

ICONS = {"passed": "✅", "failed": "❌", "error": "⚠️", "skipped": "⏭️"}
HEADERS = ["", "metric", "segment", "value", "bound", "baseline", "delta", "p", "reason"]


def _rows(outcomes: Sequence[GateOutcome], *, icons: bool) -> list[list[object]]:
    return [
        [
            ICONS[o.status] if icons else o.status,
            o.metric,
            dict(o.segment),
            o.value,
            o.bound,
            o.baseline,
            o.delta,
            o.p_value,
            o.reason,
        ]
        for o in outcomes
    ]


def headline(outcomes: Sequence[GateOutcome]) -> str:
    counts = summarize(outcomes)
    bad = counts["failed"] + counts["error"]
    parts = [f"{counts['passed']} passed"]
    parts += [f"{counts[k]} {k}" for k in ("failed", "error", "skipped") if counts[k]]
    verdict = "failed" if bad else "passed"
    return f"gate {verdict}: " + ", ".join(parts)


def render_gate_markdown(
    outcomes: Sequence[GateOutcome], *, model: str, version: str, baseline: str | None
) -> str:
    """A PR-comment-ready section: a verdict line and one table row per gate and segment."""

    def cell(v: object) -> str:
        return fmt_value(v).replace("|", "\\|").replace("\n", " ")

    against = f" vs {baseline}" if baseline else ""
    bad = any(not o.passed for o in outcomes)
    lines = [
        f"### {'❌' if bad else '✅'} scoreboard gate: {model} {version}{against}",
        "",
        headline(outcomes),
        "",
        "| | " + " | ".join(HEADERS[1:]) + " |",
        "|" + "|".join("---" for _ in HEADERS) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in _rows(outcomes, icons=True)]
    return "\n".join(lines) + "\n"


@click.command("gate")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("data", nargs=-1, required=True)
@evaluation_options(version_required=True)
@click.option("--baseline", help="Model version in the store to compare max_drop gates with.")
@click.option(
    "--junit", type=click.Path(dir_okay=False), help="Write a JUnit XML report (one case a gate)."
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when a gate fails (report only).")
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
    baseline: str | None,
    junit: str | None,
    exit_zero: bool,
    fmt: str,
    output: str | None,
) -> int:
    """Evaluate SPEC over DATA as --model-version, then check the spec's gates."""
    for path, what in ((output, "--output"), (junit, "--junit")):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise ScoreboardError(f"cannot write {what} {path}: its directory does not exist")
    loaded = load_spec(spec)
    plan = compile_spec(loaded)
    if not loaded.gates:
        raise ScoreboardError(
            f"{spec} declares no gates; add e.g. `gates: [{{metric: f1, min: 0.85}}]`"
        )
    needing = [g.metric for g in loaded.gates if g.needs_baseline]
    if needing and baseline is None:
        raise ScoreboardError(
            f"the max_drop gates on {', '.join(needing)} compare with a baseline: pass "
            "--baseline VERSION (a model version already in the store)"
        )
    base: Baseline | None = None
    if baseline is not None:
        if not os.path.exists(store) and "://" not in store:
            raise ScoreboardError(
                f"unknown baseline version {baseline!r}: there is no store at {store} "
                "(evaluate the baseline first, or pass --store)"
            )
        # Read before the candidate is recorded: a candidate gated against its own version
        # compares with what was stored before this run.
        with open_store(store, read_only=True) as db:
            base = load_baseline(db, plan.model, baseline, plan_hash=plan.plan_hash)
    evaluation = evaluate_and_record(
        plan,
        data,
        store=store,
        no_store=no_store,
        model_version=model_version,
        chunk_rows=chunk_rows,
        no_progress=no_progress,
        # Alert transitions this run causes are queued (sent by the next evaluate or flush).
        receivers=[Receiver(n.receiver, n.send_resolved) for n in loaded.notify],
    )
    if baseline_plan_differs(base, plan.plan_hash):
        click.echo(
            f"scoreboard: warning: baseline {baseline} was computed with another plan; "
            "metrics are compared by name",
            err=True,
        )
    outcomes = check_gates(loaded.gates, plan, evaluation.results, base)
    markdown = render_gate_markdown(
        outcomes, model=plan.model, version=model_version, baseline=baseline
    )
    if fmt == "json":
        payload = evaluation_payload(
            evaluation.run_id, model_version, evaluation.results, evaluation.alerts
        )
        payload["baseline"] = baseline
        payload["gates"] = [o.to_dict() for o in outcomes]
        emit(json.dumps(payload, indent=2, allow_nan=False) + "\n", output)
    elif fmt == "markdown":
        emit(markdown, output)
    else:
        title = f"{plan.model} {model_version}" + (f" vs {baseline}" if baseline else "")
        table = render_table(HEADERS, _rows(outcomes, icons=False), title=title, color=False)
        emit(table + headline(outcomes) + "\n", output)
    if junit:
        write_junit(junit, junit_xml(outcomes, model=plan.model, model_version=model_version))
    append_step_summary(markdown)
    failed = any(not o.passed for o in outcomes)
    if failed and not exit_zero:
        click.echo(f"scoreboard: {headline(outcomes)}", err=True)
        return EXIT_GATE_FAILED
    return 0
