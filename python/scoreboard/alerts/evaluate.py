"""Rules over a metric history: replay each (rule, segment) series in window order.

Evaluation is a deterministic replay: every window instance of the rule's window (or, for a rule
without a window, the all-rows result of every run, in the order the runs were first recorded) is
assessed in event-time order and stepped through the state machine from ``inactive``. The final
state is what the store keeps; each firing or resolved transition becomes a notification whose
``dedup_key`` (model, version, rule, segment, window start, transition) is stable, so evaluating
the same windows again, or a backfill, produces the same keys and the outbox drops the repeats.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scoreboard.alerts.rules import Assessment, Rule, Sample, assess
from scoreboard.alerts.state import AlertState, Transition, step
from scoreboard.alerts.templates import render
from scoreboard.store.models import iso_utc, segment_json


@dataclass(frozen=True)
class SeriesPoint:
    """One stored (or just computed) metric value, as the rules read it."""

    metric: str
    window: str | None
    segment: Mapping[str, str]
    value: float | None
    n: int
    window_index: int | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    run_id: str | None = None
    order: str = ""  # tie-breaker: when the run was first recorded
    reason: str | None = None  # why the value is undefined (or a zero_division stand-in)

    @property
    def defined(self) -> float | None:
        """The value, or None when it is undefined: a ``zero_division: warn`` 0 (or 1) stands
        in for an undefined value, and a rule must not read it as a measurement (P8)."""
        return None if self.reason is not None else self.value

    @property
    def key(self) -> str:
        """The window instance: its start, else its index, else the run (all-rows results)."""
        if self.window_start is not None:
            return iso_utc(self.window_start)
        if self.window_index is not None:
            return f"#{self.window_index}"
        return f"run:{self.run_id}"

    @property
    def sort_key(self) -> tuple[str, int, str]:
        start = "" if self.window_start is None else iso_utc(self.window_start)
        return (start, -1 if self.window_index is None else self.window_index, self.order)


@dataclass(frozen=True)
class Evaluation:
    """One rule evaluated on one window instance of one segment."""

    point: SeriesPoint
    assessment: Assessment
    state: AlertState
    transition: Transition | None


@dataclass
class RuleOutcome:
    rule: Rule
    segment: dict[str, str]
    evaluations: list[Evaluation] = field(default_factory=list)

    @property
    def state(self) -> AlertState:
        return self.evaluations[-1].state if self.evaluations else AlertState()

    @property
    def last(self) -> Evaluation | None:
        return self.evaluations[-1] if self.evaluations else None


#: Finds a version baseline for a rule and a point (None: no baseline).
BaselineLookup = Callable[[Rule, SeriesPoint], Sample | None]


def evaluate_rules(
    rules: Sequence[Rule],
    points: Iterable[SeriesPoint],
    *,
    baseline_lookup: BaselineLookup | None = None,
) -> list[RuleOutcome]:
    """Replay every rule over ``points``; one outcome per (rule, segment) that has data."""
    by_key: dict[tuple[str, str | None, str, str], SeriesPoint] = {}
    series: dict[tuple[str, str | None], dict[str, list[SeriesPoint]]] = {}
    for p in points:
        seg = segment_json(p.segment)
        by_key[(p.metric, p.window, p.key, seg)] = p
        series.setdefault((p.metric, p.window), {}).setdefault(seg, []).append(p)
    outcomes: list[RuleOutcome] = []
    for rule in rules:
        for _, items in sorted(series.get((rule.metric, rule.window), {}).items()):
            ordered = sorted(items, key=lambda p: p.sort_key)
            outcome = RuleOutcome(rule, dict(ordered[0].segment))
            state = AlertState()
            history: list[float] = []
            by_index = {p.window_index: p for p in ordered if p.window_index is not None}
            for p in ordered:
                baseline = None
                if rule.ago is not None:
                    if p.window_index is not None:
                        earlier = by_index.get(p.window_index - rule.ago)
                        baseline = _sample(rule, earlier, by_key) if earlier else None
                elif rule.baseline is not None and baseline_lookup is not None:
                    baseline = baseline_lookup(rule, p)
                sample = _sample(rule, p, by_key)
                result = assess(rule, sample, baseline=baseline, history=history, at=p.key)
                state, transition = step(state, result.observation, rule.timing)
                outcome.evaluations.append(Evaluation(p, result, state, transition))
                if p.defined is not None and p.n >= rule.min_samples:
                    history.append(p.defined)
            outcomes.append(outcome)
    return outcomes


def index_points(
    points: Iterable[SeriesPoint],
) -> dict[tuple[str, str | None, str, str], SeriesPoint]:
    """Points by (metric, window, window instance key, segment JSON): what ``sample`` reads."""
    return {(p.metric, p.window, p.key, segment_json(p.segment)): p for p in points}


def sample(
    rule: Rule, p: SeriesPoint, by_key: Mapping[tuple[str, str | None, str, str], SeriesPoint]
) -> Sample:
    """What ``rule`` reads of ``p``: with the trials of a proportion from its companion metric."""
    return _sample(rule, p, by_key)


def _sample(
    rule: Rule, p: SeriesPoint, by_key: Mapping[tuple[str, str | None, str, str], SeriesPoint]
) -> Sample:
    trials: float | None = None
    den = rule.denominator
    if den is not None:
        if den.get("metric") is None:
            trials = float(p.n)
        else:
            companion = by_key.get((den["metric"], p.window, p.key, segment_json(p.segment)))
            if companion is not None and companion.defined is not None:
                share = 1.0 - companion.defined if den.get("complement") else companion.defined
                trials = share * p.n
    return Sample(p.defined, p.n, p.ci_low, p.ci_high, trials)


# ----------------------------------------------------------------------------------------------
# Notifications


@dataclass(frozen=True)
class Notification:
    """One firing or resolved transition, ready for the outbox (no receiver, no secret)."""

    dedup_key: str
    model: str
    model_version: str
    rule: str
    segment: dict[str, str]
    transition: str  # firing | resolved
    window: str | None
    window_start: str | None
    window_end: str | None
    value: float | None
    threshold: float | None
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str | None  # when the episode began (event time)
    fingerprint: str

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notification:
        fields: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__}
        return cls(**fields)


def dedup_key(
    model: str, model_version: str, rule: str, segment: Mapping[str, str], at: str, kind: str
) -> str:
    """Stable across runs and processes: the outbox's idempotency key."""
    payload = json.dumps([model, model_version, rule, segment_json(segment), at, kind])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


