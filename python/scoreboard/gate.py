"""Release gates: a candidate's overall results against fixed bounds and a baseline version.

Gates judge the results over all rows (``window: null``), overall and, with ``segments: all``,
per segment value. A baseline check compares with the latest stored overall point of the baseline
model version, in the metric's bad direction (``higher_is_better``), and can ask that a drop be
statistically significant before it fails a build.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from scoreboard.exceptions import ScoreboardError
from scoreboard.plan.plan import Plan
from scoreboard.results import MetricResult, Results
from scoreboard.spec.models import Gate
from scoreboard.store import MetricStore, StoredPoint, iso_utc, segment_json

log = logging.getLogger("scoreboard.gate")

Status = Literal["passed", "failed", "error", "skipped"]

#: Kinds whose value is a proportion of the rows counted in ``n``: the two-proportion z-test
#: applies to them as stored. Recall, precision and the like are proportions of a subset (the
#: positives, the predicted positives) whose size the results do not carry, so no test is made.
PROPORTION_OF_ROWS = frozenset({"accuracy", "prevalence", "predicted_positive_rate"})


class BaselineError(ScoreboardError):
    """The baseline version cannot be used (unknown version, no stored results)."""


@dataclass(frozen=True)
class GateOutcome:
    """One gate checked on one segment. ``passed`` is false for ``failed`` and ``error``."""

    metric: str
    segment: Mapping[str, str]
    status: Status
    value: float | None
    bound: str
    baseline: float | None = None
    delta: float | None = None
    p_value: float | None = None
    reason: str | None = None
    gate_index: int = 0

    @property
    def passed(self) -> bool:
        return self.status in ("passed", "skipped")

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "segment": dict(self.segment),
            "passed": self.passed,
            "status": self.status,
            "value": self.value,
            "bound": self.bound,
            "baseline": self.baseline,
            "delta": self.delta,
            "p_value": self.p_value,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Baseline:
    """The latest stored overall point per (metric, segment) of one model version."""

    model_version: str
    points: Mapping[tuple[str, str], StoredPoint]
    plan_hashes: frozenset[str] = field(default_factory=frozenset)

    def get(self, metric: str, segment: Mapping[str, str]) -> StoredPoint | None:
        return self.points.get((metric, segment_json(segment)))


def load_baseline(
    store: MetricStore,
    model: str,
    model_version: str,
    *,
    plan_hash: str | None = None,
    role: str = "baseline ",
) -> Baseline:
    """The version's latest overall point per (metric, segment), preferring runs of
    ``plan_hash`` when it has any; :class:`BaselineError` (exit 2) for an unknown version."""
    versions = store.model_versions(model)
    if model_version not in versions:
        known = ", ".join(versions) if versions else "none"
        raise BaselineError(
            f"unknown {role}version {model_version!r} of model {model!r} in the store "
            f"(stored versions: {known}); evaluate it first, e.g. "
            f"`scoreboard evaluate SPEC DATA --model-version {model_version}`"
        )
    plans = {r.run_id: r.plan_hash for r in store.runs(model=model)}
    points: dict[tuple[str, str], StoredPoint] = {}
    for p in store.history(model=model, model_version=model_version):
        if p.window is None:
            key = (p.metric, segment_json(p.segment))
            latest = points.get(key)
            if latest is None or _rank(p, plans, plan_hash) >= _rank(latest, plans, plan_hash):
                points[key] = p
    hashes = frozenset(plans[p.run_id] for p in points.values() if p.run_id in plans)
    return Baseline(model_version, points, hashes)


def _rank(p: StoredPoint, plans: Mapping[str, str], plan_hash: str | None) -> tuple[bool, str]:
    """Same plan first, then the latest recording."""
    return (plan_hash is not None and plans.get(p.run_id) == plan_hash, iso_utc(p.recorded_at))


def two_proportion_p_value(p1: float, n1: int, p2: float, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test of p1 (of n1) against p2 (of n2)."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both samples need at least one row")
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if variance <= 0.0:
        return 1.0 if p1 == p2 else 0.0
    z = (p1 - p2) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2.0))


def overall_results(results: Iterable[MetricResult]) -> dict[tuple[str, str], MetricResult]:
    """Results over all rows (no window), keyed by (metric, canonical segment JSON)."""
    return {(r.metric, segment_json(r.segment)): r for r in results if r.window is None}


def check_gates(
    gates: Sequence[Gate],
    plan: Plan,
    results: Results,
    baseline: Baseline | None,
) -> list[GateOutcome]:
    """Every gate on every segment it covers, in spec order (overall first)."""
    kinds = {m["name"]: m for m in plan.metrics}
    overall = overall_results(results)
    other_plan = baseline_plan_differs(baseline, results.plan_hash)
    outcomes: list[GateOutcome] = []
    for index, gate in enumerate(gates):
        info = kinds[gate.metric]
        segments: list[Mapping[str, str]] = [{}]
        if gate.segments == "all":
            segments += sorted(
                (r.segment for (m, s), r in overall.items() if m == gate.metric and r.segment),
                key=segment_json,
            )
        for segment in segments:
            result = overall.get((gate.metric, segment_json(segment)))
            outcome = _check(gate, info, segment, result, baseline, other_plan)
            outcomes.append(_with_index(outcome, index))
    return outcomes


def baseline_plan_differs(baseline: Baseline | None, plan_hash: str) -> bool:
    """True when the baseline's points came from a plan other than ``plan_hash``."""
    return baseline is not None and bool(baseline.plan_hashes - {plan_hash})


