"""Rules over the metric store: the history a run adds to, and what the run must write back.

``evaluate_run`` reads the stored history of the run's model version (each time-window instance
once, as merged by its latest run; all-rows results once per run, in the order the runs were
first recorded), lays the run's own results over it, replays every rule, and returns the alert
states and outbox rows that :meth:`MetricStore.record_run` writes in the same transaction as the
results. Version baselines (``previous``, a named version) are read from the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scoreboard.alerts.evaluate import (
    DEFAULT_SUMMARY,
    Notification,
    RuleOutcome,
    SeriesPoint,
    alert_labels,
    evaluate_rules,
    index_points,
    notifications,
    sample,
    template_values,
)
from scoreboard.alerts.rules import Rule, Sample
from scoreboard.alerts.templates import render
from scoreboard.plan.plan import Plan
from scoreboard.results import MetricResult
from scoreboard.store import (
    AlertStateRecord,
    MetricPoint,
    MetricStore,
    OutboxEntry,
    iso_utc,
    segment_json,
)


@dataclass(frozen=True)
class Receiver:
    """A notify entry as the outbox sees it: a name, and whether it wants resolutions."""

    name: str
    send_resolved: bool = True


@dataclass
class AlertRun:
    outcomes: list[RuleOutcome] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    states: list[AlertStateRecord] = field(default_factory=list)
    outbox: list[OutboxEntry] = field(default_factory=list)
    run_id: str | None = None

    def to_list(self) -> list[dict[str, Any]]:
        """The ``alerts`` list of ``evaluate --format json``."""
        out = []
        for outcome in self.outcomes:
            last = outcome.last
            if last is None:
                continue
            p = last.point
            transitions = [
                {
                    "kind": ev.transition.kind,
                    "from": ev.transition.from_state,
                    "to": ev.transition.to_state,
                    "window_start": _iso(ev.point.window_start),
                    "value": ev.point.value,
                }
                for ev in outcome.evaluations
                if ev.transition is not None and ev.point.run_id == self.run_id
            ]
            out.append(
                {
                    "rule": outcome.rule.name,
                    "metric": outcome.rule.metric,
                    "segment": dict(outcome.segment),
                    "state": last.state.state,
                    "value": p.value,
                    "n": p.n,
                    "window": outcome.rule.window,
                    "window_start": _iso(p.window_start),
                    "threshold": last.assessment.threshold,
                    "reason": last.assessment.reason,
                    "severity": outcome.rule.severity,
                    "transitions": transitions,
                }
            )
        return out


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


def series_point(r: MetricResult | MetricPoint, run_id: str | None, order: str = "") -> SeriesPoint:
    return SeriesPoint(
        metric=r.metric,
        window=r.window,
        segment=dict(r.segment),
        value=r.value,
        n=r.n,
        window_index=r.window_index,
        window_start=r.window_start,
        window_end=r.window_end,
        ci_low=r.ci_low,
        ci_high=r.ci_high,
        run_id=run_id,
        order=order,
        reason=r.reason,
    )


def evaluate_run(
    store: MetricStore,
    plan: Plan,
    *,
    model_version: str,
    run_id: str,
    results: Sequence[MetricResult],
    receivers: Sequence[Receiver] = (),
) -> AlertRun:
    """Replay the plan's rules over the stored history plus this run's ``results``."""
    rules = [Rule.from_plan(r) for r in plan.alert_rules]
    if not rules:
        return AlertRun(run_id=run_id)
    wanted = _metrics_read(rules)
    first_recorded = {r.run_id: iso_utc(r.first_recorded_at) for r in store.runs(model=plan.model)}
    now = iso_utc(datetime.now(UTC))
    merged: dict[tuple[str, str | None, str, str], SeriesPoint] = {}
    for stored in store.history(model=plan.model, model_version=model_version, latest_windows=True):
        if stored.metric not in wanted or stored.run_id == run_id:
            continue
        if stored.window is not None and stored.window_start is None:
            continue  # row-count windows belong to one run's row order: only this run's count
        p = series_point(stored, stored.run_id, first_recorded.get(stored.run_id, now))
        merged[(p.metric, p.window, p.key, segment_json(p.segment))] = p
    order = first_recorded.get(run_id, now)
    for r in results:
        if r.metric in wanted:
            p = series_point(r, run_id, order)
            merged[(p.metric, p.window, p.key, segment_json(p.segment))] = p
    points = list(merged.values())
    lookup = StoreBaselines(store, plan.model, model_version)
    outcomes = evaluate_rules(rules, points, baseline_lookup=lookup)
    notes = notifications(outcomes, model=plan.model, model_version=model_version, run_id=run_id)
    states = [_state_record(o, plan.model, model_version) for o in outcomes if o.last]
    outbox = [
        OutboxEntry(
            dedup_key=n.dedup_key,
            receiver=rec.name,
            model=n.model,
            model_version=n.model_version,
            rule=n.rule,
            transition=n.transition,
            payload=n.to_json(),
        )
        for n in notes
        for rec in receivers
        if n.transition == "firing" or rec.send_resolved
    ]
    return AlertRun(outcomes, notes, states, outbox, run_id)


def _metrics_read(rules: Sequence[Rule]) -> set[str]:
    wanted = {r.metric for r in rules}
    for r in rules:
        if r.denominator and r.denominator.get("metric"):
            wanted.add(str(r.denominator["metric"]))
    return wanted


def _state_record(outcome: RuleOutcome, model: str, model_version: str) -> AlertStateRecord:
    last = outcome.last
    assert last is not None
    state = last.state
    values = template_values(outcome.rule, last, outcome.segment, model, model_version)
    labels = alert_labels(outcome.rule, outcome.segment, model, model_version, values)
    annotations = {"summary": render(DEFAULT_SUMMARY, values)}
    annotations.update({k: render(t, values) for k, t in outcome.rule.annotations.items()})
    detail: dict[str, object] = {
        "machine": state.to_json(),
        "threshold": last.assessment.threshold,
        "baseline": last.assessment.baseline,
        "p_value": last.assessment.p_value,
        "reason": last.assessment.reason,
        "n": last.point.n,
        "labels": labels,
        "annotations": annotations,
        "window_end": _iso(last.point.window_end),
    }
    return AlertStateRecord(
        model=model,
        model_version=model_version,
        rule=outcome.rule.name,
        segment=outcome.segment,
        state=state.state,
        window=outcome.rule.window,
        value=last.point.value,
        window_start=last.point.window_start,
        window_key=last.point.key,
        since=state.active_since,
        detail=detail,
    )


class StoreBaselines:
    """Version baselines from the store: the same window instance of the baseline version if it
    has one, else its latest all-rows result, for the same segment."""

    def __init__(self, store: MetricStore, model: str, model_version: str) -> None:
        self._store = store
        self._model = model
        self._version = model_version
        self._cache: dict[tuple[str, str | None], dict[tuple[Any, ...], SeriesPoint]] = {}
        self._versions: list[str] | None = None

    def version_for(self, baseline: str) -> str | None:
        if self._versions is None:
            self._versions = self._store.model_versions(self._model)
        versions = self._versions
        if baseline != "previous":
            return baseline if baseline in versions else None
        if self._version in versions:
            index = versions.index(self._version)
            return versions[index - 1] if index > 0 else None
        return versions[-1] if versions else None

    def __call__(self, rule: Rule, p: SeriesPoint) -> Sample | None:
        assert rule.baseline is not None
        version = self.version_for(rule.baseline)
        if version is None or version == self._version:
            return None
        index = self._points(version, rule)
        seg = segment_json(p.segment)
        found = index.get((rule.metric, p.window, p.key, seg))
        if found is None:
            found = index.get(("overall", rule.metric, seg))
        if found is None:
            return None
        return sample(rule, found, index)

    def _points(self, version: str, rule: Rule) -> Mapping[tuple[Any, ...], SeriesPoint]:
        key = (version, rule.window)
        if key not in self._cache:
            wanted = _metrics_read([rule])
            points = [
                series_point(s, s.run_id)
                for s in self._store.history(
                    model=self._model, model_version=version, latest_windows=True
                )
                if s.metric in wanted
            ]
            index: dict[tuple[Any, ...], SeriesPoint] = dict(index_points(points))
            for p in points:  # history is in recorded order: the latest run's overall wins
                if p.window is None:
                    index[("overall", p.metric, segment_json(p.segment))] = p
                    index[(p.metric, None, "overall", segment_json(p.segment))] = p
            self._cache[key] = index
        return self._cache[key]