_LABEL_BAD = re.compile(r"[^A-Za-z0-9_]")


def label_name(name: str) -> str:
    """A Prometheus label name: ``[A-Za-z_][A-Za-z0-9_]*``."""
    cleaned = _LABEL_BAD.sub("_", name) or "_"
    return cleaned if not cleaned[0].isdigit() else "_" + cleaned


def segment_text(segment: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in segment.items()) or "all"


def alert_labels(
    rule: Rule,
    segment: Mapping[str, str],
    model: str,
    model_version: str,
    values: Mapping[str, object],
) -> dict[str, str]:
    labels = {
        "alertname": rule.name,
        "model": model,
        "model_version": model_version,
        "metric": rule.metric,
        "severity": rule.severity,
    }
    if rule.window is not None:
        labels["window"] = rule.window
    for key, value in segment.items():
        labels.setdefault(label_name(key), value)
    # Labels identify the alert (Alertmanager fingerprints them), so only stable names render.
    stable = {k: v for k, v in values.items() if k in _STABLE}
    for key, template in rule.labels.items():
        labels[key] = render(template, stable)
    return labels


_STABLE = frozenset({"segment", "window", "rule", "metric", "model", "model_version", "severity"})


def fingerprint(labels: Mapping[str, str]) -> str:
    text = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def template_values(
    rule: Rule, ev: Evaluation, segment: Mapping[str, str], model: str, model_version: str
) -> dict[str, object]:
    p = ev.point
    return {
        "value": p.value,
        "threshold": ev.assessment.threshold,
        "baseline": ev.assessment.baseline,
        "segment": segment_text(segment),
        "window": rule.window or "all rows",
        "window_start": None if p.window_start is None else iso_utc(p.window_start),
        "window_end": None if p.window_end is None else iso_utc(p.window_end),
        "rule": rule.name,
        "metric": rule.metric,
        "model": model,
        "model_version": model_version,
        "n": p.n,
        "severity": rule.severity,
        "state": ev.state.effective,
    }


DEFAULT_SUMMARY = "{{ metric }} is {{ value }} for {{ segment }} ({{ window }} {{ window_start }})"


def notifications(
    outcomes: Iterable[RuleOutcome],
    *,
    model: str,
    model_version: str,
    run_id: str | None = None,
) -> list[Notification]:
    """A notification per firing / resolved transition, in evaluation order.

    With ``run_id``, only what that run can have changed is announced: the transitions from the
    first window instance the run touched on (later windows included: out-of-order data can move
    them), plus the firing transition of an alert already firing just before it. History that a
    run did not touch is never announced again (adding a rule to a long history pages at most
    once per alert that fires now, not once per past episode).
    """
    out: list[Notification] = []
    for outcome in outcomes:
        rule, segment = outcome.rule, outcome.segment
        for ev in _announced(outcome, run_id):
            if ev.transition is None or not ev.transition.notifies:
                continue
            values = template_values(rule, ev, segment, model, model_version)
            labels = alert_labels(rule, segment, model, model_version, values)
            annotations = {"summary": render(DEFAULT_SUMMARY, values)}
            annotations.update({k: render(t, values) for k, t in rule.annotations.items()})
            p = ev.point
            kind = ev.transition.kind
            since = ev.state.active_since if kind == "firing" else None
            previous = _previous_since(outcome, ev) if kind == "resolved" else None
            starts = since or previous or p.key
            out.append(
                Notification(
                    dedup_key=dedup_key(model, model_version, rule.name, segment, p.key, kind),
                    model=model,
                    model_version=model_version,
                    rule=rule.name,
                    segment=dict(segment),
                    transition=kind,
                    window=rule.window,
                    window_start=None if p.window_start is None else iso_utc(p.window_start),
                    window_end=None if p.window_end is None else iso_utc(p.window_end),
                    value=p.value,
                    threshold=ev.assessment.threshold,
                    severity=rule.severity,
                    labels=labels,
                    annotations=annotations,
                    starts_at=starts if _is_time(starts) else None,
                    fingerprint=fingerprint(labels),
                )
            )
    return out


def _announced(outcome: RuleOutcome, run_id: str | None) -> list[Evaluation]:
    evaluations = outcome.evaluations
    if run_id is None:
        return evaluations
    first = next((i for i, ev in enumerate(evaluations) if ev.point.run_id == run_id), None)
    if first is None:
        return []
    announced = evaluations[first:]
    if first > 0 and evaluations[first - 1].state.effective == "firing":
        for ev in reversed(evaluations[:first]):
            if ev.transition is not None and ev.transition.kind == "firing":
                return [ev, *announced]
    return announced


def _previous_since(outcome: RuleOutcome, ev: Evaluation) -> str | None:
    """The start of the episode a resolved transition ends."""
    index = outcome.evaluations.index(ev)
    for earlier in reversed(outcome.evaluations[:index]):
        if earlier.state.active_since is not None:
            return earlier.state.active_since
    return None


def _is_time(text: str | None) -> bool:
    return text is not None and not text.startswith(("#", "run:"))