def _with_index(outcome: GateOutcome, index: int) -> GateOutcome:
    return replace(outcome, gate_index=index)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _absolute_bound(gate: Gate) -> str:
    parts = []
    if gate.min is not None:
        parts.append(f"min {_fmt(gate.min)}")
    if gate.max is not None:
        parts.append(f"max {_fmt(gate.max)}")
    return ", ".join(parts)


def _drop_bound(gate: Gate) -> str:
    assert gate.max_drop is not None
    if gate.relative:
        return f"max_drop {_fmt(gate.max_drop * 100)}% of |baseline|"
    return f"max_drop {_fmt(gate.max_drop)}"


def _check(
    gate: Gate,
    info: Mapping[str, Any],
    segment: Mapping[str, str],
    result: MetricResult | None,
    baseline: Baseline | None,
    other_plan: bool,
) -> GateOutcome:
    bound = _absolute_bound(gate) if gate.max_drop is None else _drop_bound(gate)
    base: dict[str, Any] = {"metric": gate.metric, "segment": dict(segment), "bound": bound}
    if result is None:
        return GateOutcome(**base, status="error", value=None, reason="no result for this metric")
    value = result.value
    if value is None:
        return GateOutcome(
            **base,
            status="error",
            value=None,
            reason=f"value undefined ({result.reason or 'undefined'}): the gate cannot pass",
        )
    if gate.max_drop is None:
        if gate.min is not None and value < gate.min:
            return GateOutcome(
                **base, status="failed", value=value, reason=f"below min {_fmt(gate.min)}"
            )
        if gate.max is not None and value > gate.max:
            return GateOutcome(
                **base, status="failed", value=value, reason=f"above max {_fmt(gate.max)}"
            )
        return GateOutcome(**base, status="passed", value=value)
    return _check_drop(gate, info, base, result, value, baseline, other_plan)


def _check_drop(
    gate: Gate,
    info: Mapping[str, Any],
    base: dict[str, Any],
    result: MetricResult,
    value: float,
    baseline: Baseline | None,
    other_plan: bool,
) -> GateOutcome:
    assert gate.max_drop is not None
    if baseline is None:  # the CLI refuses this before evaluating; kept for library callers
        return GateOutcome(**base, status="skipped", value=value, reason="no baseline given")
    point = baseline.get(gate.metric, base["segment"])
    if point is None:
        return GateOutcome(
            **base,
            status="skipped",
            value=value,
            reason=f"baseline {baseline.model_version} has no value for this metric and segment",
        )
    if point.value is None:
        return GateOutcome(
            **base,
            status="skipped",
            value=value,
            reason=f"baseline {baseline.model_version} value is undefined ({point.reason})",
        )
    higher = bool(info.get("higher_is_better", True))
    delta = value - point.value
    drop = -delta if higher else delta  # > 0: worse than the baseline
    allowed = gate.max_drop * abs(point.value) if gate.relative else gate.max_drop
    limit = point.value - allowed if higher else point.value + allowed
    bound = f"{base['bound']} ({'≥' if higher else '≤'} {_fmt(limit)})"
    notes: list[str] = []
    if other_plan:
        notes.append("baseline computed with another plan (compared by metric name)")
    # A relative 1e-12 of slack: the same data evaluated twice (or merged in another order)
    # may differ in the last bits, and `max_drop: 0` must still pass it.
    exceeded = drop > allowed + 1e-12 * max(1.0, abs(point.value))
    p_value: float | None = None
    if gate.significance is not None:
        p_value, significant, note = _significance(info, result, value, point, gate.significance)
        if note:
            notes.append(note)
        if exceeded and significant is False:
            notes.append(
                f"drop of {_fmt(drop)} exceeds {_fmt(allowed)} but is not significant "
                f"(p = {_fmt(p_value) if p_value is not None else 'n/a'}, "
                f"level {_fmt(gate.significance)})"
            )
            exceeded = False
    status: Status = "failed" if exceeded else "passed"
    if status == "failed":
        notes.insert(
            0,
            f"worse than baseline {_fmt(point.value)} by {_fmt(drop)}, more than the "
            f"{_fmt(allowed)} allowed",
        )
    return GateOutcome(
        **{**base, "bound": bound},
        status=status,
        value=value,
        baseline=point.value,
        delta=delta,
        p_value=p_value,
        reason="; ".join(notes) or None,
    )


def _significance(
    info: Mapping[str, Any],
    result: MetricResult,
    value: float,
    point: StoredPoint,
    level: float,
) -> tuple[float | None, bool | None, str | None]:
    """(p-value, significant?, note). ``significant`` is None when no test is possible."""
    kind = str(info.get("kind", ""))
    assert point.value is not None
    if (
        kind in PROPORTION_OF_ROWS
        and result.n > 0
        and point.n > 0
        and 0.0 <= value <= 1.0
        and 0.0 <= point.value <= 1.0
    ):
        p = two_proportion_p_value(value, result.n, point.value, point.n)
        return p, p < level, None
    if None not in (result.ci_low, result.ci_high, point.ci_low, point.ci_high):
        assert result.ci_low is not None and result.ci_high is not None
        assert point.ci_low is not None and point.ci_high is not None
        apart = result.ci_high < point.ci_low or point.ci_high < result.ci_low
        return None, apart, None if apart else "confidence intervals overlap"
    return (
        None,
        None,
        f"no significance test possible for {kind} (not a proportion of rows, no confidence "
        "interval): decided by max_drop alone",
    )


def summarize(outcomes: Sequence[GateOutcome]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for o in outcomes:
        counts[o.status] += 1
    return counts


__all__ = [
    "PROPORTION_OF_ROWS",
    "Baseline",
    "BaselineError",
    "GateOutcome",
    "baseline_plan_differs",
    "check_gates",
    "load_baseline",
    "overall_results",
    "summarize",
    "two_proportion_p_value",
]
