"""Recording an evaluation in the store, with late data merged across runs.

Each run stores the accumulator state of every time-window group (window instance x segment) it
saw. When a run's data reaches a window that other runs of the same model version and plan also
saw (data arriving late, or split across files evaluated separately), the window's value is the
merge of all those states: evaluating days 1-10 and then days 10-20 gives day 10 the value one run
over days 1-20 would. Re-running the same data has the same run id, so it replaces its own state
instead of counting it twice. Row-count windows belong to one run's row order and are not merged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from scoreboard import _core
from scoreboard.alerts.history import AlertRun, Receiver, evaluate_run
from scoreboard.engine import Accumulator
from scoreboard.plan.plan import Plan
from scoreboard.results import MetricResult, Results, from_core
from scoreboard.store import MetricPoint, MetricStore, RunRecord, StateKey, iso_utc, segment_hash


@dataclass(frozen=True)
class Recorded:
    run_id: str
    results: Results  # with late data merged into the time windows it touches
    merged_windows: int  # window groups whose value includes other runs' data
    alerts: AlertRun = field(default_factory=AlertRun)  # rule states, notifications queued


def record_evaluation(
    store: MetricStore,
    plan: Plan,
    acc: Accumulator,
    *,
    model_version: str,
    data_fingerprint: str,
    started: datetime,
    receivers: Sequence[Receiver] = (),
) -> Recorded:
    """Stores the run, its points (late data merged), its window states, the plan's alert states
    and the notifications their transitions queue for ``receivers``, in one transaction."""
    run = RunRecord(
        model=plan.model,
        model_version=model_version,
        spec_fingerprint=plan.spec_fingerprint,
        plan_hash=plan.plan_hash,
        data_fingerprint=data_fingerprint,
        started_at=started,
        finished_at=datetime.now(UTC),
        rows=acc.rows,
    )
    results = acc.results(data_fingerprint=data_fingerprint)
    time_windows = {w.name for w in plan.layout.windows if w.pane.kind != "rows"}
    starts: dict[tuple[str | None, int | None], datetime | None] = {
        (r.window, r.window_index): r.window_start for r in results if r.window
    }
    states: dict[StateKey, bytes] = {}
    for (window, instance, segment_text), blob in acc.group_states().items():
        start = starts.get((window, instance))
        if window in time_windows and start is not None:
            states[(window, iso_utc(start), segment_hash(json.loads(segment_text)))] = blob

    merged, count = _merge_late_data(store, plan, run, results, states)
    points = [_point(r) for r in merged]
    alerts = evaluate_run(
        store,
        plan,
        model_version=model_version,
        run_id=run.run_id,
        results=list(merged),
        receivers=receivers,
    )
    run_id = store.record_run(
        run,
        points,
        states=states,
        alert_states=alerts.states if plan.alert_rules else None,
        outbox=alerts.outbox,
    )
    return Recorded(run_id, merged, count, alerts)


def _merge_late_data(
    store: MetricStore,
    plan: Plan,
    run: RunRecord,
    results: Results,
    states: dict[StateKey, bytes],
) -> tuple[Results, int]:
    others = [
        r
        for r in store.runs(model=plan.model)
        if r.model_version == run.model_version
        and r.plan_hash == plan.plan_hash
        and r.run_id != run.run_id
    ]
    earlier: dict[StateKey, list[bytes]] = {}
    for other in others:
        for key, blob in store.states(other.run_id).items():
            if key in states:
                earlier.setdefault(key, []).append(blob)
    if not earlier:
        return results, 0
    plan_json = plan.to_json()
    replacement: dict[StateKey, list[MetricResult]] = {}
    for key, blobs in earlier.items():
        state = _core.Executor.from_bytes(plan_json, states[key])
        for blob in blobs:
            state.merge(_core.Executor.from_bytes(plan_json, blob))
        replacement[key] = from_core(state.results())
    items: list[MetricResult] = []
    done: set[StateKey] = set()
    for r in results:
        if r.window is None or r.window_start is None:
            items.append(r)
            continue
        key = (r.window, iso_utc(r.window_start), segment_hash(_group_segment(r)))
        if key not in replacement:
            items.append(r)
            continue
        if key in done:
            continue
        done.add(key)
        for m in replacement[key]:
            items.append(
                replace(
                    m,
                    window=r.window,
                    window_index=r.window_index,
                    window_start=r.window_start,
                    window_end=r.window_end,
                    segment={**_group_segment(r), **m.segment},
                )
            )
    merged = Results(
        items,
        model=results.model,
        rows=results.rows,
        plan_hash=results.plan_hash,
        data_fingerprint=results.data_fingerprint,
        dropped_rows=results.dropped_rows,
    )
    return merged, len(replacement)


def _group_segment(r: MetricResult) -> dict[str, str]:
    """The group's segment: the result's segment without a per-class result's class (a segment
    column may therefore not be named ``class``)."""
    return {k: v for k, v in r.segment.items() if k != "class"}


def _point(r: MetricResult) -> MetricPoint:
    return MetricPoint(
        metric=r.metric,
        value=r.value,
        n=r.n,
        window=r.window,
        window_start=r.window_start,
        window_end=r.window_end,
        segment=r.segment,
        reason=r.reason,
        ci_low=r.ci_low,
        ci_high=r.ci_high,
        window_index=r.window_index,
        error_bound=r.error_bound,
    )
