"""Gate arithmetic: direction, relative drops, significance, undefined values."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from scipy import stats

from plans import make_plan
from scoreboard.gate import Baseline, check_gates, two_proportion_p_value
from scoreboard.results import MetricResult, Results
from scoreboard.spec.models import Gate
from scoreboard.store import StoredPoint, segment_json

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def results(plan, **values: tuple[float | None, int]) -> Results:
    items = [MetricResult(name, v, n, None if v is not None else "insufficient_data")
             for name, (v, n) in values.items()]  # fmt: skip
    return Results(items, model="m", rows=1000, plan_hash=plan.plan_hash)


def baseline(plan_hash: str = "", **values: tuple[float | None, int]) -> Baseline:
    points = {
        (name, segment_json({})): StoredPoint(
            metric=name, value=v, n=n, run_id="r", model="m", model_version="v0", recorded_at=NOW
        )
        for name, (v, n) in values.items()
    }
    return Baseline("v0", points, frozenset({plan_hash}) if plan_hash else frozenset())


@pytest.mark.parametrize(
    ("p1", "n1", "p2", "n2"),
    [(0.80, 1000, 0.83, 1200), (0.5, 20, 0.6, 30), (0.99, 10**6, 0.989, 10**6)],
)
def test_two_proportion_p_value_matches_the_normal_test(p1, n1, p2, n2) -> None:
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    expected = 2 * stats.norm.sf(abs(z))
    assert two_proportion_p_value(p1, n1, p2, n2) == pytest.approx(expected, rel=1e-9)


def test_two_proportion_degenerate() -> None:
    assert two_proportion_p_value(1.0, 10, 1.0, 10) == 1.0
    with pytest.raises(ValueError):
        two_proportion_p_value(0.5, 0, 0.5, 10)


def test_lower_is_better_drop_is_a_rise_with_relative_on_the_absolute_baseline() -> None:
    plan = make_plan("regression", ["mae", "mean_error"])
    gates = [
        Gate(metric="mae", max_drop=0.1, relative=True),
        Gate(metric="mean_error", max_drop=0.1, relative=True),
    ]
    base = baseline(plan.plan_hash, mae=(2.0, 100), mean_error=(-1.0, 100))
    # mae 2.0 -> 2.3 is 15 % worse. mean_error -1.0 -> -0.95 rises by 5 % of |baseline|: within
    # 10 % (a signed baseline, as MLflow divides by, would allow -0.1 and fail it).
    out = check_gates(gates, plan, results(plan, mae=(2.3, 100), mean_error=(-0.95, 100)), base)
    assert [o.status for o in out] == ["failed", "passed"]
    assert out[0].delta == pytest.approx(0.3) and out[0].bound.endswith("(≤ 2.2)")
    assert out[1].bound.endswith("(≤ -0.9)")
    out = check_gates(gates, plan, results(plan, mae=(1.5, 100), mean_error=(-0.85, 100)), base)
    assert [o.status for o in out] == ["passed", "failed"]


def test_higher_is_better_absolute_drop() -> None:
    plan = make_plan("binary", ["f1"])
    gate = [Gate(metric="f1", max_drop=0.02)]
    base = baseline(plan.plan_hash, f1=(0.90, 1000))
    assert check_gates(gate, plan, results(plan, f1=(0.885, 1000)), base)[0].passed
    out = check_gates(gate, plan, results(plan, f1=(0.87, 1000)), base)[0]
    assert out.status == "failed" and out.delta == pytest.approx(-0.03)
    assert "worse than baseline 0.9 by 0.03" in out.reason
    assert check_gates(gate, plan, results(plan, f1=(0.99, 1000)), base)[0].passed


def test_significance_keeps_noise_from_failing_a_build() -> None:
    plan = make_plan("binary", ["accuracy"])
    gate = [Gate(metric="accuracy", max_drop=0.01, significance=0.05)]
    base = baseline(plan.plan_hash, accuracy=(0.90, 200))
    noisy = check_gates(gate, plan, results(plan, accuracy=(0.87, 200)), base)[0]
    assert noisy.status == "passed" and noisy.p_value is not None and noisy.p_value > 0.05
    assert "not significant" in noisy.reason
    base = baseline(plan.plan_hash, accuracy=(0.90, 100_000))
    real = check_gates(gate, plan, results(plan, accuracy=(0.87, 100_000)), base)[0]
    assert real.status == "failed" and real.p_value < 1e-6


def test_significance_not_possible_is_said() -> None:
    plan = make_plan("binary", ["f1"])
    gate = [Gate(metric="f1", max_drop=0.01, significance=0.05)]
    base = baseline(plan.plan_hash, f1=(0.90, 200))
    out = check_gates(gate, plan, results(plan, f1=(0.80, 200)), base)[0]
    assert out.status == "failed" and out.p_value is None
    assert "no significance test possible for f1" in out.reason


def test_undefined_value_is_an_error_and_missing_baseline_is_skipped() -> None:
    plan = make_plan("binary", ["f1", "recall"])
    gates = [Gate(metric="f1", min=0.5), Gate(metric="recall", max_drop=0.1)]
    out = check_gates(gates, plan, results(plan, f1=(None, 0), recall=(0.5, 10)), baseline())
    assert out[0].status == "error" and not out[0].passed
    assert "undefined (insufficient_data)" in out[0].reason
    assert out[1].status == "skipped" and out[1].passed
    assert "has no value" in out[1].reason


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"min": 1, "max_drop": 0.1}, "either fixed bounds"),
        ({}, "needs min, max or max_drop"),
        ({"min": 0.5, "relative": True}, "max_drop gates only"),
        ({"min": 0.9, "max": 0.1}, "is above max"),
        ({"max_drop": -0.1}, "greater than or equal to 0"),
        ({"max_drop": 0.1, "significance": 1.5}, "less than 1"),
        ({"min": True}, "valid number"),
    ],
)
def test_gate_validation(fields, message) -> None:
    with pytest.raises(ValueError, match=message):
        Gate(metric="f1", **fields)


def test_significance_from_confidence_intervals() -> None:
    plan = make_plan("regression", ["mae"])
    gate = [Gate(metric="mae", max_drop=0.1, significance=0.05)]
    point = StoredPoint(
        metric="mae", value=2.0, n=100, ci_low=1.8, ci_high=2.2, run_id="r", model="m",
        model_version="v0", recorded_at=NOW,
    )  # fmt: skip
    base = Baseline("v0", {("mae", segment_json({})): point}, frozenset({plan.plan_hash}))

    def candidate(value: float, low: float, high: float) -> Results:
        item = MetricResult("mae", value, 100, ci_low=low, ci_high=high)
        return Results([item], model="m", rows=100, plan_hash=plan.plan_hash)

    overlapping = check_gates(gate, plan, candidate(2.3, 2.1, 2.5), base)[0]
    assert overlapping.status == "passed" and "confidence intervals overlap" in overlapping.reason
    apart = check_gates(gate, plan, candidate(2.6, 2.4, 2.8), base)[0]
    assert apart.status == "failed" and apart.p_value is None


def test_last_bit_noise_does_not_fail_max_drop_zero() -> None:
    plan = make_plan("binary", ["f1"])
    gate = [Gate(metric="f1", max_drop=0)]
    base = baseline(plan.plan_hash, f1=(0.9, 1000))
    assert check_gates(gate, plan, results(plan, f1=(0.9 - 1e-15, 1000)), base)[0].passed
    assert not check_gates(gate, plan, results(plan, f1=(0.9 - 1e-9, 1000)), base)[0].passed
